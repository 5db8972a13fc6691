"""The run stage: every command of a deck, in order, in one shell on a lab -> `Transcript`.

`Run` is one deck's run as an object (start, step one command, run to a point, close) so that
build, watch and present share it; `run_deck` runs a whole deck. Templated commands are filled by
a resolver the caller passes in: the run stage knows nothing of templates.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable, Sequence, Set
from dataclasses import dataclass, field, replace
from typing import Any

from livedeck import facts as lab_facts
from livedeck import programs
from livedeck.deck import secrets
from livedeck.deck.expect import TAIL
from livedeck.errors import CommandFailed, DeckError, Failures, LabError
from livedeck.model import Command, Deck, Hidden, Result, Transcript
from livedeck.run.guard import guarded
from livedeck.run.lab import Lab, LabSpec
from livedeck.run.outcomes import (
    DRIFT_HINT,
    check_outcome,
    one_command_line,
    shown_prompt,
    type_command,
)
from livedeck.run.session import (
    Outcome,
    Session,
    SessionError,
)
from livedeck.shellsyntax import command_lines

WAIT_EVERY = 0.5  # seconds between two tries of a `wait:`

Progress = Callable[[Command, Outcome], None]
Resolver = Callable[[Command, Transcript], str]  # the command as typed, templates filled in


def as_written(command: Command, done: Transcript) -> str:
    """The resolver for decks without templates in commands."""
    return command.text


@dataclass(frozen=True)
class Plan:
    """What the run needs from the stages around it: how to fill templated commands, and after
    how many commands the lab's facts must be read (for templates and pictures)."""

    resolve: Resolver = as_written
    facts_at: frozenset[int] = field(default_factory=frozenset)


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


class Run:
    """One deck's commands on one lab, one at a time, in deck order."""

    def __init__(
        self,
        deck: Deck,
        lab: Lab,
        plan: Plan | None = None,
        *,
        timeout: float | None = None,
        progress: Progress | None = None,
        keep_going: bool = False,
    ) -> None:
        self.deck = deck
        self._secrets = secrets.values(deck)  # a missing secret fails before anything runs
        # Secrets reach the shell in its environment; all it prints comes back redacted.
        values = tuple(self._secrets.values())
        self._lab = guarded(lab, values, secrets.environment(deck, self._secrets))
        self._plan = plan or Plan()
        self._keep_going = keep_going
        self.failures: list[DeckError] = []  # with keep_going: what failed, in deck order
        self._limit = timeout or deck.settings.timeout
        self._progress = progress
        self._commands = [c for c in deck.commands if c.runnable]
        self._results: list[Result] = []
        self._facts: dict[int, Any] = {}
        self._session: Session | None = None
        self._client: Any = None
        self._home: tuple[str, str] = ("", "")  # the lab shell's own user and host

    @property
    def results(self) -> tuple[Result, ...]:
        """What ran so far."""
        return tuple(self._results)

    @property
    def done(self) -> bool:
        """Every command ran."""
        return len(self._results) == len(self._commands)

    @property
    def next_command(self) -> Command | None:
        """The command `step` runs next."""
        return None if self.done else self._commands[len(self._results)]

    def start(self) -> None:
        """Open the deck's shell on the lab and run its setup commands."""
        if self._plan.facts_at:
            self._client = self._lab.docker()
            if self._client is None:
                raise LabError(
                    f"{self.deck.path}: its templates read the lab's Docker facts (docker,"
                    " picture, named commands), and this lab has no Docker engine",
                    hint="build it on the Docker lab (--lab docker)",
                )
        program_prompt = re.compile(program_prompts(self.deck))
        try:
            self._session = Session(self._lab, program_prompt)
        except SessionError as error:
            raise LabError(f"cannot open a shell on the lab: {error}") from error
        self._home = self._session.identity
        for number, text in enumerate(self._setup_lines(), 1):
            setup = Command(self.deck.body_line - 1, "", text, "", "", ())
            outcome = self._type(setup, text, self._limit, in_history=False)
            check_outcome(self.deck, setup, outcome, f"setup command {number}", self._limit)

    def _setup_lines(self) -> list[str]:
        """`setup:` items, each split into the command lines bash reads (a `- |` item may hold a
        script; its trailing newline is not an empty command)."""
        return [
            line
            for item in self.deck.settings.setup
            for line in command_lines(item.strip("\n"))
            if line.strip()
        ]

    def step(self, on_output: Callable[[bytes], None] | None = None) -> Result:
        """Run the next command; raise CommandFailed (or DeckError) if it is not what the deck
        says."""
        if self._session is None:
            self.start()
        assert self._session is not None
        command = self._commands[len(self._results)]
        position = len(self._results)
        if position in self._plan.facts_at:
            self._facts[position] = lab_facts.collect(self._client)
        typed = self._plan.resolve(command, self.transcript())
        one_command_line(self.deck, command, typed)
        shown = self._prompt(command)
        for hidden in command.before:
            self._hidden(hidden)
        seconds = command.expect.timeout or self._limit
        inputs = [(self._secrets[i.secret] if i.secret else i.text, i.enter) for i in command.input]
        typed_secrets = {self._secrets[i.secret] for i in command.input if i.secret}
        outcome = self._type(
            command,
            typed,
            seconds,
            on_output,
            inputs,
            hidden=typed_secrets,
            in_history=not command.hidden,
        )
        outcome = replace(outcome, lines=secrets.redact(outcome.lines, self._secrets.values()))
        if self._progress is not None and not command.hidden:
            self._progress(command, outcome)
        try:
            check_outcome(self.deck, command, outcome, "command", seconds)
        except DeckError as error:
            if not self._keep_going:
                raise
            self.failures.append(error)
        result = Result(
            command,
            outcome.lines,
            outcome.status,
            outcome.duration,
            shown,
            typed,
            outcome.cwd,
            self._bare_prompts(command),
        )
        self._results.append(result)
        return result

    def _bare_prompts(self, command: Command) -> tuple[tuple[int, str], ...]:
        """The real prompts of the bare prompt lines between `command` and the next one: a
        container's prompt with its real ID, the shell's with its real directory."""
        following = self.deck.commands[self.deck.commands.index(command) + 1 :]
        found = []
        for bare in following:
            if bare.runnable:
                break
            shown = self._prompt(bare)
            if shown is not None:
                found.append((bare.line, shown.rstrip()))
        return tuple(found)

    def _hidden(self, hidden: Hidden) -> None:
        """A step shown nowhere: a command that must succeed, or a wait until one does."""
        assert self._session is not None
        deadline = time.monotonic() + hidden.timeout
        step = Command(hidden.line, "", hidden.text, "", "", ())
        while True:
            left = max(deadline - time.monotonic(), 1.0)
            outcome = self._type(
                step, hidden.text, left if hidden.until else self._limit, in_history=False
            )
            if outcome.status == 0 and not outcome.timed_out:
                return
            if not hidden.until or time.monotonic() >= deadline:
                what = f"waited {hidden.timeout:g} s for it to succeed" if hidden.until else ""
                raise CommandFailed(
                    self.deck.path,
                    hidden.line,
                    hidden.text,
                    f"a hidden step failed (exit {outcome.status}){'; ' + what if what else ''}",
                    secrets.redact(outcome.lines[-TAIL:], self._secrets.values()),
                    hint="`before:` commands must succeed; raise a `wait:`'s `timeout:` if the"
                    " service needs longer to start",
                )
            time.sleep(WAIT_EVERY)

    def skip(self, result: Result) -> None:
        """Count the next command as run, with `result` (a recorded one) standing for it: a
        presenter skipped it. What the lab holds afterwards is then not what the deck says."""
        if result.command is not self.next_command:
            raise ValueError(f"line {result.command.line} is not the next command")
        self._results.append(result)

    def run_to(self, count: int) -> None:
        """Run commands until `count` of them ran."""
        while len(self._results) < min(count, len(self._commands)):
            self.step()

    def transcript(self) -> Transcript:
        """Everything that ran so far, with the lab's facts and engine."""
        return Transcript(self.deck.path, tuple(self._results), dict(self._facts))

    def finish(self) -> Transcript:
        """Run what is left; the whole transcript with the lab's engine and facts at the end."""
        self.run_to(len(self._commands))
        if self.failures:
            raise Failures(self.failures)
        if self._session is not None and self._results:
            last = self._results[-1].command
            try:
                self._session.sync(0.05)
            except SessionError as error:
                raise CommandFailed(
                    self.deck.path, last.line, last.text, str(error), hint=DRIFT_HINT
                ) from error
        if len(self._results) in self._plan.facts_at:
            self._facts[len(self._results)] = lab_facts.collect(self._client)
        return Transcript(
            self.deck.path, tuple(self._results), dict(self._facts), _engine(self._lab)
        )

    def close(self) -> None:
        """End the shell (the lab itself belongs to whoever started it)."""
        if self._session is not None:
            self._session.close()
            self._session = None

    def _prompt(self, command: Command) -> str | None:
        """The prompt to show before the command, when it is not the one the deck has."""
        assert self._session is not None
        return shown_prompt(self._session, self.deck, command, *self._identity())

    def _identity(self) -> tuple[str, str]:
        """The hooked shell's user and host, in the deck's names for the lab's own."""
        assert self._session is not None
        user, host = self._session.identity
        spec = self._lab.spec
        return (
            spec.user if user == self._home[0] else user,
            spec.hostname if host == self._home[1] else host,
        )

    def _type(
        self,
        command: Command,
        text: str,
        limit: float,
        on_output: Callable[[bytes], None] | None = None,
        inputs: Sequence[tuple[str, bool]] = (),
        *,
        hidden: Set[str] = frozenset(),
        in_history: bool = True,
    ) -> Outcome:
        assert self._session is not None
        return type_command(
            self._session,
            self.deck,
            command,
            text,
            limit,
            on_output,
            inputs,
            hidden=hidden,
            in_history=in_history,
            secret_values=self._secrets.values(),
            previous=self._results[-1].command if self._results else None,
        )


def run_deck(
    deck: Deck,
    lab: Lab,
    plan: Plan | None = None,
    *,
    timeout: float | None = None,
    progress: Progress | None = None,
    keep_going: bool = False,
) -> Transcript:
    """Run the deck's setup and commands on `lab`; raise CommandFailed on the first surprise
    (with `keep_going`, Failures with every one once all commands ran)."""
    run = Run(deck, lab, plan, timeout=timeout, progress=progress, keep_going=keep_going)
    try:
        run.start()
        return run.finish()
    finally:
        run.close()


def program_prompts(deck: Deck) -> str:
    """The prompts a program may show when the run hands it the next line: the known ones, the
    ones the deck declares, and the deck's own (a container's bash: `root@3f2a:/# `)."""
    declared = [programs.declared(prompt) for block in deck.blocks for prompt in block.programs]
    found = programs.screen_pattern((*programs.KNOWN, *declared))
    return rf"{found}|^(?:{deck.settings.prompt})\s?$"


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


__all__ = ["Lab", "LabSpec", "Plan", "Progress", "Resolver", "Run", "lab_spec", "run_deck"]
