"""fit: eliding and shrinking code blocks (pure), and one real marp run that a shrunk block fits."""

from __future__ import annotations

from pathlib import Path

import pytest

from livedeck.deck import load_deck
from livedeck.publish.marp import REPO_ROOT
from livedeck.publish.overflow import overflow_report
from livedeck.render.fit import FontFit, elide, fitting_font, lines_to_elide, shrink_style
from marps import Lent

LONG = Path(__file__).parent / "decks" / "overflow" / "long-code.md"
MSPT2 = REPO_ROOT / "slides" / "themes" / "mspt2.css"


def test_elide_keeps_head_and_tail_around_one_marker() -> None:
    lines = [f"line {n}" for n in range(1, 11)]
    assert elide(lines, 2, 3) == [
        "line 1",
        "line 2",
        "[... 5 lines ...]",
        "line 8",
        "line 9",
        "line 10",
    ]
    assert elide(lines, 0, 1, marker="({n} more)") == ["(9 more)", "line 10"]
    assert elide(lines, 3, 0) == ["line 1", "line 2", "line 3", "[... 7 lines ...]"]


def test_elide_leaves_lines_alone_when_it_would_not_save_a_line() -> None:
    lines = ["a", "b", "c"]
    assert elide(lines, 1, 1) == lines  # one line would become one marker line
    assert elide(lines, 2, 2) == lines
    with pytest.raises(ValueError, match="negative"):
        elide(lines, -1, 1)


def test_lines_to_elide_counts_the_marker_line() -> None:
    assert lines_to_elide(0, 12.6) == 0
    assert lines_to_elide(17, 12.6) == 2  # one 17 px line of 12.6 px * 1.35, plus the marker
    assert lines_to_elide(83, 12.6) == 5 + 1


def test_fitting_font_shrinks_by_the_overflow_spread_over_the_blocks_ems() -> None:
    # 20 lines * 1.35 + 1 em of padding = 28 ems: 28 px of overflow is 1 px of font.
    assert fitting_font(28, 20, 16) == FontFit(15.0, fits=True)
    assert fitting_font(29, 20, 16) == FontFit(14.5, fits=True)  # rounded down to half pixels
    assert fitting_font(0, 20, 16) == FontFit(16, fits=True)


def test_fitting_font_stops_at_the_readable_floor() -> None:
    assert fitting_font(200, 20, 16) == FontFit(12.0, fits=False)
    assert fitting_font(200, 20, 16, floor_px=8) == FontFit(8.5, fits=True)
    assert fitting_font(10, 20, 11) == FontFit(11, fits=False)  # already below the floor


def test_fitting_font_uses_the_drawn_height_of_an_auto_scaled_block() -> None:
    # 45 lines at 12.6 px are 778 px tall; gaia draws them 562 px tall (scaled by 0.72).
    assert fitting_font(36, 45, 12.6) == FontFit(12.0, fits=True)
    assert fitting_font(36, 45, 12.6, height_px=562, floor_px=6) == FontFit(8.5, fits=True)


def test_shrink_style_is_a_scoped_style_for_the_slides_code() -> None:
    assert shrink_style(11.5) == "<style scoped>pre code { font-size: 11.5px; }</style>"
    assert shrink_style(12) == "<style scoped>pre code { font-size: 12px; }</style>"
    with pytest.raises(ValueError):
        shrink_style(0)


@pytest.mark.marp
def test_a_shrunk_code_block_no_longer_overflows(tmp_path: Path, warm_marp: Lent) -> None:
    # Marp honours <style scoped> without --html, on marp's <marp-pre> code blocks too.
    deck = load_deck(LONG)
    [found] = overflow_report(deck, warm_marp.measure([LONG], themes=[MSPT2])[LONG])
    assert found.code_lines is not None and found.font_px is not None
    fit = fitting_font(found.pixels, found.code_lines, found.font_px, floor_px=8)
    assert fit.fits and fit.font_px < found.font_px

    lines = deck.text.split("\n")
    lines.insert(found.line - 1, shrink_style(fit.font_px) + "\n")
    shrunk = tmp_path / "long-code.md"
    shrunk.write_text("\n".join(lines))
    boxes = warm_marp.measure([shrunk], themes=[MSPT2])[shrunk]
    assert boxes[1].code[0].font_px == fit.font_px
    assert overflow_report(load_deck(shrunk), boxes) == []
