"""A build's deck on a lab of its own, and which transcript stands: the record or the new run."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace

from livedeck.check import check_asserts, compare
from livedeck.check.results import DeckResult
from livedeck.deck import record, secrets
from livedeck.errors import LabError, NewerRecord, RecordError
from livedeck.images.sources import MIRROR, Choice, for_deck
from livedeck.model import Deck, Transcript
from livedeck.paths import contained, course_root
from livedeck.render.context import run_plan
from livedeck.run import Progress, lab_spec, run_deck
from livedeck.run.lab import Lab, LabFactory
from livedeck.verbs.preflight import front_matter_line


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


def settle(
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


def previous_record(deck: Deck, replace_newer: bool = False) -> Transcript | None:
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


def shown(result: DeckResult) -> Transcript:
    """The transcript a result of build or check stands for."""
    if result.transcript is None:  # every result of build and check carries one
        raise AssertionError(f"{result.deck}: a result without a transcript")
    return result.transcript
