"""What the benchmarks read off the whole machine."""

from __future__ import annotations

import os


def busy() -> float:
    """Seconds of CPU the machine spent so far, on all cores, but idle and I/O wait (/proc/stat):
    what the Docker engine, labs, node and Chromium spend counts too."""
    with open("/proc/stat", encoding="ascii") as stat:
        ticks = [int(n) for n in stat.readline().split()[1:]]
    return (sum(ticks) - ticks[3] - ticks[4]) / os.sysconf("SC_CLK_TCK")
