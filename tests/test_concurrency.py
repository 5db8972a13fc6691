"""Several livedeck commands at once on one machine: each finishes, none steps on another."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import docker
import pytest

pytestmark = [pytest.mark.docker, pytest.mark.slow]

ROOT = Path(__file__).resolve().parent.parent
LIVEDECK = (sys.executable, "-m", "livedeck")


def _deck(folder: Path, name: str, word: str) -> Path:
    deck = folder / f"{name}.md"
    deck.write_text(
        f"# {name}\n\n```bash\nubuntu@ip-10-0-1-14:~$ echo {word}\n"
        "ubuntu@ip-10-0-1-14:~$ sleep 2\n"
        f"ubuntu@ip-10-0-1-14:~$ hostname; docker ps --quiet | wc -l\n```\n",
        encoding="utf-8",
    )
    return deck


def _start(*args: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [*LIVEDECK, *args],
        # PYTHONFAULTHANDLER: a process that will not stop is sent SIGABRT and prints where
        # each of its threads was (_stopped).
        env={**os.environ, "PYTHONPATH": str(ROOT / "tools"), "PYTHONFAULTHANDLER": "1"},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def _finish(proc: subprocess.Popen[str], timeout: float = 180) -> str:
    out, err = proc.communicate(timeout=timeout)
    assert proc.returncode == 0, err
    return out + err


@pytest.fixture(scope="module")
def host(lab_namespace: dict[str, str]) -> Iterator[docker.DockerClient]:
    client = docker.from_env()
    client.ping()
    yield client
    assert (
        client.containers.list(all=True, filters={"label": lab_namespace["LIVEDECK_LAB_LABEL"]})
        == []
    )
    client.close()


@pytest.mark.marp
def test_two_builds_of_different_decks_into_one_folder(tmp_path: Path, host: object) -> None:
    red, blue = _deck(tmp_path, "red", "red"), _deck(tmp_path, "blue", "blue")
    out = tmp_path / "build"
    builds = [
        _start("build", str(deck), "--out", str(out), "--format", "html") for deck in (red, blue)
    ]
    for build in builds:
        _finish(build)
    for name in ("red", "blue"):
        text = (out / f"{name}.md").read_text(encoding="utf-8")
        assert f"$ echo {name}\n{name}\n" in text
        assert "ip-10-0-1-14\n0\n" in text  # its own lab: no container of the other deck
        assert f"{name}</h1>" in (out / f"{name}.html").read_text(encoding="utf-8")
        assert (tmp_path / f"{name}.record.yaml").is_file()
    assert not [p.name for p in out.iterdir() if p.name.startswith(".")]


def test_a_build_while_a_watch_runs_on_the_same_deck_folder(tmp_path: Path, host: object) -> None:
    deck = _deck(tmp_path, "shared", "shared")
    out = tmp_path / "build"
    watch = _start("watch", str(tmp_path), "--out", str(out), "--format", "none")
    assert watch.stderr is not None
    try:
        _wait_for_line(watch, "ran on a fresh lab")
        build = _start("build", str(deck), "--out", str(out), "--format", "none")
        time.sleep(1.0)  # the build's lab is running: save the deck, the watch rebuilds
        # Saved as editors save, whole: written in place, a build reading it meanwhile could
        # see it empty (it then fails at the deck, rightly, and this test with it).
        saved = deck.with_name(deck.name + ".new")
        saved.write_text(deck.read_text(encoding="utf-8") + "\nSaved again.\n", encoding="utf-8")
        saved.replace(deck)
        _wait_for_line(watch, "rendered from its record")
        _finish(build)
    finally:
        watch.send_signal(signal.SIGINT)
        _stopped(watch)
    assert watch.returncode == 130
    text = (out / "shared.md").read_text(encoding="utf-8")
    assert "$ echo shared\nshared\n" in text
    assert sorted(p.name for p in out.iterdir()) == ["shared.html", "shared.md"]  # watch's page
    assert not [p.name for p in tmp_path.iterdir() if p.name.startswith(".")]


def test_two_checks_at_once(tmp_path: Path, host: object) -> None:
    deck = _deck(tmp_path, "checked", "checked")
    _finish(_start("check", "--update", str(deck)))
    checks = [_start("check", str(deck)) for _ in range(2)]
    for check in checks:
        assert "1 deck(s) match their records" in _finish(check)


def _stopped(proc: subprocess.Popen[str], timeout: float = 30) -> None:
    """Wait for a process sent Ctrl-C to end; one that hangs fails with its threads' stacks."""
    try:
        proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        proc.send_signal(signal.SIGABRT)
        _, err = proc.communicate(timeout=30)
        pytest.fail(f"still running {timeout:.0f} s after Ctrl-C; its threads:\n{err[-6000:]}")


def _wait_for_line(proc: subprocess.Popen[str], text: str, timeout: float = 120) -> str:
    assert proc.stderr is not None
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        line = proc.stderr.readline()
        assert line, f"ended before {text!r}"
        if text in line:
            return line
        assert "error" not in line, line
    raise AssertionError(f"no {text!r} within {timeout} s")


def test_labs_starting_at_once_share_the_network_one_of_them_creates(
    host: docker.DockerClient, lab_namespace: dict[str, str]
) -> None:
    # The engine holds the subnet a moment before it lists the new network: the others' create
    # fails ("Pool overlaps") while the network is not yet there to be found.
    import threading

    from livedeck.run.labs import ensure_network, lab_names

    names = lab_names()
    failures: list[Exception] = []

    def start() -> None:
        client = docker.from_env()
        try:
            ensure_network(client, names)
        except Exception as error:
            failures.append(error)
        finally:
            client.close()

    threads = [threading.Thread(target=start) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    networks = [n for n in host.networks.list(names=[names.network]) if n.name == names.network]
    for network in networks:
        network.remove()
    assert failures == []
    assert len(networks) == 1
