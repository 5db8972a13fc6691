"""Probe: how fast this machine does what the test command does most, to compare machines.

    .venv/bin/python tools/bench/machine_speed.py [--execs 30]

The test command's time is mostly process starts, new memory and Docker execs, on two busy
vCPUs side by side; the same suite costs far more CPU on some machines than on others (README,
"How it is built"). Prints, each the median of a few tries:
- a pure-Python loop alone, then two copies at once, and how many vCPUs' worth of work two busy
  processes get (2.0: two full cores);
- the kernel's cost of a page fault (new memory touched) and of a fork, exit and wait;
- with a Docker engine that answers and the lab image built: the machine's CPU for one
  `docker exec` of `true` in a lab-image container (livedeck reads the lab's process table and
  runs its side commands that way).
Run it on an otherwise idle machine, and more than once: on a shared host the loop's speed
drifts by a third from one minute to the next; the fault and exec costs hold steadier.
"""

from __future__ import annotations

import argparse
import mmap
import multiprocessing
import os
import resource
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "tools"))

from machine import busy  # noqa: E402  (tools/bench, the script's own folder)

LOOP = 20_000_000  # about a second
MEMORY = 64 << 20
FORKS = 200


def _loop(_: int = 0) -> float:
    start = time.perf_counter()
    total = 0
    for i in range(LOOP):
        total += i
    return time.perf_counter() - start


def _fault_cost(_: int = 0) -> float:
    """Microseconds of this process's CPU per page fault, touching new anonymous memory."""
    before, cpu = resource.getrusage(resource.RUSAGE_SELF).ru_minflt, time.process_time()
    memory = mmap.mmap(-1, MEMORY)
    for offset in range(0, MEMORY, mmap.PAGESIZE):
        memory[offset] = 1
    faults = resource.getrusage(resource.RUSAGE_SELF).ru_minflt - before
    memory.close()
    return (time.process_time() - cpu) / max(faults, 1) * 1e6


def _fork_cost() -> float:
    """Microseconds of wall time per fork, _exit and waitpid of an empty child."""
    start = time.perf_counter()
    for _ in range(FORKS):
        pid = os.fork()
        if pid == 0:
            os._exit(0)
        os.waitpid(pid, 0)
    return (time.perf_counter() - start) / FORKS * 1e6


def _exec_cost(count: int) -> float | None:
    """The machine's CPU seconds per `docker exec true` in a lab-image container; None without
    an engine or the image."""
    try:
        import docker

        from livedeck.run.labs import lab_names

        host = docker.from_env(timeout=10)
        host.ping()
        box = host.containers.run(
            lab_names().lab_image, ["sleep", "300"], entrypoint=[], detach=True, remove=True
        )
    except Exception as error:  # no engine, no image: the rest of the probe still counts
        print(f"docker exec: not measured ({error.__class__.__name__}: {error})")
        return None
    try:
        box.exec_run(["true"])  # the first one loads what later ones find in the page cache
        cpu = busy()
        for _ in range(count):
            box.exec_run(["true"])
        return (busy() - cpu) / count
    finally:
        box.remove(force=True)
        host.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--execs", type=int, default=30)
    args = parser.parse_args()
    context = multiprocessing.get_context("fork")
    with context.Pool(2) as pool:
        alone_runs, both_runs = [], []
        for _ in range(3):  # in turn: the host's speed drifts from one minute to the next
            alone_runs.append(_loop())
            both_runs.extend(pool.map(_loop, range(2)))
        alone, both = statistics.median(alone_runs), statistics.median(both_runs)
        fault = statistics.median(pool.map(_fault_cost, range(3)))
    fork = statistics.median(_fork_cost() for _ in range(3))
    print(f"Python loop of {LOOP:,}: {alone:.2f} s alone, {both:.2f} s as two at once")
    print(f"two busy processes get {2 * alone / both:.2f} vCPUs' worth of work (2.00: two cores)")
    print(f"page fault: {fault:.2f} us of CPU; fork, exit and wait: {fork:.0f} us")
    exec_cpu = _exec_cost(args.execs)
    if exec_cpu is not None:
        print(f"docker exec of `true` in a lab-image container: {exec_cpu:.3f} CPU-s")


if __name__ == "__main__":
    main()
