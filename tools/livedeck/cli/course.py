"""`init`: the course verbs."""

from __future__ import annotations

import argparse
from pathlib import Path

from livedeck.cli.common import Verbs, say, verb


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
    from livedeck.build import find_decks
    from livedeck.course.init import config_text, survey, write_config

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
