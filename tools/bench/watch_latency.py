"""Benchmark: how long a save takes to reach the page `livedeck watch` serves.

    .venv/bin/python tools/bench/watch_latency.py [DECK] [--edits N] [--lab docker|local]
                                                  [--no-command-edit]

Runs `livedeck watch` on a copy of the deck (default: the flagship, which has a record), then
  prose     N edits of one sentence (default 20), each timed from the save to the moment the
            served HTML (polled over HTTP, no browser) shows it; they must render from the
            record and run no command;
  command   one edit of a command (a fresh lab runs the deck), timed from the save until the
            page shows the new command's output;
and prints p50 and p95 for the prose edits (target: p95 <= 1.0 s on a 2-core machine) and the
command edit's time, next to a cold `livedeck build --offline --format html` of the same deck.
"""

from __future__ import annotations

import argparse
import os
import queue
import re
import secrets
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
FLAGSHIP = ROOT / "slides" / "docker-layers.md"
POLL_SECONDS = 0.02


class Watching:
    """`livedeck watch` on the copy, its messages collected line by line."""

    def __init__(self, deck: Path, out: Path, lab: str) -> None:
        env = {**os.environ, "PYTHONPATH": str(ROOT / "tools")}
        argv = [sys.executable, "-m", "livedeck", "watch", str(deck), "--out", str(out)]
        self.proc = subprocess.Popen(
            [*argv, "--lab", lab], stderr=subprocess.PIPE, text=True, env=env
        )
        self.lines: queue.Queue[str] = queue.Queue()
        self.said: list[str] = []
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        assert self.proc.stderr is not None
        for line in self.proc.stderr:
            self.lines.put(line.rstrip("\n"))

    def wait_for(self, pattern: str, seconds: float) -> str:
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            try:
                line = self.lines.get(timeout=0.1)
            except queue.Empty:
                continue
            self.said.append(line)
            if re.search(pattern, line):
                return line
        sys.exit("watch_latency: livedeck watch never said /{pattern}/:\n" + "\n".join(self.said))

    def drain(self) -> list[str]:
        lines = []
        while not self.lines.empty():
            lines.append(self.lines.get())
        self.said += lines
        return lines

    def stop(self) -> None:
        self.proc.send_signal(signal.SIGTERM)
        self.proc.wait(60)


def served_after(url: str, marker: str, saved: float, seconds: float) -> float:
    """Seconds from `saved` until the page at url contains marker."""
    deadline = saved + seconds
    while time.monotonic() < deadline:
        with urllib.request.urlopen(url, timeout=10) as response:
            if marker in response.read().decode("utf-8"):
                return time.monotonic() - saved
        time.sleep(POLL_SECONDS)
    sys.exit(f"watch_latency: {marker!r} did not reach {url} within {seconds} s")


def prose_line(text: str) -> str:
    """A line of prose on the deck's first slide (not front matter, code or a directive)."""
    body = text.split("\n---\n", 1)[1] if text.startswith("---\n") else text
    fence = False
    for line in body.split("\n"):
        if line.startswith("```"):
            fence = not fence
        elif not fence and line.strip() and not line.startswith(("#", "<!--", ">", "!", "-")):
            return line
    sys.exit("watch_latency: no line of prose found in the deck")


def command_line(text: str) -> str:
    """The first transcript command of the deck that is neither in front matter nor templated."""
    for line in text.split("\n"):
        if re.match(r"\S+@\S+:\S*\$ docker info", line):
            return line
    sys.exit("watch_latency: no `docker info` command to edit in the deck")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("deck", nargs="?", type=Path, default=FLAGSHIP)
    parser.add_argument("--edits", type=int, default=20)
    parser.add_argument("--lab", choices=("docker", "local"), default="docker")
    parser.add_argument("--no-command-edit", action="store_true")
    args = parser.parse_args()

    work = Path(tempfile.mkdtemp(prefix="livedeck-bench-watch-"))
    try:
        slides = work / "slides"
        slides.mkdir()
        deck = slides / args.deck.name
        shutil.copy(args.deck, deck)
        recorded = args.deck.with_suffix(".record.yaml")
        if recorded.is_file():
            shutil.copy(recorded, deck.with_suffix(".record.yaml"))
        for name in ("img", "themes"):
            if (args.deck.parent / name).exists():
                (slides / name).symlink_to((args.deck.parent / name).resolve())
        out = work / "build"

        started = time.monotonic()
        offline = ["--offline", "--format", "html", "--out", str(work / "cold"), "-q"]
        cold = subprocess.run(
            [sys.executable, "-m", "livedeck", "build", str(deck), *offline],
            env={**os.environ, "PYTHONPATH": str(ROOT / "tools")},
            check=False,
        )
        cold_seconds = time.monotonic() - started
        if cold.returncode != 0:
            sys.exit("watch_latency: the deck does not build from its record")

        watching = Watching(deck, out, args.lab)
        try:
            url = watching.wait_for(r"^  http://", 60).split()[-1]
            first = watching.wait_for(r"rendered from its record|ran on a fresh lab", 600)
            print(f"first build under watch: {first.split(': ', 1)[1]}")

            shown = prose_line(deck.read_text(encoding="utf-8"))
            times = []
            for n in range(args.edits):
                edited = f"{prose_line(deck.read_text(encoding='utf-8')).split(' edit-')[0]}"
                marker = f"edit-{n}-{secrets.token_hex(4)}"
                text = deck.read_text(encoding="utf-8")
                saved = time.monotonic()
                deck.write_text(text.replace(shown, f"{edited} {marker}", 1), "utf-8")
                times.append(served_after(url, marker, saved, 30))
                watching.wait_for(r"rendered from its record|ran on a fresh lab|error", 30)
                shown = f"{edited} {marker}"
                time.sleep(0.3)  # a person between two saves
            watching.drain()
            after_first = watching.said[watching.said.index(first) + 1 :]
            rendered = sum("rendered from its record" in line for line in after_first)
            ran = sum("ran on a fresh lab" in line for line in after_first)
            p50 = statistics.median(times)
            p95 = statistics.quantiles(times, n=20, method="inclusive")[-1]
            print(
                f"prose edits: {len(times)}, p50 {p50:.2f} s, p95 {p95:.2f} s,"
                f" max {max(times):.2f} s (target p95 <= 1.0 s)"
            )
            print(f"  builds from the record: {rendered}, runs on a lab: {ran}")
            print(f"  cold `build --offline --format html`: {cold_seconds:.2f} s")
            print(f"  ratio p50 / cold build: {p50 / cold_seconds:.2f}")

            if not args.no_command_edit:
                command = command_line(deck.read_text(encoding="utf-8"))
                nonce = secrets.token_hex(4)
                edited = f"{command} && echo fresh-$((40 + 2))-{nonce}"
                text = deck.read_text(encoding="utf-8")
                saved = time.monotonic()
                deck.write_text(text.replace(command, edited, 1), "utf-8")
                seconds = served_after(url, f"fresh-42-{nonce}", saved, 900)
                line = watching.wait_for(r"ran on a fresh lab|error", 60)
                print(f"command edit: {seconds:.2f} s to the page ({line.split(': ', 1)[1]})")
        finally:
            watching.stop()
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
