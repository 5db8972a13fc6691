"""`livedeck watch`: rebuild a deck each time it, its theme or a picture it shows is saved.

A deck whose commands still match its record is rendered from the record and runs nothing
(prose, callouts, templates, layout); a deck whose commands changed runs again on a fresh lab
and gets a new record. marp-cli and Chromium stay running between rebuilds (WarmMarp), so a
prose edit reaches the HTML in well under a second. Each rebuild is reported as a `Rebuilt`:
the CLI prints it, the preview server shows it on the page.
"""

from __future__ import annotations

import hashlib
import os
import queue
import shutil
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from watchdog.events import FileSystemEvent, FileSystemEventHandler
from watchdog.observers import Observer

from livedeck import reap
from livedeck.course.schedule import labs_for
from livedeck.course.snapshot import lab_salt
from livedeck.deck import load_deck, record
from livedeck.errors import LivedeckError, NewerRecord, RecordError
from livedeck.model import Deck
from livedeck.publish import publish
from livedeck.publish.overflow import overflow_error
from livedeck.publish.themes import resolve_theme, theme_dirs_for
from livedeck.publish.warm import WarmMarp
from livedeck.render import local_images
from livedeck.run.lab import LabFactory
from livedeck.verbs.build import BuildOptions, Built, find_decks
from livedeck.verbs.build_commit import STAGING, move_all
from livedeck.verbs.build_publish import fit_slides
from livedeck.verbs.build_render import stage_deck
from livedeck.verbs.build_run import run_on_lab

QUIET_SECONDS = 0.08  # editors write a file in several steps: wait until they are done ...
MOST_SECONDS = 1.0  # ... but no longer than this while saves keep coming


@dataclass(frozen=True)
class Rebuilt:
    """What one rebuild of one deck did."""

    deck: Path
    built: Built | None = None  # None: it failed
    error: LivedeckError | None = None
    ran: bool = False  # ran on a lab; else rendered from its record
    seconds: float = 0.0


Report = Callable[[Rebuilt], None]


@dataclass
class _Inputs:
    """The files a deck's output depends on, with their content when it was last built."""

    deck: Path
    pictures: set[Path] = field(default_factory=set)  # found in its last rendered Markdown
    course: set[Path] = field(default_factory=set)  # its `files:`, copied into the lab
    seen: dict[Path, str] = field(default_factory=dict)  # path -> digest

    def files(self) -> set[Path]:
        return {self.deck, record.record_path(self.deck), *self.pictures, *self.course}

    def folders(self) -> set[Path]:
        shown = self.pictures | self.course
        return {self.deck.parent, *theme_dirs_for(self.deck), *(p.parent for p in shown)}

    def concerns(self, path: Path) -> bool:
        themes = {d.resolve() for d in theme_dirs_for(self.deck)}
        return path in self.files() or (path.suffix == ".css" and path.parent in themes)

    def remember(self) -> None:
        self.seen = {p: _digest(p) for p in self.files()}
        for folder in theme_dirs_for(self.deck):
            if folder.is_dir():
                self.seen.update({css.resolve(): _digest(css) for css in folder.glob("*.css")})

    def changed(self, path: Path) -> bool:
        # The deck itself counts whenever it is saved (saving again retries a failed run); its
        # record, theme and pictures only when their content changed (not our own record write).
        return path == self.deck or self.seen.get(path) != _digest(path)


def rebuild(
    deck_path: Path, options: BuildOptions, start_lab: LabFactory, marp: WarmMarp | None
) -> tuple[Built, bool, set[Path]]:
    """Build one deck from its record if its commands still match it, else on a lab.

    Returns what it built, whether it ran on a lab, and the pictures the deck shows. Writes
    the deck's Markdown, pictures and (with `marp`) HTML into out_dir, the HTML last; on any
    error out_dir stays as it was.
    """
    deck = load_deck(deck_path)  # a broken deck is reported, and no lab is started for it
    theme = resolve_theme(deck, theme_dirs_for(deck.path))
    themes = [theme] if theme else []
    try:
        transcript, ran = record.read(deck), False
    except NewerRecord:
        raise  # a newer livedeck's record is not replaced by a save in an editor
    except RecordError:
        labs = labs_for(
            deck,
            start_lab,
            lambda d, own: run_on_lab(d, own, None, options.timeout, images=options.images),
            lambda: lab_salt(options.images),
        )
        transcript = run_on_lab(deck, labs, None, options.timeout, options.columns)
        ran = True
    options.out_dir.mkdir(parents=True, exist_ok=True)
    staging = reap.owned_tempdir(STAGING, options.out_dir)
    page = options.out_dir / f"{deck.name}.html"
    held = staging / f".{deck.name}.next.html"  # the page is replaced last
    try:
        staged = stage_deck(deck, transcript, staging)
        pictures = _pictures(deck, staged)
        built = Built()  # a run here had no record that fits: nothing to compare with
        if marp is not None:
            built.overflows = fit_slides([deck], [staged], themes, marp.measure, marp.measure)
            if options.strict and built.overflows:
                raise overflow_error(built.overflows)
            if "html" in options.formats:
                marp.html(staged, held, themes=themes)
        if "pdf" in options.formats:
            publish([staged], staging, ("pdf",), themes=themes)
        next_page = held.read_bytes() if held.is_file() else None
        held.unlink(missing_ok=True)
        with reap.folder_lock(options.out_dir):  # a build into the same folder waits, or we do
            built.outputs += move_all(staging, options.out_dir)
            if next_page is not None:  # once the page changes, the pictures it shows are there
                _write_atomically(page, next_page)
                built.outputs.append(page)
            if ran:
                built.outputs.append(record.write(deck, transcript))
        return built, ran, pictures
    finally:
        shutil.rmtree(staging, ignore_errors=True)


def _write_atomically(path: Path, data: bytes) -> None:
    temporary = path.with_name(f".{path.name}.{os.getpid()}")
    temporary.write_bytes(data)
    os.replace(temporary, path)


def watch(
    paths: Sequence[Path],
    options: BuildOptions,
    start_lab: LabFactory,
    report: Report,
    stop: threading.Event,
    marp: WarmMarp | None = None,
) -> None:
    """Build every deck once, then again whenever one of its inputs changes, until `stop`.

    `marp` renders HTML and measures slides (without it only Markdown is written). Saves that
    come in quick succession make one rebuild.
    """
    inputs = {p.resolve(): _Inputs(p.resolve()) for p in find_decks(paths)}
    changed: queue.Queue[Path] = queue.Queue()
    observer = Observer()
    watched: set[Path] = set()

    def follow() -> None:  # watch the folders of every input, including newly shown pictures
        for folder in set().union(*(i.folders() for i in inputs.values())) - watched:
            if folder.is_dir():
                observer.schedule(_Changed(changed), str(folder), recursive=False)
                watched.add(folder)

    for deck in inputs.values():
        deck.remember()
    follow()
    observer.start()
    try:
        due = set(inputs)
        while not stop.is_set():
            for path in sorted(due):
                _rebuild(inputs[path], options, start_lab, marp, report)
            follow()
            due = _next_changes(changed, inputs, stop)
    finally:
        observer.stop()
        observer.join()


def _rebuild(
    inputs: _Inputs,
    options: BuildOptions,
    start_lab: LabFactory,
    marp: WarmMarp | None,
    report: Report,
) -> None:
    started = time.monotonic()
    inputs.remember()  # before reading them: a save during the build counts as a change
    try:
        built, ran, inputs.pictures = rebuild(inputs.deck, options, start_lab, marp)
    except LivedeckError as error:
        report(Rebuilt(inputs.deck, error=error, seconds=time.monotonic() - started))
        return
    if ran:  # the record we just wrote is no change to rebuild for
        recorded = record.record_path(inputs.deck)
        inputs.seen[recorded] = _digest(recorded)
    inputs.course = _course_files(inputs.deck)
    for path in (inputs.pictures | inputs.course) - inputs.seen.keys():
        inputs.seen[path] = _digest(path)
    report(Rebuilt(inputs.deck, built=built, ran=ran, seconds=time.monotonic() - started))


def _next_changes(
    changed: queue.Queue[Path], inputs: dict[Path, _Inputs], stop: threading.Event
) -> set[Path]:
    """Wait for saves; once they pause for QUIET_SECONDS, the decks they concern."""
    paths: set[Path] = set()
    while not paths and not stop.is_set():
        try:
            paths.add(changed.get(timeout=0.2))
        except queue.Empty:
            continue
        deadline = time.monotonic() + MOST_SECONDS
        while time.monotonic() < deadline:
            try:
                paths.add(changed.get(timeout=QUIET_SECONDS))
            except queue.Empty:
                break
        paths = {p for p in paths if any(i.concerns(p) for i in inputs.values())}
    return {
        deck for deck, i in inputs.items() if any(i.concerns(p) and i.changed(p) for p in paths)
    }


class _Changed(FileSystemEventHandler):
    def __init__(self, changed: queue.Queue[Path]) -> None:
        self._changed = changed

    def on_any_event(self, event: FileSystemEvent) -> None:
        if event.is_directory or event.event_type in ("opened", "closed_no_write"):
            return
        for path in (event.src_path, getattr(event, "dest_path", "")):
            if path:
                self._changed.put(Path(str(path)).resolve())


def _pictures(deck: Deck, staged: Path) -> set[Path]:
    """The picture files of the deck's folder that its rendered Markdown shows."""
    shown = (deck.path.parent / image for image in local_images(staged.read_text("utf-8")))
    return {picture.resolve() for picture in shown if picture.is_file()}


def _course_files(deck_path: Path) -> set[Path]:
    """The files the deck's `files:` copies into the lab: an edit of one runs the deck again."""
    try:
        deck = load_deck(deck_path)
    except LivedeckError:
        return set()
    found: set[Path] = set()
    for source, _ in deck.settings.files:
        path = (deck.path.parent / source).resolve()
        found |= {p for p in path.rglob("*") if p.is_file()} if path.is_dir() else {path}
    return found


def _digest(path: Path) -> str:
    try:
        return hashlib.sha1(path.read_bytes()).hexdigest()
    except OSError:
        return ""
