"""What every verb of the command shares: its options, and the one way it prints."""

from __future__ import annotations

import argparse
import json
import os
import sys
import textwrap
from collections.abc import Mapping
from pathlib import Path
from types import FrameType
from typing import TYPE_CHECKING, Any, NoReturn, TypeAlias

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
from livedeck.run.lab import LabFactory, LocalLab
from livedeck.run.session import Outcome

if TYPE_CHECKING:
    from livedeck.verbs.preflight import Served

Verbs: TypeAlias = "argparse._SubParsersAction[argparse.ArgumentParser]"  # annotations only
EXIT_DECK = 1  # the deck or one of its commands is wrong
EXIT_USAGE = 2  # argparse's own code for a wrong command line
EXIT_ENVIRONMENT = 3  # something to install, start or free: Docker, marp-cli, Chromium, disk
JSON_VERBS = ("list", "build", "check", "outdated", "refresh")  # --json: results.schema.json


def say(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def report_error(error: LivedeckError) -> None:
    if isinstance(error, Failures):
        for each in error.errors:
            report_error(each)
        say(f"livedeck: {error.message}; {error.hint}")
        return
    say(f"livedeck: error: {error}" if not isinstance(error, DeckError) else str(error))
    if isinstance(error, CommandFailed) and not error.screen_tail:
        say("  (the command printed nothing)")
    if error.hint:
        say(textwrap.indent(f"hint: {error.hint}", "  "))


def exit_code(error: LivedeckError) -> int:
    """The exit status of an error: 3 environment, 2 usage, 1 a deck."""
    if isinstance(error, (ToolMissing, LabError, RegistryError, OutputError)):
        return EXIT_ENVIRONMENT
    if isinstance(error, UsageError):
        return EXIT_USAGE
    return EXIT_DECK


def print_json(data: object) -> None:
    print(json.dumps(data, ensure_ascii=False, indent=2))


def emit(
    args: argparse.Namespace,
    code: int,
    payload: Mapping[str, Any] | None = None,
    error: LivedeckError | None = None,
) -> int:
    """With --json, print the verb's result in the one schema (results.envelope); `code`."""
    if getattr(args, "json", False) and args.command in JSON_VERBS:
        from livedeck.check.results import envelope

        print_json(envelope(args.command, code, payload, error))
    return code


def count(number: int, one: str, many: str = "") -> str:
    return "" if not number else f"{number} {one if number == 1 else many or one + 's'}"


def waiting(out: Path) -> None:
    say(f"livedeck: another livedeck is writing to {out}; waiting for it to finish")


def announce(deck: Deck) -> None:
    commands = sum(1 for c in deck.commands if c.runnable)
    say(f"{deck.path}: {commands} commands, {len(deck.slides)} slides; starting its lab")


def show_progress(command: Command, outcome: Outcome) -> None:
    first = command.text.split("\n")[0]
    shown = first if len(first) <= 70 else first[:67] + "..."
    status = "" if outcome.status in (0, None) else f" -> exit {outcome.status}"
    say(f"  {command.line:>4}  $ {shown}  ({outcome.duration:.1f} s){status}")


def seconds(text: str) -> float:
    """A positive number of seconds (argparse turns the error into exit 2)."""
    try:
        value = float(text)
    except ValueError:
        value = 0.0
    if not value > 0 or value == float("inf"):
        raise argparse.ArgumentTypeError(f"must be a positive number of seconds, not {text}")
    return value


def columns(text: str) -> int:
    """A terminal width a deck may use (as `livedeck.columns`: at least 20)."""
    value = int(text) if text.lstrip("-").isdigit() else 0
    if value < 20:
        raise argparse.ArgumentTypeError(f"must be at least 20 columns, not {text}")
    return value


def port(text: str) -> int:
    """A TCP port to serve on, or 0 for a free one (argparse turns the error into exit 2)."""
    value = int(text) if text.isascii() and text.isdigit() else -1
    if not 0 <= value <= 65535:
        raise argparse.ArgumentTypeError(f"must be a port from 1 to 65535 (or 0), not {text}")
    return value


def folder(text: str) -> Path:
    """An output folder: it may not exist yet, but it may not be a file."""
    path = Path(text)
    if path.exists() and not path.is_dir():
        raise argparse.ArgumentTypeError(f"{text} is a file, not a folder")
    return path


def verb(
    verbs: argparse._SubParsersAction[argparse.ArgumentParser], name: str, help: str, epilog: str
) -> argparse.ArgumentParser:
    """A sub-command whose help ends with examples, kept as written."""
    return verbs.add_parser(
        name, help=help, epilog=epilog, formatter_class=argparse.RawDescriptionHelpFormatter
    )


def keep_going(verb: argparse.ArgumentParser) -> None:
    verb.add_argument(
        "--keep-going",
        action="store_true",
        help="run every command and report every unexpected failure at the end",
    )


def decks_and_lab(verb: argparse.ArgumentParser, images_default: str = "") -> None:
    """The decks a verb works on, and the lab their commands run on."""
    verb.add_argument("paths", nargs="*", type=Path, default=[Path("slides")], metavar="DECK|DIR")
    verb.add_argument(
        "--lab",
        choices=("docker", "local"),
        default="docker",
        help="docker: a throwaway Docker host per deck (default); local: this machine's shell",
    )
    images_option(verb, images_default)


def images_option(verb: argparse.ArgumentParser, default: str = "") -> None:
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


def parse_formats(text: str) -> tuple[str, ...]:
    from livedeck.publish.marp import FORMATS

    formats = tuple(f for f in text.split(",") if f and f != "none")
    unknown = [f for f in formats if f not in FORMATS]
    if unknown:
        known = ", ".join([*FORMATS, "none"])
        raise UsageError(
            f"unknown output format {unknown[0]!r}; choose from {known}",
            hint="for example --format html,pdf",
        )
    return formats


def lab_factory(kind: str) -> LabFactory:
    if kind == "local":
        return LocalLab
    from livedeck.run.sandbox import start_sandbox

    return start_sandbox


def image_choice(args: argparse.Namespace) -> Choice | None:
    """The run's image source, and one line saying which and why (none for local labs)."""
    from livedeck.images.sources import choose, hub_answers

    if getattr(args, "lab", "docker") == "local":
        return None
    try:
        choice = choose(args.images, os.environ, hub_answers)
    except ValueError as error:
        raise UsageError(str(error), hint="--images mirror, --images hub, --images URL") from None
    if not args.quiet:
        say(f"livedeck: images from {choice.source.registry} ({choice.why})")
    return choice


def images_flag(args: argparse.Namespace) -> str | None:
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


def mirror_serves() -> Served:
    """Which images the lab can pull: the seeded mirror's and the added ones (read from storage)."""
    from livedeck.run.labs import lab_names
    from livedeck.verbs.preflight import lab_serves

    names = lab_names()
    return lab_serves(names.registry_dir, names.images_dir)


def terminate(signum: int, frame: FrameType | None) -> NoReturn:
    """SIGTERM (and SIGHUP where a verb asks) end livedeck as Ctrl-C does: labs are removed."""
    raise KeyboardInterrupt
