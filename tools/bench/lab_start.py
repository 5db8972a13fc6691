"""Benchmark: the machine's CPU one lab start and close costs, against the previous way of
making the lab's user and waiting for the lab (an exec running lab-user, then another waiting
for the entrypoint's `ready` file), side by side in one process.

    .venv/bin/python tools/bench/lab_start.py [--rounds 5]

CPU is the whole machine's busy time (/proc/stat) while the lab starts and closes: most of a
lab's cost is spent by the Docker engine and the lab's processes, not by livedeck's. Run it on an
otherwise idle machine. Prints each side's median CPU seconds and wall time and the ratio
new/baseline.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "tools"))

from machine import busy, report  # noqa: E402  (tools/bench, the script's own folder)

from livedeck.run import container, sandbox  # noqa: E402
from livedeck.run.container import RUN_DIR, exec_root  # noqa: E402

ONE_EXEC = container.ready_user


def two_execs(host: Any, lab: Any, user: str, timeout: float) -> str:
    """The previous way: lab-user in one exec, then one waiting for `ready` (its first look
    found it in every start measured here)."""
    status, home = exec_root(host, lab.id, ["lab-user", user])
    assert status == 0, home
    wait = (
        f"i=0; while [ $i -lt 100 ]; do [ -e {RUN_DIR}/ready ] && exit 0;"
        " sleep 0.05; i=$((i+1)); done; exit 1"
    )
    status, said = exec_root(host, lab.id, ["sh", "-c", wait])
    assert status == 0, said
    return home.strip().splitlines()[-1]


def one(ready: Any) -> tuple[float, float]:
    sandbox.ready_user = ready
    cpu, wall = busy(), time.monotonic()
    sandbox.start_sandbox().close()
    return busy() - cpu, time.monotonic() - wall


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    sides: dict[str, list[tuple[float, float]]] = {"baseline": [], "livedeck": []}
    one(ONE_EXEC)  # warm: images in the page cache, the probe asked
    for _ in range(args.rounds):
        sides["baseline"].append(one(two_execs))
        sides["livedeck"].append(one(ONE_EXEC))
    report(sides)


if __name__ == "__main__":
    main()
