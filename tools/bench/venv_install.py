"""Benchmark: installing the test command's venv as tools/bootstrap.sh does on a clean clone (a
venv without pip, uv installed into it by the system's pip) against a venv with pip and pip
alone, side by side in one process.

    .venv/bin/python tools/bench/venv_install.py [--rounds 3]

Each round makes two fresh venvs in a temporary folder, one per way, in turn, and installs this
checkout (editable) with its dev extras into each, as bootstrap.sh's python_env does. The
package caches (pip's, uv's) are the machine's: warm after the first round, as on a CI machine
that kept them. Prints each way's median wall time and machine CPU (/proc/stat), and the ratio
uv/pip. Run it on an otherwise idle machine.
"""

from __future__ import annotations

import argparse
import subprocess
import tempfile
import time
from pathlib import Path

from machine import busy, report

ROOT = Path(__file__).resolve().parents[2]
PIP = ["--quiet", "--disable-pip-version-check"]


def install(way: str, venv: Path) -> tuple[float, float]:
    """A fresh venv at `venv` with livedeck and its dev extras: (CPU, wall) seconds."""
    cpu, wall = busy(), time.monotonic()
    if way == "uv":  # a venv without pip, uv from the system's pip, as tools/bootstrap.sh does
        subprocess.run(["python3", "-m", "venv", "--without-pip", venv], check=True)
        system_pip = ["python3", "-m", "pip", "--python", f"{venv}/bin/python", "install", *PIP]
        subprocess.run([*system_pip, "uv==0.13.9"], check=True)  # as tools/bootstrap.sh pins it
        uv = [f"{venv}/bin/uv", "pip", "install", "--quiet", "--python", f"{venv}/bin/python"]
        subprocess.run([*uv, "--compile-bytecode", "-e", f"{ROOT}[dev]"], check=True)
    else:
        subprocess.run(["python3", "-m", "venv", venv], check=True)
        subprocess.run([f"{venv}/bin/pip", "install", *PIP, "-e", f"{ROOT}[dev]"], check=True)
    return busy() - cpu, time.monotonic() - wall


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    sides: dict[str, list[tuple[float, float]]] = {"pip": [], "uv": []}
    with tempfile.TemporaryDirectory(prefix="livedeck-bench-venv-") as scratch:
        for n in range(args.rounds):
            for way in sides:
                sides[way].append(install(way, Path(scratch) / f"{way}-{n}"))
    report(sides, by="wall")


if __name__ == "__main__":
    main()
