"""Benchmark: what typing a command into the lab's bash costs (run/session.py), by line length.

    .venv/bin/python tools/bench/type_lines.py [--rounds N] [--tools DIR] [--docker]

Types `echo <N x> | wc -c` for N = 10, 1,000, 4,000 (what a terminal in canonical mode takes)
and 5,000, 10,000, 20,000 into one Session on a local pty (or the Docker lab), checks each
screen says N+1, and prints the time per command. `--tools` runs another checkout's livedeck
(e.g. the previous release) for the "before" column: there, lines past 4,095 bytes are cut, so
they are reported as cut instead of timed. Best of N rounds; compare ratios, not absolute times.
"""

from __future__ import annotations

import argparse
import re
import sys
import tempfile
import time
from pathlib import Path

LENGTHS = (10, 1_000, 4_000, 5_000, 10_000, 20_000)


def main() -> None:
    """Print the time per command for each line length."""
    parser = argparse.ArgumentParser()
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--tools", type=Path, default=Path(__file__).resolve().parents[1])
    parser.add_argument("--docker", action="store_true", help="on the Docker lab")
    options = parser.parse_args()
    sys.path.insert(0, str(options.tools))
    from livedeck.run.lab import LabSpec, LocalLab
    from livedeck.run.session import Session

    with tempfile.TemporaryDirectory() as home:
        if options.docker:
            from livedeck.run.sandbox import start_sandbox

            lab = start_sandbox(LabSpec())
        else:
            lab = LocalLab(LabSpec(hostname="box", user="me"), {"HOME": home})
        try:
            session = Session(lab, re.compile(r"[$#>] ?$"))
            print(f"{'bytes':>8} {'ms per command':>15}  (livedeck from {options.tools})")
            for length in LENGTHS:
                best = float("inf")
                for _ in range(options.rounds):
                    started = time.perf_counter()
                    try:
                        outcome = session.type(f"echo {'x' * length} | wc -c", 30)
                    except Exception as error:  # the old code may fail loudly
                        outcome = None
                        print(f"{length:>8} {'failed':>15}  {str(error)[:60]}")
                        break
                    spent = time.perf_counter() - started
                    if outcome.lines != (str(length + 1),):
                        print(f"{length:>8} {'cut':>15}  screen {outcome.lines[-1][:20]!r}")
                        break
                    best = min(best, spent)
                else:
                    print(f"{length:>8} {best * 1000:>15.1f}")
                if outcome is None or outcome.timed_out:
                    break  # the shell waits for the rest of a cut line
        finally:
            lab.close()


if __name__ == "__main__":
    main()
