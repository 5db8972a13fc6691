"""A pytest plugin: the machine's CPU each test module costs, to see where the test command's
time goes (on a 2-core machine the suite is CPU-bound: its wall time is about its CPU / 2).

    PYTHONPATH=tools/bench .venv/bin/pytest -p suite_cpu -n 0 -q [tests/...]

Run the tests one at a time (no xdist) on an otherwise idle machine with the engine started
(tools/setup/dockerd.sh start): each test is charged the whole machine's busy time
(/proc/stat) while it runs, its fixtures' set-up and teardown included, so what the Docker
engine, the labs, node and Chromium spend for it counts too. Prints the modules by CPU
seconds, then the costliest tests; LIVEDECK_SUITE_CPU=FILE also writes every test's
[nodeid, cpu, wall] as JSON.
"""

from __future__ import annotations

import json
import os
import time
from collections import defaultdict
from collections.abc import Generator

import pytest
from machine import busy

_COSTS: list[tuple[str, float, float]] = []


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_protocol(item: pytest.Item) -> Generator[None, None, None]:
    cpu, wall = busy(), time.monotonic()
    yield
    _COSTS.append((item.nodeid, busy() - cpu, time.monotonic() - wall))


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    if not _COSTS:
        return
    write = terminalreporter.write_line
    cpu: defaultdict[str, float] = defaultdict(float)
    wall: defaultdict[str, float] = defaultdict(float)
    for nodeid, spent, took in _COSTS:
        module = nodeid.split("::", 1)[0]
        cpu[module] += spent
        wall[module] += took
    write(f"CPU {sum(cpu.values()):.0f} s, wall {sum(wall.values()):.0f} s; by module:")
    for module, spent in sorted(cpu.items(), key=lambda item: -item[1]):
        write(f"  {spent:7.1f} s CPU  {wall[module]:7.1f} s wall  {module}")
    write("costliest tests:")
    for nodeid, spent, took in sorted(_COSTS, key=lambda cost: -cost[1])[:25]:
        write(f"  {spent:7.1f} s CPU  {took:7.1f} s wall  {nodeid}")
    if target := os.environ.get("LIVEDECK_SUITE_CPU"):
        with open(target, "w", encoding="utf-8") as out:
            json.dump(_COSTS, out)
