"""Benchmark: what hiding secrets on the byte stream (livedeck.redaction) adds to a capture.

    .venv/bin/python tools/bench/redaction.py [--rounds N] [--mb 1]

A deck with secrets reads every byte of its lab through a Redactor before the terminal emulator
sees it. For three values (plain, symbols and quotes, words with spaces) and outputs of plain
lines, coloured lines and `docker pull`-like progress, read in chunks of 300 B and 4 KB: MB/s
of the Redactor, and its time as a ratio of Terminal.feed's on the same stream (below 1: the
emulator stays the larger cost). Best of N rounds; ratios, not absolute times: the machines
here are noisy.
"""

from __future__ import annotations

import argparse
import random
import sys
import time
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "tools"))

from livedeck.redaction import Redactor  # noqa: E402
from livedeck.run.screen import Terminal  # noqa: E402

VALUES = ("pw-0123456789abcdef", "?é>\\Y~+$b1^b#ß/'\"&!<?", "my secret pass phrase")


def streams(size: int) -> dict[str, bytes]:
    """Outputs of about `size` bytes."""
    rng = random.Random(7)
    words = ["layer", "docker", "nginx", "Pull", "complete", "sha256:", "a1b2c3", "my", "pass"]
    lines = [" ".join(rng.choices(words, k=12)).encode() for _ in range(2000)]
    plain = b"\r\n".join(lines)
    coloured = b"\r\n".join(b"\x1b[32m" + line + b"\x1b[0m" for line in lines)
    progress = b"".join(
        b"\x1b[%dA\r\x1b[2K%s: Downloading %d/%d\x1b[%dB" % (n % 7 + 1, lines[n][:12], n, 2000, 1)
        for n in range(2000)
    )
    return {
        name: (data * (size // len(data) + 1))[:size]
        for name, data in (("plain", plain), ("coloured", coloured), ("progress", progress))
    }


def best(rounds: int, work: Callable[[], object]) -> float:
    """The fastest of `rounds` runs, in seconds."""
    times = []
    for _ in range(rounds):
        started = time.perf_counter()
        work()
        times.append(time.perf_counter() - started)
    return min(times)


def main() -> None:
    """Print MB/s and the ratio to the emulator per value, stream and chunk size."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--mb", type=float, default=1.0)
    args = parser.parse_args()
    size = int(args.mb * 1_000_000)
    print(f"{'value':<26} {'stream':<9} {'chunk':>6} {'MB/s':>7} {'x emulator':>11}")
    for name, data in streams(size).items():
        for chunk in (300, 4096):
            pieces = [data[i : i + chunk] for i in range(0, len(data), chunk)]

            def emulate(pieces: list[bytes] = pieces) -> None:
                terminal = Terminal(200, 50)
                for piece in pieces:
                    terminal.feed(piece)

            emulator = best(args.rounds, emulate)
            for value in VALUES:
                redactor = Redactor([value])

                def redact(redactor: Redactor = redactor, pieces: list[bytes] = pieces) -> None:
                    for piece in pieces:
                        redactor.feed(piece)
                    redactor.flush()

                seconds = best(args.rounds, redact)
                print(
                    f"{value!r:<26} {name:<9} {chunk:>6} {size / 1e6 / seconds:>7.2f}"
                    f" {seconds / emulator:>11.2f}"
                )


if __name__ == "__main__":
    main()
