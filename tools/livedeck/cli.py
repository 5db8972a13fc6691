"""The `livedeck` command: the only place that prints, and turns errors into exit codes."""

from __future__ import annotations

import argparse
import os
import signal
import sys
import textwrap
import time
from collections.abc import Sequence
from pathlib import Path
from types import FrameType
from typing import NoReturn

from livedeck import __version__
from livedeck.errors import CommandFailed, DeckError, LabError, LivedeckError, ToolMissing
from livedeck.model import Command, Deck
from livedeck.run.lab import LabFactory, LabSpec, LocalLab
from livedeck.run.session import Outcome

EXIT_DECK = 1  # the deck or one of its commands is wrong
EXIT_USAGE = 2  # argparse's own code for a wrong command line
EXIT_ENVIRONMENT = 3  # something to install or start: Docker, marp-cli, Chromium
EXIT_INTERRUPTED = 130

EPILOG = """\
examples:
  livedeck build                      build every deck in slides/ into build/
  livedeck build slides/docker-layers.md --format html
  livedeck build --offline            render from the records, no Docker needed
  livedeck check                      does every deck still tell its story?
  livedeck watch                      rebuild decks whenever they are saved
  livedeck lab up                     start a lab to try commands by hand
"""


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the `livedeck` command."""
    parser = _parser()
    args = parser.parse_args(argv)
    signal.signal(signal.SIGTERM, _terminate)  # so labs are torn down on `kill` too
    started = time.monotonic()
    try:
        _reap()
        code: int = args.handler(args)
    except KeyboardInterrupt:
        _say("livedeck: interrupted; the lab was removed and build/ left as it was")
        return EXIT_INTERRUPTED
    except (ToolMissing, LabError) as error:
        _report(error)
        return EXIT_ENVIRONMENT
    except LivedeckError as error:
        _report(error)
        return EXIT_DECK
    if not args.quiet:
        _say(f"livedeck: done in {time.monotonic() - started:.1f} s")
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
    verbs = parser.add_subparsers(title="commands", required=True, metavar="COMMAND")

    build = _verb(
        verbs,
        "build",
        "run decks on a fresh lab and write Markdown, HTML and PDF",
        "example:\n  livedeck build slides/ --out build/",
    )
    _decks_and_lab(build)
    build.add_argument("--out", type=Path, default=Path("build"), help="output folder (build/)")
    build.add_argument(
        "--format",
        default="html,pdf",
        help="comma-separated outputs besides Markdown: html, pdf, or none (html,pdf)",
    )
    build.add_argument("--timeout", type=float, help="seconds a command may run (deck default 120)")
    build.add_argument("--columns", type=int, help="terminal width for the run (deck default 200)")
    build.add_argument(
        "--offline",
        action="store_true",
        help="render from each deck's record (DECK.record.yaml) instead of running: no Docker",
    )
    build.add_argument("--strict", action="store_true", help="fail if a slide overflows")
    build.add_argument("-q", "--quiet", action="store_true", help="print errors only")
    build.set_defaults(handler=_build)

    check = _verb(
        verbs,
        "check",
        "run decks on a fresh lab and compare with their records",
        "examples:\n  livedeck check                 exit 1 with a diff if a story changed"
        "\n  livedeck check --update slides/docker-layers.md",
    )
    _decks_and_lab(check)
    check.add_argument("--update", action="store_true", help="rewrite the records from this run")
    check.add_argument("--timeout", type=float, help="seconds a command may run (deck default 120)")
    check.add_argument("-q", "--quiet", action="store_true", help="print errors and changes only")
    check.set_defaults(handler=_check)

    watch = _verb(
        verbs,
        "watch",
        "rebuild decks whenever they are saved (from the record when the commands match)",
        "example:\n  livedeck watch slides/  # then open build/docker-layers.html",
    )
    _decks_and_lab(watch)
    watch.add_argument("--out", type=Path, default=Path("build"), help="output folder (build/)")
    watch.add_argument("--format", default="html", help="outputs besides Markdown (html)")
    watch.set_defaults(handler=_watch, quiet=False)

    lab = verbs.add_parser(
        "lab",
        help="start, stop or list lab hosts",
        epilog="example:\n  livedeck lab up && docker exec -it -u ubuntu livedeck-lab-... bash",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    lab.add_argument("action", choices=("up", "down", "status"))
    lab.add_argument("--host", default="ip-10-0-1-14", help="host name of the lab (up)")
    lab.add_argument("--user", default="ubuntu", help="user of the lab's shell (up)")
    lab.set_defaults(handler=_lab)
    return parser


def _verb(
    verbs: argparse._SubParsersAction[argparse.ArgumentParser], name: str, help: str, epilog: str
) -> argparse.ArgumentParser:
    """A sub-command whose help ends with examples, kept as written."""
    return verbs.add_parser(
        name, help=help, epilog=epilog, formatter_class=argparse.RawDescriptionHelpFormatter
    )


def _decks_and_lab(verb: argparse.ArgumentParser) -> None:
    """The decks a verb works on, and the lab their commands run on."""
    verb.add_argument("paths", nargs="*", type=Path, default=[Path("slides")], metavar="DECK|DIR")
    verb.add_argument(
        "--lab",
        choices=("docker", "local"),
        default="docker",
        help="docker: a throwaway Docker host per deck (default); local: this machine's shell",
    )


def _build(args: argparse.Namespace) -> int:
    from livedeck.build import BuildOptions, build

    formats = _formats(args.format)
    options = BuildOptions(
        out_dir=args.out,
        formats=formats,
        timeout=args.timeout,
        columns=args.columns,
        offline=args.offline,
        strict=args.strict,
    )
    progress = None if args.quiet or os.environ.get("CI") else _progress  # quiet in CI logs
    on_deck = None if args.quiet else _announce
    built = build(args.paths, options, _lab_factory(args.lab), progress, on_deck, _waiting)
    for overflow in built.overflows:
        _say(f"{overflow.path}:{overflow.line}: warning: {overflow.message}")
    for path, changes in built.changes.items():
        if changes:
            _say(
                f"{path}: note: {len(changes)} command(s) tell another story than the previous"
                " record (the new record is written; `git diff` shows what changed)"
            )
    if not args.quiet:
        for path in built.outputs:
            if path.suffix in (".md", ".html", ".pdf", ".yaml"):
                _say(f"wrote {path}")
    return 0


def _check(args: argparse.Namespace) -> int:
    from livedeck.build import check
    from livedeck.check import report

    progress = None if args.quiet else _progress
    on_deck = None if args.quiet else _announce
    found = check(
        args.paths,
        _lab_factory(args.lab),
        update=args.update,
        timeout=args.timeout,
        progress=progress,
        on_deck=on_deck,
    )
    changed = [(deck, changes) for deck, changes in found if changes]
    for deck, changes in changed:
        print(report(deck, changes))
    if args.update:
        _say(f"livedeck: rewrote {len(found)} record(s)")
        return 0
    if changed:
        _say(
            f"livedeck: {sum(len(c) for _, c in changed)} command(s) in {len(changed)} deck(s)"
            " tell another story than their record; if that is right: livedeck check --update"
        )
        return EXIT_DECK
    if not args.quiet:
        _say(f"livedeck: {len(found)} deck(s) match their records (IDs, ages and dates aside)")
    return 0


def _watch(args: argparse.Namespace) -> int:
    import threading

    from livedeck.build import BuildOptions, Built
    from livedeck.watch import watch

    options = BuildOptions(out_dir=args.out, formats=_formats(args.format))

    def report(deck: Path, outcome: Built | LivedeckError, ran: bool) -> None:
        if isinstance(outcome, LivedeckError):
            _report(outcome)
            return
        how = "ran on a fresh lab" if ran else "rendered from its record"
        _say(f"{deck}: {how}; {len(outcome.overflows)} overflow warning(s)")
        for overflow in outcome.overflows:
            _say(f"{overflow.path}:{overflow.line}: warning: {overflow.message}")

    _say("livedeck: watching; Ctrl-C to stop")
    watch(args.paths, options, _lab_factory(args.lab), report, threading.Event())
    return 0


def _formats(text: str) -> tuple[str, ...]:
    from livedeck.marp import FORMATS

    formats = tuple(f for f in text.split(",") if f and f != "none")
    unknown = [f for f in formats if f not in FORMATS]
    if unknown:
        known = ", ".join([*FORMATS, "none"])
        raise LivedeckError(f"unknown output format {unknown[0]!r}; choose from {known}")
    return formats


def _lab_factory(kind: str) -> LabFactory:
    if kind == "local":
        return LocalLab
    from livedeck.run.sandbox import start_sandbox

    return start_sandbox


def _lab(args: argparse.Namespace) -> int:
    from livedeck.run import labs, sandbox

    if args.action == "up":
        lab = sandbox.start_sandbox(LabSpec(hostname=args.host, user=args.user), keep=True)
        print(f"lab {lab.name} is up; enter it with:")
        print(f"  docker exec -it -u {args.user} -w /home/{args.user} {lab.name} bash")
        print("remove it with: livedeck lab down")
    elif args.action == "down":
        removed = labs.remove_leftover_labs()
        print(f"removed {removed} lab(s)")
    else:
        for line in labs.lab_status():
            print(line)
    return 0


def _reap() -> None:
    """Remove what livedeck processes that died (kill -9, a crash) left: one line if anything."""
    from livedeck import reap
    from livedeck.run.labs import reap_labs

    labs = reap_labs()
    swept = reap.sweep()
    counts = [
        _count(len(labs), "lab"),
        _count(len(swept.folders), "temporary folder"),
        _count(len(swept.processes), "process", "processes"),
    ]
    found = [c for c in counts if c]
    if not found:
        return
    pids = sorted({lab.owner for lab in labs} | swept.owners)
    what = ", ".join(found[:-1]) + (" and " if len(found) > 1 else "") + found[-1]
    whose = "a process that died" if len(pids) == 1 else "processes that died"
    _say(f"livedeck: removed {what} left by {whose} (pid {', '.join(map(str, pids))})")


def _count(number: int, one: str, many: str = "") -> str:
    return "" if not number else f"{number} {one if number == 1 else many or one + 's'}"


def _waiting(out: Path) -> None:
    _say(f"livedeck: another livedeck is writing to {out}; waiting for it to finish")


def _announce(deck: Deck) -> None:
    commands = sum(1 for c in deck.commands if c.runnable)
    _say(f"{deck.path}: {commands} commands, {len(deck.slides)} slides; starting its lab")


def _progress(command: Command, outcome: Outcome) -> None:
    first = command.text.split("\n")[0]
    shown = first if len(first) <= 70 else first[:67] + "..."
    status = "" if outcome.status in (0, None) else f" -> exit {outcome.status}"
    _say(f"  {command.line:>4}  $ {shown}  ({outcome.duration:.1f} s){status}")


def _report(error: LivedeckError) -> None:
    _say(f"livedeck: error: {error}" if not isinstance(error, DeckError) else str(error))
    if isinstance(error, CommandFailed) and not error.screen_tail:
        _say("  (the command printed nothing)")
    if error.hint:
        _say(textwrap.indent(f"hint: {error.hint}", "  "))


def _say(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def _terminate(signum: int, frame: FrameType | None) -> NoReturn:
    raise KeyboardInterrupt
