"""Benchmark: installing the test command's venv as tools/bootstrap.sh does on a clean clone (uv,
itself installed by pip) against pip alone, side by side in one process.

    .venv/bin/python tools/bench/venv_install.py [--rounds 3]

Each round makes two fresh venvs in a temporary folder, one per way, in turn, and installs this
checkout (editable) with its dev extras into each, as bootstrap.sh's python_env does. The
package caches (pip's, uv's) are the machine's: warm after the first round, as on a CI machine
that kept them. Prints each way's median wall time and machine CPU (/proc/stat), and the ratio
uv/pip. Run it on an otherwise idle machine.
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import tempfile
import time
from pathlib import Path

from machine import busy

ROOT = Path(__file__).resolve().parents[2]
PIP = ["--quiet", "--disable-pip-version-check"]


def install(way: str, venv: Path) -> tuple[float, float]:
    """A fresh venv at `venv` with livedeck and its dev extras: (wall, CPU) seconds."""
    cpu, wall = busy(), time.monotonic()
    subprocess.run(["python3", "-m", "venv", venv], check=True)
    pip = [venv / "bin" / "pip", "install", *PIP]
    if way == "uv":
        uv_version = "uv==0.13.9"  # as tools/bootstrap.sh pins it
        subprocess.run([*pip, uv_version], check=True)
        argv = [venv / "bin" / "uv", "pip", "install", "--quiet", "--python", venv / "bin/python"]
        subprocess.run([*argv, "--compile-bytecode", "-e", f"{ROOT}[dev]"], check=True)
    else:
        subprocess.run([*pip, "-e", f"{ROOT}[dev]"], check=True)
    return time.monotonic() - wall, busy() - cpu


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    sides: dict[str, list[tuple[float, float]]] = {"pip": [], "uv": []}
    with tempfile.TemporaryDirectory(prefix="livedeck-bench-venv-") as scratch:
        for n in range(args.rounds):
            for way in sides:
                sides[way].append(install(way, Path(scratch) / f"{way}-{n}"))
    medians = {}
    for way, runs in sides.items():
        wall = statistics.median(w for w, _ in runs)
        cpu = statistics.median(c for _, c in runs)
        medians[way] = wall
        print(f"{way:3}  wall {wall:5.1f} s  CPU {cpu:5.1f} s  ({len(runs)} installs)")
    print(f"ratio uv/pip (wall): {medians['uv'] / medians['pip']:.2f}")


if __name__ == "__main__":
    main()
