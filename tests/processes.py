"""`python -m livedeck ...` run as a user runs it, and the process table around it.

Livedeck(...) starts the command in a subprocess and collects its messages (stderr) line by line
as they come, for tests of long-running verbs (watch, present) and of builds killed midway.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


class Livedeck:
    """`python -m livedeck ARGS` in a subprocess, its stderr collected line by line."""

    def __init__(self, *args: str, env: dict[str, str] | None = None, stdin: int | None = None):
        environ = {**os.environ, "PYTHONPATH": str(ROOT / "tools"), **(env or {})}
        # Tests read its progress lines, which livedeck keeps out of CI logs.
        environ.pop("CI", None)
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "livedeck", *args],
            stdin=stdin,
            stderr=subprocess.PIPE,
            text=True,
            env=environ,
        )
        self.verb = args[0]
        self.lines: list[str] = []  # every line it said so far
        self._taken = 0  # lines wait_for went past
        self._new_line = threading.Condition()
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        assert self.proc.stderr is not None
        for line in self.proc.stderr:
            with self._new_line:
                self.lines.append(line.rstrip("\n"))
                self._new_line.notify_all()

    def wait_for(self, text: str, seconds: float = 30) -> str:
        """The next line that contains text (after those an earlier wait_for went past)."""
        deadline = time.monotonic() + seconds
        with self._new_line:
            while True:
                while self._taken < len(self.lines):
                    line = self.lines[self._taken]
                    self._taken += 1
                    if text in line:
                        return line
                left = deadline - time.monotonic()
                if left <= 0:
                    raise AssertionError(
                        f"{self.verb} never said {text!r}; it said:\n" + "\n".join(self.lines)
                    )
                self._new_line.wait(left)

    def said(self, text: str) -> bool:
        """Whether any line so far contains text."""
        with self._new_line:
            return any(text in line for line in self.lines)

    def until(self, ready: Callable[[], bool], what: str, seconds: float = 90) -> None:
        """Poll ready() while the command still runs; fail naming `what` if it never holds."""
        deadline = time.monotonic() + seconds
        while not ready():
            if self.proc.poll() is not None:
                raise AssertionError(f"{self.verb} ended before {what}: " + "\n".join(self.lines))
            if time.monotonic() > deadline:
                raise AssertionError(f"no {what}: " + "\n".join(self.lines))
            time.sleep(0.02)

    def stop(self, seconds: float = 60) -> tuple[int, dict[int, str]]:
        """SIGTERM, as Ctrl-C would end it; the exit code and what ran below it."""
        below = descendants(self.proc.pid)
        self.proc.send_signal(signal.SIGTERM)
        return self.proc.wait(seconds), below

    def kill(self) -> None:
        """SIGKILL, as `kill -9` would end it."""
        self.proc.send_signal(signal.SIGKILL)
        assert self.proc.wait(10) == -signal.SIGKILL


def _table() -> dict[int, tuple[int, str]]:
    """Every process: its parent and its command name."""
    table: dict[int, tuple[int, str]] = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            text = stat.read_text()
            name = text[text.index("(") + 1 : text.rindex(")")]
            parent = int(text[text.rindex(")") + 2 :].split()[1])
        except (OSError, ValueError, IndexError):
            continue  # gone meanwhile
        table[int(stat.parent.name)] = (parent, name)
    return table


def descendants(pid: int) -> dict[int, str]:
    """Every process below pid (by parent), with its command name."""
    table = _table()
    found: dict[int, str] = {}
    frontier = [pid]
    while frontier:
        parent = frontier.pop()
        for child, (up, name) in table.items():
            if up == parent and child not in found:
                found[child] = name
                frontier.append(child)
    return found


def children(pid: int) -> list[str]:
    """Command lines of the direct children of pid."""
    found = []
    for child, (up, _) in _table().items():
        if up == pid:
            try:
                found.append(Path(f"/proc/{child}/cmdline").read_bytes().replace(b"\0", b" "))
            except OSError:
                continue
    return [line.decode() for line in found]


def alive(pid: int) -> bool:
    """Whether pid runs (a zombie does not)."""
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"
