"""The pipeline, end to end: deck -> run -> render -> publish, with nothing half-written."""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

from livedeck.deck import load_deck
from livedeck.errors import DeckError, LivedeckError
from livedeck.expect import check_asserts
from livedeck.model import Deck
from livedeck.publish import check_tools, publish
from livedeck.render import local_images, render
from livedeck.run import Progress, lab_spec, run_deck
from livedeck.run.lab import LabFactory


@dataclass(frozen=True)
class BuildOptions:
    """How to build: where outputs go, which formats, which lab, and limits."""

    out_dir: Path
    formats: tuple[str, ...] = ("html", "pdf")
    timeout: float | None = None
    columns: int | None = None


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
    on_deck: Callable[[Deck], None] | None = None,
) -> list[Path]:
    """Run, render and publish every deck; return the output files written to out_dir."""
    decks = [load_deck(path) for path in find_decks(paths)]  # every deck parses before any runs
    if options.formats:
        check_tools(options.formats)  # before minutes of running, not after
    options.out_dir.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=".staging-", dir=options.out_dir))
    try:
        staged = []
        for deck in decks:
            if on_deck is not None:
                on_deck(deck)
            staged.append(_run_and_render(deck, options, start_lab, staging, progress))
        outputs = publish(staged, options.out_dir, options.formats) if options.formats else []
        return [*outputs, *_move_all(staging, options.out_dir)]
    finally:
        shutil.rmtree(staging, ignore_errors=True)


def _run_and_render(
    deck: Deck,
    options: BuildOptions,
    start_lab: LabFactory,
    staging: Path,
    progress: Progress | None,
) -> Path:
    """Run one deck on a lab of its own and write its Markdown (and pictures) into staging."""
    lab = start_lab(lab_spec(deck, options.columns))
    try:
        transcript = run_deck(deck, lab, timeout=options.timeout, progress=progress)
    finally:
        lab.close()
    check_asserts(deck, transcript)
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
    """Move the staged Markdown and pictures into out_dir, each with an atomic rename."""
    moved = []
    for source in sorted(staging.rglob("*")):
        if source.is_dir():
            continue
        target = out_dir / source.relative_to(staging)
        target.parent.mkdir(parents=True, exist_ok=True)
        source.replace(target)
        moved.append(target)
    return moved
