"""kill -9 of `livedeck build` at any point: the next livedeck command leaves nothing of it.

Each test kills a real build (real lab, real marp-cli and Chromium) at one phase, runs the next
command (a build of another small deck into the same folder), then looks at the engine's
containers, volumes and networks, the temporary folder, the output folder and the process
table. A lab of a live owner, started beside it, survives.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import docker
import pytest

from livedeck import reap
from livedeck.run.sandbox import DockerLab, start_sandbox
from processes import Livedeck

pytestmark = [pytest.mark.docker, pytest.mark.marp, pytest.mark.slow]

ROOT = Path(__file__).resolve().parent.parent
LIVEDECK = (sys.executable, "-m", "livedeck")

DECK = """\
---
marp: true
livedeck: {timeout: 60}
---
# Killed

```bash
ubuntu@ip-10-0-1-14:~$ echo start
ubuntu@ip-10-0-1-14:~$ sleep 3
ubuntu@ip-10-0-1-14:~$ docker pull nginx
ubuntu@ip-10-0-1-14:~$ sleep 1
```
"""

# Slides enough that measuring them and rendering them take a moment to catch.
DECK += "".join(f"\n---\n\n# Slide {n}\n\nText of slide {n}.\n" for n in range(2, 60))

NEXT = "# Next\n\n```bash\nubuntu@ip-10-0-1-14:~$ echo next\n```\n"


def _processes(owner_pid: int) -> list[tuple[int, str]]:
    """(pid, command line) of the processes marked as owned by owner_pid."""
    marker = f"{reap.OWNER_ENV}={owner_pid} ".encode()
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            if marker in (entry / "environ").read_bytes():
                cmdline = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode()
                found.append((int(entry.name), cmdline))
        except OSError:
            continue
    return found


@pytest.fixture(scope="module")
def host(lab_namespace: dict[str, str]) -> Iterator[docker.DockerClient]:
    client = docker.from_env()
    client.ping()
    yield client
    client.close()


@pytest.fixture(scope="module")
def survivor(host: docker.DockerClient, lab_namespace: dict[str, str]) -> Iterator[DockerLab]:
    """A live owner's lab (this process), started beside every killed build: it must stay.
    With it, the last lab, gone, the labs' network goes too."""
    lab = start_sandbox()
    yield lab
    lab.close()
    network = lab_namespace["LIVEDECK_LAB_NETWORK"]
    assert not [n for n in host.networks.list() if n.name == network]


def _labs(
    host: docker.DockerClient, namespace: dict[str, str]
) -> list[docker.models.containers.Container]:
    # A lab being removed while it is listed (its build closed it) is no lab any more.
    return host.containers.list(
        all=True, filters={"label": namespace["LIVEDECK_LAB_LABEL"]}, ignore_removed=True
    )


def _in_lab(host: docker.DockerClient, namespace: dict[str, str], script: str) -> bool:
    for lab in _labs(host, namespace):
        if lab.status == "running" and lab.exec_run(["sh", "-c", script]).exit_code == 0:
            return True
    return False


PHASES = ["lab start", "commands", "docker pull", "slide measurement", "marp"]


@pytest.mark.parametrize("phase", PHASES)
def test_kill_9_leaves_nothing_after_the_next_command(
    phase: str,
    tmp_path: Path,
    host: docker.DockerClient,
    lab_namespace: dict[str, str],
    survivor: DockerLab,
) -> None:
    deck, other = tmp_path / "killed.md", tmp_path / "next.md"
    deck.write_text(DECK, encoding="utf-8")
    other.write_text(NEXT, encoding="utf-8")
    out = tmp_path / "build"
    # A temporary folder of this test's own: the kill tests run side by side, and a sweep by
    # another test's build would take (and report) what this killed build left in a shared one.
    temp = Path(tempfile.mkdtemp(prefix="ldk-", dir="/tmp"))  # short: Chromium's sockets
    env = {"TMPDIR": str(temp)}
    try:
        # PDF too when killed in marp: marp-cli runs in build's node, and makes it in its Chromium.
        formats = "html,pdf" if phase == "marp" else "html"
        build = Livedeck("build", str(deck), "--out", str(out), "--format", formats, env=env)
        pid = build.proc.pid
        label = f"{lab_namespace['LIVEDECK_LAB_LABEL']}.owner"

        def lab_of_build() -> bool:
            return any(
                c.labels.get(label, "").startswith(f"{pid} ") for c in _labs(host, lab_namespace)
            )

        if phase == "lab start":
            build.until(lab_of_build, "lab container")
        elif phase == "commands":
            build.until(lambda: build.said("$ echo start"), "first command done")
            time.sleep(0.5)  # inside `sleep 3`
        elif phase == "docker pull":
            build.until(lambda: build.said("$ sleep 3"), "sleep done")
            build.until(
                lambda: _in_lab(host, lab_namespace, "grep -qs 'p[u]ll' /proc/[0-9]*/cmdline"),
                "docker pull running",
            )
        elif phase == "slide measurement":
            build.until(
                lambda: any("chromium" in c for _, c in _processes(pid)), "Chromium measuring"
            )
        else:  # the folder marp-cli makes for the browser of a PDF (build's Chromium makes it)
            build.until(lambda: any(temp.glob("livedeck-warm-*/marp-cli-*")), "marp-cli's PDF")
        assert not build.said("livedeck: done")
        assert phase != "docker pull" or not build.said("$ docker pull")
        build.kill()

        leftovers = [
            c for c in _labs(host, lab_namespace) if c.labels.get(label, "").startswith(f"{pid} ")
        ]
        volumes = [m["Name"] for c in leftovers for m in c.attrs["Mounts"] if m["Type"] == "volume"]
        if phase in ("commands", "docker pull"):
            assert leftovers, "the build had a lab when it was killed"
            # The lab stops as soon as its owner is gone, before any other command runs.
            deadline = time.monotonic() + 15
            while any(c.status == "running" for c in leftovers):
                assert time.monotonic() < deadline, "the dead build's lab still runs"
                time.sleep(0.2)
                for c in leftovers:
                    c.reload()

        # A request the engine had when the build died (a lab or a probe being created) may
        # still complete: what the next command finds is what exists once the engine settled.
        seen, settled = None, time.monotonic() + 10
        while (now := sorted(c.id for c in _labs(host, lab_namespace))) != seen:
            assert time.monotonic() < settled, "the engine keeps making containers"
            seen = now
            time.sleep(0.5)

        # The next livedeck command: a build of another deck into the same folder.
        after = subprocess.run(
            [*LIVEDECK, "build", str(other), "--out", str(out), "--format", "none"],
            env={**os.environ, "PYTHONPATH": str(ROOT / "tools"), **env},
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert after.returncode == 0, after.stderr
        # Its lab, or its warm marp-cli's scratch folder and processes (measuring, publishing).
        # (Another test's killed build may be named beside it: their processes are found
        # wherever they run.)
        assert re.search(
            rf"left by (a process|processes) that died \(pid [0-9, ]*\b{pid}\b", after.stderr
        ), after.stderr

        labs = _labs(host, lab_namespace)
        assert [c.name for c in labs] == [survivor.name], [(c.name, c.labels) for c in labs]
        assert host.containers.get(survivor.name).status == "running"
        assert survivor.exec_root(["true"])[0] == 0
        names = {v.name for v in host.volumes.list()}
        assert not names & set(volumes)
        tag = f"-{pid}."
        for folder in {temp, Path(tempfile.gettempdir()), Path("/tmp")}:
            assert not [p.name for p in folder.iterdir() if tag in p.name]
        assert sorted(p.name for p in out.iterdir()) == ["next.md"]
        assert _processes(pid) == []
    finally:
        shutil.rmtree(temp, ignore_errors=True)
