"""`livedeck refresh`: rebuilds decks and writes what changed as Markdown for a pull request.

Runs on a real local shell, renders with the real marp-cli and Chromium (pictures of slides).
"""

from __future__ import annotations

import json
import zlib
from pathlib import Path
from typing import Any

import pytest

from livedeck.cli import EXIT_DECK, main
from livedeck.publish.warm import WarmMarp
from livedeck.verbs import refresh as refresh_verb
from livedeck.verbs.refresh import proposal

pytestmark = [pytest.mark.marp, pytest.mark.slow]

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
    assert "Slides whose story changed: 1\n" in text
    assert "![slide 1 before](refresh-pictures/layers/slide-1-before.png)" in text
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


NOISY = """\
---
marp: true
theme: plain-test
---

# Story

```bash
me@box:~$ cat {story}
```

---

# IDs only

```bash
me@box:~$ cat {ids}
```
"""

THEME = """\
/* @theme plain-test */
@import 'default';
section { background: rgb(1, 2, 3); }
"""


def _first_pixel(png: Path) -> tuple[int, int, int]:
    """The top-left pixel's RGB: any PNG filter leaves the first pixel of the first row raw."""
    data = png.read_bytes()
    chunks, at = b"", 8
    while at < len(data):
        size = int.from_bytes(data[at : at + 4], "big")
        kind = data[at + 4 : at + 8]
        if kind == b"IDAT":
            chunks += data[at + 8 : at + 8 + size]
        at += 12 + size
    row = zlib.decompress(chunks)
    return row[1], row[2], row[3]


def test_only_slides_whose_story_changed_get_pictures_in_the_decks_theme(tmp_path: Path) -> None:
    story, ids = tmp_path / "story.txt", tmp_path / "ids.txt"
    story.write_text("a: Pull complete\nb: Pull complete\n", encoding="utf-8")
    ids.write_text(f"container {'0123456789abcdef' * 4} created\n", encoding="utf-8")
    deck = tmp_path / "slides" / "noisy.md"
    (deck.parent / "themes").mkdir(parents=True)
    (deck.parent / "themes" / "plain.css").write_text(THEME, encoding="utf-8")
    deck.write_text(NOISY.format(story=story, ids=ids), encoding="utf-8")
    out = tmp_path / "build"
    assert main(["build", str(deck), "--lab", "local", "--format", "none", "--out", str(out)]) == 0
    story.write_text("a: Pull complete\n", encoding="utf-8")
    # Noise: a full ID (a 12-digit one counts only where the lab reported it: README)
    ids.write_text(f"container {'fedcba9876543210' * 4} created\n", encoding="utf-8")
    text = refresh(deck, "--all")
    assert "Slides whose story changed: 1\n" in text
    pictures = sorted(p.name for p in (tmp_path / "refresh-pictures" / "noisy").iterdir())
    assert pictures == ["slide-1-after.png", "slide-1-before.png"]
    shot = tmp_path / "refresh-pictures" / "noisy" / "slide-1-after.png"
    assert _first_pixel(shot) == (1, 2, 3)  # the deck's theme, not marp's default


def _refresh_json(target: Path, tmp_path: Path) -> list[str]:
    """`livedeck refresh TARGET --json` on the local lab, from the mirror, into tmp_path/build."""
    out = str(tmp_path / "build")
    return [
        "refresh",
        str(target),
        "--lab",
        "local",
        "--json",
        "-q",
        "--out",
        out,
        "--images",
        "mirror",
    ]


def _json(capsys: pytest.CaptureFixture[str]) -> dict[str, Any]:
    data: dict[str, Any] = json.loads(capsys.readouterr().out)
    return data


def test_a_failing_deck_does_not_stop_the_others_and_fails_the_refresh(
    deck: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    broken = deck.with_name("broken.md")
    broken.write_text(DECK.format(story=tmp_path / "story.txt"), encoding="utf-8")
    assert (
        main(
            [
                "build",
                str(broken),
                "--lab",
                "local",
                "--format",
                "none",
                "-q",
                "--out",
                str(tmp_path / "build"),
            ]
        )
        == 0
    )
    (tmp_path / "story.txt").write_text("a: Pull complete\n", encoding="utf-8")
    broken.write_text(broken.read_text(encoding="utf-8").replace("cat ", "cat /nonexistent "))
    capsys.readouterr()
    argv = [*_refresh_json(deck.parent, tmp_path), "--all"]
    assert main(argv) == EXIT_DECK
    found = {d["name"]: d for d in _json(capsys)["decks"]}
    assert found["broken"]["error"]["kind"] == "CommandFailed"
    assert found["broken"]["draft"] and not found["broken"]["changed"]
    assert found["layers"]["changed"] and found["layers"]["error"] is None
    assert "b: Pull complete" not in deck.with_suffix(".record.yaml").read_text(encoding="utf-8")


def test_an_overflowing_slide_makes_the_proposal_a_draft_and_fails(
    deck: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    lines = "".join(f"{n}: Pull complete\n" for n in range(400))
    (tmp_path / "story.txt").write_text(lines, encoding="utf-8")
    capsys.readouterr()
    argv = [*_refresh_json(deck, tmp_path), "--all"]
    assert main(argv) == EXIT_DECK
    (found,) = _json(capsys)["decks"]
    assert found["changed"] and found["overflows"][0]["slide"] == 1
    assert found["draft"][0].startswith("slide 1 overflows")
    assert "Not ready to merge (a draft) because:" in found["body"]


def test_a_proposal_already_made_is_not_made_again(
    deck: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    deck.with_suffix(".record.yaml").unlink()  # outdated: no record
    argv = _refresh_json(deck, tmp_path)
    skip = tmp_path / "skip.txt"
    key = proposal(deck, {})
    skip.write_text(f"<!-- livedeck-proposal: {key} -->\n", encoding="utf-8")
    assert main([*argv, "--skip", str(skip)]) == 0
    assert _json(capsys)["decks"] == []
    assert not deck.with_suffix(".record.yaml").exists()
    assert main(argv) == 0
    (found,) = _json(capsys)["decks"]
    assert found["proposal"] == key and f"<!-- livedeck-proposal: {key} -->" in found["body"]


def test_one_marp_cli_and_chromium_publish_and_picture_every_deck_of_a_refresh(
    deck: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Not a node and a Chromium per deck and per step: one for the whole refresh."""
    second = deck.with_name("second.md")
    second.write_text(deck.read_text(encoding="utf-8"), encoding="utf-8")
    out = tmp_path / "build"
    assert (
        main(["build", str(second), "--lab", "local", "--format", "none", "--out", str(out)]) == 0
    )
    (tmp_path / "story.txt").write_text("a: Pull complete\n", encoding="utf-8")
    started: list[WarmMarp] = []

    class Counted(WarmMarp):
        def __init__(self, *args: Any, **kwargs: Any) -> None:
            super().__init__(*args, **kwargs)
            started.append(self)

    monkeypatch.setattr(refresh_verb, "WarmMarp", Counted)
    summary = tmp_path / "refresh.md"
    argv = ["refresh", str(deck.parent), "--all", "--lab", "local", "--out", str(out), "-q"]
    assert main([*argv, "--summary", str(summary), "--images", "mirror"]) == 0
    text = summary.read_text(encoding="utf-8")
    assert len(started) == 1
    for name in ("layers", "second"):
        assert f"![slide 1 after](refresh-pictures/{name}/slide-1-after.png)" in text
        assert (out / f"{name}.pdf").read_bytes()[:5] == b"%PDF-"
