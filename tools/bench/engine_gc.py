"""Benchmark: the machine's CPU for one build of the flagship deck, its lab's engine at GOGC=400
(lab_assets/lab/lab-entrypoint) against Go's default, side by side.

    .venv/bin/python tools/bench/engine_gc.py [--rounds 4]

The baseline is the lab image with the entrypoint's `GOGC=400` taken out (an image derived from
it, built here). Rounds alternate: `livedeck build slides/docker-layers.md --format none` on a
copy of the deck, LIVEDECK_LAB_IMAGE naming each side's image. Run it on an otherwise idle
machine: CPU is the whole machine's (/proc/stat), the engine's and the lab's processes included.
"""

from __future__ import annotations

import argparse
import io
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "tools"))

from machine import busy, report  # noqa: E402  (tools/bench, the script's own folder)

from livedeck.run.labs import host_client, lab_names  # noqa: E402

DEFAULT_GC = "livedeck-bench/lab-default-gc:1"


def default_gc_image(lab_image: str) -> str:
    """The lab image whose engine runs at Go's default GOGC."""
    dockerfile = (
        f"FROM {lab_image}\n"
        "RUN sed -i 's/^GOGC=400 dockerd /dockerd /' /usr/local/sbin/lab-entrypoint"
        " && ! grep -q '^GOGC=' /usr/local/sbin/lab-entrypoint\n"
    )
    host_client().images.build(fileobj=io.BytesIO(dockerfile.encode()), tag=DEFAULT_GC, rm=True)
    return DEFAULT_GC


def one(deck: Path, image: str) -> tuple[float, float]:
    env = {**os.environ, "LIVEDECK_LAB_IMAGE": image}
    argv = [sys.executable, "-m", "livedeck", "build", str(deck), "--format", "none", "-q"]
    cpu, wall = busy(), time.monotonic()
    subprocess.run(argv, env=env, check=True, cwd=ROOT, capture_output=True)
    return busy() - cpu, time.monotonic() - wall


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=4)
    args = parser.parse_args()
    lab_image = lab_names().lab_image
    sides = {"default": default_gc_image(lab_image), "gogc-400": lab_image}
    runs: dict[str, list[tuple[float, float]]] = {side: [] for side in sides}
    with tempfile.TemporaryDirectory() as folder:
        deck = Path(folder) / "docker-layers.md"
        shutil.copy(ROOT / "slides" / deck.name, deck)
        for _ in range(args.rounds):
            for side, image in sides.items():
                runs[side].append(one(deck, image))
    report(runs)


if __name__ == "__main__":
    main()
