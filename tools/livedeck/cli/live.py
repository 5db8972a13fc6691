"""`watch` and `present`: the verbs that keep running while a person looks."""

from __future__ import annotations

import argparse
import signal
import sys
from pathlib import Path
from typing import TYPE_CHECKING, NoReturn

from livedeck.cli.common import (
    Verbs,
    decks_and_lab,
    folder,
    image_choice,
    lab_factory,
    parse_formats,
    port,
    report_error,
    say,
    terminate,
    verb,
)
from livedeck.errors import (
    LivedeckError,
)

if TYPE_CHECKING:
    from types import FrameType


def add(verbs: Verbs) -> None:
    """The live verbs."""
    watch = verb(
        verbs,
        "watch",
        "preview decks in the browser: rebuild on every save, the open page follows",
        "examples:\n  livedeck watch slides/docker-layers.md   # then open the URL it prints"
        "\n  livedeck watch slides/ --port 8000",
    )
    decks_and_lab(watch)
    watch.add_argument("--out", type=folder, default=Path("build"), help="output folder (build/)")
    watch.add_argument(
        "--format", default="html", help="html, or html,pdf to remake the PDF on every save too"
    )
    watch.add_argument(
        "--port",
        type=port,
        default=0,
        help="port of the preview on 127.0.0.1 (default: a free one)",
    )
    watch.set_defaults(handler=_watch, quiet=False)
    present = verb(
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
        "--port", type=port, default=0, help="port on 127.0.0.1 (default: a free one)"
    )
    present.add_argument("--timeout", type=float, help="seconds a command may run (deck default)")
    present.set_defaults(handler=_present, quiet=True)


def _watch(args: argparse.Namespace) -> int:
    import threading

    from livedeck.publish.warm import WarmMarp
    from livedeck.serve import serve
    from livedeck.verbs.build import BuildOptions, find_decks
    from livedeck.verbs.watch import Rebuilt, watch

    formats = ("html", *(f for f in parse_formats(args.format) if f != "html"))  # the page is HTML
    options = BuildOptions(out_dir=args.out, formats=formats, images=image_choice(args))
    decks = [deck.stem for deck in find_decks(args.paths)]

    with WarmMarp() as marp, serve(args.out, decks, args.port) as preview:

        def report(rebuilt: Rebuilt) -> None:
            preview.show(rebuilt)
            if rebuilt.built is None:
                assert rebuilt.error is not None
                report_error(rebuilt.error)
                say(f"{rebuilt.deck}: still watching; the page shows this error until it builds")
                return
            how = "ran on a fresh lab" if rebuilt.ran else "rendered from its record"
            overflows = rebuilt.built.overflows
            say(f"{rebuilt.deck}: {how} in {rebuilt.seconds:.1f} s; {len(overflows)} overflow(s)")
            for overflow in overflows:
                say(f"{overflow.path}:{overflow.line}: warning: {overflow.message}")

        say(f"livedeck: previewing on {preview.url} (Ctrl-C to stop)")
        for deck in decks:
            say(f"  {preview.page_url(deck)}")
        stop = threading.Event()

        def interrupted(signum: int, frame: FrameType | None) -> NoReturn:
            # The event too: a KeyboardInterrupt raised while a __del__ runs is swallowed by
            # Python ("Exception ignored in"); the loop still ends at its next look.
            stop.set()
            raise KeyboardInterrupt

        signal.signal(signal.SIGINT, interrupted)
        watch(args.paths, options, lab_factory(args.lab), report, stop, marp)
        if stop.is_set():
            raise KeyboardInterrupt
    return 0


def _present(args: argparse.Namespace) -> int:
    import threading

    from livedeck.cli.course import course_labs
    from livedeck.present import open_show, present_in_browser
    from livedeck.present import terminal as in_terminal

    signal.signal(signal.SIGHUP, terminate)  # a closed terminal (or tmux) ends it cleanly too
    start = None if args.offline else course_labs(args.deck, lab_factory(args.lab))
    if start is not None:
        say(f"livedeck: starting the lab of {args.deck} and running its setup")
    show = open_show(args.deck, start, timeout=args.timeout)
    try:
        if show.why_replay:
            say(f"livedeck: replaying the record instead: {show.why_replay}")
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
                say(f"livedeck: presenting {args.deck} ({show.label}); open (Ctrl-C to stop):")
                say(f"  {url}")

            present_in_browser(show, args.port, ready, threading.Event())
    except KeyboardInterrupt:
        pass
    finally:
        show.close()
    say("livedeck: presentation over; nothing of it is left running")
    return 0
