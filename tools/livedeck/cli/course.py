"""`init`: the course verbs."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import TYPE_CHECKING

from livedeck.cli.common import Verbs, say, show_progress, verb

if TYPE_CHECKING:
    from livedeck.run import Progress
    from livedeck.run.lab import LabFactory


def add(verbs: Verbs) -> None:
    """The course verbs."""
    init = verb(
        verbs,
        "init",
        "write livedeck.yaml for a folder of decks and say what is in it",
        "examples:\n  livedeck init slides/\n  livedeck init slides/ --print   # write nothing",
    )
    init.add_argument("folder", nargs="?", type=Path, default=Path("slides"), metavar="DIR")
    init.add_argument("--force", action="store_true", help="replace an existing livedeck.yaml")
    init.add_argument("--print", action="store_true", help="print the config instead of writing")
    init.set_defaults(handler=_init, quiet=True)


def _init(args: argparse.Namespace) -> int:
    from livedeck.verbs.build import find_decks
    from livedeck.verbs.init import config_text, survey, write_config

    found = survey(args.folder, find_decks([args.folder]))
    text = config_text(found)
    if args.print:
        print(text, end="")
    else:
        written = write_config(args.folder, text, force=args.force)
    say(f"livedeck: {len(found.decks)} deck(s) in {args.folder}: {', '.join(found.decks)}")
    if found.documents:
        say(f"  documents (one page, no slides): {', '.join(found.documents)}")
    for prompt, commands in found.prompts:
        say(f"  prompt {prompt}: {commands} command(s)")
    say(f"  images needed: {', '.join(found.images) or 'none'}")
    if found.themes:
        say(f"  theme folders: {', '.join(found.themes)}")
    if not args.print:
        say(f"wrote {written}")
    return 0


def jobs(verb: argparse.ArgumentParser) -> None:
    """-j N: labs at once."""
    from livedeck.course.schedule import default_jobs

    default = default_jobs()
    verb.add_argument(
        "-j",
        "--jobs",
        type=_count,
        default=default,
        help=f"decks run at once, each on its own lab (here {default}: from cores and memory);"
        " decks of one `after:` chain run one after another",
    )


def _count(text: str) -> int:
    if not text.isdigit() or int(text) < 1:
        raise argparse.ArgumentTypeError(f"must be a whole number of labs, 1 or more, not {text}")
    return int(text)


def progress_for(jobs: int) -> Progress:
    """Progress lines; when decks run at once, each line names its deck."""
    if jobs <= 1:
        return show_progress
    from livedeck.course.schedule import current_deck
    from livedeck.model import Command
    from livedeck.run.session import Outcome

    def named(command: Command, outcome: Outcome) -> None:
        deck = current_deck()
        first = command.text.split("\n")[0]
        shown = first if len(first) <= 60 else first[:57] + "..."
        status = "" if outcome.status in (0, None) else f" -> exit {outcome.status}"
        where = f"{deck.name}:{command.line}" if deck else str(command.line)
        say(f"  {where}  $ {shown}  ({outcome.duration:.1f} s){status}")

    return named


def course_labs(path: Path, start_lab: LabFactory) -> LabFactory:
    """Labs for `present`: a deck with `after:` starts from the earlier deck's state."""
    from livedeck.course.schedule import labs_for
    from livedeck.course.snapshot import lab_salt
    from livedeck.deck import load_deck
    from livedeck.verbs.build_run import run_on_lab

    deck = load_deck(path)
    if deck.settings.after is not None:
        say(f"livedeck: {path} continues {deck.settings.after}: its lab starts from that state")
    return labs_for(
        deck, start_lab, lambda d, labs: run_on_lab(d, labs, None, None), lambda: lab_salt(None)
    )
