"""`livedeck list`: the decks, their outputs and the images they use; what CI fans out over.

Images come from the deck's own commands (`docker pull X`, `docker run ... X`) and from the
digests its record holds. Reading decks and records is all it does: nothing runs.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from livedeck.deck import load_deck, record
from livedeck.errors import RecordError
from livedeck.images.names import parse_ref, pulled_images
from livedeck.model import Deck
from livedeck.publish.index import deck_title
from livedeck.publish.marp import format_named
from livedeck.render.template import has_template

# `docker run`/`create` options that take a value as the next word (docker 20.10's list).


@dataclass(frozen=True)
class DeckInfo:
    """A deck as CI sees it: where it is, what a build writes, which images it needs."""

    path: Path
    name: str
    title: str
    record: Path | None  # the committed record, if there is one that fits the deck
    outputs: tuple[Path, ...]  # what `livedeck build --out OUT --format ...` writes for it
    images: tuple[str, ...]  # images its commands pull or run, as written
    # image as written -> the digest the record holds for it (none where the record's one digest
    # of a repository cannot tell which of the deck's tags it is)
    digests: Mapping[str, str] = field(default_factory=dict)


def inventory(decks: Sequence[Path], out_dir: Path, formats: Sequence[str]) -> list[DeckInfo]:
    """What `livedeck list` shows for each deck file."""
    return [_info(load_deck(path), out_dir, formats) for path in decks]


def _info(deck: Deck, out_dir: Path, formats: Sequence[str]) -> DeckInfo:
    try:
        engine = record.read(deck).engine
        recorded: Path | None = record.record_path(deck.path)
    except RecordError:
        engine, recorded = {}, None
    recorded_digests = {
        key.removeprefix("image "): value
        for key, value in engine.items()
        if key.startswith("image ")
    }
    suffixes = [".md", *(format_named(f).suffix for f in formats)]
    images = images_used(c.text for c in deck.commands if c.runnable)
    return DeckInfo(
        path=deck.path,
        name=deck.name,
        title=deck_title(deck),
        record=recorded,
        outputs=tuple(out_dir / f"{deck.name}{suffix}" for suffix in suffixes),
        images=images,
        digests=digests_by_image(images, recorded_digests),
    )


def digests_by_image(images: Sequence[str], recorded: Mapping[str, str]) -> dict[str, str]:
    """Each image as the deck writes it -> the digest the record keeps for its repository.

    A record keeps one digest per repository (`image nginx: ...`); a deck that names two tags of
    one repository gets none for either, as the record cannot say which tag it was.
    """
    refs = {}
    for image in images:
        with contextlib.suppress(ValueError):
            ref = parse_ref(image)
            if not ref.digest:
                refs[image] = ref
    tags: dict[str, set[str]] = {}
    for ref in refs.values():
        tags.setdefault(ref.familiar, set()).add(ref.tag)
    return {
        image: recorded[ref.familiar]
        for image, ref in refs.items()
        if ref.familiar in recorded and len(tags[ref.familiar]) == 1
    }


def images_used(commands: Iterable[str]) -> tuple[str, ...]:
    """The images `docker pull`, `docker run` and `docker create` name, in order, once each."""
    found: list[str] = []
    for text in commands:
        for image in _images_in(text):
            if image not in found:
                found.append(image)
    return tuple(found)


def _images_in(text: str) -> list[str]:
    return [image for image in pulled_images(text) if not has_template(image)]


def info_data(info: DeckInfo) -> dict[str, Any]:
    """A deck's entry of `livedeck list --json`."""
    return {
        "path": str(info.path),
        "name": info.name,
        "title": info.title,
        "record": str(info.record) if info.record else None,
        "outputs": [str(p) for p in info.outputs],
        "images": list(info.images),
        "digests": dict(info.digests),
    }
