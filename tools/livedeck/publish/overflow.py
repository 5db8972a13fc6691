"""Slides that run off the bottom, reported at deck:line. Pure.

marp-cli never says that a slide is too tall (its auto-scaling only shrinks code that is too
wide). livedeck.measure measures every rendered slide in headless Chromium; this module turns
those numbers into messages at the lines of the deck an author edits.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from livedeck.errors import DeckError
from livedeck.model import Deck

_FENCE = re.compile(r"^\s*(?:>\s*)*(`{3,}|~{3,})(.*)$")


@dataclass(frozen=True)
class CodeBox:
    """One code block of a rendered slide, in its order on the slide (0 = first)."""

    index: int
    lines: int
    height: float  # px as drawn on the 1280x720 (or 960x720) slide
    font_px: float  # the CSS font size of its code
    scale: float = 1.0  # < 1: marp's auto-scaling draws it smaller (too wide, or too tall)


@dataclass(frozen=True)
class SlideBox:
    """How one rendered slide measured: overflow > 0 is content running into the bottom padding."""

    number: int
    overflow: int  # px: the section's scrollHeight - clientHeight
    culprit: str | None  # the first block below the bottom edge: "code block", "paragraph", ...
    culprit_code: int | None  # its index among the slide's code blocks, if it is or holds one
    code: tuple[CodeBox, ...] = ()


@dataclass(frozen=True)
class Overflow:
    """One slide of a deck that runs off the bottom, located at a line of the deck."""

    path: Path
    line: int  # the overflowing code block's fence, or else the slide's first line
    slide: int
    pixels: int
    block: str  # what runs past the bottom edge
    code_line: int | None = None  # the slide's tallest code block: where trimming helps most
    code_lines: int | None = None
    font_px: float | None = None  # that block's font size now

    @property
    def message(self) -> str:
        """What is wrong, without the location."""
        text = f"slide {self.slide} overflows by {self.pixels} px"
        if self.block == "code block" and self.code_line == self.line:
            return f"{text} (code block at line {self.line}, {self.code_lines} lines)"
        if self.code_line is not None:
            return (
                f"{text} (the {self.block} runs past the bottom; tallest code block: "
                f"line {self.code_line}, {self.code_lines} lines)"
            )
        return f"{text} (the {self.block} runs past the bottom)"

    def __str__(self) -> str:
        return f"{self.path}:{self.line}: {self.message}"


def overflow_report(deck: Deck, boxes: Sequence[SlideBox], *, min_px: int = 1) -> list[Overflow]:
    """The slides of `deck` whose measured box overflows by at least min_px, in slide order.

    `boxes` come from measuring the deck as rendered (outputs replaced); slide numbers and the
    order of code blocks on a slide are the same in the deck, so lines are the deck's own.
    """
    fences = code_fences(deck)
    slides = {slide.number: slide for slide in deck.slides}
    found = []
    for box in boxes:
        if box.overflow < min_px:
            continue
        slide = slides.get(box.number)
        slide_line = slide.line if slide is not None else 1
        lines = fences.get(box.number, [])
        if len(lines) != len(box.code):
            lines = []  # e.g. an indented code block, which has no fence: lines unknown
        culprit_line = _line_of(lines, box.culprit_code)
        # Name the code block that crosses the bottom edge; else the slide's tallest one.
        if culprit_line is not None:
            code = next((c for c in box.code if c.index == box.culprit_code), None)
        else:
            code = max(box.code, key=lambda c: (c.height, -c.index), default=None)
        code_line = _line_of(lines, code.index) if code is not None else None
        found.append(
            Overflow(
                path=deck.path,
                line=culprit_line or slide_line,
                slide=box.number,
                pixels=box.overflow,
                block=box.culprit or "content",
                code_line=code_line,
                code_lines=code.lines if code is not None and code_line else None,
                font_px=code.font_px if code is not None and code_line else None,
            )
        )
    return found


def overflow_error(found: Sequence[Overflow]) -> DeckError:
    """One error for `build --strict`: at the first overflow, listing every one."""
    first = found[0]
    rest = [f"  {item}" for item in found[1:]]
    return DeckError(
        first.path,
        first.line,
        "\n".join([first.message, *rest]),
        hint="shorten the output shown (elide lines), shrink the slide's code font with "
        "<style scoped>, or split the slide",
    )


def _line_of(fence_lines: Sequence[int], index: int | None) -> int | None:
    if index is None or not 0 <= index < len(fence_lines):
        return None
    return fence_lines[index]


def code_fences(deck: Deck) -> dict[int, list[int]]:
    """Slide number -> the 1-based lines of the fences opening the slide's code blocks."""
    lines = deck.text.split("\n")
    result: dict[int, list[int]] = {}
    for slide in deck.slides:
        opening: str | None = None
        for number in range(slide.line, slide.end + 1):
            match = _FENCE.match(lines[number - 1]) if number <= len(lines) else None
            if match is None:
                continue
            marker, rest = match.group(1), match.group(2)
            if opening is None:
                opening = marker
                result.setdefault(slide.number, []).append(number)
            elif marker[0] == opening[0] and len(marker) >= len(opening) and not rest.strip():
                opening = None
    return result
