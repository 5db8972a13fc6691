"""Benchmark: how fast livedeck turns a command's output into its screen (run/screen.py).

    .venv/bin/python tools/bench/capture.py [--rounds N] [--sizes 1,4,16]

1. Terminal.feed + lines() on outputs of 1, 4 and 16 MB handed over in chunks of 4-64 KB, as
   a pty gives them: plain lines (`seq`), long lines that wrap, and colored lines (escape
   sequences on every line, so pyte draws them). MB/s of output (target >= 5 for plain text;
   past MAX_BYTES the output is only counted), and the speed-up over pure pyte on 1 MB.
2. `seq` of the same sizes: piped to /dev/null, read from a local pty, and read from a local
   pty into a Terminal; the ratios say what capturing the screen adds to running the command.
Best of N rounds; ratios, not absolute times: the machines here are noisy.
"""

from __future__ import annotations

import argparse
import os
import random
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "tools"))

from livedeck.run import screen  # noqa: E402
from livedeck.run.lab import LabSpec, PtyChannel, terminal_env  # noqa: E402
from livedeck.run.screen import Terminal  # noqa: E402

MB = 1024 * 1024
SPEC = LabSpec(columns=200, rows=50)
WIDTHS = (4, 9, 9, 10, 13, 12)


def seq_count(size: int) -> int:
    """The N for which `seq N` prints about `size` bytes (with \\r\\n as on a terminal)."""
    count = total = 0
    digits = 1
    while True:
        block, width = 9 * 10 ** (digits - 1), digits + 2  # the numbers with `digits` digits
        if total + block * width >= size:
            return count - (total - size) // width
        count, total, digits = count + block, total + block * width, digits + 1


def plain(size: int) -> bytes:
    return b"".join(b"%d\r\n" % number for number in range(1, seq_count(size) + 1))


def wrapping(size: int) -> bytes:
    line = b"".join(b"%d " % number for number in range(80))[:290] + b"\r\n"
    return line * (size // len(line) + 1)


def colored(size: int) -> bytes:
    line = b"\x1b[01;34mdirectory\x1b[0m  \x1b[01;32mscript.sh\x1b[0m  notes.txt\r\n"
    return line * (size // len(line) + 1)


def chunks(data: bytes, seed: int = 1) -> list[bytes]:
    """`data` in chunks of 4-64 KB."""
    pick = random.Random(seed)
    out, start = [], 0
    while start < len(data):
        size = pick.randint(4096, 65536)
        out.append(data[start : start + size])
        start += size
    return out


def best(rounds: int, work: Callable[[], object]) -> float:
    times = []
    for _ in range(rounds):
        started = time.perf_counter()
        work()
        times.append(time.perf_counter() - started)
    return min(times)


def emulate(parts: list[bytes], fast: bool = True) -> tuple[str, ...]:
    terminal = Terminal(SPEC.columns, SPEC.rows, fast=fast)
    for part in parts:
        terminal.feed(part)
    return terminal.lines()


def feed_only(rounds: int, sizes: list[int]) -> None:
    print(f"Terminal.feed + lines(), {SPEC.columns}x{SPEC.rows}, cut at {screen.MAX_BYTES:,} bytes")
    print(f"{'output':<10}{'MB':>6}{'emulated':>10}{'s':>8}{'MB/s':>8}{'vs pyte':>9}")
    for name, make in (("plain", plain), ("wrapping", wrapping), ("colored", colored)):
        for size in sizes:
            data = make(size * MB)
            parts = chunks(data)
            seconds = best(rounds, lambda parts=parts: emulate(parts))
            ratio = ""
            if size == 1:
                slow = best(1, lambda parts=parts: emulate(parts, fast=False))
                ratio = f"{slow / seconds:8.1f}x"
            emulated = min(len(data), screen.MAX_BYTES) / MB
            speed = len(data) / MB / seconds
            print(f"{name:<10}{size:>6}{emulated:>10.1f}{seconds:>8.3f}{speed:>8.1f}{ratio:>9}")


def read_pty(argv: list[str], terminal: Terminal | None) -> int:
    channel = PtyChannel(argv, SPEC, {**os.environ, **terminal_env(SPEC)})
    total = 0
    try:
        while True:
            try:
                data = channel.recv(10.0)
            except EOFError:
                break
            total += len(data)
            if terminal is not None:
                terminal.feed(data)
    finally:
        channel.close()
    if terminal is not None:
        terminal.lines()
    return total


def against_shell(rounds: int, sizes: list[int]) -> None:
    print()
    print("seq N: piped to /dev/null | read from a pty | read from a pty into a Terminal")
    header = ("MB", "pipe s", "pty s", "screen s", "screen/pipe", "screen/pty")
    print("".join(f"{title:>{width}}" for title, width in zip(header, WIDTHS, strict=True)))
    for size in sizes:
        argv = ["seq", str(seq_count(size * MB))]
        pipe = best(rounds, lambda argv=argv: subprocess.run(argv, stdout=subprocess.DEVNULL))
        pty = best(rounds, lambda argv=argv: read_pty(argv, None))
        full = best(rounds, lambda argv=argv: read_pty(argv, Terminal(SPEC.columns, SPEC.rows)))
        row = (f"{size}", f"{pipe:.3f}", f"{pty:.3f}", f"{full:.3f}", f"{full / pipe:.1f}")
        row += (f"{full / pty:.2f}",)
        print("".join(f"{cell:>{width}}" for cell, width in zip(row, WIDTHS, strict=True)))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--sizes", default="1,4,16", help="output sizes in MB")
    options = parser.parse_args()
    sizes = [int(size) for size in options.sizes.split(",")]
    feed_only(options.rounds, sizes)
    against_shell(options.rounds, sizes)


if __name__ == "__main__":
    main()
