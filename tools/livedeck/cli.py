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
from livedeck.errors import (
    CommandFailed,
    DeckError,
    LabError,
    LivedeckError,
    RegistryError,
    ToolMissing,
)
from livedeck.images.sources import Choice
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
  livedeck images add ubuntu:22.04    let every lab pull an image of this machine
  livedeck outdated --json            which decks' images changed upstream?
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
    except (ToolMissing, LabError, RegistryError) as error:
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
    _images_option(lab)
    lab.set_defaults(handler=_lab)

    images = _verb(
        verbs,
        "images",
        "add images every lab can pull, or list them",
        "examples:\n  livedeck images add ubuntu:22.04 myorg/app:v1"
        "\n  livedeck images add --from-file app.tar\n  livedeck images list",
    )
    images.add_argument("action", choices=("add", "list"))
    images.add_argument("names", nargs="*", metavar="NAME[:TAG]", help="images to add")
    images.add_argument(
        "--from-file", type=Path, metavar="X.tar", help="a `docker save` file instead of the host"
    )
    images.add_argument("--json", action="store_true", help="list as JSON")
    images.set_defaults(handler=_images)

    outdated = _verb(
        verbs,
        "outdated",
        "list decks whose images changed upstream since their records (pulls nothing)",
        "examples:\n  livedeck outdated                 exit 1 when a deck's image has a new digest"
        "\n  livedeck outdated slides/ --json",
    )
    outdated.add_argument(
        "paths", nargs="*", type=Path, default=[Path("slides")], metavar="DECK|DIR"
    )
    outdated.add_argument("--json", action="store_true", help="print the result as JSON")
    _images_option(outdated, "(default: the source each record was made with)")
    outdated.set_defaults(handler=_outdated)
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
    _images_option(verb)


def _images_option(verb: argparse.ArgumentParser, default: str = "") -> None:
    verb.add_argument(
        "--images",
        metavar="mirror|hub|URL",
        help="where the lab's `docker pull` gets images: the seeded mirror, Docker Hub (through"
        " a cache), or a registry URL (through a cache) "
        + (
            default
            or "(default: $LIVEDECK_IMAGES, the deck's front matter, else hub if Docker"
            " Hub answers, else mirror)"
        ),
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
        images=None if args.offline else _image_choice(args),
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
        images=_image_choice(args),
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

    options = BuildOptions(
        out_dir=args.out, formats=_formats(args.format), images=_image_choice(args)
    )

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
        choice = _image_choice(args)
        images = choice.source.label if choice else "mirror"
        spec = LabSpec(hostname=args.host, user=args.user, images=images)
        lab = sandbox.start_sandbox(spec, keep=True)
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


def _image_choice(args: argparse.Namespace) -> Choice | None:
    """The run's image source, and one line saying which and why (none for local labs)."""
    from livedeck.images.sources import choose, hub_answers

    if getattr(args, "lab", "docker") == "local":
        return None
    try:
        choice = choose(args.images, os.environ, hub_answers)
    except ValueError as error:
        raise LivedeckError(
            str(error), hint="--images mirror, --images hub, --images URL"
        ) from None
    if not args.quiet:
        _say(f"livedeck: images from {choice.source.registry} ({choice.why})")
    return choice


def _images(args: argparse.Namespace) -> int:
    import dataclasses
    import json

    from livedeck.images.catalog import add_images, list_images

    if args.action == "add":
        if args.json:
            raise LivedeckError("--json goes with `images list`")
        for image in add_images(args.names, args.from_file):
            print(f"added {image.name} ({image.layers} layers, {image.digest}) from {image.source}")
        return 0
    if args.names or args.from_file:
        raise LivedeckError("`images list` takes no names", hint="livedeck images list")
    listed = list_images()
    if args.json:
        data = {
            where: [{"name": i.name, **dataclasses.asdict(i)} for i in images]
            for where, images in (("added", listed.added), ("seeded", listed.seeded))
        }
        print(json.dumps(data, indent=2))
        return 0
    rows = [*listed.added, *listed.seeded]
    if not rows:
        print("no images in the labs' mirror (add some: livedeck images add NAME)")
    width = max((len(i.name) for i in rows), default=0)
    for image in rows:
        print(f"{image.name:<{width}}  {image.digest}  {image.layers:>2} layers  {image.source}")
    return 0


def _outdated(args: argparse.Namespace) -> int:
    import dataclasses
    import json

    from livedeck.images.outdated import outdated
    from livedeck.images.sources import hub_answers

    found = outdated(args.paths, flag=args.images, environ=os.environ, hub_answers=hub_answers)
    changed = [check for deck in found for check in deck.changed]
    if args.json:
        data = [
            {
                "deck": str(deck.deck),
                "images": deck.source,
                "checks": [{**dataclasses.asdict(c), "changed": c.changed} for c in deck.checks],
            }
            for deck in found
        ]
        print(json.dumps(data, indent=2))
    else:
        for deck in found:
            for check in deck.checks:
                where = f"{deck.deck}:{check.line}: {check.image}"
                if check.note:
                    print(f"{where}: not checked: {check.note}")
                elif check.changed:
                    new = check.new or "no such tag any more"
                    print(f"{where}: changed ({check.registry})\n  was {check.old}\n  now {new}")
                else:
                    print(f"{where}: unchanged ({check.registry})")
        decks = sum(1 for deck in found if deck.changed)
        if changed:
            _say(
                f"livedeck: {len(changed)} image(s) of {decks} deck(s) changed since their"
                " records; rebuild them (livedeck build DECK) to show today's images"
            )
    return EXIT_DECK if changed else 0


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
