"""`livedeck watch` in a real browser: the open page follows each save on the slide it shows,
shows a broken save as an overlay and clears it once fixed; quitting leaves nothing running."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from browsers import Browser
from livedeck.cli import EXIT_INTERRUPTED
from livedeck.run.lab import LocalLab
from livedeck.verbs.build import BuildOptions, build
from processes import Livedeck, alive

pytestmark = pytest.mark.marp

SLIDE = "\n---\n\n## Slide {n}\n\nslide {n} says {word}\n"
DECK = (
    "---\nmarp: true\npaginate: true\n---\n\n## Slide 1\n\n```bash\nme@box:~$ echo hello\n```\n"
    + "".join(SLIDE.format(n=n, word="alpha") for n in range(2, 7))
)
ACTIVE = "document.querySelector('svg.bespoke-marp-active')?.textContent ?? ''"


@pytest.fixture
def deck(tmp_path: Path) -> Path:
    path = tmp_path / "slides" / "d.md"
    path.parent.mkdir()
    path.write_text(DECK, encoding="utf-8")
    build([path], BuildOptions(out_dir=tmp_path / "first", formats=()), LocalLab)  # its record
    return path


def test_the_page_follows_saves_on_its_slide_and_shows_errors(
    deck: Path, tmp_path: Path, browser: Browser
) -> None:
    watch = Livedeck("watch", str(deck), "--out", str(tmp_path / "build"), "--lab", "local")
    try:
        url = watch.wait_for("/d.html").split()[-1]
        watch.wait_for("rendered from its record")
        assert url.startswith("http://127.0.0.1:")
        browser.ask(f"open {url}")
        for _ in range(4):
            moved = browser.ask("key ArrowRight")
        assert moved["hash"] == "#5"

        _edit(deck, "slide 5 says alpha", "slide 5 says beta")
        seen = browser.ask(f"wait ({ACTIVE}).includes('slide 5 says beta')")
        assert seen["value"] is True
        assert seen["hash"] == "#5"  # still on slide 5
        assert seen["loads"] == 2  # the page reloaded itself; nobody else loaded it
        watch.wait_for("rendered from its record")

        _edit(deck, "slide 5 says beta", "slide 5 says {{ no_such_name }}")
        line = deck.read_text(encoding="utf-8").split("\n").index("slide 5 says {{ no_such_name }}")
        overlay = browser.ask("wait document.querySelector('#livedeck-error')?.textContent")
        assert f"d.md:{line + 1}:" in str(overlay["value"])
        assert "no_such_name" in str(overlay["value"])
        assert overlay["hash"] == "#5"
        watch.wait_for(f"d.md:{line + 1}:")  # the terminal says it too ...
        watch.wait_for("still watching")  # ... and goes on

        _edit(deck, "slide 5 says {{ no_such_name }}", "slide 5 says gamma")
        fixed = browser.ask(
            f"wait !document.querySelector('#livedeck-error') && ({ACTIVE}).includes('says gamma')"
        )
        assert fixed["value"] is True
        assert fixed["hash"] == "#5"
    finally:
        code, descendants = watch.stop(30)
    assert code == EXIT_INTERRUPTED
    assert any("node" in name for name in descendants.values())  # marp-cli's node ...
    assert any("chrom" in name for name in descendants.values())  # ... and its Chromium
    time.sleep(0.5)
    running = {pid: name for pid, name in descendants.items() if alive(pid)}
    assert running == {}  # quitting left nothing running


def _edit(deck: Path, old: str, new: str) -> None:
    text = deck.read_text(encoding="utf-8")
    assert old in text
    deck.write_text(text.replace(old, new), encoding="utf-8")
