"""`livedeck refresh`: rebuilds decks and writes what changed as Markdown for a pull request.

Runs on a real local shell, renders with the real marp-cli and Chromium (pictures of slides).
"""

from __future__ import annotations

from pathlib import Path

import pytest

from livedeck.cli import main

pytestmark = pytest.mark.marp

DECK = """\
---
marp: true
---

# Layers

```bash
me@box:~$ cat {story}
```

---

# Unchanged

Prose only.
"""


@pytest.fixture
def deck(tmp_path: Path) -> Path:
    (tmp_path / "story.txt").write_text("a: Pull complete\nb: Pull complete\n", encoding="utf-8")
    path = tmp_path / "slides" / "layers.md"
    path.parent.mkdir()
    path.write_text(DECK.format(story=tmp_path / "story.txt"), encoding="utf-8")
    out = tmp_path / "build"
    assert main(["build", str(path), "--lab", "local", "--format", "none", "--out", str(out)]) == 0
    return path


def refresh(deck: Path, *options: str) -> str:
    """The summary `livedeck refresh` wrote ("" when it wrote none)."""
    out, summary = deck.parent.parent / "build", deck.parent.parent / "refresh.md"
    argv = ["refresh", str(deck), *options, "--lab", "local", "--out", str(out), "-q"]
    assert main([*argv, "--summary", str(summary), "--images", "mirror"]) == 0
    return summary.read_text(encoding="utf-8") if summary.exists() else ""


def test_nothing_changed_says_so_and_keeps_the_record(
    deck: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    recorded = deck.with_suffix(".record.yaml").read_bytes()
    capsys.readouterr()
    assert refresh(deck, "--all") == ""
    assert deck.with_suffix(".record.yaml").read_bytes() == recorded
    assert "nothing changed: every deck tells its record's story" in capsys.readouterr().err


def test_a_changed_screen_is_summarised_with_its_slide_before_and_after(
    deck: Path, tmp_path: Path
) -> None:
    (tmp_path / "story.txt").write_text("a: Pull complete\n", encoding="utf-8")
    text = refresh(deck, "--all")
    assert f"## `{deck}`" in text
    assert "- line 8: `cat " in text and "`b: Pull complete`: 1 -> 0 lines" in text
    assert "  - b: Pull complete" in text
    assert "Slides whose text changed: 1\n" in text
    assert "![before](refresh-pictures/layers/slide-1-before.png)" in text
    before = tmp_path / "refresh-pictures" / "layers" / "slide-1-before.png"
    after = before.with_name("slide-1-after.png")
    assert before.read_bytes()[:8] == after.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert before.read_bytes() != after.read_bytes()
    assert "b: Pull complete" not in deck.with_suffix(".record.yaml").read_text(encoding="utf-8")


def test_without_all_it_rebuilds_only_what_outdated_names(
    deck: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # The deck pulls no image: nothing is outdated, so nothing runs even though its story moved.
    (tmp_path / "story.txt").write_text("a: Pull complete\n", encoding="utf-8")
    recorded = deck.with_suffix(".record.yaml").read_bytes()
    capsys.readouterr()
    assert refresh(deck) == ""
    assert deck.with_suffix(".record.yaml").read_bytes() == recorded
    assert "nothing changed: no deck is outdated" in capsys.readouterr().err
    # Without a record it is outdated (`no record`): it is built and recorded.
    deck.with_suffix(".record.yaml").unlink()
    text = refresh(deck)
    assert f"## `{deck}`\n\n{deck}: no record fit the deck; recorded this run" in text
    assert "b: Pull complete" not in deck.with_suffix(".record.yaml").read_text(encoding="utf-8")
