"""A headless Chromium for tests of pages livedeck serves (the `browser` fixture is in conftest.py)."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


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
