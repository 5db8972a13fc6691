"""Decks run on a real local pseudo-terminal as me@box (100x30), for run-stage tests without Docker."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from pathlib import Path

from livedeck.deck import parse_deck
from livedeck.model import Deck, Transcript
from livedeck.render.context import run_plan
from livedeck.run import run_deck
from livedeck.run.lab import LabSpec, LocalLab


@contextlib.contextmanager
def local_lab(home: Path) -> Iterator[LocalLab]:
    """A local lab whose shells have `home` as HOME; they end with it."""
    lab = LocalLab(LabSpec(hostname="box", user="me", columns=100, rows=30), {"HOME": str(home)})
    try:
        yield lab
    finally:
        lab.close()


def run_text(lab: LocalLab, text: str, front: str = "", **options: bool) -> tuple[Deck, Transcript]:
    """The deck `text` (as deck.md, with front matter `front` if any) and its run on lab."""
    deck = parse_deck((f"---\n{front}---\n" if front else "") + text, Path("deck.md"))
    return deck, run_deck(deck, lab, run_plan(deck), **options)


def run(lab: LocalLab, text: str, front: str = "", **options: bool) -> Transcript:
    """The run of the deck `text` on lab (see run_text)."""
    return run_text(lab, text, front, **options)[1]
