"""The deck stage: Marp Markdown -> `Deck` (front matter, slides, transcript blocks). Pure."""

from __future__ import annotations

import re
from dataclasses import replace
from pathlib import Path

from livedeck.deck import frontmatter
from livedeck.deck.blocks import Shell, scan
from livedeck.deck.course import Course, course_files, find_course, with_defaults
from livedeck.errors import DeckError
from livedeck.model import Block, Command, Deck, Settings

_CONTAINER_ID = re.compile(r"[0-9a-f]{12}")
LAB_USER, LAB_HOST = "ubuntu", "lab"  # a deck without a user@host prompt or settings


def load_deck(path: Path) -> Deck:
    """Read and parse a deck file."""
    try:
        data = path.read_bytes()
    except OSError as error:
        raise DeckError(
            path, 1, f"cannot read the deck: {error.strerror}", hint="is it a readable file?"
        ) from error
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as error:
        raise DeckError(
            path,
            data.count(b"\n", 0, error.start) + 1,
            f"the deck is not UTF-8 text (byte {data[error.start]:#04x})",
            hint="save the deck as UTF-8 (Marp reads UTF-8 only)",
        ) from None
    return parse_deck(plain_text(text), path, find_course(path))


def plain_text(text: str) -> str:
    """A deck's text as livedeck reads it: without the byte order mark some editors put first
    (it would hide the front matter) and with `\n` line ends (Windows editors save `\r\n`,
    which a command typed into the lab would carry). Outputs are written with `\n`."""
    return text.removeprefix("\ufeff").replace("\r\n", "\n").replace("\r", "\n")


def parse_deck(text: str, path: Path, course: Course | None = None) -> Deck:
    """Parse a Marp deck held in `text`; `path` only names it in errors and outputs; `course`
    gives the defaults its front matter overrides."""
    lines = text.split("\n")
    front, body_start = frontmatter.front_matter(lines, path)
    own = front.get("livedeck")
    if course is None:
        settings = frontmatter.settings(own, path, lines)
    else:
        settings = frontmatter.settings(with_defaults(course, own), path, lines)
        settings = course_files(course, own, settings)
    prompt = frontmatter.compile_prompt(settings.prompt, path, lines)
    shell = Shell(root_user=settings.user == "root")
    slides, blocks, found, verbatim = scan(lines, body_start, prompt, path, shell)
    blocks = _fill_identity(blocks, settings)
    return Deck(
        path=path,
        text=text,
        front_matter=front,
        settings=settings,
        slides=slides,
        blocks=blocks,
        directive_lines=frozenset(found),
        verbatim=tuple(verbatim),
        body_line=body_start + 1,
    )


def _fill_identity(blocks: tuple[Block, ...], settings: Settings) -> tuple[Block, ...]:
    """Commands whose prompt names no user@host (`run` blocks, bare `$ ` prompts, `file:`
    blocks) run as the deck's user on its host: the settings', else the first user@host
    prompt's, else the lab's defaults. A bare `# ` is root's on that host."""
    prompted = None
    bare_first = False
    for command in (c for b in blocks for c in b.commands):
        if command.host and not (bare_first and _container_like(command)):
            prompted = command
            break
        bare_first = bare_first or _bare(command)
    user = settings.user or (prompted.user if prompted else LAB_USER)
    host = settings.host or (prompted.host if prompted else LAB_HOST)

    def filled(command: Command) -> Command:
        if command.program is not None or command.host:
            return command  # typed into a program, or a user@host prompt
        if command.prompt.strip() not in ("", "$", "#"):
            return command  # a program's prompt of the deck's own `prompt:` pattern
        return replace(command, user=command.user or user, host=host)

    return tuple(replace(b, commands=tuple(map(filled, b.commands))) for b in blocks)


def _container_like(command: Command) -> bool:
    """A root prompt, or one whose host is a container ID: after a bare `$ `, such a prompt is
    most likely a container's shell (`root@3f2a9c1b0d4e:/# `), not the deck's host."""
    return command.prompt.rstrip().endswith("#") or bool(_CONTAINER_ID.fullmatch(command.host))


def _bare(command: Command) -> bool:
    """A bare `$ ` or `# ` prompt, or a line typed into a program."""
    return command.program is not None or command.prompt.strip() in ("$", "#")
