"""The run stage: every command of a deck, in order, in one shell on a lab -> `Transcript`."""

from __future__ import annotations

import re
from collections.abc import Callable

from livedeck.errors import CommandFailed, LabError
from livedeck.model import Command, Deck, Result, Transcript
from livedeck.run.lab import Lab, LabSpec
from livedeck.run.session import Outcome, Session, SessionError

Progress = Callable[[Command, Outcome], None]
TAIL = 12  # screen lines quoted when a command fails


def lab_spec(deck: Deck, columns: int | None = None) -> LabSpec:
    """The host a deck's prompts show: its user and host name, and the terminal size."""
    first = next((c for c in deck.commands), None)
    settings = deck.settings
    return LabSpec(
        hostname=settings.host or (first.host if first else "lab"),
        user=settings.user or (first.user if first else "root"),
        columns=columns or settings.columns,
        rows=settings.rows,
    )


def run_deck(
    deck: Deck,
    lab: Lab,
    *,
    timeout: float | None = None,
    progress: Progress | None = None,
) -> Transcript:
    """Run the deck's setup and commands on `lab`; raise CommandFailed on the first surprise."""
    limit = timeout or deck.settings.timeout
    program_prompt = re.compile(rf"(?:{deck.settings.prompt})\s?$")
    try:
        session = Session(lab, program_prompt)
    except SessionError as error:
        raise LabError(f"cannot open a shell on the lab: {error}") from error
    try:
        for number, text in enumerate(deck.settings.setup, 1):
            setup = Command(line=2, prompt="", text=text, user="", host="", output=())
            _check(
                deck, setup, _type(session, deck, setup, limit), f"setup command {number}", limit
            )
        results = []
        for command in deck.commands:
            if not command.runnable:
                continue
            prompt = session.in_program
            seconds = command.expect.timeout or limit
            outcome = _type(session, deck, command, seconds)
            if progress is not None:
                progress(command, outcome)
            _check(deck, command, outcome, "command", seconds)
            results.append(
                Result(
                    command=command,
                    screen=outcome.lines,
                    status=outcome.status,
                    duration=outcome.duration,
                    prompt=prompt,
                )
            )
        return Transcript(deck=deck.path, results=tuple(results))
    finally:
        session.close()


def _type(session: Session, deck: Deck, command: Command, limit: float) -> Outcome:
    try:
        return session.type(command.text, limit)
    except SessionError as error:
        raise CommandFailed(
            deck.path,
            command.line,
            command.text,
            f"the lab's shell broke while running this command: {error}",
            hint="the command may have ended the shell (exit, exec, kill); keep it in a program",
        ) from error


def _check(deck: Deck, command: Command, outcome: Outcome, what: str, seconds: float) -> None:
    tail = outcome.lines[-TAIL:]
    if outcome.timed_out:
        raise CommandFailed(
            deck.path,
            command.line,
            command.text,
            f"{what} did not finish within {seconds:g} s and was interrupted",
            tail,
            hint="a server left in the foreground never returns: add --detach, or raise the limit"
            " with `<!-- livedeck: {timeout: 300} -->` before the block or `livedeck.timeout`",
        )
    expected = command.expect.exit
    if outcome.status is None or expected is None or outcome.status == expected:
        return
    raise CommandFailed(
        deck.path,
        command.line,
        command.text,
        f"{what} exited with status {outcome.status}, expected {expected}",
        tail,
        hint="if the failure is part of the lesson, say so before the block:"
        f" `<!-- livedeck: {{exit: {outcome.status}}} -->`",
    )


__all__ = ["Lab", "LabSpec", "lab_spec", "run_deck"]
