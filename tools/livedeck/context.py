"""What a template at one point of a deck can read: the results so far and the lab's facts. Pure."""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from livedeck import pictures
from livedeck.errors import LivedeckError
from livedeck.facts import Facts
from livedeck.model import Command, Deck, Result, Transcript
from livedeck.run import Plan
from livedeck.template import has_template, render_template
from livedeck.timeline import names_by_position

PULLED = re.compile(r"^([0-9a-f]{12}): (?:Pull complete|Already exists|Download complete)$")
FACT_NAMES = frozenset({"docker", "picture"})


@dataclass(frozen=True)
class Shown:
    """A command's result as a template sees it: `pull.lines`, `pull.layers`, `last.status`."""

    command: str  # as typed
    lines: tuple[str, ...]
    status: int | None
    line: int  # deck line of the command
    docker: Facts | None = None  # the lab right after the command (named commands only)

    @property
    def output(self) -> str:
        """The screen as one string."""
        return "\n".join(self.lines)

    @property
    def layers(self) -> list[str]:
        """Short IDs of the layers a `docker pull` showed."""
        return [m.group(1) for m in map(PULLED.match, self.lines) if m]

    def grep(self, pattern: str) -> list[str]:
        """The screen lines that match a regular expression."""
        return [line for line in self.lines if re.search(pattern, line)]

    def count(self, pattern: str) -> int:
        """How many screen lines match a regular expression."""
        return len(self.grep(pattern))

    def column(self, number: int) -> list[str]:
        """The `number`-th (1-based) whitespace-separated field of every line that has one."""
        return [f[number - 1] for f in (line.split() for line in self.lines) if len(f) >= number]

    def __str__(self) -> str:
        return self.output


@dataclass
class Pictures:
    """`picture.container_layers(...)`: draws an SVG from lab facts; the deck embeds its path."""

    deck_name: str
    facts: Facts | None
    made: dict[str, str] = field(default_factory=dict)  # path -> SVG, to write beside the deck

    def container_layers(
        self, container: str | None = None, image: str | None = None, at: Shown | None = None
    ) -> str:
        """Path of a picture of a container's R/W layer on its image's layers."""
        return self._draw(pictures.container_layers_svg, at, container=container, image=image)

    def sharing_layers(
        self, image: str, containers: Sequence[str] | None = None, at: Shown | None = None
    ) -> str:
        """Path of a picture of containers sharing one image's layers."""
        return self._draw(pictures.sharing_layers_svg, at, image=image, containers=containers)

    def _draw(self, draw: Callable[..., str], at: Shown | None, **options: Any) -> str:
        facts = at.docker if at is not None else self.facts
        if facts is None:
            raise LivedeckError("no lab facts here: pass at=NAME of a named command")
        path = f"img/generated/{self.deck_name}-{len(self.made) + 1}.svg"
        self.made[path] = draw(facts, **options)
        return path


def shown(result: Result, facts: Facts | None = None) -> Shown:
    """A result as templates see it."""
    typed = result.typed or result.command.text
    return Shown(typed, result.screen, result.status, result.command.line, facts)


def context_at(
    deck: Deck, transcript: Transcript, position: int, made: dict[str, str] | None = None
) -> dict[str, Any]:
    """The names a template sees after `position` commands of the deck ran.

    Pictures drawn by `picture` go into `made` (path -> SVG), shared by the whole deck.
    """
    done = transcript.results[:position]
    views = [
        shown(r, transcript.facts.get(n + 1) if r.command.name else None)
        for n, r in enumerate(done)
    ]
    context: dict[str, Any] = {
        r.command.name: v for r, v in zip(done, views, strict=True) if r.command.name
    }
    # Hidden steps (a `file:` block written into the lab) are no command a reader saw.
    views = [v for r, v in zip(done, views, strict=True) if not r.command.hidden]
    context["commands"] = views
    if views:
        context["last"] = views[-1]
    facts = transcript.facts.get(position)
    if facts is not None:
        context["docker"] = facts
    context["picture"] = Pictures(deck.name, facts, {} if made is None else made)
    return context


def fact_positions(positions: Mapping[int, set[str]], deck: Deck) -> set[int]:
    """After how many commands the lab's facts must be read: where templates use them."""
    needed = {p for p, names in positions.items() if names & FACT_NAMES}
    runnable = [c for c in deck.commands if c.runnable]
    needed |= {n + 1 for n, c in enumerate(runnable) if c.name}
    return needed


def run_plan(deck: Deck) -> Plan:
    """What the run stage needs to know of the deck's templates: how to fill a templated
    command from the results so far, and when to read the lab's facts."""

    def resolve(command: Command, done: Transcript) -> str:
        if not has_template(command.text):
            return command.text
        context = context_at(deck, done, len(done.results))
        return render_template(command.text, context, deck.path, command.line)

    facts_at = frozenset(fact_positions(names_by_position(deck), deck))
    return Plan(resolve, facts_at)
