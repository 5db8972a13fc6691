"""The `livedeck` command: the only place that prints, and turns errors into exit codes.

Each verb lives in the module of its kind (pipeline, live, labs) with its options and its
handler; common.py holds the options and the printing they share.
"""

from __future__ import annotations

import argparse
import signal
import time
from collections.abc import Sequence

from livedeck import __version__
from livedeck.cli import labs, live, pipeline
from livedeck.cli.common import EXIT_DECK as EXIT_DECK
from livedeck.cli.common import EXIT_ENVIRONMENT as EXIT_ENVIRONMENT
from livedeck.cli.common import EXIT_USAGE as EXIT_USAGE
from livedeck.cli.common import count, emit, exit_code, report_error, say, terminate
from livedeck.errors import LivedeckError

EXIT_INTERRUPTED = 130

EPILOG = """\
examples:
  livedeck build                      build every deck in slides/ into build/
  livedeck build slides/docker-layers.md --format html
  livedeck build --offline            render from the records, no Docker needed
  livedeck build --fresh              take today's run even where the story is the same
  livedeck check                      does every deck still tell its story?
  livedeck watch                      preview decks in the browser while writing them
  livedeck list --json                the decks, their outputs and images (for CI)
  livedeck present slides/docker-layers.md   run the deck's commands live in its slides
  livedeck lab up                     start a lab to try commands by hand
  livedeck images add ubuntu:22.04    let every lab pull an image of this machine
  livedeck outdated --json            which decks' images changed upstream?
  livedeck refresh --summary pr.md    rebuild those decks; what changed, for a pull request
"""


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the `livedeck` command."""
    parser = _parser()
    args = parser.parse_args(argv)
    signal.signal(signal.SIGTERM, terminate)  # so labs are torn down on `kill` too
    started = time.monotonic()
    try:
        _reap()
        code: int = args.handler(args)
    except KeyboardInterrupt:
        say("livedeck: interrupted; the lab was removed and build/ left as it was")
        return emit(args, EXIT_INTERRUPTED)
    except LivedeckError as error:
        report_error(error)
        return emit(args, exit_code(error), error=error)
    if not args.quiet:
        say(f"livedeck: done in {time.monotonic() - started:.1f} s")
    return code


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="livedeck",
        description="Run the terminal transcripts of Marp decks on a real, isolated lab host"
        " and publish them as Markdown, HTML and PDF.",
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--version", action="version", version=f"livedeck {__version__}")
    parser.set_defaults(quiet=False)
    verbs = parser.add_subparsers(
        title="commands", dest="command", required=True, metavar="COMMAND"
    )
    pipeline.add(verbs)
    live.add(verbs)
    labs.add(verbs)
    return parser


def _reap() -> None:
    """Remove what livedeck processes that died (kill -9, a crash) left: one line if anything."""
    from livedeck import reap
    from livedeck.run.labs import reap_labs

    labs = reap_labs()
    swept = reap.sweep()
    counts = [
        count(len(labs), "lab"),
        count(len(swept.folders), "temporary folder"),
        count(len(swept.processes), "process", "processes"),
    ]
    found = [c for c in counts if c]
    if not found:
        return
    pids = sorted({lab.owner for lab in labs} | swept.owners)
    what = ", ".join(found[:-1]) + (" and " if len(found) > 1 else "") + found[-1]
    whose = "a process that died" if len(pids) == 1 else "processes that died"
    say(f"livedeck: removed {what} left by {whose} (pid {', '.join(map(str, pids))})")
