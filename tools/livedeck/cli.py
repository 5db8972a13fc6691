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
  livedeck watch                      preview decks in the browser while writing them
  livedeck present slides/docker-layers.md   run the deck's commands live in its slides
  livedeck lab up                     start a lab to try commands by hand
"""


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the `livedeck` command."""
    parser = _parser()
    args = parser.parse_args(argv)
    signal.signal(signal.SIGTERM, _terminate)  # so labs are torn down on `kill` too
    started = time.monotonic()
    try:
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
        "preview decks in the browser: rebuild on every save, the open page follows",
        "examples:\n  livedeck watch slides/docker-layers.md   # then open the URL it prints"
        "\n  livedeck watch slides/ --port 8000",
    )
    _decks_and_lab(watch)
    watch.add_argument("--out", type=Path, default=Path("build"), help="output folder (build/)")
    watch.add_argument(
        "--format", default="html", help="html, or html,pdf to remake the PDF on every save too"
    )
    watch.add_argument(
        "--port", type=int, default=0, help="port of the preview on 127.0.0.1 (default: a free one)"
    )
    watch.set_defaults(handler=_watch, quiet=False)

    present = _verb(
        verbs,
        "present",
        "present a deck with its commands run live in the slides (or in this terminal)",
        "examples:\n  livedeck present slides/docker-layers.md   # then open the URL it prints"
        "\n  livedeck present --terminal slides/docker-layers.md"
        "\n  livedeck present --offline slides/docker-layers.md   # replay the record",
    )
    present.add_argument("deck", type=Path, metavar="DECK")
    present.add_argument(
        "--lab",
        choices=("docker", "local"),
        default="docker",
        help="docker: a throwaway Docker host (default); local: this machine's shell",
    )
    present.add_argument(
        "--offline", action="store_true", help="replay the deck's record: no lab, no Docker"
    )
    present.add_argument(
        "--terminal", action="store_true", help="step through the commands in this terminal"
    )
    present.add_argument(
        "--port", type=int, default=0, help="port on 127.0.0.1 (default: a free one)"
    )
    present.add_argument("--timeout", type=float, help="seconds a command may run (deck default)")
    present.set_defaults(handler=_present, quiet=True)

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
    built = build(args.paths, options, _lab_factory(args.lab), progress, on_deck)
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

    from livedeck.build import BuildOptions, find_decks
    from livedeck.serve import serve
    from livedeck.warm import WarmMarp
    from livedeck.watch import Rebuilt, watch

    formats = ("html", *(f for f in _formats(args.format) if f != "html"))  # the page is HTML
    options = BuildOptions(out_dir=args.out, formats=formats)
    decks = [deck.stem for deck in find_decks(args.paths)]

    with WarmMarp() as marp, serve(args.out, decks, args.port) as preview:

        def report(rebuilt: Rebuilt) -> None:
            preview.show(rebuilt)
            if rebuilt.built is None:
                assert rebuilt.error is not None
                _report(rebuilt.error)
                _say(f"{rebuilt.deck}: still watching; the page shows this error until it builds")
                return
            how = "ran on a fresh lab" if rebuilt.ran else "rendered from its record"
            overflows = rebuilt.built.overflows
            _say(f"{rebuilt.deck}: {how} in {rebuilt.seconds:.1f} s; {len(overflows)} overflow(s)")
            for overflow in overflows:
                _say(f"{overflow.path}:{overflow.line}: warning: {overflow.message}")

        _say(f"livedeck: previewing on {preview.url} (Ctrl-C to stop)")
        for deck in decks:
            _say(f"  {preview.page_url(deck)}")
        watch(args.paths, options, _lab_factory(args.lab), report, threading.Event(), marp)
    return 0


def _present(args: argparse.Namespace) -> int:
    import threading

    from livedeck.present import open_show, present_in_browser
    from livedeck.present import terminal as in_terminal

    signal.signal(signal.SIGHUP, _terminate)  # a closed terminal (or tmux) ends it cleanly too
    start = None if args.offline else _lab_factory(args.lab)
    if start is not None:
        _say(f"livedeck: starting the lab of {args.deck} and running its setup")
    show = open_show(args.deck, start, timeout=args.timeout)
    try:
        if show.why_replay:
            _say(f"livedeck: replaying the record instead: {show.why_replay}")
        if args.terminal:
            if not sys.stdin.isatty():
                raise LivedeckError("--terminal needs a terminal to read keys from")
            write = sys.stdout.buffer.write

            def out(data: bytes) -> None:
                write(data)
                sys.stdout.buffer.flush()

            with in_terminal.single_keys(sys.stdin.fileno()) as key:
                in_terminal.present(show, key, out)
        else:

            def ready(url: str) -> None:
                _say(f"livedeck: presenting {args.deck} ({show.label}); open (Ctrl-C to stop):")
                _say(f"  {url}")

            present_in_browser(show, args.port, ready, threading.Event())
    except KeyboardInterrupt:
        pass
    finally:
        show.close()
    _say("livedeck: presentation over; nothing of it is left running")
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
