"""Plain data passed between the pipeline stages: deck -> run -> render -> publish."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any


@dataclass(frozen=True)
class Expectation:
    """What an author says a command should do (from a `<!-- livedeck: ... -->` directive)."""

    exit: int | None = 0  # None: any exit status is fine
    exit_given: bool = False  # the author wrote `exit:` (a status that cannot be known is an error)
    timeout: float | None = None  # seconds; None: the deck's default
    shows: tuple[str, ...] = ()  # patterns some line of the screen must match
    not_shows: tuple[str, ...] = ()  # patterns no line of the screen may match
    asserts: tuple[str, ...] = ()  # Jinja expressions that must hold once the command ran
    line: int = 0  # the directive's own line, for messages


@dataclass(frozen=True)
class Hidden:
    """A command run at a point of the deck and shown on no slide (directives `before:`,
    `wait:`); a wait repeats it until it succeeds."""

    line: int  # the directive's line
    text: str
    until: bool = False  # repeat until it exits 0, at most `timeout` seconds
    timeout: float = 60.0


@dataclass(frozen=True)
class Input:
    """A line typed when a command waits for input (directive `input:`): as written, or the
    value of a secret, which never appears on a slide, in a record or in a message."""

    text: str = ""
    secret: str | None = None  # the secret's name; its value comes from the environment
    enter: bool = True  # False for `{keys: q}`: the keys alone, without Enter


@dataclass(frozen=True)
class Command:
    """One prompt line (plus continuation lines) of a transcript block, and the output under it."""

    line: int  # 1-based line of the prompt in the deck
    prompt: str  # the prompt exactly as written, e.g. "ubuntu@ip-10-0-1-14:~$ "
    text: str  # the command as typed; continuation lines joined with "\n" (without `> `)
    user: str
    host: str
    output: tuple[str, ...]  # the output lines the deck holds now
    expect: Expectation = field(default_factory=Expectation)
    name: str | None = None  # a name templates use for its result (directive `name:`)
    fit: str | None = None  # "shrink": its slide may shrink its code font (directive `fit:`)
    elide: tuple[int, ...] = ()  # (head, tail) lines of its screen to keep (directive `elide:`)
    ps2: tuple[bool, ...] = ()  # per continuation line: written behind bash's `> ` prompt
    path_span: tuple[int, int] = (-1, -1)  # where the prompt shows the directory, if it does
    before: tuple[Hidden, ...] = ()  # run first, shown nowhere (directives `before:`, `wait:`)
    input: tuple[Input, ...] = ()  # typed when it waits for input (directive `input:`)
    # A step the deck implies but no slide shows (writing a `file:` block into the lab): the run
    # stage types it, checks no prompt for it and reports no progress; render leaves it out.
    hidden: bool = False
    # Typed into a program (its prompt started the line): the regular expression of that
    # program's prompt. Such a line is one line of the program's input, never bash.
    program: str | None = None
    enter: bool = False  # a program's continuation prompt alone: Enter is typed there

    @property
    def source(self) -> tuple[str, ...]:
        """The deck lines of the prompt and the command, as written."""
        return self.shown(self.text)

    def shown(self, typed: str) -> tuple[str, ...]:
        """`typed` as the slide shows it: behind the prompt, continuation lines behind `> `."""
        first, *rest = typed.split("\n")
        marks = self.ps2 + (False,) * (len(rest) - len(self.ps2))
        return (
            self.prompt + first,
            *(("> " + line if mark else line) for line, mark in zip(rest, marks, strict=False)),
        )

    @property
    def runnable(self) -> bool:
        """A bare prompt line is kept on the slide but runs nothing (a program's bare
        continuation prompt excepted: there Enter ends a statement)."""
        return bool(self.text.strip()) or self.enter


@dataclass(frozen=True)
class Block:
    """A fenced code block that holds at least one prompt line."""

    line: int  # 1-based line of the opening fence
    end: int  # 1-based line of the closing fence
    lead: tuple[str, ...]  # lines before the first prompt, kept as they are
    commands: tuple[Command, ...]
    source_form: bool = False  # ```bash run: bare commands, prompts added on the slide
    file: str | None = None  # a `file:` block: shown as written, its one hidden command writes it
    programs: tuple[str, ...] = ()  # prompts of programs it declares (directive `program:`)


@dataclass(frozen=True)
class Slide:
    """One Marp slide: its number and the deck lines it spans."""

    number: int
    line: int
    end: int


@dataclass(frozen=True)
class Settings:
    """Per-deck options, from the `livedeck:` key of the front matter."""

    prompt: str  # regular expression with named groups user, host and command
    timeout: float = 120.0
    columns: int = 200
    rows: int = 50
    user: str | None = None
    host: str | None = None
    setup: tuple[str, ...] = ()  # commands run before the deck's own, not shown on any slide
    asserts: tuple[str, ...] = ()  # Jinja expressions that must hold after the last command
    volatile: tuple[str, ...] = ()  # more patterns `check` treats as noise
    fit: str = "none"  # "shrink": shrink the code font of overflowing slides (not below font_floor)
    font_floor: float = 12.0  # px
    elide: tuple[int, ...] = ()  # (head, tail): keep only these lines of every long screen
    # Course files copied into the lab before `setup`: (source relative to the deck, lab path).
    files: tuple[tuple[str, str], ...] = ()
    packages: tuple[str, ...] = ()  # Debian packages the lab has on top of its own tools
    secrets: tuple[str, ...] = ()  # secrets exported into the lab's shell by their names
    images: str | None = None  # image source: mirror, hub or a registry URL (livedeck.images)
    after: str | None = None  # the deck whose lab state at its end this deck starts from


@dataclass(frozen=True)
class Deck:
    """A parsed Marp deck: its text, front matter, slides and transcript blocks."""

    path: Path
    text: str
    front_matter: Mapping[str, Any]
    settings: Settings
    slides: tuple[Slide, ...]
    blocks: tuple[Block, ...]
    directive_lines: frozenset[int] = frozenset()  # lines of tool-only comments, not rendered
    verbatim: tuple[tuple[int, int], ...] = ()  # first and last line of other code blocks
    body_line: int = 1  # first line after the front matter

    @property
    def name(self) -> str:
        """The deck's file name without `.md`: the name of its outputs."""
        return self.path.stem

    @property
    def document(self) -> bool:
        """Without `marp: true` the file is a document: one page, not slides."""
        return self.front_matter.get("marp") is not True

    @property
    def commands(self) -> tuple[Command, ...]:
        """Every command of the deck, in deck order."""
        return tuple(c for b in self.blocks for c in b.commands)


@dataclass(frozen=True)
class Result:
    """What one command did on the lab: the screen a person saw under it, and how it ended."""

    command: Command
    screen: tuple[str, ...]
    status: int | None  # None: the command went to an interactive program that is still running
    duration: float
    prompt: str | None = None  # a program's own prompt shown before the command, if any
    typed: str = ""  # the command as typed, templates filled in
    cwd: str = ""  # the shell's working directory after the command ("~" for home)
    bare: tuple[tuple[int, str], ...] = ()  # real prompts of the bare prompt lines after it


@dataclass(frozen=True)
class Transcript:
    """Every command result of one deck run, in deck order."""

    deck: Path
    results: tuple[Result, ...]
    facts: Mapping[int, Any] = field(default_factory=dict)  # Facts seen after N commands
    engine: Mapping[str, str] = field(default_factory=dict)  # engine, storage driver, digests

    def for_line(self, line: int) -> Result | None:
        """The result of the command written at `line` of the deck."""
        return next((r for r in self.results if r.command.line == line), None)

    def bare_prompt(self, line: int) -> str | None:
        """The real prompt of the bare prompt line at `line`, where it is not the deck's."""
        return next((p for r in self.results for n, p in r.bare if n == line), None)
