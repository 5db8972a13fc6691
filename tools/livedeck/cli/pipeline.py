"""`build`, `check`, `list` and `refresh`: the pipeline's verbs."""

from __future__ import annotations

import argparse
import os
from pathlib import Path

from livedeck.cli.common import (
    EXIT_DECK,
    Verbs,
    announce,
    columns,
    decks_and_lab,
    emit,
    exit_code,
    folder,
    image_choice,
    images_flag,
    keep_going,
    lab_factory,
    mirror_serves,
    parse_formats,
    report_error,
    say,
    seconds,
    show_progress,
    verb,
    waiting,
)
from livedeck.cli.course import jobs, progress_for
from livedeck.errors import UsageError


def add(verbs: Verbs) -> None:
    """The pipeline's verbs."""
    build = verb(
        verbs,
        "build",
        "run decks on a fresh lab and write Markdown, HTML and PDF",
        "example:\n  livedeck build slides/ --out build/",
    )
    decks_and_lab(build)
    keep_going(build)
    build.add_argument("--out", type=folder, default=Path("build"), help="output folder (build/)")
    build.add_argument(
        "--format",
        default="html,pdf",
        help="comma-separated outputs besides Markdown: html, pdf, pptx, or none (html,pdf)",
    )
    build.add_argument(
        "--timeout", type=seconds, help="seconds a command may run (deck default 120)"
    )
    build.add_argument(
        "--columns", type=columns, help="terminal width for the run (deck default 200)"
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
    jobs(build)
    build.add_argument("--strict", action="store_true", help="fail if a slide overflows")
    build.add_argument("--json", action="store_true", help="print the result as JSON on stdout")
    build.add_argument("-q", "--quiet", action="store_true", help="print errors only")
    build.set_defaults(handler=_build)
    check = verb(
        verbs,
        "check",
        "run decks on a fresh lab and compare with their records",
        "examples:\n  livedeck check                 exit 1 with a diff if a story changed"
        "\n  livedeck check --update slides/docker-layers.md",
    )
    decks_and_lab(check)
    keep_going(check)
    check.add_argument(
        "--update",
        action="store_true",
        help="write this run as the record of each deck whose story changed",
    )
    check.add_argument("--json", action="store_true", help="print the result as JSON on stdout")
    check.add_argument(
        "--timeout", type=seconds, help="seconds a command may run (deck default 120)"
    )
    jobs(check)
    check.add_argument("-q", "--quiet", action="store_true", help="print errors and changes only")
    check.set_defaults(handler=_check)
    listing = verb(
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
    listing.add_argument(
        "--json", action="store_true", help='print JSON: {"schema": 1, "decks": [...], ...}'
    )
    listing.set_defaults(handler=_list, quiet=True)
    refresh = verb(
        verbs,
        "refresh",
        "rebuild the decks `outdated` names; write a summary of what changed (for a PR)",
        "exit 0 when decks were refreshed and when nothing changed; 1 when a deck failed or a"
        " slide overflows (the others are refreshed all the same); 3 when a registry does not"
        " answer\n\nexamples:\n  livedeck refresh --summary refresh.md     the decks outdated names"
        "\n  livedeck refresh --images hub --summary refresh.md"
        "\n  livedeck refresh slides/docker-layers.md --all --pictures build/refresh",
    )
    decks_and_lab(refresh, "(default: the source each record was made with)")
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
    refresh.add_argument(
        "--pictures-url",
        metavar="URL",
        help="link pictures as URL + their path; {deck} in URL stands for the deck's name"
        " (CI: the raw URL of the branch each deck's pictures are pushed to)",
    )
    refresh.add_argument(
        "--skip",
        type=Path,
        metavar="FILE",
        help="proposals not to make again, one a line (closed or open pull requests' markers)",
    )
    refresh.add_argument("--json", action="store_true", help="print the result as JSON on stdout")
    refresh.add_argument("-q", "--quiet", action="store_true", help="print errors only")
    refresh.set_defaults(handler=_refresh)


def _build(args: argparse.Namespace) -> int:
    from livedeck.check.results import build_data
    from livedeck.verbs.build import BuildOptions, build

    formats = parse_formats(args.format)
    options = BuildOptions(
        out_dir=args.out,
        formats=formats,
        timeout=args.timeout,
        columns=args.columns,
        offline=args.offline,
        strict=args.strict,
        fresh=args.fresh,
        keep_going=args.keep_going,
        images=None if args.offline else image_choice(args),
        jobs=args.jobs,
    )
    progress = None if args.quiet or os.environ.get("CI") else progress_for(args.jobs)
    on_deck = None if args.quiet else announce
    served = mirror_serves() if args.lab == "docker" else None
    built = build(args.paths, options, lab_factory(args.lab), progress, on_deck, waiting, served)
    for warning in built.warnings:
        say(str(warning))
    for overflow in built.overflows:
        say(f"{overflow.path}:{overflow.line}: warning: {overflow.message}")
    for result in built.decks:
        if result.story == "changed" or not args.quiet:
            say(result.line)
    if not args.quiet:
        for path in built.outputs:
            if path.suffix in (".md", ".html", ".pdf", ".pptx", ".yaml"):
                say(f"wrote {path}")
    return emit(args, 0, build_data(built.decks, built.outputs, built.overflows, built.warnings))


def _check(args: argparse.Namespace) -> int:
    from livedeck.check import report
    from livedeck.check.results import check_data
    from livedeck.verbs.build import check

    progress = None if args.quiet else progress_for(args.jobs)
    on_deck = None if args.quiet else announce
    found = check(
        args.paths,
        lab_factory(args.lab),
        update=args.update,
        timeout=args.timeout,
        progress=progress,
        on_deck=on_deck,
        keep_going=args.keep_going,
        images=image_choice(args),
        jobs=args.jobs,
    )
    changed = [result for result in found if result.changes]
    for result in changed:  # with --json, stdout holds the JSON alone
        (say if args.json else print)(report(result.deck, result.changes))
    if args.update:
        for result in found:
            say(result.line)
        return emit(args, 0, check_data(found))
    if changed:
        say(
            f"livedeck: {sum(len(r.changes) for r in changed)} command(s) in {len(changed)}"
            " deck(s) tell another story than their record; if that is right:"
            " livedeck check --update"
        )
        return emit(args, EXIT_DECK, check_data(found))
    if not args.quiet:
        say(f"livedeck: {len(found)} deck(s) match their records (IDs, ages and dates aside)")
    return emit(args, 0, check_data(found))


def _list(args: argparse.Namespace) -> int:
    from livedeck.verbs.build import find_decks
    from livedeck.verbs.inventory import info_data, inventory

    infos = inventory(find_decks(args.paths), args.out, parse_formats(args.format))
    if args.json:
        return emit(args, 0, {"decks": [info_data(i) for i in infos]})
    for info in infos:
        images = ", ".join(info.images) or "no images"
        print(f"{info.path}\t{info.title}\t{images}")
    return 0


def _refresh(args: argparse.Namespace) -> int:
    """Exit 0 when every chosen deck was refreshed (or none needed it); 1 when a deck failed
    or overflows (its pull request is a draft); 3 when a registry does not answer before
    anything is rebuilt."""
    from livedeck.images.sources import hub_answers
    from livedeck.verbs.outdated import source_rule
    from livedeck.verbs.pullrequest import body, relative_links, summary, title, url_links
    from livedeck.verbs.refresh import every_deck, outdated_decks, refresh, refreshed_data

    sources = source_rule(images_flag(args), os.environ, hub_answers)
    skip = _proposals(args.skip) if args.skip else set()
    pictures = args.pictures
    if pictures is None and args.summary is not None:
        pictures = args.summary.parent / f"{args.summary.stem}-pictures"
    progress = None if args.quiet or os.environ.get("CI") else show_progress
    found = refresh(
        args.paths,
        lab_factory(args.lab),
        choose=every_deck if args.all else outdated_decks(sources, skip),
        sources=None if args.lab == "local" else sources,
        out_dir=args.out,
        pictures=pictures,
        progress=progress,
    )
    failed = [item.error for item in found if item.error is not None]
    for item in found:
        if item.error is not None:
            report_error(item.error)
        else:
            say(item.result.line if item.result else str(item.deck))
        for reason in item.draft:
            say(f"{item.deck}: not ready to merge: {reason}")
    code = max((exit_code(e) for e in failed), default=0)
    if not code and any(item.draft for item in found):
        code = EXIT_DECK
    link = (
        url_links(args.pictures_url)
        if args.pictures_url
        else relative_links(args.summary.parent if args.summary else None)
    )
    written = None
    if not any(item.changed or item.error for item in found):
        why = "every deck tells its record's story" if args.all else "no deck is outdated"
        say(f"livedeck: nothing changed: {why}; no record or summary written")
    else:
        text = summary(found, link)
        if args.summary is not None:
            args.summary.parent.mkdir(parents=True, exist_ok=True)
            args.summary.write_text(text, encoding="utf-8")
            say(f"wrote {args.summary}")
            written = str(args.summary)
        elif not args.json:
            print(text)
    decks = [
        {**refreshed_data(item), "title": title(item), "body": body(item, link)} for item in found
    ]
    payload = {"decks": decks, "changed": any(i.changed for i in found), "summary": written}
    return emit(args, code, payload)


def _proposals(path: Path) -> set[str]:
    """Proposals not to make again: one a line, bare or as a pull request body's marker."""
    from livedeck.verbs.pullrequest import MARKER

    try:
        text = path.read_text(encoding="utf-8")
    except OSError as error:
        raise UsageError(f"--skip {path}: {error.strerror}") from None
    found = set()
    for line in text.splitlines():
        line = line.strip().removeprefix("<!--").removesuffix("-->").strip()
        found.add(line.removeprefix(f"{MARKER}:").strip())
    return found - {""}
