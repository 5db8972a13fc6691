"""Benchmark: a course of 12 generated decks (some chained by `after:`) built with -j 2 against
the same build run serially (-j 1), side by side.

    .venv/bin/python tools/bench/course.py [--jobs 2] [--rounds 1] [--format html]

Each round builds the course serially, then with --jobs, on fresh labs each time and with no
kept lab state (every chain's states are taken again in both builds). A first build writes the
records; every later build must tell the same story, so its Markdown and HTML must
be byte for byte those of the first: the benchmark checks that. Prints each side's times and
the ratio parallel/serial (target <= 0.6). Labs use a label, network and state folder of their
own, removed at the end. Ratios, not absolute times: the machines here are noisy (the load
average is printed with the ratio).
"""

from __future__ import annotations

import argparse
import os
import secrets
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "tools"))

TAG = secrets.token_hex(3)
os.environ.update(
    {
        "LIVEDECK_LAB_LABEL": f"livedeck.lab.bench-{TAG}",
        "LIVEDECK_LAB_NETWORK": f"ldbench-{TAG}",
        "LIVEDECK_LAB_SUBNET": f"10.218.{secrets.randbelow(250)}.0/24",
    }
)

import docker  # noqa: E402

from livedeck.run.labs import lab_names  # noqa: E402
from livedeck.run.sandbox import start_sandbox  # noqa: E402
from livedeck.verbs.build import BuildOptions, build  # noqa: E402

PROMPT = "ubuntu@ip-10-0-1-14:~$"
# Decks of three kinds, as a course has them: pulling and running an image, files and shell
# work, and decks that continue an earlier one (its image and container are already there).
PULL = (
    "docker pull --quiet nginx",
    "docker run --detach --name web{n} nginx",
    "docker ps --format '{{{{.Names}}}}'",
)
SHELL = (
    "mkdir -p work{n} && cd work{n}",
    "seq 1 200 | tail -n 3",
    "printf 'deck {n}\\n' > note.txt",
    "cat note.txt",
    "sleep 2",
)
AFTER = (
    "docker images --format '{{{{.Repository}}}}'",
    "docker ps --format '{{{{.Names}}}}'",
    "docker exec web{m} nginx -v 2>&1 | cut -d/ -f1",
)


def course(folder: Path) -> list[Path]:
    """12 decks: 4 chains of two (pull, then a deck after it), and 4 independent shell decks."""
    decks = []
    for n in range(1, 13):
        kind, after = ("pull", None)
        if n % 3 == 2:
            kind, after = "after", f"deck{n - 1:02d}"
        elif n % 3 == 0:
            kind = "shell"
        commands = {"pull": PULL, "shell": SHELL, "after": AFTER}[kind]
        lines = "\n".join(f"{PROMPT} {c.format(n=n, m=n - 1)}" for c in commands)
        front = f"livedeck:\n  after: {after}\n" if after else ""
        text = f"---\nmarp: true\n{front}---\n\n# Deck {n}: {kind}\n\n```bash\n{lines}\n```\n"
        path = folder / f"deck{n:02d}.md"
        path.write_text(text, encoding="utf-8")
        decks.append(path)
    return decks


def forget_states() -> None:
    host = docker.from_env()
    for volume in host.volumes.list(filters={"label": f"{lab_names().label}.state"}):
        volume.remove(force=True)
    host.close()


def timed(folder: Path, out: Path, jobs: int, formats: tuple[str, ...]) -> float:
    forget_states()  # both sides take every chain's state themselves
    started = time.perf_counter()
    built = build([folder], BuildOptions(out_dir=out, formats=formats, jobs=jobs), start_sandbox)
    seconds = time.perf_counter() - started
    stories = {r.story for r in built.decks}
    if out.name != "first" and stories != {"kept"}:
        changed = [str(r.deck) for r in built.decks if r.story != "kept"]
        raise SystemExit(f"a build told another story than the first: {changed}")
    return seconds


def outputs(out: Path) -> dict[str, bytes]:
    """The decks' Markdown and HTML (the index differs: it says which build wrote the records)."""
    return {
        p.name: p.read_bytes()
        for p in sorted(out.iterdir())
        if p.suffix in (".md", ".html") and p.name != "index.html"
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--jobs", type=int, default=2)
    parser.add_argument("--rounds", type=int, default=1)
    parser.add_argument("--format", default="html")
    args = parser.parse_args()
    formats = tuple(f for f in args.format.split(",") if f and f != "none")
    scratch = Path(tempfile.mkdtemp(prefix="livedeck-bench-course-"))
    os.environ["LIVEDECK_SNAPSHOTS"] = str(scratch / "states")
    try:
        folder = scratch / "course"
        folder.mkdir()
        (folder / ".git").mkdir()  # the course's root: no config of a folder above applies
        course(folder)
        first = timed(folder, scratch / "first", args.jobs, formats)
        print(f"first build (-j {args.jobs}, writes the records): {first:.1f} s")
        reference = outputs(scratch / "first")
        serial, parallel = [], []
        for round_ in range(args.rounds):
            serial.append(timed(folder, scratch / f"serial{round_}", 1, formats))
            parallel.append(timed(folder, scratch / f"parallel{round_}", args.jobs, formats))
            for side in (f"serial{round_}", f"parallel{round_}"):
                if outputs(scratch / side) != reference:
                    raise SystemExit(f"{side}: outputs differ from the first build's")
            print(
                f"round {round_ + 1}: serial {serial[-1]:.1f} s,"
                f" -j {args.jobs} {parallel[-1]:.1f} s (load average {os.getloadavg()[0]:.1f})",
                flush=True,
            )
        ratio = statistics.median(parallel) / statistics.median(serial)
        best = min(parallel) / min(serial)
        each = ", ".join(f"{p / s:.2f}" for p, s in zip(parallel, serial, strict=True))
        print(f"ratio of each round: {each}; of the best times: {best:.2f}")
        print(f"outputs identical: {len(reference)} files (Markdown, HTML) in every build")
        print(f"ratio -j {args.jobs}/serial of the medians: {ratio:.2f} (target <= 0.60)")
        print(f"cores {os.cpu_count()}, load average {os.getloadavg()[0]:.1f}")
    finally:
        forget_states()
        shutil.rmtree(scratch, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
