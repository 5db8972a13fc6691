"""Attacks on livedeck as a user meets them: a course folder, `python -m livedeck ...`, and a
look at every file around it afterwards.

A course folder holds a copy of the flagship deck with its record (so `build --offline` renders
without a lab) and its pictures; the attack changes the copy. `Attack.build()` runs livedeck in a
subprocess and returns what it said; `Attack.nothing_outside()` asserts no file outside build/
appeared or changed: in the test's folder (the course and its neighbours) and in /tmp.
"""

from __future__ import annotations

import os
import shutil
from dataclasses import dataclass
from pathlib import Path

import forks

ROOT = Path(__file__).resolve().parent.parent
FLAGSHIP = ROOT / "slides" / "docker-layers.md"
TIMEOUT = 180


@dataclass(frozen=True)
class Said:
    """What a livedeck command did: its exit code and its messages."""

    code: int
    stdout: str
    stderr: str

    def refused_at(self, deck: Path, line: int | None, *words: str) -> None:
        """Assert the command failed with a message at deck:line naming `words`, no trace."""
        assert self.code not in (0, None), f"the attack was not refused:\n{self.stderr}"
        assert "Traceback" not in self.stderr + self.stdout, self.stderr
        where = f"{deck.name}:{line}:" if line is not None else f"{deck.name}:"
        assert where in self.stderr, f"no {where} in:\n{self.stderr}"
        for word in words:
            assert word in self.stderr, f"no {word!r} in:\n{self.stderr}"


def snapshot(*folders: Path) -> dict[Path, tuple[int, int]]:
    """Every file (and symlink) under folders: size and modification time."""
    found: dict[Path, tuple[int, int]] = {}
    for folder in folders:
        for base, dirs, files in os.walk(folder, followlinks=False):
            if Path(base).name == "build":
                dirs[:] = []
                continue
            for name in files + [d for d in dirs if Path(base, d).is_symlink()]:
                path = Path(base, name)
                stat = path.lstat()
                found[path] = (stat.st_size, stat.st_mtime_ns)
    return found


def tmp_entries() -> set[str]:
    """The names in /tmp (a write outside the course lands there first)."""
    return set(os.listdir("/tmp"))


class Attack:
    """A copy of the flagship deck in `folder/course`, ready to be changed and built."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.course = folder / "course"
        self.course.mkdir()
        self.deck = self.course / FLAGSHIP.name
        shutil.copyfile(FLAGSHIP, self.deck)
        shutil.copyfile(
            FLAGSHIP.with_suffix(".record.yaml"), self.course / "docker-layers.record.yaml"
        )
        shutil.copytree(FLAGSHIP.parent / "img", self.course / "img")
        self.outside = folder / "outside"  # what an attack tries to read or write
        self.outside.mkdir()
        (self.outside / "secret.txt").write_text("TOP-SECRET-OF-THE-AUTHOR\n", encoding="utf-8")
        self._before: dict[Path, tuple[int, int]] = {}
        self._tmp: set[str] = set()

    @property
    def text(self) -> str:
        return self.deck.read_text(encoding="utf-8")

    def add_prose(self, prose: str) -> int:
        """Append a paragraph to the deck's last slide; the deck line it starts at."""
        text = self.text.rstrip("\n") + "\n\n"
        line = text.count("\n") + 1
        self.deck.write_text(text + prose + "\n", encoding="utf-8")
        return line

    def front_matter(self, yaml: str) -> int:
        """Add a `livedeck:` key to the front matter; the deck line it is on."""
        lines = self.text.split("\n")
        at = lines.index("livedeck:") + 1
        lines.insert(at, yaml)
        self.deck.write_text("\n".join(lines), encoding="utf-8")
        return at + 1

    def run(self, *args: str, env: dict[str, str] | None = None) -> Said:
        """`python -m livedeck ARGS` in the course folder (forks.py); HOME is a folder of the
        test's."""
        home = self.folder / "home"
        home.mkdir(exist_ok=True)
        self._before = snapshot(self.folder)
        self._tmp = tmp_entries()
        environ = {**os.environ, "PYTHONPATH": str(ROOT / "tools"), "HOME": str(home)}
        environ.pop("CI", None)
        environ.update(env or {})
        done = forks.livedeck(*args, cwd=self.course, env=environ, timeout=TIMEOUT)
        return Said(done.returncode, done.stdout, done.stderr)

    def build(self, *extra: str) -> Said:
        """`build --offline --format none` of the deck into course/build."""
        return self.run("build", "--offline", "--format", "none", *extra, self.deck.name)

    def nothing_outside(self) -> None:
        """No file outside build/ appeared or changed, in the test's folder or in /tmp."""
        after = snapshot(self.folder)
        changed = sorted(str(p) for p in after.keys() - self._before.keys())
        changed += sorted(
            str(p) for p in after if p in self._before and after[p] != self._before[p]
        )
        assert not changed, f"written outside build/: {changed}"
        new_tmp = {
            n for n in tmp_entries() - self._tmp if not n.startswith(("livedeck-", "pytest"))
        }
        assert not {n for n in new_tmp if "canary" in n}, f"written into /tmp: {new_tmp}"
        for built in (self.course / "build").rglob("*") if (self.course / "build").is_dir() else []:
            if built.is_file() and not built.is_symlink():
                assert "TOP-SECRET-OF-THE-AUTHOR" not in built.read_text(errors="replace")
