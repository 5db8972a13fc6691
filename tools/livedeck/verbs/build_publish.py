"""A build's staged decks made to fit their slides, and documents made into HTML pages."""

from __future__ import annotations

import os
import shutil
from collections.abc import Sequence
from pathlib import Path
from typing import Protocol

from livedeck.deck import parse_deck
from livedeck.document import document_html
from livedeck.model import Deck
from livedeck.paths import contained
from livedeck.publish.index import deck_title
from livedeck.publish.measure import measure_decks
from livedeck.publish.overflow import Overflow, SlideBox, overflow_report
from livedeck.render import fit


class Measure(Protocol):
    """Measures every slide of staged decks: measure_decks, WarmMarp.measure."""

    def __call__(
        self, decks: Sequence[Path], *, themes: Sequence[Path] = ()
    ) -> dict[Path, tuple[SlideBox, ...]]: ...


def fit_slides(
    decks: Sequence[Deck],
    staged: Sequence[Path],
    themes: Sequence[Path],
    measure: Measure,
    again: Measure = measure_decks,
) -> list[Overflow]:
    """Measure every slide (`measure`); shrink code where allowed; return what overflows.

    A shrunk slide is not measured again when the proposed font fits by fit.fitting_font's
    arithmetic (the code block's height is all in ems of its font); only slides clamped at the
    floor make a second measurement necessary.
    """
    boxes = measure(staged, themes=themes)
    remeasure = False
    for deck, path in zip(decks, staged, strict=True):
        text = path.read_text(encoding="utf-8")
        proposals = _fonts(deck, boxes[path])
        if not proposals:
            continue
        starts = {s.number: s.line for s in parse_deck(text, path).slides}
        fonts = {starts[n]: p.font_px for n, p in proposals.items()}
        path.write_text(fit.shrink_slides(text, fonts), encoding="utf-8")
        remeasure = remeasure or not all(p.fits for p in proposals.values())
        fitted = {n for n, p in proposals.items() if p.fits}
        boxes[path] = tuple(b for b in boxes[path] if b.number not in fitted)
    if remeasure:
        boxes = again(staged, themes=themes)
    return [
        o for d, path in zip(decks, staged, strict=True) for o in overflow_report(d, boxes[path])
    ]


def _fonts(deck: Deck, boxes: Sequence[SlideBox]) -> dict[int, fit.FontFit]:
    """Slide number -> the code font that makes it fit, for the slides the author lets shrink."""
    fonts = {}
    for box in boxes:
        if box.overflow <= 0 or not box.code:
            continue
        slide = next(s for s in deck.slides if s.number == box.number)
        allowed = deck.settings.fit == "shrink" or any(
            c.fit == "shrink" for c in deck.commands if slide.line <= c.line <= slide.end
        )
        if allowed:
            code = max(box.code, key=lambda c: c.height)
            fonts[box.number] = fit.fitting_font(
                box.overflow,
                code.lines,
                code.font_px,
                height_px=code.height,
                floor_px=deck.settings.font_floor,
            )
    return fonts


def publish_documents(
    decks: Sequence[Deck], staged: Sequence[Path], formats: Sequence[str], staging: Path
) -> set[str]:
    """Documents' Markdown and pictures into staging, with one HTML page each (no PDF)."""
    pages = staging / ".documents"
    made = set()
    for deck, path in zip(decks, staged, strict=True):
        if deck.document and "html" in formats:
            page = document_html(path.read_text(encoding="utf-8"), deck_title(deck))
            contained(staging, f"{deck.name}.html", "output").write_text(page, encoding="utf-8")
            made.add(f"{deck.name}.html")
    for source in sorted(pages.rglob("*")) if pages.is_dir() else []:
        if source.is_file():
            target = contained(staging, source.relative_to(pages), "output")
            target.parent.mkdir(parents=True, exist_ok=True)
            os.replace(source, target)
    shutil.rmtree(pages, ignore_errors=True)
    return made
