"""Decks in the shapes of public tutorials (tests/decks/tutorials/), built as an author would:
`livedeck build` on the real lab. Every command of a chapter has a screen of its own, with what
that command prints: no command swallowed by a program, no screen that belongs to another.

`alpine` is busybox on an empty image here (program_images.py): there is no Docker Hub.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from livedeck.deck import load_deck
from program_images import serve_program_images

pytestmark = [pytest.mark.docker, pytest.mark.slow]

ROOT = Path(__file__).resolve().parent.parent
TUTORIALS = ROOT / "tests" / "decks" / "tutorials"

# For each chapter, per command: text its screen must hold (all of it) and text it must not.
EXPECTED: dict[str, dict[str, tuple[tuple[str, ...], tuple[str, ...]]]] = {
    "alpine.md": {
        "cat /etc/passwd | head -1": (("root:x:0:0:root:/root:/bin/sh",), ()),
        "uname -s": (("Linux",), ("root:x",)),
        "cat /tmp/hello.txt": (("hello from ",), ()),
        "ls /tmp": (("hello.txt",), ()),
        "docker rm box": (("box",), ()),
        "for i in 1 2 3; do printf '#'; sleep 1; done; echo ' done'": (("### done",), ()),
        "printf 'step 1 of 2 > '; sleep 2; echo 'FIRST-DONE'": (
            ("step 1 of 2 > FIRST-DONE",),
            ("SECOND",),
        ),
        "echo SECOND": (("SECOND",), ("FIRST-DONE",)),
    },
    "database.md": {
        "use shop;": (("Database changed",), ()),
        "order by id;": (("| docker", "| kubernetes", "| helm"), ()),
        "select count(*) as n from items;": (("| 3 |",), ()),
        "docker exec db mariadb -uroot -ppw -e 'select name from shop.items order by id desc"
        " limit 1'": (("helm",), ()),
        "select name from items where id = 2;": (("kubernetes",), ("helm",)),
    },
    "webapp.md": {
        "curl -s localhost:8000/": (("hello from the webapp",), ()),
        "ls": (("app.py",), ()),
        'python3 -c \'print(open("app.py").read().count("def "))\'': (("1",), ()),
        "import os; print(os.getcwd())": (("/app",), ()),
        "print(sum(range(10)))": (("45",), ()),
    },
}


@pytest.fixture(scope="module")
def images(lab_env: dict[str, str]) -> Iterator[dict[str, str]]:
    """Labs of this module pull alpine (busybox) and python from a store of its own."""
    serve_program_images()
    yield lab_env


@pytest.mark.parametrize("chapter", sorted(EXPECTED))
def test_a_tutorial_chapter_builds_with_every_screen_its_own(
    chapter: str, tmp_path: Path, images: dict[str, str]
) -> None:
    slides, out = tmp_path / "slides", tmp_path / "build"
    slides.mkdir()
    shutil.copy(TUTORIALS / chapter, slides / chapter)
    build = ["build", str(slides / chapter), "--out", str(out), "--format", "none"]
    done = subprocess.run(
        [sys.executable, "-m", "livedeck", *build, "--images", "mirror"],
        env={**os.environ, "PYTHONPATH": str(ROOT / "tools"), "HOME": str(tmp_path), "CI": "1"},
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert done.returncode == 0, done.stderr
    # `file:` blocks are written, not shown: the built deck has them as plain code blocks.
    source = [c for c in load_deck(TUTORIALS / chapter).commands if c.runnable and not c.hidden]
    built = [c for c in load_deck(out / chapter).commands if c.runnable]
    assert [c.text for c in built] == [c.text for c in source]  # none swallowed, none added
    screens = {c.text: "\n".join(c.output) for c in built}
    for text, (shows, hides) in EXPECTED[chapter].items():
        for wanted in shows:
            assert wanted in screens[text], (text, screens[text])
        for unwanted in hides:
            assert unwanted not in screens[text], (text, screens[text])
    # Every program line is on the slides with the program's real prompt.
    for command in built:
        if command.program is not None:
            assert command.prompt.rstrip() not in ("", "$"), command
