"""`livedeck watch` in a real browser: the open page follows each save on the slide it shows,
shows a broken save as an overlay and clears it once fixed; quitting leaves nothing running."""

from __future__ import annotations

import json
import os
import queue
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from livedeck.build import BuildOptions, build
from livedeck.cli import EXIT_INTERRUPTED
from livedeck.run.lab import LocalLab

pytestmark = pytest.mark.marp

ROOT = Path(__file__).resolve().parent.parent
SLIDE = "\n---\n\n## Slide {n}\n\nslide {n} says {word}\n"
DECK = (
    "---\nmarp: true\npaginate: true\n---\n\n## Slide 1\n\n```bash\nme@box:~$ echo hello\n```\n"
    + "".join(SLIDE.format(n=n, word="alpha") for n in range(2, 7))
)
ACTIVE = "document.querySelector('svg.bespoke-marp-active')?.textContent ?? ''"


class Browser:
    """tests/watch_page.mjs: headless Chromium answering one command at a time."""

    def __init__(self) -> None:
        self.proc = subprocess.Popen(
            ["node", str(ROOT / "tests" / "watch_page.mjs")],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )

    def ask(self, command: str) -> dict[str, object]:
        assert self.proc.stdin is not None and self.proc.stdout is not None
        self.proc.stdin.write(command + "\n")
        self.proc.stdin.flush()
        return dict(json.loads(self.proc.stdout.readline()))

    def close(self) -> None:
        assert self.proc.stdin is not None
        self.proc.stdin.close()
        self.proc.wait(30)


class Watch:
    """`livedeck watch` as a user runs it, its messages collected line by line."""

    def __init__(self, deck: Path, out: Path) -> None:
        env = {**os.environ, "PYTHONPATH": str(ROOT / "tools")}
        argv = [sys.executable, "-m", "livedeck", "watch", str(deck), "--out", str(out)]
        self.proc = subprocess.Popen(
            [*argv, "--lab", "local"], stderr=subprocess.PIPE, text=True, env=env
        )
        self.lines: queue.Queue[str] = queue.Queue()
        self.said: list[str] = []
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        assert self.proc.stderr is not None
        for line in self.proc.stderr:
            self.lines.put(line.rstrip("\n"))

    def wait_for(self, text: str, seconds: float = 30) -> str:
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            try:
                line = self.lines.get(timeout=0.2)
            except queue.Empty:
                continue
            self.said.append(line)
            if text in line:
                return line
        raise AssertionError(f"watch never said {text!r}; it said:\n" + "\n".join(self.said))


@pytest.fixture
def deck(tmp_path: Path) -> Path:
    path = tmp_path / "slides" / "d.md"
    path.parent.mkdir()
    path.write_text(DECK, encoding="utf-8")
    build([path], BuildOptions(out_dir=tmp_path / "first", formats=()), LocalLab)  # its record
    return path


@pytest.fixture
def browser() -> Iterator[Browser]:
    chromium = Browser()
    yield chromium
    chromium.close()


def test_the_page_follows_saves_on_its_slide_and_shows_errors(
    deck: Path, tmp_path: Path, browser: Browser
) -> None:
    watch = Watch(deck, tmp_path / "build")
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
        descendants = _descendants(watch.proc.pid)
        watch.proc.send_signal(signal.SIGTERM)
        code = watch.proc.wait(30)
    assert code == EXIT_INTERRUPTED
    assert any("node" in name for name in descendants.values())  # marp-cli's node ...
    assert any("chrom" in name for name in descendants.values())  # ... and its Chromium
    time.sleep(0.5)
    alive = {pid: name for pid, name in descendants.items() if _alive(pid)}
    assert alive == {}  # quitting left nothing running


def _edit(deck: Path, old: str, new: str) -> None:
    text = deck.read_text(encoding="utf-8")
    assert old in text
    deck.write_text(text.replace(old, new), encoding="utf-8")


def _descendants(pid: int) -> dict[int, str]:
    """Every process below pid (by parent), with its command name."""
    parents: dict[int, int] = {}
    names: dict[int, str] = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            text = stat.read_text()
        except OSError:
            continue
        child = int(stat.parent.name)
        names[child] = text[text.index("(") + 1 : text.rindex(")")]
        parents[child] = int(text[text.rindex(")") + 2 :].split()[1])
    found: dict[int, str] = {}
    frontier = [pid]
    while frontier:
        parent = frontier.pop()
        for child, up in parents.items():
            if up == parent and child not in found:
                found[child] = names[child]
                frontier.append(child)
    return found


def _alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"
