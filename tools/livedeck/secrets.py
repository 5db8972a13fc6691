"""Secrets a deck types (a database password): from the environment or a git-ignored file.

A secret's value is typed into the lab when a command waits for input and is never written
anywhere: screens are redacted before they reach a slide, a record or a message.
"""

from __future__ import annotations

import os
import shlex
from collections.abc import Iterable, Mapping
from pathlib import Path

from livedeck.course.config import find_course
from livedeck.errors import DeckError
from livedeck.model import Deck

FILE = ".livedeck-secrets"  # NAME=value lines, beside the deck or in the working folder
REDACTED = "********"


def values(deck: Deck, environ: Mapping[str, str] = os.environ) -> dict[str, str]:
    """The value of every secret the deck's commands type; DeckError names a missing one."""
    found: dict[str, str] = {}
    course = find_course(deck.path).secrets_file  # the course config's `secrets_file:`
    files = _files((deck.path.parent / FILE, *((course,) if course else ()), Path.cwd() / FILE))
    wanted = [(name, _settings_line(deck)) for name in deck.settings.secrets]
    wanted += [(i.secret, c.line) for c in deck.commands for i in c.input if i.secret]
    for name, line in wanted:
        value = environ.get(name, files.get(name))
        if not value:
            raise DeckError(
                deck.path,
                line,
                f"secret {name} is not set",
                hint=f"export {name}=... or put `{name}=...` in {deck.path.parent / FILE}"
                " (git-ignored)",
            )
        found[name] = value
    return found


def exports(deck: Deck, found: Mapping[str, str]) -> list[str]:
    """The shell lines that give the lab's shell the deck's `secrets:` as variables."""
    return [f"export {name}={shlex.quote(found[name])}" for name in deck.settings.secrets]


def _settings_line(deck: Deck) -> int:
    lines = deck.text.split("\n")[: deck.body_line]
    return next((n for n, text in enumerate(lines, 1) if text.strip().startswith("secrets")), 1)


def redact(lines: Iterable[str], secrets: Iterable[str]) -> tuple[str, ...]:
    """The lines with every secret value replaced."""
    hidden = sorted((s for s in secrets if s), key=len, reverse=True)
    out = []
    for line in lines:
        for value in hidden:
            line = line.replace(value, REDACTED)
        out.append(line)
    return tuple(out)


def _files(paths: Iterable[Path]) -> dict[str, str]:
    found: dict[str, str] = {}
    for path in paths:
        try:
            text = path.read_text(encoding="utf-8")
        except OSError:
            continue
        for line in text.splitlines():
            key, sep, value = line.partition("=")
            if sep and key.strip() and not key.lstrip().startswith("#"):
                found.setdefault(key.strip(), value.strip())
    return found
