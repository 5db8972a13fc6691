"""A record changes only when the story does: builds on a real local shell (pty).

Kept: a run that equals the record after normalisation leaves the record byte for byte and the
slides show the record's values. Changed: a new story replaces both. `--fresh`: the new run
regardless. Results come back as data (`--json`).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from livedeck.cli import EXIT_DECK, main

DECK = """\
---
marp: true
livedeck:
  timeout: 30
---

# Today

```bash
me@box:~$ date '+%Y-%m-%d %H:%M:%S.%N'
me@box:~$ cat {story}
```
"""


@pytest.fixture
def deck(tmp_path: Path) -> Path:
    story = tmp_path / "story.txt"
    story.write_text("three layers\n", encoding="utf-8")
    path = tmp_path / "slides" / "today.md"
    path.parent.mkdir()
    path.write_text(DECK.format(story=story), encoding="utf-8")
    return path


def build(deck: Path, capsys: pytest.CaptureFixture[str], *flags: str) -> Any:
    out = deck.parent.parent / "build"
    capsys.readouterr()
    argv = ["build", str(deck), "--lab", "local", "--format", "none", "--out", str(out)]
    assert main([*argv, "--json", *flags]) == 0
    return json.loads(capsys.readouterr().out)


def story(result: Any) -> str:
    decks = result["decks"]
    assert isinstance(decks, list) and len(decks) == 1
    return str(decks[0]["story"])


def test_a_run_that_tells_the_same_story_keeps_the_record_and_the_slides(
    deck: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert story(build(deck, capsys)) == "new"
    recorded = deck.with_suffix(".record.yaml").read_bytes()
    slides = (deck.parent.parent / "build" / "today.md").read_text(encoding="utf-8")
    assert "three layers" in slides

    again = build(deck, capsys)
    assert story(again) == "kept"
    assert again["decks"][0]["record_written"] is False
    assert deck.with_suffix(".record.yaml").read_bytes() == recorded
    # The slides show the recorded time, not this run's: one consistent run, as offline.
    assert (deck.parent.parent / "build" / "today.md").read_text(encoding="utf-8") == slides
    assert str(deck.with_suffix(".record.yaml")) not in again["outputs"]


def test_fresh_takes_the_new_run_although_the_story_is_the_same(
    deck: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    build(deck, capsys)
    recorded = deck.with_suffix(".record.yaml").read_bytes()
    result = build(deck, capsys, "--fresh")
    assert story(result) == "fresh"
    assert deck.with_suffix(".record.yaml").read_bytes() != recorded  # another time of day


def test_a_new_story_replaces_record_and_slides_and_says_which_command(
    deck: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    build(deck, capsys)
    (tmp_path / "story.txt").write_text("two layers\n", encoding="utf-8")
    result = build(deck, capsys, "-q")
    assert story(result) == "changed"
    [change] = result["decks"][0]["changes"]
    assert change["line"] == 11 and change["diff"] == ["- three layers", "+ two layers"]
    assert "two layers" in deck.with_suffix(".record.yaml").read_text(encoding="utf-8")
    assert "two layers" in (tmp_path / "build" / "today.md").read_text(encoding="utf-8")


def test_check_update_says_what_changed_before_it_writes(
    deck: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    build(deck, capsys)
    (tmp_path / "story.txt").write_text("two layers\n", encoding="utf-8")
    capsys.readouterr()
    assert main(["check", str(deck), "--lab", "local", "--json", "-q"]) == EXIT_DECK
    shown = capsys.readouterr()
    checked = json.loads(shown.out)  # stdout holds the JSON alone
    assert checked["ok"] is False and checked["decks"][0]["story"] == "changed"
    assert "three layers" in deck.with_suffix(".record.yaml").read_text(encoding="utf-8")

    assert main(["check", str(deck), "--lab", "local", "--update", "-q"]) == 0
    shown = capsys.readouterr()
    assert f"{deck}:11: $ cat" in shown.out and "+ two layers" in shown.out
    assert f"{deck}: 1 command(s) tell another story than the record; record rewritten" in (
        shown.err
    )
    assert "two layers" in deck.with_suffix(".record.yaml").read_text(encoding="utf-8")

    assert main(["check", str(deck), "--lab", "local", "--update", "-q"]) == 0
    assert "same story as its record; record kept" in capsys.readouterr().err
