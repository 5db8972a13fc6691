"""The forked `python -m livedeck` (forks.py) does what the real one does.

The security and corpus tests run livedeck forked from a process that imported it once. Here
the same commands run both ways, in the same folder and environment, and must say the same
things, exit with the same code and write the same files.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

import forks

ROOT = Path(__file__).resolve().parent.parent

GOOD = """---
marp: true
---

# Talk

```
me@box:~$ echo "$GREETING from $PWD"
```
"""

BROKEN = """---
marp: true
---

# Broken

{{ nothing(
"""


def _real(argv: list[str], cwd: Path, env: dict[str, str]) -> tuple[int, str, str]:
    done = subprocess.run(
        [sys.executable, "-m", "livedeck", *argv],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        stdin=subprocess.DEVNULL,
    )
    return done.returncode, done.stdout, done.stderr


def _files(folder: Path) -> dict[str, bytes]:
    return {str(p.relative_to(folder)): p.read_bytes() for p in folder.rglob("*") if p.is_file()}


def _timeless(text: str) -> str:
    return re.sub(r"\d+\.\d s\b", "N s", text)


@pytest.mark.parametrize("ci", ["", "1"])
@pytest.mark.parametrize("deck", [GOOD, BROKEN], ids=["good", "broken"])
def test_a_forked_run_says_exits_and_writes_as_the_real_one(
    deck: str, ci: str, tmp_path: Path
) -> None:
    slides = tmp_path / "slides"
    slides.mkdir()
    env = {**os.environ, "PYTHONPATH": str(ROOT / "tools"), "HOME": str(tmp_path)}
    env["GREETING"] = "hello"  # not in the server's environment: the request's is used
    env.pop("CI", None)
    if ci:
        env["CI"] = ci  # livedeck keeps its progress lines out of CI logs
    argv = ["build", "slides/talk.md", "--lab", "local", "--format", "none"]
    outputs = {}
    for way in ("real", "forked"):
        (slides / "talk.md").write_text(deck, encoding="utf-8")
        if way == "real":
            code, out, err = _real(argv, tmp_path, env)
        else:
            ran = forks.livedeck(*argv, cwd=tmp_path, env=env)
            code, out, err = ran.returncode, ran.stdout, ran.stderr
        outputs[way] = (code, out, _timeless(err), _files(tmp_path))
        shutil.rmtree(slides)
        shutil.rmtree(tmp_path / "build", ignore_errors=True)
        slides.mkdir()
    assert outputs["forked"] == outputs["real"]
    code, _, err, files = outputs["real"]
    if deck is BROKEN:
        assert code == 1 and "talk.md:7:" in err, err
    else:
        assert code == 0, err
        assert f"hello from {tmp_path}" in files["build/talk.md"].decode()
        assert ('$ echo "$GREETING' in err) is not bool(ci)  # a progress line


def test_each_run_is_a_process_of_its_own(tmp_path: Path) -> None:
    """Two runs: two pids, neither the server's, each gone when its run returns."""
    env = {**os.environ, "PYTHONPATH": str(ROOT / "tools")}
    first = forks.livedeck("--version", cwd=tmp_path, env=env)
    second = forks.livedeck("--version", cwd=tmp_path, env=env)
    assert first.returncode == second.returncode == 0
    assert first.stdout == second.stdout == _real(["--version"], tmp_path, env)[1]
    assert first.pid != second.pid
    for pid in (first.pid, second.pid):
        assert not Path(f"/proc/{pid}").exists()
