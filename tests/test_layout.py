"""Slides that fit: --strict, the fitting options and themes, through `livedeck build`.

Commands run on a local pty (they need no isolation); rendering and measuring use the real
marp-cli and Chromium.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from livedeck.cli import EXIT_DECK, main
from marps import Lent

pytestmark = pytest.mark.marp

DECK = """\
---
marp: true
theme: {theme}
paginate: true
{settings}---

## Short

one line

---

## Long output

{directive}
```bash
me@box:~$ seq {count}
```
"""


def write(
    tmp_path: Path,
    *,
    count: int = 40,
    theme: str = "mspt2",
    settings: str = "",
    directive: str = "",
) -> Path:
    deck = tmp_path / "long.md"
    deck.write_text(
        DECK.format(theme=theme, settings=settings, directive=directive, count=count),
        encoding="utf-8",
    )
    return deck


def fence_line(deck: Path) -> int:
    return deck.read_text(encoding="utf-8").split("\n").index("```bash") + 1


def build(deck: Path, out: Path, *extra: str) -> int:
    return main(
        ["build", str(deck), "--lab", "local", "--format", "html", "--out", str(out), *extra]
    )


def test_strict_fails_on_the_overflowing_slide_and_keeps_build(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    deck = write(tmp_path)
    out = tmp_path / "build"
    out.mkdir()
    (out / "long.html").write_text("previous", encoding="utf-8")
    assert build(deck, out, "--strict") == EXIT_DECK
    err = capsys.readouterr().err
    line = fence_line(deck)
    assert f"{deck}:{line}: slide 2 overflows by" in err
    assert f"code block at line {line}" in err
    assert (out / "long.html").read_text(encoding="utf-8") == "previous"
    assert sorted(p.name for p in out.iterdir()) == ["long.html"]


def test_without_strict_an_overflow_is_a_warning(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    deck = write(tmp_path)
    assert build(deck, tmp_path / "build") == 0
    assert f"{deck}:{fence_line(deck)}: warning: slide 2 overflows by" in capsys.readouterr().err
    built = (tmp_path / "build" / "long.md").read_text(encoding="utf-8")
    assert "\n40\n```" in built  # the output is complete by default
    index = (tmp_path / "build" / "index.html").read_text(encoding="utf-8")
    assert "1 overflow warning" in index and 'href="long.html"' in index


def test_elide_keeps_head_and_tail_with_a_marker(tmp_path: Path) -> None:
    deck = write(tmp_path, directive="<!-- livedeck: {elide: [3, 2]} -->")
    assert build(deck, tmp_path / "build", "--strict") == 0
    built = (tmp_path / "build" / "long.md").read_text(encoding="utf-8")
    assert "me@box:~$ seq 40\n1\n2\n3\n[... 35 lines ...]\n39\n40\n```" in built


def test_shrink_fits_a_slightly_too_long_block(tmp_path: Path, warm_marp: Lent) -> None:
    deck = write(tmp_path, count=30, settings="livedeck:\n  fit: shrink\n")
    assert build(deck, tmp_path / "build", "--strict") == 0
    built = (tmp_path / "build" / "long.md").read_text(encoding="utf-8")
    assert "<style scoped>pre code { font-size:" in built
    assert "\n30\n```" in built  # nothing left out
    themes = [Path(__file__).parent.parent / "slides" / "themes" / "mspt2.css"]
    built_deck = tmp_path / "build" / "long.md"
    remeasured = warm_marp.measure([built_deck], themes=themes)[built_deck]  # not the build's word
    assert [b.overflow for b in remeasured] == [0, 0]


def test_shrink_stops_at_the_floor(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    deck = write(tmp_path, count=60, settings="livedeck:\n  fit: shrink\n  font_floor: 12\n")
    assert build(deck, tmp_path / "build", "--strict") == EXIT_DECK
    assert "slide 2 overflows" in capsys.readouterr().err


def test_an_unknown_theme_is_an_error_at_its_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    deck = write(tmp_path, theme="mspt3")
    assert build(deck, tmp_path / "build") == EXIT_DECK
    err = capsys.readouterr().err
    assert f"{deck}:3: unknown theme 'mspt3'. Did you mean 'mspt2'?" in err
    assert not (tmp_path / "build").exists() or not any((tmp_path / "build").iterdir())
