"""Benchmark: livedeck's build of a deck against the bare minimum of the same work.

    .venv/bin/python tools/bench/build_ratio.py [DECK] [--rounds N]

On ONE lab, alternating, N rounds each of
  livedeck   build() of the deck: run every command in its pty session, render, marp HTML + PDF
  baseline   the same commands (setup included) piped into a plain `bash -s` as the deck's user,
             then bare marp-cli calls for HTML and PDF of the Markdown livedeck built
and prints each side's best time and the ratio livedeck/baseline (target <= 1.10). It also
prints the lab's start and close time (target <= 3 s with images cached) and where livedeck's
time goes. Ratios, not absolute times: the machines here are noisy.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "tools"))

from livedeck.deck import load_deck  # noqa: E402
from livedeck.model import Command  # noqa: E402
from livedeck.publish import marp  # noqa: E402
from livedeck.run import lab_spec  # noqa: E402
from livedeck.run.lab import LabSpec  # noqa: E402
from livedeck.run.sandbox import DockerLab, start_sandbox  # noqa: E402
from livedeck.run.session import Outcome  # noqa: E402
from livedeck.verbs.build import BuildOptions, build  # noqa: E402


class KeptLab:
    """The benchmark's one lab, handed to build() without being closed by it."""

    def __init__(self, lab: DockerLab) -> None:
        self.lab = lab
        self.spec = lab.spec

    def __call__(self, spec: LabSpec) -> KeptLab:
        return self

    def shell(self, env=None):  # type: ignore[no-untyped-def]
        return self.lab.shell(env)

    def exec_root(self, argv):  # type: ignore[no-untyped-def]
        return self.lab.exec_root(argv)

    def docker(self):  # type: ignore[no-untyped-def]
        return self.lab.docker()

    def close(self) -> None:
        pass


def lab_start_times(spec: LabSpec, count: int) -> tuple[list[float], list[float]]:
    starts, closes = [], []
    for _ in range(count):
        t0 = time.perf_counter()
        lab = start_sandbox(spec)
        t1 = time.perf_counter()
        lab.close()
        starts.append(t1 - t0)
        closes.append(time.perf_counter() - t1)
    return starts, closes


def run_livedeck(deck: Path, lab: KeptLab, out: Path) -> tuple[float, float]:
    """Seconds for the whole build, and the part spent inside commands."""
    inside: list[float] = []

    def progress(command: Command, outcome: Outcome) -> None:
        inside.append(outcome.duration)

    t0 = time.perf_counter()
    build([deck], BuildOptions(out_dir=out), lab, progress)
    return time.perf_counter() - t0, sum(inside)


def run_baseline(deck: Path, lab: DockerLab, markdown: Path, out: Path) -> tuple[float, float]:
    """Seconds for plain bash + bare marp, and the part spent in bash."""
    parsed = load_deck(deck)
    script = "\n".join([*parsed.settings.setup, *(c.text for c in parsed.commands if c.runnable)])
    home = f"/home/{lab.spec.user}"
    t0 = time.perf_counter()
    subprocess.run(
        [
            "docker",
            "exec",
            "-i",
            "-u",
            lab.spec.user,
            "-w",
            home,
            "-e",
            f"HOME={home}",
            lab.name,
            "bash",
            "-s",
        ],
        input=script.encode(),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        check=False,
    )
    t1 = time.perf_counter()
    marp_cli = marp.find_marp(os.environ)
    env = {**os.environ, "CHROME_PATH": str(marp.find_chromium(os.environ))}
    common = ["--no-stdin", "--allow-local-files", "--no-config-file"]
    for flags, suffix in (([], ".html"), (["--pdf", "--browser", "chrome"], ".pdf")):
        subprocess.run(
            [str(marp_cli), *common, *flags, "-o", str(out / f"bare{suffix}"), "--", str(markdown)],
            stdin=subprocess.DEVNULL,
            capture_output=True,
            env=env,
            check=True,
        )
    return time.perf_counter() - t0, t1 - t0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("deck", nargs="?", type=Path, default=ROOT / "slides/docker-layers.md")
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    spec = lab_spec(load_deck(args.deck))

    starts, closes = lab_start_times(spec, 3)
    print(
        f"lab start: median {statistics.median(starts):.2f} s (target <= 3 s), "
        f"close: median {statistics.median(closes):.2f} s"
    )

    scratch = Path(tempfile.mkdtemp(prefix="livedeck-bench-"))
    # A copy of the deck, so the records the builds write stay out of the repository.
    deck = scratch / "deck" / args.deck.name
    deck.parent.mkdir()
    shutil.copy(args.deck, deck)
    if (args.deck.parent / "img").is_dir():
        (deck.parent / "img").symlink_to((args.deck.parent / "img").resolve())
    lab = start_sandbox(spec)
    try:
        kept = KeptLab(lab)
        run_livedeck(deck, kept, scratch / "warm")  # warm-up: caches, first nginx pull
        ours, theirs, ours_inside, theirs_inside = [], [], [], []
        for round_ in range(args.rounds):
            total, inside = run_livedeck(deck, kept, scratch / f"ld{round_}")
            ours.append(total)
            ours_inside.append(inside)
            built = scratch / f"ld{round_}" / f"{deck.stem}.md"
            total, inside = run_baseline(deck, lab, built, scratch / f"ld{round_}")
            theirs.append(total)
            theirs_inside.append(inside)
    finally:
        lab.close()
        shutil.rmtree(scratch, ignore_errors=True)

    best_ours, best_theirs = min(ours), min(theirs)
    print(f"livedeck build: best {best_ours:.2f} s of {', '.join(f'{t:.2f}' for t in ours)}")
    print(f"baseline      : best {best_theirs:.2f} s of {', '.join(f'{t:.2f}' for t in theirs)}")
    median = statistics.median(ours) / statistics.median(theirs)
    print(
        f"ratio livedeck/baseline: {median:.3f} of the medians, {best_ours / best_theirs:.3f}"
        " of the best runs (target <= 1.10)"
    )
    i, j = ours.index(best_ours), theirs.index(best_theirs)
    print("where the time goes (best rounds):")
    print(f"  commands   livedeck {ours_inside[i]:.2f} s   plain bash {theirs_inside[j]:.2f} s")
    print(
        f"  the rest   livedeck {best_ours - ours_inside[i]:.2f} s   bare marp  "
        f"{best_theirs - theirs_inside[j]:.2f} s  (session start, render, marp HTML + PDF)"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
