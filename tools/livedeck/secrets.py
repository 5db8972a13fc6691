"""Secrets a deck types (a database password): from the environment or a git-ignored file.

A secret's value is typed into the lab when a command waits for input and is never written
anywhere: screens are redacted before they reach a slide, a record or a message.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Mapping
from pathlib import Path

from livedeck.errors import DeckError
from livedeck.model import Deck

FILE = ".livedeck-secrets"  # NAME=value lines, beside the deck or in the working folder
REDACTED = "********"


def values(deck: Deck, environ: Mapping[str, str] = os.environ) -> dict[str, str]:
    """The value of every secret the deck's commands type; DeckError names a missing one."""
    found: dict[str, str] = {}
    files = _files((deck.path.parent / FILE, Path.cwd() / FILE))
    for command in deck.commands:
        for item in command.input:
            if item.secret is None or item.secret in found:
                continue
            value = environ.get(item.secret, files.get(item.secret))
            if not value:
                raise DeckError(
                    deck.path,
                    command.line,
                    f"secret {item.secret} is not set",
                    hint=f"export {item.secret}=... or put `{item.secret}=...` in"
                    f" {deck.path.parent / FILE} (git-ignored)",
                )
            found[item.secret] = value
    return found


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
