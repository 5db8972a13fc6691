"""What the benchmarks read off the whole machine."""

from __future__ import annotations

import os
import statistics


def busy() -> float:
    """Seconds of CPU the machine spent so far, on all cores, but idle and I/O wait (/proc/stat):
    what the Docker engine, labs, node and Chromium spend counts too."""
    with open("/proc/stat", encoding="ascii") as stat:
        ticks = [int(n) for n in stat.readline().split()[1:]]
    return (sum(ticks) - ticks[3] - ticks[4]) / os.sysconf("SC_CLK_TCK")


def report(sides: dict[str, list[tuple[float, float]]], by: str = "CPU") -> None:
    """Print each side's median CPU and wall seconds (its runs are (CPU, wall) pairs), then the
    ratio of the last side to the first (the baseline) of the medians of `by`: CPU or wall."""
    medians = {}
    for side, runs in sides.items():
        cpu = statistics.median(c for c, _ in runs)
        wall = statistics.median(w for _, w in runs)
        medians[side] = cpu if by == "CPU" else wall
        print(f"{side:9} CPU {cpu:5.2f} s  wall {wall:5.2f} s  ({len(runs)} runs)")
    (baseline, first), *_, (new, last) = medians.items()
    print(f"ratio {new}/{baseline} ({by}): {last / first:.2f}")
