"""Benchmark: the machine's CPU one lab start and close costs, against the way labs started
before (the host asked the lab for its `ready` file every 50 ms, the lab asked its engine with
`docker version`), side by side in one process.

    .venv/bin/python tools/bench/lab_start.py [--rounds 5] [--baseline-image livedeck/lab:4]

CPU is the whole machine's busy time (/proc/stat) while the lab starts and closes: most of a
lab's cost is spent by the Docker engine and the lab's processes, not by livedeck's. Run it on an
otherwise idle machine. Prints each side's median CPU seconds and wall time and the ratio
new/baseline. The baseline needs the previous lab image (built before the entrypoint changed).
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "tools"))

from machine import busy, report  # noqa: E402  (tools/bench, the script's own folder)

from livedeck.run import container  # noqa: E402
from livedeck.run.sandbox import start_sandbox  # noqa: E402


def one(image: str | None, look: float) -> tuple[float, float]:
    if image:
        os.environ["LIVEDECK_LAB_IMAGE"] = image
    else:
        os.environ.pop("LIVEDECK_LAB_IMAGE", None)
    container.READY_LOOK_SECONDS = look
    cpu, wall = busy(), time.monotonic()
    start_sandbox().close()
    return busy() - cpu, time.monotonic() - wall


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--baseline-image", default="livedeck/lab:4")
    args = parser.parse_args()
    sides: dict[str, list[tuple[float, float]]] = {"baseline": [], "livedeck": []}
    one(None, container.READY_LOOK_SECONDS)  # warm: images in the page cache, the probe asked
    for _ in range(args.rounds):
        sides["baseline"].append(one(args.baseline_image, 0.05))
        sides["livedeck"].append(one(None, container.READY_LOOK_SECONDS))
    report(sides)


if __name__ == "__main__":
    main()
