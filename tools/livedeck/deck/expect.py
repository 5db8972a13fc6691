"""Does a command hold up? Its exit status and screen patterns, as the deck says. Pure."""

from __future__ import annotations

import re

from livedeck.errors import CommandFailed
from livedeck.model import Command, Deck

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
