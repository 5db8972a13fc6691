"""`lab`, `images` and `outdated`: the lab hosts and the images they pull."""

from __future__ import annotations

import argparse
import json
import os
from pathlib import Path
from typing import TYPE_CHECKING

from livedeck.cli.common import (
    EXIT_DECK,
    Verbs,
    emit,
    image_choice,
    images_flag,
    images_option,
    say,
    verb,
)
from livedeck.errors import (
    UsageError,
)
from livedeck.run.lab import LabSpec

if TYPE_CHECKING:
    pass


def add(verbs: Verbs) -> None:
    """The verbs about labs and images."""
    lab = verbs.add_parser(
        "lab",
        help="start, stop or list lab hosts",
        epilog="example:\n  livedeck lab up && docker exec -it -u ubuntu livedeck-lab-... bash",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    lab.add_argument("action", choices=("up", "down", "status"))
    lab.add_argument("--host", default="ip-10-0-1-14", help="host name of the lab (up)")
    lab.add_argument("--user", default="ubuntu", help="user of the lab's shell (up)")
    images_option(lab)
    lab.set_defaults(handler=_lab)
    images = verb(
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
    outdated = verb(
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
    images_option(outdated, "(default: the source each record was made with)")
    outdated.set_defaults(handler=_outdated)


def _lab(args: argparse.Namespace) -> int:
    from livedeck.run import labs, sandbox

    if args.action == "up":
        choice = image_choice(args)
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


def _images(args: argparse.Namespace) -> int:
    import dataclasses

    from livedeck.verbs.catalog import add_images, list_images

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
    from livedeck.images.sources import hub_answers
    from livedeck.verbs.outdated import outdated, outdated_data, source_rule

    found = outdated(args.paths, source_rule(images_flag(args), os.environ, hub_answers))
    changed = [check for deck in found for check in deck.changed]
    unrecorded = [deck.deck for deck in found if not deck.recorded]
    code = EXIT_DECK if changed or unrecorded else 0
    if args.json:
        return emit(args, code, outdated_data(found))
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
        say(
            f"livedeck: {len(changed)} image(s) of {decks} deck(s) changed since their"
            " records; rebuild them (livedeck refresh) to show today's images"
        )
    if unrecorded:
        say(
            f"livedeck: {len(unrecorded)} deck(s) without a record; livedeck refresh (or"
            " build) records them"
        )
    return code
