"""The pipeline, end to end: deck -> run -> render -> publish -> check, nothing half-written."""

from __future__ import annotations

import contextlib
import errno
import os
import shutil
import time
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Protocol

from livedeck.render import fit
from livedeck import reap
from livedeck.deck import record, secrets
from livedeck.check import Change, check_asserts, compare
from livedeck.render.context import run_plan
from livedeck.course.book import write_book
from livedeck.deck.course import folder_decks
from livedeck.course.schedule import run_course
from livedeck.course.snapshot import lab_salt
from livedeck.deck import load_deck, parse_deck
from livedeck.document import document_html
from livedeck.errors import (
    DeckError,
    LabError,
    LivedeckError,
    NewerRecord,
    OutputError,
    RecordError,
)
from livedeck.images.sources import MIRROR, Choice, ImageSource, for_deck
from livedeck.publish.index import deck_title
from livedeck.publish.marp import check_tools
from livedeck.publish.measure import Measurer, measure_decks
from livedeck.model import Deck, Transcript
from livedeck.publish.overflow import Overflow, SlideBox, overflow_error, overflow_report
from livedeck.paths import contained, course_root
from livedeck.verbs.preflight import Notice, Served, front_matter_line, picture_file, preflight
from livedeck.publish import publish
from livedeck.render import local_images, render
from livedeck.check.results import DeckResult
from livedeck.run import Progress, lab_spec, run_deck
from livedeck.run.lab import Lab, LabFactory
from livedeck.publish.themes import resolve_theme, theme_dirs_for

STAGING = ".staging-"  # in the output folder: `.staging-PID.START-random`, one per build
# A write that fails for want of room or permission: the machine's doing, not the deck's.
WRITE_ERRORS = frozenset(
    {errno.ENOSPC, errno.EDQUOT, errno.EFBIG, errno.EROFS, errno.EACCES, errno.EPERM}
)


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
) -> Built:
    """Run (or replay), render and publish every deck; on any error out_dir stays as it was.

    Everything is made in a staging folder of this build's own; only the final moves into
    out_dir (and the records) happen under a lock on out_dir, so two builds into one folder
    (a build beside a watch) never mix their files. `waiting` hears when that lock is taken;
    `served` tells which images the lab can pull, to warn about the others before any run.
    """
    decks = [load_deck(path) for path in find_decks(paths)]  # every deck parses before any runs
    # Everything that needs no lab is checked before the first lab starts.
    warnings = [n for d in decks for n in preflight(d, None if options.offline else served)]
    themes = sorted({t for t in (resolve_theme(d, theme_dirs_for(d.path)) for d in decks) if t})
    if not options.offline:
        for deck in decks:  # a record this livedeck cannot read is not replaced by accident
            _previous(deck, replace_newer=options.fresh)
    if options.formats:
        check_tools(options.formats)  # before minutes of running, not after
    with writing(options.out_dir):
        options.out_dir.mkdir(parents=True, exist_ok=True)
        reap.swept_folder(options.out_dir, STAGING)  # what a killed build left
        staging = reap.owned_tempdir(STAGING, options.out_dir)  # same file system: atomic renames
    measurer: Measurer | None = None
    try:
        if options.formats:
            measurer = Measurer()  # Chromium starts and marp-cli loads while the decks run
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
            transcripts = [_shown(r) for r in results]
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
            if measurer is not None and slides:
                built.overflows = fit_slides(
                    [d for d, _ in slides], [s for _, s in slides], themes, measurer.measure
                )
                if options.strict and built.overflows:
                    raise overflow_error(built.overflows)
            published = (
                publish([s for _, s in slides], staging, options.formats, themes=themes)
                if options.formats and slides
                else []
            )
            made = _publish_documents(decks, staged, options.formats, staging)
            if options.formats:
                names = {p.name for p in published} | made
                whole = any(p.is_dir() for p in paths)  # a folder is a course: one PDF of it
                write_book(decks, results, built.overflows, names, staging, options, themes, whole)
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
        if measurer is not None:
            measurer.close()
        shutil.rmtree(staging, ignore_errors=True)


@contextlib.contextmanager
def writing(out_dir: Path) -> Iterator[None]:
    """Turn a write that fails (a full disk, a read-only or immutable folder) into OutputError."""
    try:
        yield
    except OSError as error:
        if error.errno not in WRITE_ERRORS:
            raise
        name = str(error.filename or "")
        where = name if name and STAGING not in name else f"into {out_dir}"  # not our staging
        raise OutputError(
            f"could not write {where}: {error.strerror}",
            hint=f"free space on its file system or make the folder writable, then build again;"
            f" {out_dir} and the records were left as they were",
        ) from error


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
    recorded = [_previous(deck, True) if update else record.read(deck) for deck in decks]
    old_of = dict(zip([d.path for d in decks], recorded, strict=True))

    def one(deck: Deck, labs: LabFactory) -> DeckResult:
        if on_deck is not None:
            on_deck(deck)
        started = time.monotonic()
        new = run_on_lab(deck, labs, progress, timeout, keep_going=keep_going, images=images)
        result = _settle(deck, old_of[deck.path], new, time.monotonic() - started, write=update)
        if result.written:
            record.write(deck, _shown(result))
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
    return _settle(
        deck,
        _previous(deck, replace_newer=options.fresh),
        new,
        time.monotonic() - started,
        fresh=options.fresh,
        fresh_images=options.fresh_images,
    )


def _settle(
    deck: Deck,
    old: Transcript | None,
    new: Transcript,
    seconds: float,
    *,
    fresh: bool = False,
    fresh_images: bool = False,
    write: bool = True,
) -> DeckResult:
    """Decide which transcript stands: the old record, or this run.

    The record changes only when the story does: while the run equals it after normalisation,
    the whole record (screens, IDs, lab facts, digests) is kept and the slides show it, so one
    real, consistent run is on the slides and an offline build gives the same ones.
    """
    previous_lab = old.engine if old is not None else {}
    if old is None:
        return DeckResult(deck.path, "new", write, (), new.engine, {}, seconds, new)
    changes = tuple(compare(deck, old, new))
    if changes:
        return DeckResult(
            deck.path, "changed", write, changes, new.engine, previous_lab, seconds, new, old
        )
    if fresh or (fresh_images and image_digests(old.engine) != image_digests(new.engine)):
        return DeckResult(
            deck.path, "fresh", write, (), new.engine, previous_lab, seconds, new, old
        )
    return DeckResult(deck.path, "kept", False, (), old.engine, previous_lab, seconds, old, old)


def image_digests(lab: Mapping[str, str]) -> dict[str, str]:
    """Image -> digest, from a record's `lab:` (`image nginx: sha256:...`)."""
    return {k.removeprefix("image "): v for k, v in lab.items() if k.startswith("image ")}


def _previous(deck: Deck, replace_newer: bool = False) -> Transcript | None:
    """The deck's record, if there is one that fits this version of the deck.

    A record of a newer livedeck is an error unless `replace_newer` (--fresh, --update).
    """
    try:
        return record.read(deck)
    except NewerRecord:
        if replace_newer:
            return None
        raise
    except RecordError:  # none yet, another version of the deck, or damaged: the run replaces it
        return None


def _shown(result: DeckResult) -> Transcript:
    if result.transcript is None:  # every result of build and check carries one
        raise AssertionError(f"{result.deck}: a result without a transcript")
    return result.transcript


def run_on_lab(
    deck: Deck,
    start_lab: LabFactory,
    progress: Progress | None,
    timeout: float | None,
    columns: int | None = None,
    *,
    keep_going: bool = False,
    images: Choice | None = None,
) -> Transcript:
    """Run one deck on a lab of its own, which is gone afterwards whatever happens."""
    secrets.values(deck)  # a missing secret fails before a lab starts
    plan = run_plan(deck)
    source = for_deck(images or Choice(MIRROR, "default", False), deck.settings.images)
    spec = replace(lab_spec(deck, columns), packages=deck.settings.packages, images=source.label)
    lab = start_lab(spec)
    try:
        copy_course_files(deck, lab)
        transcript = run_deck(
            deck, lab, plan, timeout=timeout, progress=progress, keep_going=keep_going
        )
    finally:
        lab.close()
    if transcript.engine:  # a lab with an engine: the record says where its images came from
        transcript = replace(transcript, engine={**transcript.engine, "images": source.label})
    check_asserts(deck, transcript)
    return transcript


def copy_course_files(deck: Deck, lab: Lab) -> None:
    """The deck's `files:` into the lab, before its setup and commands run."""
    if not deck.settings.files:
        return
    copy_in = getattr(lab, "copy_in", None)
    if copy_in is None:
        raise LabError(
            f"{deck.path}: its livedeck.files are copied into a lab, and this lab takes no files",
            hint="build it on the Docker lab (--lab docker)",
        )
    root = course_root(deck.path)
    for source, target in deck.settings.files:
        line = front_matter_line(deck, source)
        copy_in(contained(root, source, "files", deck=deck.path, line=line), target)


def stage_deck(deck: Deck, transcript: Transcript, staging: Path) -> Path:
    """Write the deck's Markdown and the pictures it shows into staging."""
    rendered = render(deck, transcript)
    target = contained(staging, f"{deck.name}.md", "output")
    target.write_text(rendered.markdown, encoding="utf-8")
    for path, svg in rendered.pictures.items():
        drawn = contained(staging, path, "picture")
        drawn.parent.mkdir(parents=True, exist_ok=True)
        drawn.write_text(svg, encoding="utf-8")
    for image in local_images(rendered.markdown):
        if image.removeprefix("./") not in rendered.pictures:
            _stage_image(deck, image, staging)
    return target


class Measure(Protocol):
    """Measures every slide of staged decks: Measurer.measure, measure_decks, WarmMarp.measure."""

    def __call__(
        self, decks: Sequence[Path], *, themes: Sequence[Path] = ()
    ) -> dict[Path, tuple[SlideBox, ...]]: ...


def fit_slides(
    decks: Sequence[Deck],
    staged: Sequence[Path],
    themes: Sequence[Path],
    measure: Measure,
    again: Measure = measure_decks,
) -> list[Overflow]:
    """Measure every slide (`measure`); shrink code where allowed; return what overflows.

    A shrunk slide is not measured again when the proposed font fits by fit.fitting_font's
    arithmetic (the code block's height is all in ems of its font); only slides clamped at the
    floor make a second measurement necessary.
    """
    boxes = measure(staged, themes=themes)
    remeasure = False
    for deck, path in zip(decks, staged, strict=True):
        text = path.read_text(encoding="utf-8")
        proposals = _fonts(deck, boxes[path])
        if not proposals:
            continue
        starts = {s.number: s.line for s in parse_deck(text, path).slides}
        fonts = {starts[n]: p.font_px for n, p in proposals.items()}
        path.write_text(fit.shrink_slides(text, fonts), encoding="utf-8")
        remeasure = remeasure or not all(p.fits for p in proposals.values())
        fitted = {n for n, p in proposals.items() if p.fits}
        boxes[path] = tuple(b for b in boxes[path] if b.number not in fitted)
    if remeasure:
        boxes = again(staged, themes=themes)
    return [
        o for d, path in zip(decks, staged, strict=True) for o in overflow_report(d, boxes[path])
    ]


def _fonts(deck: Deck, boxes: Sequence[SlideBox]) -> dict[int, fit.FontFit]:
    """Slide number -> the code font that makes it fit, for the slides the author lets shrink."""
    fonts = {}
    for box in boxes:
        if box.overflow <= 0 or not box.code:
            continue
        slide = next(s for s in deck.slides if s.number == box.number)
        allowed = deck.settings.fit == "shrink" or any(
            c.fit == "shrink" for c in deck.commands if slide.line <= c.line <= slide.end
        )
        if allowed:
            code = max(box.code, key=lambda c: c.height)
            fonts[box.number] = fit.fitting_font(
                box.overflow,
                code.lines,
                code.font_px,
                height_px=code.height,
                floor_px=deck.settings.font_floor,
            )
    return fonts


def _publish_documents(
    decks: Sequence[Deck], staged: Sequence[Path], formats: Sequence[str], staging: Path
) -> set[str]:
    """Documents' Markdown and pictures into staging, with one HTML page each (no PDF)."""
    pages = staging / ".documents"
    made = set()
    for deck, path in zip(decks, staged, strict=True):
        if deck.document and "html" in formats:
            page = document_html(path.read_text(encoding="utf-8"), deck_title(deck))
            contained(staging, f"{deck.name}.html", "output").write_text(page, encoding="utf-8")
            made.add(f"{deck.name}.html")
    for source in sorted(pages.rglob("*")) if pages.is_dir() else []:
        if source.is_file():
            target = contained(staging, source.relative_to(pages), "output")
            target.parent.mkdir(parents=True, exist_ok=True)
            os.replace(source, target)
    shutil.rmtree(pages, ignore_errors=True)
    return made


def _stage_image(deck: Deck, image: str, staging: Path) -> None:
    """Copy a picture the deck shows from the deck's folder (symlinks followed, and refused if
    they lead out of it) to the same place in staging."""
    line = next((n for n, text in enumerate(deck.text.split("\n"), 1) if image in text), 1)
    name = picture_file(image)
    source = contained(course_root(deck.path), name, "picture", deck=deck.path, line=line)
    if not source.is_file():
        raise DeckError(deck.path, line, f"picture {image} not found (looked at {source})")
    target = contained(staging, name, "picture", deck=deck.path, line=line)
    target.parent.mkdir(parents=True, exist_ok=True)
    shutil.copy2(source, target)


def move_all(staging: Path, out_dir: Path) -> list[Path]:
    """Move the staged Markdown, pictures and index into out_dir, each with an atomic rename."""
    moved = []
    for source in sorted(staging.rglob("*")):
        if source.is_dir():
            continue
        target = contained(out_dir, source.relative_to(staging), "output")
        target.parent.mkdir(parents=True, exist_ok=True)
        os.replace(source, target)
        moved.append(target)
    return moved
