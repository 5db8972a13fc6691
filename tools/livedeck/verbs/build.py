"""The pipeline, end to end: deck -> run -> render -> publish -> check, nothing half-written.

`build` is the entry; its steps are modules beside it: build_run (a deck on a lab, and which
transcript stands), build_render (Markdown and pictures into staging), build_publish (fitting
slides, documents) and build_commit (staging into the output folder).
"""

from __future__ import annotations

import shutil
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from livedeck import reap
from livedeck.check import Change
from livedeck.check.results import DeckResult
from livedeck.course.book import write_book
from livedeck.course.schedule import run_course
from livedeck.course.snapshot import lab_salt
from livedeck.deck import load_deck, record
from livedeck.deck.course import folder_decks
from livedeck.errors import LivedeckError
from livedeck.images.sources import Choice, ImageSource
from livedeck.model import Deck
from livedeck.publish import publish
from livedeck.publish.marp import check_tools, run_marp
from livedeck.publish.overflow import Overflow, overflow_error
from livedeck.publish.themes import resolve_theme, theme_dirs_for
from livedeck.publish.warm import WarmMarp
from livedeck.run import Progress
from livedeck.run.lab import LabFactory
from livedeck.verbs.build_commit import STAGING, move_all, writing
from livedeck.verbs.build_publish import fit_slides, publish_documents
from livedeck.verbs.build_render import stage_deck
from livedeck.verbs.build_run import previous_record, run_on_lab, settle, shown
from livedeck.verbs.preflight import Notice, Served, preflight

PUBLISH_TIMEOUT = 300.0  # seconds for one marp-cli call (a measurement, a format of every deck)


@dataclass(frozen=True)
class BuildOptions:
    """How to build: where outputs go, which formats, and where transcripts come from."""

    out_dir: Path
    formats: tuple[str, ...] = ("html", "pdf")
    timeout: float | None = None
    columns: int | None = None
    offline: bool = False  # render from the records, run nothing
    strict: bool = False  # an overflowing slide is an error
    fresh: bool = False  # take the new run even where it tells the record's story
    fresh_images: bool = False  # ... where an image's digest changed (refresh)
    keep_going: bool = False  # run every command; report every failure at the end
    images: Choice | None = None  # the run's image source (a deck's front matter may override)
    sources: Mapping[Path, ImageSource] = field(default_factory=dict)  # per deck, over `images`
    jobs: int = 1  # labs at once (decks of one `after:` chain run one after another)


@dataclass
class Built:
    """What a build wrote, and what it warns about."""

    outputs: list[Path] = field(default_factory=list)
    overflows: list[Overflow] = field(default_factory=list)
    changes: dict[Path, list[Change]] = field(default_factory=dict)  # since each deck's record
    decks: list[DeckResult] = field(default_factory=list)  # per deck: record kept or changed
    warnings: list[Notice] = field(default_factory=list)  # found before anything ran


Hooks = Callable[[Deck], None]
Waiting = Callable[[Path], None]  # told the output folder another build is writing to


def find_decks(paths: Iterable[Path]) -> list[Path]:
    """Deck files named on the command line; a directory stands for the `*.md` files in it."""
    found: list[Path] = []
    for path in paths:
        if path.is_dir():
            found.extend(folder_decks(path))
        elif path.is_file():
            found.append(path)
        else:
            raise LivedeckError(f"{path}: no such deck or directory")
    if not found:
        raise LivedeckError(
            "no deck to build", hint="name a deck file or a directory of *.md decks"
        )
    names = [p.stem for p in found]
    duplicate = next((n for n in names if names.count(n) > 1), None)
    if duplicate:
        raise LivedeckError(f"two decks are both named {duplicate!r}: their outputs would collide")
    return found


def build(
    paths: Sequence[Path],
    options: BuildOptions,
    start_lab: LabFactory,
    progress: Progress | None = None,
    on_deck: Hooks | None = None,
    waiting: Waiting | None = None,
    served: Served | None = None,
    warm: Callable[[], WarmMarp] | None = None,
) -> Built:
    """Run (or replay), render and publish every deck; on any error out_dir stays as it was.

    Everything is made in a staging folder of this build's own; only the final moves into
    out_dir (and the records) happen under a lock on out_dir, so two builds into one folder
    (a build beside a watch) never mix their files. `waiting` hears when that lock is taken;
    `served` tells which images the lab can pull, to warn about the others before any run.
    `warm` gives the caller's warm marp-cli, which it keeps open; else build starts its own.
    """
    decks = [load_deck(path) for path in find_decks(paths)]  # every deck parses before any runs
    # Everything that needs no lab is checked before the first lab starts.
    warnings = [n for d in decks for n in preflight(d, None if options.offline else served)]
    themes = sorted({t for t in (resolve_theme(d, theme_dirs_for(d.path)) for d in decks) if t})
    if not options.offline:
        for deck in decks:  # a record this livedeck cannot read is not replaced by accident
            previous_record(deck, replace_newer=options.fresh)
    if options.formats:
        check_tools(options.formats)  # before minutes of running, not after
    with writing(options.out_dir):
        options.out_dir.mkdir(parents=True, exist_ok=True)
        reap.swept_folder(options.out_dir, STAGING)  # what a killed build left
        staging = reap.owned_tempdir(STAGING, options.out_dir)  # same file system: atomic renames
    marp: WarmMarp | None = None
    try:
        results = run_course(
            decks,
            lambda deck, labs: _obtain(deck, labs, progress, options, on_deck),
            start_lab,
            jobs=options.jobs,
            run_only=lambda d, labs: run_on_lab(
                d, labs, None, options.timeout, images=options.images
            ),
            salt=None if options.offline else lambda: lab_salt(options.images),
        )
        with writing(options.out_dir):
            transcripts = [shown(r) for r in results]
            # Documents are staged apart: marp converts every Markdown file of the slides' folder.
            pages = staging / ".documents"
            pages.mkdir()
            staged = [
                stage_deck(deck, t, pages if deck.document else staging)
                for deck, t in zip(decks, transcripts, strict=True)
            ]
            slides = [(d, s) for d, s in zip(decks, staged, strict=True) if not d.document]
            built = Built(decks=results, warnings=warnings)
            built.changes = {r.deck: list(r.changes) for r in results if r.previous is not None}
            published: list[Path] = []
            if options.formats and slides:
                # One node and marp-cli load measure and publish every deck, once the runs are
                # over: Chromium started beside the commands slows them more than it saves.
                marp = WarmMarp(timeout=PUBLISH_TIMEOUT) if warm is None else warm()
                built.overflows = fit_slides(
                    [d for d, _ in slides],
                    [s for _, s in slides],
                    themes,
                    marp.measure,
                    marp.measure,
                )
                if options.strict and built.overflows:
                    raise overflow_error(built.overflows)
                published = publish(
                    [s for _, s in slides], staging, options.formats, themes=themes, runner=marp.run
                )
            made = publish_documents(decks, staged, options.formats, staging)
            if options.formats:
                names = {p.name for p in published} | made
                whole = any(p.is_dir() for p in paths)  # a folder is a course: one PDF of it
                runner = run_marp if marp is None else marp.run
                write_book(
                    decks, results, built.overflows, names, staging, options, themes, whole, runner
                )
            told = None if waiting is None else lambda: waiting(options.out_dir)
            with reap.folder_lock(options.out_dir, told):
                # Records first: they need room, the moves (renames) do not, so a full disk
                # leaves out_dir as it was.
                records = [
                    record.write(d, t)
                    for d, t, r in zip(decks, transcripts, results, strict=True)
                    if r.written
                ]
                built.outputs = move_all(staging, options.out_dir) + records
            return built
    finally:
        if marp is not None and warm is None:
            marp.close()
        shutil.rmtree(staging, ignore_errors=True)


def check(
    paths: Sequence[Path],
    start_lab: LabFactory,
    *,
    update: bool = False,
    timeout: float | None = None,
    progress: Progress | None = None,
    on_deck: Hooks | None = None,
    keep_going: bool = False,
    images: Choice | None = None,
    jobs: int = 1,
) -> list[DeckResult]:
    """Run every deck on a fresh lab and compare with its record.

    `update` writes the new run as the record where its story changed (or there was none);
    a record whose story still holds is kept as it is.
    """
    decks = [load_deck(path) for path in find_decks(paths)]
    for deck in decks:
        preflight(deck)
    # Without --update every deck needs a record that fits: fail before minutes of running.
    recorded = [previous_record(deck, True) if update else record.read(deck) for deck in decks]
    old_of = dict(zip([d.path for d in decks], recorded, strict=True))

    def one(deck: Deck, labs: LabFactory) -> DeckResult:
        if on_deck is not None:
            on_deck(deck)
        started = time.monotonic()
        new = run_on_lab(deck, labs, progress, timeout, keep_going=keep_going, images=images)
        result = settle(deck, old_of[deck.path], new, time.monotonic() - started, write=update)
        if result.written:
            record.write(deck, shown(result))
        return result

    return run_course(
        decks,
        one,
        start_lab,
        jobs=jobs,
        run_only=lambda d, labs: run_on_lab(d, labs, None, timeout, images=images),
        salt=lambda: lab_salt(images),
    )


def _obtain(
    deck: Deck,
    start_lab: LabFactory,
    progress: Progress | None,
    options: BuildOptions,
    on_deck: Hooks | None,
) -> DeckResult:
    """The transcript a build renders: the record (offline, or its story holds) or a new run."""
    if on_deck is not None:
        on_deck(deck)
    if options.offline:
        old = record.read(deck)
        return DeckResult(deck.path, "offline", False, lab=old.engine, transcript=old)
    started = time.monotonic()
    own = options.sources.get(deck.path)
    new = run_on_lab(
        deck,
        start_lab,
        progress,
        options.timeout,
        options.columns,
        keep_going=options.keep_going,
        images=options.images if own is None else Choice(own, "for this deck", True),
    )
    return settle(
        deck,
        previous_record(deck, replace_newer=options.fresh),
        new,
        time.monotonic() - started,
        fresh=options.fresh,
        fresh_images=options.fresh_images,
    )
