"""Making a too-tall slide fit: elide the middle of long output, or shrink the code font. Pure.

The numbers come from overflow.measure_decks: the render stage proposes a fix, renders again
and measures again. A code block's height is all in ems of its own font (gaia and the course
theme: line-height 1.35, padding 0.5em above and below), so it scales with its font size.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

LINE_HEIGHT = 1.35  # of gaia's and the course theme's code blocks, in ems
PADDING_EMS = 1.0  # gaia's `pre code { padding: .5em }`, above plus below
READABLE_FLOOR_PX = 12.0
STEP_PX = 0.5  # font sizes are proposed in half pixels, rounded down


@dataclass(frozen=True)
class FontFit:
    """A proposed font size for a code block, and whether the block then fits."""

    font_px: float
    fits: bool  # False: clamped at the floor, the block still overflows (elide lines too)


def elide(
    lines: Sequence[str], head: int, tail: int, marker: str = "[... {n} lines ...]"
) -> list[str]:
    """The first `head` and last `tail` lines with one marker line for the n lines between.

    Lines come back unchanged when eliding would not make them shorter.
    `marker` is formatted with n, the number of lines left out.
    """
    if head < 0 or tail < 0:
        raise ValueError(f"head and tail must not be negative (head={head}, tail={tail})")
    left_out = len(lines) - head - tail
    if left_out <= 1:  # one marker line in place of one line saves nothing
        return list(lines)
    return [*lines[:head], marker.format(n=left_out), *lines[len(lines) - tail :]]


def lines_to_elide(overflow_px: float, font_px: float, *, line_height: float = LINE_HEIGHT) -> int:
    """How many lines of a code block to leave out for overflow_px to go (the marker included)."""
    if overflow_px <= 0:
        return 0
    return math.ceil(overflow_px / (font_px * line_height)) + 1


def fitting_font(
    overflow_px: float,
    lines: int,
    font_px: float,
    *,
    height_px: float | None = None,
    floor_px: float = READABLE_FLOOR_PX,
    line_height: float = LINE_HEIGHT,
    padding_ems: float = PADDING_EMS,
) -> FontFit:
    """The largest code font (in STEP_PX steps, at least floor_px) that removes overflow_px.

    A block of `lines` lines is (lines * line_height + padding_ems) ems tall. Pass the measured
    height_px when there is one: marp's auto-scaling may draw a block smaller than its font
    says (gaia caps a code block at 580px - 1em), and what must fit is the drawn height.
    """
    if overflow_px <= 0:
        return FontFit(font_px, fits=True)
    ems = lines * line_height + padding_ems
    drawn = ems * font_px if height_px is None else min(height_px, ems * font_px)
    wanted = math.floor((drawn - overflow_px) / ems / STEP_PX + 1e-9) * STEP_PX
    if wanted < floor_px:
        return FontFit(min(floor_px, font_px), fits=False)
    return FontFit(min(wanted, font_px), fits=True)


def shrink_style(font_px: float) -> str:
    """A Marp scoped style setting the code font of the slide it is put on.

    Marp honours `<style scoped>` without --html; put it on a line of its own in the slide.
    """
    if font_px <= 0:
        raise ValueError(f"font size must be positive, not {font_px}")
    return f"<style scoped>pre code {{ font-size: {font_px:g}px; }}</style>"


def shrink_slides(markdown: str, fonts: Mapping[int, float]) -> str:
    """Put a scoped code-font style on the first line of each slide in `fonts` (line -> px)."""
    lines = markdown.split("\n")
    for line in sorted(fonts, reverse=True):
        lines.insert(line - 1, shrink_style(fonts[line]))
    return "\n".join(lines)
