"""Owners and the sweep: what a dead livedeck process left goes, what a live one holds stays."""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from livedeck import reap
from livedeck.cli import main

ROOT = Path(__file__).resolve().parent.parent
LIVEDECK = (sys.executable, "-m", "livedeck")


@pytest.fixture
def dead() -> reap.Owner:
    """A process that ran here a moment ago and is gone."""
    child = subprocess.Popen(["sleep", "30"])
    started = reap._start_time(child.pid)
    assert started is not None
    child.kill()
    child.wait()
    return reap.Owner(child.pid, started, reap.me().boot, reap.me().pid_ns)


@pytest.fixture
def temp(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    yield tmp_path


def test_owner_round_trips_and_is_alive_while_it_runs(dead: reap.Owner) -> None:
    assert reap.Owner.parse(reap.me().label()) == reap.me()
    assert reap.Owner.parse("lab") is None
    assert not reap.is_dead(reap.me())
    assert reap.is_dead(dead)
    # Another machine or boot: nothing to tell, so never swept from here.
    assert not reap.is_dead(reap.Owner(dead.pid, dead.started, "another-boot", dead.pid_ns))


def test_a_reused_pid_is_not_its_old_owner() -> None:
    me = reap.me()
    assert reap.is_dead(reap.Owner(me.pid, me.started + 1, me.boot, me.pid_ns))


def test_sweep_removes_dead_owners_folders_only(temp: Path, dead: reap.Owner) -> None:
    mine = reap.owned_tempdir("livedeck-lab-")
    assert mine.parent == temp and f"-{reap.me().tag}-" in mine.name
    orphan = temp / f"livedeck-marp-{dead.tag}-abc123"
    (orphan / "sub").mkdir(parents=True)
    unowned = temp / "livedeck-lab-xyz123"  # an older livedeck's: cannot tell, so kept
    unowned.mkdir()
    other = temp / f"something-{dead.tag}-abc"
    other.mkdir()
    swept = reap.sweep([temp])
    assert swept.folders == [orphan] and swept.owners == {dead.pid}
    assert sorted(p.name for p in temp.iterdir()) == sorted([mine.name, unowned.name, other.name])
    assert reap.sweep([temp]).folders == []


def test_sweep_kills_processes_of_dead_owners_only(temp: Path, dead: reap.Owner) -> None:
    orphan = subprocess.Popen(["sleep", "60"], env={**os.environ, reap.OWNER_ENV: dead.label()})
    ours = subprocess.Popen(["sleep", "60"], env=reap.child_env(os.environ))
    try:
        # Until both exec'd: before that /proc/PID/environ is still this process's (on a loaded
        # machine 0.1 s was once not enough, and the orphan was not swept).
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline and not all(
            Path(f"/proc/{p.pid}/cmdline").read_bytes().startswith(b"sleep\0")
            for p in (orphan, ours)
        ):
            time.sleep(0.01)
        swept = reap.sweep([temp])
        assert swept.processes == [orphan.pid]
        assert orphan.wait(5) == -9
        assert ours.poll() is None
    finally:
        ours.kill()
        orphan.kill()
        ours.wait()


def test_a_child_dies_with_the_process_that_started_it(tmp_path: Path) -> None:
    """Even kill -9 of livedeck ends its node/Chromium: they get SIGTERM (PR_SET_PDEATHSIG)."""
    script = (
        "import subprocess, sys, time\n"
        f"sys.path.insert(0, {str(ROOT / 'tools')!r})\n"
        "from livedeck import reap\n"
        "child = subprocess.Popen(['sleep', '60'], preexec_fn=reap.die_with_parent)\n"
        "print(child.pid, flush=True)\n"
        "time.sleep(60)\n"
    )
    parent = subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE, text=True)
    assert parent.stdout is not None
    child = int(parent.stdout.readline())
    parent.kill()
    parent.wait()
    deadline = time.monotonic() + 5
    while Path(f"/proc/{child}").exists() and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not Path(f"/proc/{child}").exists()


def test_the_next_command_says_what_it_removed_in_one_line(
    temp: Path, dead: reap.Owner, capsys: pytest.CaptureFixture[str]
) -> None:
    (temp / f"livedeck-measure-{dead.tag}-abc").mkdir()
    (temp / f"livedeck-lab-{dead.tag}-def").mkdir()
    assert main(["build", "--offline", str(temp / "missing.md")]) != 0
    lines = [line for line in capsys.readouterr().err.splitlines() if "removed" in line]
    assert len(lines) == 1
    assert lines[0].startswith("livedeck: removed 2 temporary folders left by")
    assert f"{dead.pid}" in lines[0]
    assert not any(p.name.startswith("livedeck-") for p in temp.iterdir())
    main(["build", "--offline", str(temp / "missing.md")])
    assert "removed" not in capsys.readouterr().err  # quiet when there is nothing to do


def test_a_build_waits_for_another_one_writing_to_the_same_folder(tmp_path: Path) -> None:
    deck = tmp_path / "d.md"
    deck.write_text("# D\n\n```bash\nubuntu@lab:~$ echo hi\n```\n", encoding="utf-8")
    out = tmp_path / "out"
    out.mkdir()
    held = threading.Event()
    release = threading.Event()

    def hold() -> None:
        with reap.folder_lock(out):
            held.set()
            release.wait(30)

    holder = threading.Thread(target=hold)
    holder.start()
    held.wait(5)
    build = subprocess.Popen(
        [*LIVEDECK, "build", str(deck), "--out", str(out), "--lab", "local", "--format", "none"],
        env={**os.environ, "PYTHONPATH": str(ROOT / "tools")},
        stderr=subprocess.PIPE,
        text=True,
    )
    assert build.stderr is not None
    waiting = ""
    while "waiting" not in waiting:
        line = build.stderr.readline()
        assert line, "the build ended without waiting"
        waiting = line
    assert f"another livedeck is writing to {out}; waiting" in waiting
    assert not (out / "d.md").exists()  # nothing moved in while the lock is held
    release.set()
    holder.join()
    _, rest = build.communicate(timeout=30)
    assert build.returncode == 0, rest
    assert "ubuntu@lab:~$ echo hi\nhi\n" in (out / "d.md").read_text(encoding="utf-8")
    assert [p.name for p in out.iterdir()] == ["d.md"]


def test_a_dead_builds_staging_folder_goes_with_the_next_build(
    tmp_path: Path, dead: reap.Owner
) -> None:
    deck = tmp_path / "d.md"
    deck.write_text("# D\n\n```bash\nubuntu@lab:~$ echo hi\n```\n", encoding="utf-8")
    out = tmp_path / "out"
    (out / f".staging-{dead.tag}-abc" / "img").mkdir(parents=True)
    code = main(["build", str(deck), "--out", str(out), "--lab", "local", "--format", "none"])
    assert code == 0
    assert sorted(p.name for p in out.iterdir()) == ["d.md"]
