"""`livedeck watch`: saving a deck, its theme or a picture it shows rebuilds it; prose edits
render from the record; rapid saves make one rebuild."""

from __future__ import annotations

import shutil
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

import livedeck.verbs.watch as watch_module
from livedeck.run.lab import LocalLab
from livedeck.verbs.build import BuildOptions
from livedeck.verbs.watch import Rebuilt, watch

DECK = "# {title}\n\n```bash\nme@box:~$ echo {word}\n```\n"


class Watching:
    """watch() in a thread over one deck folder, Markdown only, on this machine's shell."""

    def __init__(self, folder: Path, out: Path, lab: type[LocalLab] = LocalLab) -> None:
        self.seen: list[Rebuilt] = []
        self._stop = threading.Event()
        options = BuildOptions(out_dir=out, formats=())
        self._thread = threading.Thread(
            target=watch, args=([folder], options, lab, self.seen.append, self._stop)
        )
        self._thread.start()

    def wait_for(self, count: int) -> Rebuilt:
        _wait(lambda: len(self.seen) >= count)
        return self.seen[count - 1]

    def close(self) -> None:
        self._stop.set()
        self._thread.join(timeout=10)
        assert not self._thread.is_alive()


@pytest.fixture
def slides(tmp_path: Path) -> Path:
    folder = tmp_path / "slides"
    folder.mkdir()
    return folder


@pytest.fixture
def watching(slides: Path, tmp_path: Path) -> Iterator[Callable[[], Watching]]:
    started: list[Watching] = []

    def start() -> Watching:
        started.append(Watching(slides, tmp_path / "build"))
        return started[-1]

    yield start
    for w in started:
        w.close()


def test_saving_rebuilds_from_the_record_or_on_the_lab(
    slides: Path, tmp_path: Path, watching: Callable[[], Watching]
) -> None:
    deck = slides / "d.md"
    deck.write_text(DECK.format(title="One", word="first"), encoding="utf-8")
    out = tmp_path / "build"
    w = watching()
    first = w.wait_for(1)
    assert first.built is not None and first.ran  # no record yet: ran
    assert "me@box:~$ echo first\nfirst\n" in (out / "d.md").read_text(encoding="utf-8")

    deck.write_text(DECK.format(title="Two", word="first"), encoding="utf-8")
    prose = w.wait_for(2)
    assert prose.built is not None and not prose.ran  # prose only: from the record
    assert (out / "d.md").read_text(encoding="utf-8").startswith("# Two")

    deck.write_text(DECK.format(title="Two", word="second"), encoding="utf-8")
    command = w.wait_for(3)
    assert command.built is not None and command.ran  # a new command: ran again
    assert "second\n```" in (out / "d.md").read_text(encoding="utf-8")

    deck.write_text("---\nlivedeck: {timout: 3}\n---\n", encoding="utf-8")
    broken = w.wait_for(4)
    assert broken.built is None
    assert "unknown livedeck key 'timout'" in str(broken.error)
    assert "second\n```" in (out / "d.md").read_text(encoding="utf-8")  # the last good build

    time.sleep(1)
    assert len(w.seen) == 4  # writing the record after running is no save to rebuild for


def test_a_picture_and_the_theme_it_uses_rebuild_the_deck(
    slides: Path, tmp_path: Path, watching: Callable[[], Watching]
) -> None:
    themes = slides / "themes"
    themes.mkdir()
    (themes / "t.css").write_text("/* @theme t */\nsection { color: red; }\n", encoding="utf-8")
    (slides / "pic.svg").write_text("<svg>one</svg>", encoding="utf-8")
    (slides / "d.md").write_text(
        "---\ntheme: t\n---\n# One\n\n![](./pic.svg)\n\n```bash\nme@box:~$ echo hi\n```\n",
        encoding="utf-8",
    )
    out = tmp_path / "build"
    w = watching()
    w.wait_for(1)

    (slides / "pic.svg").write_text("<svg>two</svg>", encoding="utf-8")
    picture = w.wait_for(2)
    assert picture.built is not None and not picture.ran
    assert (out / "pic.svg").read_text(encoding="utf-8") == "<svg>two</svg>"

    (themes / "t.css").write_text("/* @theme t */\nsection { color: blue; }\n", encoding="utf-8")
    theme = w.wait_for(3)
    assert theme.built is not None

    (themes / "t.css").write_text("/* @theme other */\n", encoding="utf-8")
    gone = w.wait_for(4)
    assert gone.built is None and "unknown theme 't'" in str(gone.error)

    (slides / "notes.txt").write_text("not an input of the deck", encoding="utf-8")
    time.sleep(1)
    assert len(w.seen) == 4


def test_rapid_saves_make_one_rebuild(
    slides: Path,
    tmp_path: Path,
    watching: Callable[[], Watching],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # Saves 20 ms apart are one edit; on a loaded machine a 20 ms sleep can take longer than the
    # 80 ms pause that ends an edit, so the pause is widened here (what is tested is coalescing).
    monkeypatch.setattr(watch_module, "QUIET_SECONDS", 0.5)
    deck = slides / "d.md"
    deck.write_text(DECK.format(title="Zero", word="w"), encoding="utf-8")
    w = watching()
    w.wait_for(1)
    for n in range(5):
        deck.write_text(DECK.format(title=f"Save {n}", word="w"), encoding="utf-8")
        time.sleep(0.02)
    last = w.wait_for(2)
    time.sleep(1)
    assert len(w.seen) == 2
    assert last.built is not None
    assert (tmp_path / "build" / "d.md").read_text(encoding="utf-8").startswith("# Save 4")


def _wait(condition: Callable[[], bool], seconds: float = 20) -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < deadline, "the watcher did not rebuild in time"
        time.sleep(0.05)


SETUP = """\
---
livedeck:
  setup: ['echo {word} > {folder}/greeting']
---

# Setup

```bash
me@box:~$ cat {folder}/greeting
```
"""


def test_an_edit_of_setup_runs_the_deck_again(
    slides: Path, tmp_path: Path, watching: Callable[[], Watching]
) -> None:
    deck = slides / "s.md"
    deck.write_text(SETUP.format(word="hello", folder=tmp_path), encoding="utf-8")
    out = tmp_path / "build"
    w = watching()
    first = w.wait_for(1)
    assert first.error is None and first.ran
    assert "greeting\nhello\n" in (out / "s.md").read_text(encoding="utf-8")
    deck.write_text(SETUP.format(word="bonjour", folder=tmp_path), encoding="utf-8")
    again = w.wait_for(2)
    assert again.error is None and again.ran  # not rendered from the old record
    assert "greeting\nbonjour\n" in (out / "s.md").read_text(encoding="utf-8")


class CopyingLab(LocalLab):
    """This machine's shell, taking a deck's course files as the Docker lab does (a copy)."""

    def copy_in(self, source: Path, target: str) -> None:
        shutil.copy(source, target)


def test_an_edit_of_a_course_file_runs_the_deck_again(slides: Path, tmp_path: Path) -> None:
    (slides / "story.txt").write_text("once\n", encoding="utf-8")
    copied = tmp_path / "in-the-lab.txt"
    deck = slides / "c.md"
    deck.write_text(
        f"---\nlivedeck:\n  files: {{story.txt: {copied}}}\n---\n\n"
        f"```bash\nme@box:~$ cat {copied}\n```\n",
        encoding="utf-8",
    )
    out = tmp_path / "build"
    w = Watching(slides, out, CopyingLab)
    try:
        first = w.wait_for(1)
        assert first.error is None and first.ran
        assert "in-the-lab.txt\nonce\n" in (out / "c.md").read_text(encoding="utf-8")
        (slides / "story.txt").write_text("twice\n", encoding="utf-8")
        again = w.wait_for(2)
        assert again.error is None and again.ran
        assert "in-the-lab.txt\ntwice\n" in (out / "c.md").read_text(encoding="utf-8")
    finally:
        w.close()
