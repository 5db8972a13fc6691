"""What `build` and `check` return, per deck and per command: data the CLI prints and `--json`
emits, and a refresh turns into a pull-request body. Pure.

Every verb's `--json` is one object of one schema (livedeck/results.schema.json):
`{"schema": 1, "command": ..., "ok": ..., "exit": ..., "error": ...}` and the verb's own keys,
on success and on failure alike (`envelope`).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from livedeck.check import Change
from livedeck.errors import CommandFailed, DeckError, Failures, LivedeckError
from livedeck.model import Transcript
from livedeck.publish.overflow import Overflow

SCHEMA = 1  # the version of results.schema.json; raised when a key changes meaning or goes

# What became of a deck's record:
#   kept     the new run tells the record's story (IDs, ages and dates aside): the record stays
#            byte for byte and the slides are rendered from it
#   changed  the new run tells another story: it replaces the record (build, check --update)
#            or is reported (check)
#   new      there was no record that fits the deck: the run becomes its record
#   fresh    the run tells the same story, and --fresh made it the record all the same
#   offline  nothing ran: the slides come from the record
Story = Literal["kept", "changed", "new", "fresh", "offline"]


@dataclass(frozen=True)
class DeckResult:
    """One deck of a build or check: its record's fate, what changed, the lab it ran on."""

    deck: Path
    story: Story
    written: bool  # the record file was written
    changes: tuple[Change, ...] = ()  # against the previous record
    lab: Mapping[str, str] = field(default_factory=dict)  # the record's engine and image digests
    previous_lab: Mapping[str, str] = field(default_factory=dict)  # the previous record's
    seconds: float = 0.0  # how long the run took (not in the record: it differs on every run)
    transcript: Transcript | None = field(default=None, compare=False, repr=False)  # on the slides
    previous: Transcript | None = field(default=None, compare=False, repr=False)  # the old record

    @property
    def name(self) -> str:
        """The deck's name: the name of its outputs."""
        return self.deck.stem

    @property
    def line(self) -> str:
        """One line for people: what became of the deck's record."""
        count = len(self.changes)
        moved = _digests(self.lab) != _digests(self.previous_lab)
        why = "its images changed" if moved else "--fresh"
        return {
            "kept": f"{self.deck}: same story as its record; record kept, slides rendered from it",
            "changed": f"{self.deck}: {count} command(s) tell another story than the record"
            + ("; record rewritten" if self.written else ""),
            "new": f"{self.deck}: no record fit the deck; "
            + ("recorded this run" if self.written else "nothing to compare with"),
            "fresh": f"{self.deck}: same story as its record; record rewritten ({why})",
            "offline": f"{self.deck}: rendered from its record",
        }[self.story]


def _digests(lab: Mapping[str, str]) -> dict[str, str]:
    return {key: value for key, value in lab.items() if key.startswith("image ")}


def change_data(change: Change) -> dict[str, Any]:
    """A changed command as JSON-ready data."""
    return {
        "line": change.line,
        "command": change.command,
        "summary": change.summary,
        "diff": list(change.diff),
    }


def deck_data(result: DeckResult) -> dict[str, Any]:
    """A deck's result as JSON-ready data."""
    return {
        "deck": str(result.deck),
        "name": result.name,
        "story": result.story,
        "record_written": result.written,
        "seconds": round(result.seconds, 2),
        "changes": [change_data(c) for c in result.changes],
        "lab": dict(result.lab),
        "previous_lab": dict(result.previous_lab),
    }


def overflow_data(overflow: Overflow) -> dict[str, Any]:
    """An overflowing slide as JSON-ready data."""
    return {
        "deck": str(overflow.path),
        "line": overflow.line,
        "slide": overflow.slide,
        "message": overflow.message,
    }


def build_data(
    decks: Sequence[DeckResult],
    outputs: Sequence[Path],
    overflows: Sequence[Overflow],
    warnings: Sequence[object] = (),
) -> dict[str, Any]:
    """A whole build as JSON-ready data."""
    return {
        "decks": [deck_data(d) for d in decks],
        "outputs": [str(p) for p in outputs],
        "overflows": [overflow_data(o) for o in overflows],
        "warnings": [str(w) for w in warnings],
    }


def check_data(decks: Sequence[DeckResult]) -> dict[str, Any]:
    """A whole check as JSON-ready data (the envelope's `ok` says whether every story held)."""
    return {"decks": [deck_data(d) for d in decks]}


def error_data(error: LivedeckError) -> dict[str, Any]:
    """An error as JSON-ready data: what `livedeck` would print, in parts."""
    data: dict[str, Any] = {
        "kind": type(error).__name__,
        "message": error.message,
        "hint": error.hint,
        "deck": str(error.path) if isinstance(error, DeckError) else None,
        "line": error.line if isinstance(error, DeckError) else None,
        "command": error.command if isinstance(error, CommandFailed) else None,
        "screen_tail": list(error.screen_tail) if isinstance(error, CommandFailed) else [],
        "errors": [error_data(e) for e in error.errors] if isinstance(error, Failures) else [],
    }
    return data


def envelope(
    command: str,
    exit_code: int,
    payload: Mapping[str, Any] | None = None,
    error: LivedeckError | None = None,
) -> dict[str, Any]:
    """A verb's whole `--json` output: schema version, verb, exit status, error, its own keys."""
    return {
        "schema": SCHEMA,
        "command": command,
        "ok": exit_code == 0,
        "exit": exit_code,
        "error": error_data(error) if error is not None else None,
        **(payload or {}),
    }
