"""Benchmark: a build's measure and publish steps through one warm node, against a process each.

    .venv/bin/python tools/bench/marp_calls.py [DECK...] [--rounds N]

Alternating, N rounds each, on decks built offline from their records (default: every deck of
slides/), in HTML and PDF:
  warm       what build does: one WarmMarp measures every deck, then publishes through it
             (marp-cli's API in that node, no second load of it)
  processes  the way before: measure.mjs in a node of its own, then one marp-cli program per
             format (a node start and a load of marp-cli each)
Prints each side's median CPU seconds (node, Chromium and their children) and wall seconds, and
the ratios warm/processes. Ratios, not absolute times: the machines here are noisy.
"""

from __future__ import annotations

import argparse
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "tools"))

from livedeck.deck import load_deck  # noqa: E402
from livedeck.publish import publish  # noqa: E402
from livedeck.publish.measure import measure_decks  # noqa: E402
from livedeck.publish.themes import resolve_theme, theme_dirs_for  # noqa: E402
from livedeck.publish.warm import WarmMarp  # noqa: E402

FORMATS = ("html", "pdf")


def children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def warm(decks: list[Path], themes: list[Path], out: Path) -> None:
    with WarmMarp(timeout=300) as marp:
        marp.measure(decks, themes=themes)
        publish(decks, out, FORMATS, themes=themes, runner=marp.run)


def processes(decks: list[Path], themes: list[Path], out: Path) -> None:
    measure_decks(decks, themes=themes)
    publish(decks, out, FORMATS, themes=themes)


def staged(decks: list[Path], scratch: Path) -> list[Path]:
    """The decks' Markdown as build renders it, from their records (build --offline)."""
    out = scratch / "staged"
    argv = [sys.executable, "-m", "livedeck", "build", "--offline", "--format", "none", "-q"]
    subprocess.run([*argv, "--out", str(out), *map(str, decks)], check=True, cwd=ROOT)
    return [out / d.name for d in decks]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("decks", nargs="*", type=Path)
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    decks = [d.resolve() for d in args.decks] or sorted((ROOT / "slides").glob("*.md"))
    themes = sorted({t for d in decks if (t := resolve_theme(load_deck(d), theme_dirs_for(d)))})
    sides: dict[str, Callable[[list[Path], list[Path], Path], None]] = {
        "warm": warm,
        "processes": processes,
    }
    cpu: dict[str, list[float]] = {name: [] for name in sides}
    wall: dict[str, list[float]] = {name: [] for name in sides}
    with tempfile.TemporaryDirectory(prefix="bench-marp-") as scratch:
        markdown = staged(decks, Path(scratch))
        for round_ in range(args.rounds):
            for name, side in sides.items():
                out = Path(scratch) / f"{name}-{round_}"
                before, started = children_cpu(), time.monotonic()
                side(markdown, themes, out)
                wall[name].append(time.monotonic() - started)
                cpu[name].append(children_cpu() - before)
                shutil.rmtree(out)
    for name in sides:
        print(
            f"{name:10} cpu {statistics.median(cpu[name]):6.2f} s"
            f"   wall {statistics.median(wall[name]):6.2f} s   ({args.rounds} rounds)"
        )
    ratio = {
        n: statistics.median(v["warm"]) / statistics.median(v["processes"])
        for n, v in (("cpu", cpu), ("wall", wall))
    }
    print(f"ratio warm/processes: cpu {ratio['cpu']:.2f}   wall {ratio['wall']:.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
