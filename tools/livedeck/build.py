"""The pipeline, end to end: deck -> run -> render -> publish -> check, nothing half-written."""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path

from livedeck import fit, record
from livedeck.check import Change, compare
from livedeck.deck import load_deck, parse_deck
from livedeck.errors import DeckError, LivedeckError, RecordError
from livedeck.expect import check_asserts
from livedeck.images.sources import MIRROR, Choice, for_deck
from livedeck.index import DeckEntry, deck_status, deck_title, index_html
from livedeck.marp import check_tools
from livedeck.measure import Measurer, measure_decks
from livedeck.model import Deck, Transcript
from livedeck.overflow import Overflow, SlideBox, overflow_error, overflow_report
from livedeck.publish import publish
from livedeck.render import local_images, render
from livedeck.run import Progress, lab_spec, run_deck
from livedeck.run.lab import LabFactory
from livedeck.themes import resolve_theme, theme_dirs_for


@dataclass(frozen=True)
class BuildOptions:
    """How to build: where outputs go, which formats, and where transcripts come from."""

    out_dir: Path
    formats: tuple[str, ...] = ("html", "pdf")
    timeout: float | None = None
    columns: int | None = None
    offline: bool = False  # render from the records, run nothing
    strict: bool = False  # an overflowing slide is an error
    images: Choice | None = None  # the run's image source (a deck's front matter may override)


@dataclass
class Built:
    """What a build wrote, and what it warns about."""

    outputs: list[Path] = field(default_factory=list)
    overflows: list[Overflow] = field(default_factory=list)
    changes: dict[Path, list[Change]] = field(default_factory=dict)  # since each deck's record


Hooks = Callable[[Deck], None]


def find_decks(paths: Iterable[Path]) -> list[Path]:
    """Deck files named on the command line; a directory stands for the `*.md` files in it."""
    found: list[Path] = []
    for path in paths:
        if path.is_dir():
            found.extend(sorted(p for p in path.glob("*.md") if p.name.lower() != "readme.md"))
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
) -> Built:
    """Run (or replay), render and publish every deck; on any error out_dir stays as it was."""
    decks = [load_deck(path) for path in find_decks(paths)]  # every deck parses before any runs
    themes = sorted({t for t in (resolve_theme(d, theme_dirs_for(d.path)) for d in decks) if t})
    if options.formats:
        check_tools(options.formats)  # before minutes of running, not after
    options.out_dir.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=".staging-", dir=options.out_dir))
    measurer: Measurer | None = None
    try:
        if options.formats:
            measurer = Measurer()  # Chromium starts and marp-cli loads while the decks run
        transcripts = []
        for deck in decks:
            if on_deck is not None:
                on_deck(deck)
            transcripts.append(
                record.read(deck)
                if options.offline
                else _run(
                    deck, start_lab, progress, options.timeout, options.columns, options.images
                )
            )
        staged = [_stage(deck, t, staging) for deck, t in zip(decks, transcripts, strict=True)]
        built = Built()
        if not options.offline:
            built.changes = _changes_since_records(decks, transcripts)
        if measurer is not None:
            built.overflows = _fit(decks, staged, themes, measurer)
            if options.strict and built.overflows:
                raise overflow_error(built.overflows)
        built.outputs = (
            publish(staged, options.out_dir, options.formats, themes=themes)
            if options.formats
            else []
        )
        if options.formats:
            _write_index(decks, built, staging)
        built.outputs += _move_all(staging, options.out_dir)
        if not options.offline:
            built.outputs += [record.write(d, t) for d, t in zip(decks, transcripts, strict=True)]
        return built
    finally:
        if measurer is not None:
            measurer.close()
        shutil.rmtree(staging, ignore_errors=True)


def check(
    paths: Sequence[Path],
    start_lab: LabFactory,
    *,
    update: bool = False,
    timeout: float | None = None,
    progress: Progress | None = None,
    on_deck: Hooks | None = None,
    images: Choice | None = None,
) -> list[tuple[Deck, list[Change]]]:
    """Run every deck on a fresh lab and compare with its record; `update` rewrites the record."""
    decks = [load_deck(path) for path in find_decks(paths)]
    recorded = [None if update else record.read(deck) for deck in decks]  # fail before running
    found = []
    for deck, old in zip(decks, recorded, strict=True):
        if on_deck is not None:
            on_deck(deck)
        fresh = _run(deck, start_lab, progress, timeout, images=images)
        found.append((deck, [] if old is None else compare(deck, old, fresh)))
        if update:
            record.write(deck, fresh)
    return found


def _changes_since_records(
    decks: Sequence[Deck], transcripts: Sequence[Transcript]
) -> dict[Path, list[Change]]:
    """What each run changed against the deck's previous record, where there is one that fits."""
    changes = {}
    for deck, fresh in zip(decks, transcripts, strict=True):
        try:
            changes[deck.path] = compare(deck, record.read(deck), fresh)
        except RecordError:  # no record yet, or one of another version of the deck
            continue
    return changes


def _run(
    deck: Deck,
    start_lab: LabFactory,
    progress: Progress | None,
    timeout: float | None,
    columns: int | None = None,
    images: Choice | None = None,
) -> Transcript:
    """Run one deck on a lab of its own, which is gone afterwards whatever happens."""
    source = for_deck(images or Choice(MIRROR, "default", False), deck.settings.images)
    lab = start_lab(replace(lab_spec(deck, columns), images=source.label))
    try:
        transcript = run_deck(deck, lab, timeout=timeout, progress=progress)
    finally:
        lab.close()
    if transcript.engine:  # a lab with an engine: the record says where its images came from
        transcript = replace(transcript, engine={**transcript.engine, "images": source.label})
    check_asserts(deck, transcript)
    return transcript


def _stage(deck: Deck, transcript: Transcript, staging: Path) -> Path:
    """Write the deck's Markdown and the pictures it shows into staging."""
    rendered = render(deck, transcript)
    target = staging / f"{deck.name}.md"
    target.write_text(rendered.markdown, encoding="utf-8")
    for path, svg in rendered.pictures.items():
        (staging / path).parent.mkdir(parents=True, exist_ok=True)
        (staging / path).write_text(svg, encoding="utf-8")
    for image in local_images(rendered.markdown):
        if image.removeprefix("./") not in rendered.pictures:
            _stage_image(deck, image, staging)
    return target


def _fit(
    decks: Sequence[Deck], staged: Sequence[Path], themes: Sequence[Path], measurer: Measurer
) -> list[Overflow]:
    """Measure every slide (with the warm measurer); shrink code where allowed; what overflows.

    A shrunk slide is not measured again when the proposed font fits by fit.fitting_font's
    arithmetic (the code block's height is all in ems of its font); only slides clamped at the
    floor make a second measurement necessary.
    """
    boxes = measurer.measure(staged, themes=themes)
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
        boxes = measure_decks(staged, themes=themes)
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


def _write_index(decks: Sequence[Deck], built: Built, staging: Path) -> None:
    names = {p.name for p in built.outputs}
    entries = []
    for deck in decks:
        count = sum(1 for o in built.overflows if o.path == deck.path)
        changes = built.changes.get(deck.path)
        status, state = deck_status(overflows=count, check=None if changes is None else not changes)
        html, pdf = f"{deck.name}.html", f"{deck.name}.pdf"
        entries.append(
            DeckEntry(
                deck.name,
                deck_title(deck),
                html if html in names else None,
                pdf if pdf in names else None,
                status,
                state,
            )
        )
    (staging / "index.html").write_text(index_html(entries), encoding="utf-8")


def _stage_image(deck: Deck, image: str, staging: Path) -> None:
    source = (deck.path.parent / image).resolve()
    if not source.is_file():
        line = next((n for n, text in enumerate(deck.text.split("\n"), 1) if image in text), 1)
        raise DeckError(deck.path, line, f"picture {image} not found (looked at {source})")
    target = (staging / image).resolve()
    if staging.resolve() not in target.parents:
        raise DeckError(deck.path, 1, f"picture {image} lies outside the deck's folder")
    target.parent.mkdir(parents=True, exist_ok=True)
    shutil.copy2(source, target)


def _move_all(staging: Path, out_dir: Path) -> list[Path]:
    """Move the staged Markdown, pictures and index into out_dir, each with an atomic rename."""
    moved = []
    for source in sorted(staging.rglob("*")):
        if source.is_dir():
            continue
        target = out_dir / source.relative_to(staging)
        target.parent.mkdir(parents=True, exist_ok=True)
        os.replace(source, target)
        moved.append(target)
    return moved
