"""The `livedeck` command: the only place that prints, and turns errors into exit codes."""

from __future__ import annotations

import argparse
import json
import os
import signal
import sys
import textwrap
import time
from collections.abc import Sequence
from pathlib import Path
from types import FrameType
from typing import TYPE_CHECKING, NoReturn

from livedeck import __version__
from livedeck.errors import (
    CommandFailed,
    DeckError,
    Failures,
    LabError,
    LivedeckError,
    OutputError,
    RegistryError,
    ToolMissing,
    UsageError,
)
from livedeck.images.sources import Choice
from livedeck.model import Command, Deck
from livedeck.run.lab import LabFactory, LabSpec, LocalLab
from livedeck.run.session import Outcome

if TYPE_CHECKING:
    from livedeck.preflight import Served

EXIT_DECK = 1  # the deck or one of its commands is wrong
EXIT_USAGE = 2  # argparse's own code for a wrong command line
EXIT_ENVIRONMENT = 3  # something to install, start or free: Docker, marp-cli, Chromium, disk
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
    signal.signal(signal.SIGTERM, _terminate)  # so labs are torn down on `kill` too
    started = time.monotonic()
    try:
        _reap()
        code: int = args.handler(args)
    except KeyboardInterrupt:
        _say("livedeck: interrupted; the lab was removed and build/ left as it was")
        return EXIT_INTERRUPTED
    except (ToolMissing, LabError, RegistryError, OutputError) as error:
        _report(error)
        return EXIT_ENVIRONMENT
    except UsageError as error:
        _report(error)
        return EXIT_USAGE
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
    _keep_going(build)
    build.add_argument("--out", type=_folder, default=Path("build"), help="output folder (build/)")
    build.add_argument(
        "--format",
        default="html,pdf",
        help="comma-separated outputs besides Markdown: html, pdf, pptx, or none (html,pdf)",
    )
    build.add_argument(
        "--timeout", type=_seconds, help="seconds a command may run (deck default 120)"
    )
    build.add_argument(
        "--columns", type=_columns, help="terminal width for the run (deck default 200)"
    )
    build.add_argument(
        "--offline",
        action="store_true",
        help="render from each deck's record (DECK.record.yaml) instead of running: no Docker",
    )
    build.add_argument(
        "--fresh",
        action="store_true",
        help="record and show this run even where it tells the record's story (new IDs, dates)",
    )
    build.add_argument("--strict", action="store_true", help="fail if a slide overflows")
    build.add_argument("--json", action="store_true", help="print the result as JSON on stdout")
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
    _keep_going(check)
    check.add_argument(
        "--update",
        action="store_true",
        help="write this run as the record of each deck whose story changed",
    )
    check.add_argument("--json", action="store_true", help="print the result as JSON on stdout")
    check.add_argument(
        "--timeout", type=_seconds, help="seconds a command may run (deck default 120)"
    )
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
    watch.add_argument("--out", type=_folder, default=Path("build"), help="output folder (build/)")
    watch.add_argument(
        "--format", default="html", help="html, or html,pdf to remake the PDF on every save too"
    )
    watch.add_argument(
        "--port", type=int, default=0, help="port of the preview on 127.0.0.1 (default: a free one)"
    )
    watch.set_defaults(handler=_watch, quiet=False)

    listing = _verb(
        verbs,
        "list",
        "list decks with their outputs and the images they use (for CI)",
        "examples:\n  livedeck list\n  livedeck list slides/ --json --format html,pdf",
    )
    listing.add_argument(
        "paths", nargs="*", type=Path, default=[Path("slides")], metavar="DECK|DIR"
    )
    listing.add_argument("--out", type=Path, default=Path("build"), help="output folder (build/)")
    listing.add_argument("--format", default="html,pdf", help="outputs besides Markdown (html,pdf)")
    listing.add_argument("--json", action="store_true", help='print JSON: {"decks": [...]}')
    listing.set_defaults(handler=_list, quiet=True)

    refresh = _verb(
        verbs,
        "refresh",
        "rebuild the decks `outdated` names; write a summary of what changed (for a PR)",
        "exit 0 when decks were refreshed and when nothing changed; 3 when a registry does not"
        " answer\n\nexamples:\n  livedeck refresh --summary refresh.md     the decks outdated names"
        "\n  livedeck refresh --images hub --summary refresh.md"
        "\n  livedeck refresh slides/docker-layers.md --all --pictures build/refresh",
    )
    _decks_and_lab(refresh, "(default: the source each record was made with)")
    refresh.add_argument(
        "--all", action="store_true", help="rebuild every deck named, not only the outdated ones"
    )
    refresh.add_argument("--out", type=Path, default=Path("build"), help="output folder (build/)")
    refresh.add_argument("--summary", type=Path, help="write the Markdown summary to this file")
    refresh.add_argument(
        "--pictures",
        type=Path,
        help="folder for PNGs of each changed slide before and after (default: beside --summary)",
    )
    refresh.add_argument("-q", "--quiet", action="store_true", help="print errors only")
    refresh.set_defaults(handler=_refresh)

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
        "exit 1 when a deck's image has a new digest or a deck has no record; 3 when a registry"
        " does not answer\n\nexamples:\n  livedeck outdated"
        "\n  livedeck outdated slides/ --json      per deck: unchanged, changed or no record",
    )
    outdated.add_argument(
        "paths", nargs="*", type=Path, default=[Path("slides")], metavar="DECK|DIR"
    )
    outdated.add_argument("--json", action="store_true", help="print the result as JSON")
    _images_option(outdated, "(default: the source each record was made with)")
    outdated.set_defaults(handler=_outdated)
    return parser


def _seconds(text: str) -> float:
    """A positive number of seconds (argparse turns the error into exit 2)."""
    try:
        value = float(text)
    except ValueError:
        value = 0.0
    if not value > 0 or value == float("inf"):
        raise argparse.ArgumentTypeError(f"must be a positive number of seconds, not {text}")
    return value


def _columns(text: str) -> int:
    """A terminal width a deck may use (as `livedeck.columns`: at least 20)."""
    value = int(text) if text.lstrip("-").isdigit() else 0
    if value < 20:
        raise argparse.ArgumentTypeError(f"must be at least 20 columns, not {text}")
    return value


def _folder(text: str) -> Path:
    """An output folder: it may not exist yet, but it may not be a file."""
    path = Path(text)
    if path.exists() and not path.is_dir():
        raise argparse.ArgumentTypeError(f"{text} is a file, not a folder")
    return path


def _verb(
    verbs: argparse._SubParsersAction[argparse.ArgumentParser], name: str, help: str, epilog: str
) -> argparse.ArgumentParser:
    """A sub-command whose help ends with examples, kept as written."""
    return verbs.add_parser(
        name, help=help, epilog=epilog, formatter_class=argparse.RawDescriptionHelpFormatter
    )


def _keep_going(verb: argparse.ArgumentParser) -> None:
    verb.add_argument(
        "--keep-going",
        action="store_true",
        help="run every command and report every unexpected failure at the end",
    )


def _decks_and_lab(verb: argparse.ArgumentParser, images_default: str = "") -> None:
    """The decks a verb works on, and the lab their commands run on."""
    verb.add_argument("paths", nargs="*", type=Path, default=[Path("slides")], metavar="DECK|DIR")
    verb.add_argument(
        "--lab",
        choices=("docker", "local"),
        default="docker",
        help="docker: a throwaway Docker host per deck (default); local: this machine's shell",
    )
    _images_option(verb, images_default)


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
    from livedeck.results import build_data

    formats = _formats(args.format)
    options = BuildOptions(
        out_dir=args.out,
        formats=formats,
        timeout=args.timeout,
        columns=args.columns,
        offline=args.offline,
        strict=args.strict,
        fresh=args.fresh,
        keep_going=args.keep_going,
        images=None if args.offline else _image_choice(args),
    )
    progress = None if args.quiet or os.environ.get("CI") else _progress  # quiet in CI logs
    on_deck = None if args.quiet else _announce
    served = _served() if args.lab == "docker" else None
    built = build(args.paths, options, _lab_factory(args.lab), progress, on_deck, _waiting, served)
    for warning in built.warnings:
        _say(str(warning))
    for overflow in built.overflows:
        _say(f"{overflow.path}:{overflow.line}: warning: {overflow.message}")
    for result in built.decks:
        if result.story == "changed" or not args.quiet:
            _say(result.line)
    if not args.quiet:
        for path in built.outputs:
            if path.suffix in (".md", ".html", ".pdf", ".pptx", ".yaml"):
                _say(f"wrote {path}")
    if args.json:
        _print_json(build_data(built.decks, built.outputs, built.overflows))
    return 0


def _check(args: argparse.Namespace) -> int:
    from livedeck.build import check
    from livedeck.check import report
    from livedeck.results import check_data

    progress = None if args.quiet else _progress
    on_deck = None if args.quiet else _announce
    found = check(
        args.paths,
        _lab_factory(args.lab),
        update=args.update,
        timeout=args.timeout,
        progress=progress,
        on_deck=on_deck,
        keep_going=args.keep_going,
        images=_image_choice(args),
    )
    changed = [result for result in found if result.changes]
    for result in changed:
        print(report(result.deck, result.changes))
    if args.json:
        _print_json(check_data(found))
    if args.update:
        for result in found:
            _say(result.line)
        return 0
    if changed:
        _say(
            f"livedeck: {sum(len(r.changes) for r in changed)} command(s) in {len(changed)}"
            " deck(s) tell another story than their record; if that is right:"
            " livedeck check --update"
        )
        return EXIT_DECK
    if not args.quiet:
        _say(f"livedeck: {len(found)} deck(s) match their records (IDs, ages and dates aside)")
    return 0


def _list(args: argparse.Namespace) -> int:
    from livedeck.build import find_decks
    from livedeck.inventory import info_data, inventory

    infos = inventory(find_decks(args.paths), args.out, _formats(args.format))
    if args.json:
        _print_json({"decks": [info_data(i) for i in infos]})
        return 0
    for info in infos:
        images = ", ".join(info.images) or "no images"
        print(f"{info.path}\t{info.title}\t{images}")
    return 0


def _refresh(args: argparse.Namespace) -> int:
    """Exit 0 whether or not something was refreshed (CI then proposes what changed); 3 when
    a registry does not answer, before anything is rebuilt."""
    from livedeck.images.outdated import source_rule
    from livedeck.images.sources import hub_answers
    from livedeck.refresh import every_deck, outdated_decks, refresh, summary

    sources = source_rule(_images_flag(args), os.environ, hub_answers)
    pictures = args.pictures
    if pictures is None and args.summary is not None:
        pictures = args.summary.parent / f"{args.summary.stem}-pictures"
    progress = None if args.quiet or os.environ.get("CI") else _progress
    found = refresh(
        args.paths,
        _lab_factory(args.lab),
        choose=every_deck if args.all else outdated_decks(sources),
        sources=None if args.lab == "local" else sources,
        out_dir=args.out,
        pictures=pictures,
        progress=progress,
    )
    for item in found:
        _say(item.result.line)
    if not any(item.changed for item in found):
        why = "every deck tells its record's story" if args.all else "no deck is outdated"
        _say(f"livedeck: nothing changed: {why}; no record or summary written")
        return 0
    text = summary(found, args.summary.parent if args.summary else None)
    if args.summary is not None:
        args.summary.parent.mkdir(parents=True, exist_ok=True)
        args.summary.write_text(text, encoding="utf-8")
        _say(f"wrote {args.summary}")
    else:
        print(text)
    return 0


def _images_flag(args: argparse.Namespace) -> str | None:
    """--images as given, once it is known to be a source (mirror, hub or a URL)."""
    from livedeck.images.sources import parse_source

    if args.images:
        try:
            parse_source(args.images)
        except ValueError as error:
            raise LivedeckError(
                str(error), hint="--images mirror, --images hub, --images URL"
            ) from None
    return str(args.images) if args.images else None


def _print_json(data: object) -> None:
    print(json.dumps(data, ensure_ascii=False, indent=2))


def _watch(args: argparse.Namespace) -> int:
    import threading

    from livedeck.build import BuildOptions, find_decks
    from livedeck.serve import serve
    from livedeck.warm import WarmMarp
    from livedeck.watch import Rebuilt, watch

    formats = ("html", *(f for f in _formats(args.format) if f != "html"))  # the page is HTML
    options = BuildOptions(out_dir=args.out, formats=formats, images=_image_choice(args))
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


def _served() -> Served:
    """Which images the lab's registry mirror serves (read from its storage)."""
    from livedeck.preflight import registry_serves
    from livedeck.run.labs import lab_names

    return registry_serves(lab_names().registry_dir)


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
        raise UsageError(
            f"unknown output format {unknown[0]!r}; choose from {known}",
            hint="for example --format html,pdf",
        )
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


def _image_choice(args: argparse.Namespace) -> Choice | None:
    """The run's image source, and one line saying which and why (none for local labs)."""
    from livedeck.images.sources import choose, hub_answers

    if getattr(args, "lab", "docker") == "local":
        return None
    try:
        choice = choose(args.images, os.environ, hub_answers)
    except ValueError as error:
        raise UsageError(str(error), hint="--images mirror, --images hub, --images URL") from None
    if not args.quiet:
        _say(f"livedeck: images from {choice.source.registry} ({choice.why})")
    return choice


def _images(args: argparse.Namespace) -> int:
    import dataclasses
    import json

    from livedeck.images.catalog import add_images, list_images

    if args.action == "add":
        if args.json:
            raise UsageError("--json goes with `images list`", hint="livedeck images list --json")
        for image in add_images(args.names, args.from_file):
            print(f"added {image.name} ({image.layers} layers, {image.digest}) from {image.source}")
        return 0
    if args.names or args.from_file:
        raise UsageError("`images list` takes no names", hint="livedeck images list")
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

    from livedeck.images.outdated import outdated, source_rule
    from livedeck.images.sources import hub_answers

    found = outdated(args.paths, source_rule(_images_flag(args), os.environ, hub_answers))
    changed = [check for deck in found for check in deck.changed]
    unrecorded = [deck.deck for deck in found if not deck.recorded]
    if args.json:
        data = [
            {
                "deck": str(deck.deck),
                "status": deck.status,
                "images": deck.source,
                "checks": [{**dataclasses.asdict(c), "changed": c.changed} for c in deck.checks],
            }
            for deck in found
        ]
        print(json.dumps(data, indent=2))
    else:
        for deck in found:
            if not deck.recorded:
                print(f"{deck.deck}: no record: no digests to compare; a build records them")
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
                " records; rebuild them (livedeck refresh) to show today's images"
            )
        if unrecorded:
            _say(
                f"livedeck: {len(unrecorded)} deck(s) without a record; livedeck refresh (or"
                " build) records them"
            )
    return EXIT_DECK if changed or unrecorded else 0


def _announce(deck: Deck) -> None:
    commands = sum(1 for c in deck.commands if c.runnable)
    _say(f"{deck.path}: {commands} commands, {len(deck.slides)} slides; starting its lab")


def _progress(command: Command, outcome: Outcome) -> None:
    first = command.text.split("\n")[0]
    shown = first if len(first) <= 70 else first[:67] + "..."
    status = "" if outcome.status in (0, None) else f" -> exit {outcome.status}"
    _say(f"  {command.line:>4}  $ {shown}  ({outcome.duration:.1f} s){status}")


def _report(error: LivedeckError) -> None:
    if isinstance(error, Failures):
        for each in error.errors:
            _report(each)
        _say(f"livedeck: {error.message}; {error.hint}")
        return
    _say(f"livedeck: error: {error}" if not isinstance(error, DeckError) else str(error))
    if isinstance(error, CommandFailed) and not error.screen_tail:
        _say("  (the command printed nothing)")
    if error.hint:
        _say(textwrap.indent(f"hint: {error.hint}", "  "))


def _say(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def _terminate(signum: int, frame: FrameType | None) -> NoReturn:
    raise KeyboardInterrupt
