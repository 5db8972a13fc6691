"""What a template at one point of a deck can read: the results so far and the lab's facts. Pure.

Everything here is immutable plain data (frozen.require_plain checks every value): a template
reads, it never changes what livedeck holds. A picture a template asks for is drawn by livedeck
and handed to the render stage through a function the template cannot reach; its path is
livedeck's choice, never the template's.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from livedeck.errors import LivedeckError
from livedeck.facts import Facts
from livedeck.frozen import FrozenMap, require_plain
from livedeck.model import Command, Deck, Result, Transcript
from livedeck.render import pictures
from livedeck.render.template import has_template, render_template
from livedeck.render.timeline import names_by_position
from livedeck.run import Plan

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
    def layers(self) -> tuple[str, ...]:
        """Short IDs of the layers a `docker pull` showed."""
        return tuple(m.group(1) for m in map(PULLED.match, self.lines) if m)

    def grep(self, pattern: str) -> tuple[str, ...]:
        """The screen lines that match a regular expression."""
        return tuple(line for line in self.lines if re.search(pattern, line))

    def count(self, pattern: str) -> int:
        """How many screen lines match a regular expression."""
        return len(self.grep(pattern))

    def column(self, number: int) -> tuple[str, ...]:
        """The `number`-th (1-based) whitespace-separated field of every line that has one."""
        fields = (line.split() for line in self.lines)
        return tuple(f[number - 1] for f in fields if len(f) >= number)

    def __str__(self) -> str:
        return self.output


Keep = Callable[[str], str]  # an SVG -> the path livedeck keeps it under


def discard(svg: str) -> str:
    """A Keep for templates whose pictures are not published (commands, assertions)."""
    return "img/generated/unused.svg"


@dataclass(frozen=True)
class Pictures:
    """`picture.container_layers(...)`: draws an SVG from lab facts; the deck embeds its path.

    The SVG goes to `_keep`, livedeck's own function (a template cannot read a `_` name), which
    chooses the path: a template asks for a picture, it never names a file.
    """

    deck_name: str
    facts: Facts | None
    _keep: Keep = field(default=discard, repr=False, compare=False)

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
        if at is not None and not isinstance(at, Shown):
            raise LivedeckError(f"at= takes a named command's result, not {at!r}")
        facts = at.docker if at is not None else self.facts
        if facts is None:
            raise LivedeckError("no lab facts here: pass at=NAME of a named command")
        return self._keep(draw(facts, **options))


class Drawings:
    """The pictures one deck's templates asked for, in order: path -> SVG. Never in a context."""

    def __init__(self, deck_name: str) -> None:
        self._deck_name = deck_name
        self._svgs: dict[str, str] = {}

    def keep(self, svg: str) -> str:
        """Keep `svg` under the next path of the deck's own: img/generated/DECK-N.svg."""
        path = f"img/generated/{self._deck_name}-{len(self._svgs) + 1}.svg"
        self._svgs[path] = svg
        return path

    def made(self) -> FrozenMap[str, str]:
        """Every picture kept so far."""
        return FrozenMap(self._svgs)


def shown(result: Result, facts: Facts | None = None) -> Shown:
    """A result as templates see it."""
    typed = result.typed or result.command.text
    return Shown(typed, tuple(result.screen), result.status, result.command.line, facts)


def context_at(
    deck: Deck, transcript: Transcript, position: int, keep: Keep = discard
) -> FrozenMap[str, Any]:
    """The names a template sees after `position` commands of the deck ran.

    Pictures drawn by `picture` go to `keep` (a Drawings' keep, shared by the whole deck).
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
    visible = tuple(v for r, v in zip(done, views, strict=True) if not r.command.hidden)
    context["commands"] = visible
    if visible:
        context["last"] = visible[-1]
    facts = transcript.facts.get(position)
    if facts is not None:
        context["docker"] = facts
    context["picture"] = Pictures(deck.name, facts, keep)
    plain = FrozenMap(context)
    require_plain(plain)
    return plain


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
