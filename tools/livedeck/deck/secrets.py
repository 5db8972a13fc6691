"""Secrets a deck uses (a database password): from the environment or a git-ignored file.

A `secrets:` value reaches the lab's shell through its environment (run/guard.py), an `input:`
one is typed only where a program asks with echo off; every byte read from the lab is redacted
(livedeck.redaction) before a screen, a slide, a record or a message is made of it.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Mapping
from pathlib import Path

from livedeck.deck.course import find_course
from livedeck.errors import DeckError
from livedeck.model import Deck
from livedeck.redaction import MIN_LENGTH, REDACTED, scrub

FILE = ".livedeck-secrets"  # NAME=value lines, beside the deck or in the working folder


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
        _check(deck, line, name, value)
        found[name] = value
    return found


def _check(deck: Deck, line: int, name: str, value: str) -> None:
    """A value that can be hidden without hiding ordinary text, and typed as one line."""
    if len(value) < MIN_LENGTH:
        raise DeckError(
            deck.path,
            line,
            f"secret {name} is shorter than {MIN_LENGTH} characters: hiding it would hide"
            " ordinary words of every screen",
            hint=f"give the lab's service a longer password (at least {MIN_LENGTH} characters)",
        )
    if any(ord(c) < 0x20 or ord(c) == 0x7F for c in value):
        raise DeckError(
            deck.path,
            line,
            f"secret {name} holds a control character (a newline, a tab...): it cannot be"
            " typed as one line, nor hidden in every form a terminal shows",
            hint="remove it from the value",
        )


def environment(deck: Deck, found: Mapping[str, str]) -> dict[str, str]:
    """The deck's `secrets:` as variables for the lab's shell's environment."""
    return {name: found[name] for name in deck.settings.secrets}


def _settings_line(deck: Deck) -> int:
    lines = deck.text.split("\n")[: deck.body_line]
    return next((n for n, text in enumerate(lines, 1) if text.strip().startswith("secrets")), 1)


def redact(lines: Iterable[str], secrets: Iterable[str]) -> tuple[str, ...]:
    """The lines with every secret value hidden, in any form, also across two lines."""
    given = list(lines)
    return tuple(scrub("\n".join(given), secrets).split("\n")) if given else ()


__all__ = ["FILE", "REDACTED", "environment", "redact", "values"]


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
