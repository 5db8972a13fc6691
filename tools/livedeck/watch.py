"""`livedeck watch`: rebuild a deck each time it is saved, for a preview beside the editor.

A deck whose commands still match its record is rendered from the record in about a second
(prose, callouts, layout); a deck whose commands changed runs again on a fresh lab.
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Callable, Sequence
from dataclasses import replace
from pathlib import Path

from watchdog.events import FileSystemEvent, FileSystemEventHandler
from watchdog.observers import Observer

from livedeck import record
from livedeck.build import BuildOptions, Built, build, find_decks
from livedeck.deck import load_deck
from livedeck.errors import LivedeckError, RecordError
from livedeck.run.lab import LabFactory

QUIET_SECONDS = 0.3  # editors write a file in several steps: wait for them to settle

Report = Callable[[Path, Built | LivedeckError, bool], None]  # deck, outcome, ran on a lab


def rebuild(deck: Path, options: BuildOptions, start_lab: LabFactory) -> tuple[Built, bool]:
    """Build one deck from its record if its commands still match it, else on a lab."""
    parsed = load_deck(deck)  # a broken deck is reported, and no lab is started for it
    try:
        record.read(parsed)
        offline = True
    except RecordError:
        offline = False
    return build([deck], replace(options, offline=offline), start_lab), not offline


class _Changed(FileSystemEventHandler):
    def __init__(self, decks: set[Path], changed: queue.Queue[Path]) -> None:
        self._decks = decks
        self._changed = changed

    def on_any_event(self, event: FileSystemEvent) -> None:
        for path in (event.src_path, getattr(event, "dest_path", "")):
            if path and Path(str(path)).resolve() in self._decks:
                self._changed.put(Path(str(path)).resolve())


def watch(
    paths: Sequence[Path],
    options: BuildOptions,
    start_lab: LabFactory,
    report: Report,
    stop: threading.Event,
) -> None:
    """Build every deck once, then again whenever it changes, until `stop` is set."""
    decks = [p.resolve() for p in find_decks(paths)]
    changed: queue.Queue[Path] = queue.Queue()
    for deck in decks:
        changed.put(deck)
    observer = Observer()
    handler = _Changed(set(decks), changed)
    for folder in {deck.parent for deck in decks}:
        observer.schedule(handler, str(folder), recursive=False)
    observer.start()
    try:
        while not stop.is_set():
            try:
                first = changed.get(timeout=0.2)
            except queue.Empty:
                continue
            pending = {first}
            stop.wait(QUIET_SECONDS)
            while not changed.empty():
                pending.add(changed.get())
            for deck in sorted(pending):
                try:
                    built, ran = rebuild(deck, options, start_lab)
                    report(deck, built, ran)
                except LivedeckError as error:
                    report(deck, error, False)
    finally:
        observer.stop()
        observer.join()
