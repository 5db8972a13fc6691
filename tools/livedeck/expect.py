"""Does a deck's run hold up? Exit statuses, screen patterns and assertions. Pure."""

from __future__ import annotations

import re

from livedeck.context import context_at
from livedeck.errors import CommandFailed, DeckError
from livedeck.model import Command, Deck, Transcript
from livedeck.template import evaluate

TAIL = 12  # screen lines quoted when a command fails


def check_command(
    deck: Deck, command: Command, lines: tuple[str, ...], status: int | None, what: str = "command"
) -> None:
    """Raise CommandFailed if the command's exit status or screen is not what the deck says."""
    expected = command.expect.exit
    if status is not None and expected is not None and status != expected:
        raise CommandFailed(
            deck.path,
            command.line,
            command.text,
            f"{what} exited with status {status}, expected {expected}",
            lines[-TAIL:],
            hint="if the failure is part of the lesson, say so before the block:"
            f" `<!-- livedeck: {{exit: {status}}} -->`",
        )
    for pattern in command.expect.shows:
        if not any(re.search(pattern, line) for line in lines):
            raise CommandFailed(
                deck.path,
                command.line,
                command.text,
                f"no line of its screen matches {pattern!r}"
                f" (`shows:` at line {command.expect.line})",
                lines[-TAIL:],
            )
    for pattern in command.expect.not_shows:
        hits = [line for line in lines if re.search(pattern, line)]
        if hits:
            raise CommandFailed(
                deck.path,
                command.line,
                command.text,
                f"its screen shows {hits[0]!r}, which matches `not_shows:` {pattern!r}"
                f" (line {command.expect.line})",
                lines[-TAIL:],
            )


def check_asserts(deck: Deck, transcript: Transcript) -> None:
    """Evaluate the deck's assertions on its transcript; DeckError names the first false one."""
    for n, result in enumerate(transcript.results):
        command = result.command
        for expression in command.expect.asserts:
            _assert(deck, transcript, n + 1, expression, command.expect.line)
    for expression in deck.settings.asserts:
        _assert(deck, transcript, len(transcript.results), expression, _front_matter_line(deck))


def _assert(deck: Deck, transcript: Transcript, position: int, expression: str, line: int) -> None:
    context = context_at(deck, transcript, position)
    if evaluate(expression, context, deck.path, line) is not True:
        raise DeckError(
            deck.path,
            line,
            f"assertion failed: {expression}",
            hint="the deck's story no longer holds for this run; look at the screens it names",
        )


def _front_matter_line(deck: Deck) -> int:
    for number, text in enumerate(deck.text.split("\n"), 1):
        if text.strip().startswith("assert"):
            return number
    return 1
