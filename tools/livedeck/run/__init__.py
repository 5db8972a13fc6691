"""The run stage: every command of a deck, in order, in one shell on a lab -> `Transcript`."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

from livedeck import facts as lab_facts
from livedeck.context import context_at, fact_positions
from livedeck.errors import CommandFailed, LabError
from livedeck.expect import TAIL, check_command
from livedeck.model import Command, Deck, Result, Transcript
from livedeck.run.lab import Lab, LabSpec
from livedeck.run.session import Outcome, Session, SessionError
from livedeck.template import has_template, render_template
from livedeck.timeline import names_by_position

Progress = Callable[[Command, Outcome], None]


def lab_spec(deck: Deck, columns: int | None = None) -> LabSpec:
    """The host a deck's prompts show: its user and host name, and the terminal size."""
    first = next(iter(deck.commands), None)
    settings = deck.settings
    return LabSpec(
        hostname=settings.host or (first.host if first else "lab"),
        user=settings.user or (first.user if first else "ubuntu"),
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
    wanted_facts = fact_positions(names_by_position(deck), deck)
    client = lab.docker() if wanted_facts else None
    if wanted_facts and client is None:
        raise LabError(
            f"{deck.path}: its templates read the lab's Docker facts (docker, picture, named"
            " commands), and this lab has no Docker engine",
            hint="build it on the Docker lab (--lab docker)",
        )
    try:
        session = Session(lab, program_prompt)
    except SessionError as error:
        raise LabError(f"cannot open a shell on the lab: {error}") from error
    try:
        for number, text in enumerate(deck.settings.setup, 1):
            setup = Command(
                line=deck.body_line - 1, prompt="", text=text, user="", host="", output=()
            )
            outcome = _type(session, deck, setup, text, limit)
            _check(deck, setup, outcome, f"setup command {number}", limit)
        results: list[Result] = []
        facts: dict[int, Any] = {}
        for command in (c for c in deck.commands if c.runnable):
            position = len(results)
            if position in wanted_facts:
                facts[position] = lab_facts.collect(client)
            typed = command.text
            if has_template(typed):
                so_far = Transcript(deck.path, tuple(results), facts)
                typed = render_template(
                    typed, context_at(deck, so_far, position), deck.path, command.line
                )
            prompt, cwd = session.in_program, session.cwd
            seconds = command.expect.timeout or limit
            outcome = _type(session, deck, command, typed, seconds)
            if progress is not None:
                progress(command, outcome)
            _check(deck, command, outcome, "command", seconds)
            results.append(
                Result(command, outcome.lines, outcome.status, outcome.duration, prompt, typed, cwd)
            )
        if len(results) in wanted_facts:
            facts[len(results)] = lab_facts.collect(client)
        return Transcript(deck.path, tuple(results), facts, _engine(lab))
    finally:
        session.close()


def _type(session: Session, deck: Deck, command: Command, text: str, limit: float) -> Outcome:
    try:
        return session.type(text, limit)
    except SessionError as error:
        raise CommandFailed(
            deck.path,
            command.line,
            text,
            f"the lab's shell broke while running this command: {error}",
            hint="the command may have ended the shell (exit, exec, kill); keep it in a program",
        ) from error


def _check(deck: Deck, command: Command, outcome: Outcome, what: str, seconds: float) -> None:
    if outcome.timed_out:
        raise CommandFailed(
            deck.path,
            command.line,
            command.text,
            f"{what} did not finish within {seconds:g} s and was interrupted",
            outcome.lines[-TAIL:],
            hint="a server left in the foreground never returns: add --detach, or raise the limit"
            " with `<!-- livedeck: {timeout: 300} -->` before the block or `livedeck.timeout`",
        )
    check_command(deck, command, outcome.lines, outcome.status, what)


def _engine(lab: Lab) -> dict[str, str]:
    """What the record says about the lab: its engine, storage driver and image digests."""
    client = lab.docker()
    if client is None:
        return {}
    version = client.version()
    engine = {
        "engine": str(version.get("Version", "")),
        "storage_driver": str(client.info().get("Driver", "")),
    }
    for image in client.images.list():
        for digest in image.attrs.get("RepoDigests") or ():
            engine[f"image {digest.split('@')[0]}"] = digest.split("@")[1]
    return engine


__all__ = ["Lab", "LabSpec", "Progress", "lab_spec", "run_deck"]
