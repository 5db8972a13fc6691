"""Benchmark: what hiding secrets on the byte stream (livedeck.redaction) adds to a capture,
and what the redactor of cut values and hex digits (livedeck.redaction_cuts) costs against the
redactor before it.

    .venv/bin/python tools/bench/redaction.py [--rounds N] [--mb 1] [--against REV]

Compiling: for values of 16, 100 and 200 characters, the seconds to compile a Redactor's
patterns now and at REV (default: the commit before redaction_cuts.py came), and their ratio.
Streaming: for three values (plain, symbols and quotes, words with spaces) and outputs of plain
lines, coloured lines and `docker pull`-like progress, read in chunks of 300 B and 4 KB: MB/s of
the Redactor, its time as a ratio of Terminal.feed's on the same stream (below 1: the emulator
stays the larger cost) and as a ratio of the redactor at REV. Best of N rounds; ratios, not
absolute times: the machines here are noisy.
"""

from __future__ import annotations

import argparse
import importlib.util
import random
import re
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from types import ModuleType

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "tools"))

from livedeck import redaction  # noqa: E402
from livedeck.redaction import Redactor  # noqa: E402
from livedeck.run.screen import Terminal  # noqa: E402

VALUES = ("pw-0123456789abcdef", "?é>\\Y~+$b1^b#ß/'\"&!<?", "my secret pass phrase")
SIZES = (16, 100, 200)


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


def old_redaction(rev: str | None) -> ModuleType:
    """livedeck.redaction as it was at `rev`, beside the modules it imports as they are now."""
    if rev is None:
        added = subprocess.run(
            [
                "git",
                "log",
                "-1",
                "--diff-filter=A",
                "--format=%H",
                "--",
                "tools/livedeck/redaction_cuts.py",
            ],
            cwd=ROOT,
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()
        rev = f"{added}~1" if added else "HEAD"
    source = subprocess.run(
        ["git", "show", f"{rev}:tools/livedeck/redaction.py"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    with tempfile.TemporaryDirectory(prefix="livedeck-bench-") as scratch:  # loaded, then gone
        path = Path(scratch) / "old_redaction.py"
        path.write_text(source, encoding="utf-8")
        spec = importlib.util.spec_from_file_location("old_redaction", path)
        assert spec and spec.loader
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
    return module


def compiling(old: ModuleType, rounds: int) -> None:
    """Print the seconds to compile one value's patterns, now and before, per value length."""
    print(f"{'compile':<10} {'chars':>6} {'now s':>8} {'before s':>9} {'x before':>9}")
    for size in SIZES:
        value = ("Ab3$'x\"é-" * 30)[:size]

        def now(value: str = value) -> None:
            redaction._compile.cache_clear()
            re.purge()  # `re` keeps compiled patterns too
            redaction.Redactor([value])

        def before(value: str = value) -> None:
            old._compile.cache_clear()
            re.purge()
            old.Redactor([value])

        seconds, was = best(rounds, now), best(rounds, before)
        print(f"{'':<10} {size:>6} {seconds:>8.3f} {was:>9.3f} {seconds / was:>9.2f}")


def main() -> None:
    """Print compile times, then MB/s and the ratios per value, stream and chunk size."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--mb", type=float, default=1.0)
    parser.add_argument("--against", help="git revision of the redactor to compare with")
    args = parser.parse_args()
    old = old_redaction(args.against)
    compiling(old, args.rounds)
    size = int(args.mb * 1_000_000)
    print(
        f"{'value':<26} {'stream':<9} {'chunk':>6} {'MB/s':>7} {'x emulator':>11} {'x before':>9}"
    )
    for name, data in streams(size).items():
        for chunk in (300, 4096):
            pieces = [data[i : i + chunk] for i in range(0, len(data), chunk)]

            def emulate(pieces: list[bytes] = pieces) -> None:
                terminal = Terminal(200, 50)
                for piece in pieces:
                    terminal.feed(piece)

            emulator = best(args.rounds, emulate)
            for value in VALUES:
                redactors = (Redactor([value]), old.Redactor([value]))
                seconds, was = (
                    best(args.rounds, lambda r=r, p=pieces: through(r, p)) for r in redactors
                )
                print(
                    f"{value!r:<26} {name:<9} {chunk:>6} {size / 1e6 / seconds:>7.2f}"
                    f" {seconds / emulator:>11.2f} {seconds / was:>9.2f}"
                )


def through(redactor: Redactor, pieces: list[bytes]) -> None:
    """The pieces through one redactor, as a shell's stream."""
    for piece in pieces:
        redactor.feed(piece)
    redactor.flush()


if __name__ == "__main__":
    main()
