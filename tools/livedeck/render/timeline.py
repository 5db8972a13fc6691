"""Where templates sit in a deck's run: prose between blocks, commands, assertions. Pure."""

from __future__ import annotations

from dataclasses import dataclass

from livedeck.model import Deck
from livedeck.render.template import names_used

DIRECTIVE_PLACEHOLDER = "\x00livedeck-directive\x00"


@dataclass(frozen=True)
class Prose:
    """Deck lines between code blocks, rendered once `position` commands have run."""

    line: int  # first line
    end: int  # last line
    text: str  # the lines, directives marked
    position: int


def prose(deck: Deck) -> list[Prose]:
    """The stretches of the deck's body outside code blocks, in order."""
    lines = deck.text.split("\n")
    skip = {block.line: block.end for block in deck.blocks} | dict(deck.verbatim)
    runnable_lines = [c.line for c in deck.commands if c.runnable]
    found: list[Prose] = []
    chunk: list[str] = []
    chunk_start = number = deck.body_line
    while number <= len(lines):
        end = skip.get(number)
        if end is not None:
            if chunk:
                found.append(_prose(chunk, chunk_start, runnable_lines))
            chunk = []
            number = chunk_start = end + 1
            continue
        text = lines[number - 1]
        chunk.append(DIRECTIVE_PLACEHOLDER if number in deck.directive_lines else text)
        number += 1
    if chunk:
        found.append(_prose(chunk, chunk_start, runnable_lines))
    return found


def _prose(chunk: list[str], start: int, runnable_lines: list[int]) -> Prose:
    position = sum(1 for line in runnable_lines if line < start)
    return Prose(start, start + len(chunk) - 1, "\n".join(chunk), position)


def names_by_position(deck: Deck) -> dict[int, set[str]]:
    """The template names read after N commands ran: prose, commands and assertions."""
    used: dict[int, set[str]] = {}
    for stretch in prose(deck):
        used.setdefault(stretch.position, set()).update(
            names_used(stretch.text, deck.path, stretch.line)
        )
    runnable = [c for c in deck.commands if c.runnable]
    for n, command in enumerate(runnable):
        used.setdefault(n, set()).update(names_used(command.text, deck.path, command.line))
        for expression in command.expect.asserts:
            used.setdefault(n + 1, set()).update(
                names_used("{{ " + expression + " }}", deck.path, command.expect.line)
            )
    for expression in deck.settings.asserts:
        used.setdefault(len(runnable), set()).update(
            names_used("{{ " + expression + " }}", deck.path, deck.body_line - 1)
        )
    return used
