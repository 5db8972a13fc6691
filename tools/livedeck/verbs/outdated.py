"""`livedeck outdated`: decks whose recorded images have a new digest upstream, without pulling.

`wanted` (pure) pairs the images a deck's commands name with the digests its record holds;
`outdated` asks, per image, the registry a build would pull it from: the added images first, as a
lab's engine does, then the seeded mirror's storage (`mirror`) or the upstream registry's API
(`hub`: Docker Hub with a token from auth.docker.io; a URL: that registry). A deck without a
record has nothing to compare with: it is reported as such (`no record`), and a build records it.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from livedeck.deck import load_deck, record
from livedeck.errors import RecordError
from livedeck.images import registry as registry_api
from livedeck.images import store
from livedeck.images.names import Ref, parse_ref, pulled_images
from livedeck.images.sources import ImageSource, choose, recorded_source
from livedeck.model import Deck, Transcript
from livedeck.run.labs import LabNames, lab_names
from livedeck.verbs.build import find_decks

ADDED = "images added with `livedeck images add`"


@dataclass(frozen=True)
class Wanted:
    """An image a deck names, the digest its record holds ("" none), or why it is not checked."""

    ref: Ref
    line: int  # the deck line of the first command naming it
    old: str
    note: str = ""


@dataclass(frozen=True)
class ImageCheck:
    """One image of a deck: recorded and current digest, and who said so."""

    image: str  # as the deck names it, with its tag: nginx:latest
    line: int
    old: str
    new: str  # "" when the tag no longer exists
    registry: str
    note: str = ""  # why it was not checked (then old and new say nothing)

    @property
    def changed(self) -> bool:
        """A checked image whose digest is not the recorded one."""
        return not self.note and self.new != self.old


Status = Literal["unchanged", "changed", "no record"]


@dataclass(frozen=True)
class DeckImages:
    """The images of one deck and where they were checked."""

    deck: Path
    source: str  # mirror, hub, or the upstream's URL
    checks: tuple[ImageCheck, ...]
    recorded: bool = True  # False: no record beside the deck, so no digest to compare with

    @property
    def changed(self) -> tuple[ImageCheck, ...]:
        """The images that would be pulled with another digest today."""
        return tuple(c for c in self.checks if c.changed)

    @property
    def status(self) -> Status:
        """`no record`, `changed` (some image has another digest today) or `unchanged`."""
        if not self.recorded:
            return "no record"
        return "changed" if self.changed else "unchanged"

    @property
    def outdated(self) -> bool:
        """A build today would change the deck's record: an image changed, or there is none."""
        return self.status != "unchanged"


def wanted(deck: Deck, transcript: Transcript) -> list[Wanted]:
    """The images the deck's commands pull or run, each with the digest the record holds."""
    recorded = {
        key.removeprefix("image "): digest
        for key, digest in transcript.engine.items()
        if key.startswith("image ")
    }
    first: dict[Ref, int] = {}
    for result in transcript.results:
        for name in pulled_images(result.typed or result.command.text):
            try:
                ref = parse_ref(name)
            except ValueError:
                continue
            first.setdefault(ref, result.command.line)
    tags: dict[str, list[str]] = {}
    for ref in first:
        if not ref.digest:
            tags.setdefault(ref.familiar, []).append(ref.tag)
    found = []
    for ref, line in first.items():
        old = recorded.get(ref.familiar, "")
        note = ""
        if ref.digest:
            note = "pinned by digest"
        elif not ref.on_hub:
            note = f"pulled from {ref.host} directly, not through the lab's mirrors"
        elif len(tags[ref.familiar]) > 1:
            note = f"the record keeps one digest for {ref.familiar}, the deck uses tags " + (
                ", ".join(tags[ref.familiar])
            )
        elif not old:
            note = "not in the record (no such image was left when the run ended)"
        found.append(Wanted(ref, line, old, note))
    return found


Lookup = Callable[[Ref], tuple[str, str]]  # ref -> (current digest or "", who answered)
SourceRule = Callable[[Deck, Transcript | None], ImageSource]  # a deck and its record, if any


def source_rule(
    flag: str | None, environ: Mapping[str, str], hub_answers: Callable[[], bool]
) -> SourceRule:
    """The image source of each deck for `outdated` and `refresh`: --images (`flag`), else the
    one its record was made with, else a build's default (LIVEDECK_IMAGES, the deck's front
    matter, Docker Hub if it answers: asked once, and only if some deck needs it).
    """
    default = functools.cache(lambda: choose(None, environ, hub_answers))

    def rule(deck: Deck, transcript: Transcript | None) -> ImageSource:
        recorded = transcript.engine.get("images", "") if transcript is not None else ""
        try:
            return recorded_source(flag, recorded, deck.settings.images, default)
        except ValueError as error:  # --images is checked before: the record's is wrong
            path = record.record_path(deck.path)
            raise RecordError(path, 1, f"the record's `images:` is wrong: {error}") from None

    return rule


def outdated(
    paths: Sequence[Path], sources: SourceRule, names: LabNames | None = None
) -> list[DeckImages]:
    """For every deck: its images' recorded and current digests (none without a record).

    `sources` says where each deck's images are asked for (`source_rule`).
    Raises RegistryError when a registry does not answer, RecordError for a record that does
    not fit its deck.
    """
    names = names or lab_names()
    decks = [load_deck(path) for path in find_decks(paths)]
    transcripts = [_record(deck) for deck in decks]  # every record fits before any request
    lookups: dict[ImageSource, Lookup] = {}
    results = []
    for deck, transcript in zip(decks, transcripts, strict=True):
        source = sources(deck, transcript)
        if transcript is None:
            results.append(DeckImages(deck.path, source.label, (), recorded=False))
            continue
        if source not in lookups:  # read the stores once, and only for a deck with images
            lookups[source] = _lazy(functools.partial(_lookup, source, names))
        results.append(
            DeckImages(deck.path, source.label, _checks(deck, transcript, lookups[source]))
        )
    return results


def _record(deck: Deck) -> Transcript | None:
    """The deck's record; None when there is none (one that does not fit is a RecordError)."""
    if not record.record_path(deck.path).exists():
        return None
    return record.read(deck)


def _checks(deck: Deck, transcript: Transcript, lookup: Lookup) -> tuple[ImageCheck, ...]:
    checks = []
    for item in wanted(deck, transcript):
        if item.note:
            checks.append(ImageCheck(str(item.ref), item.line, item.old, "", "", item.note))
            continue
        new, who = lookup(item.ref)
        checks.append(ImageCheck(str(item.ref), item.line, item.old, new, who))
    return tuple(checks)


def _lazy(make: Callable[[], Lookup]) -> Lookup:
    made = functools.cache(make)
    return lambda ref: made()(ref)


def _lookup(source: ImageSource, names: LabNames) -> Lookup:
    """Where a build with `source` would pull each image from, asked in the lab engine's order."""
    with store.reading(names.images_dir) as snapshot:
        added = {(i.repo, i.tag): i.digest for i in store.catalog(snapshot)} if snapshot else {}
    seeded = (
        {(i.repo, i.tag): i.digest for i in store.catalog(names.registry_dir)}
        if source.kind == "mirror"
        else {}
    )
    answers: dict[Ref, tuple[str, str]] = {}

    def lookup(ref: Ref) -> tuple[str, str]:
        key = (ref.repo, ref.tag)
        if key in added:
            return added[key], ADDED
        if source.kind == "mirror":
            return seeded.get(key, ""), f"{source.registry} {names.registry_dir}"
        if ref not in answers:
            digest = registry_api.tag_digest(source.url, ref.repo, ref.tag, name=source.registry)
            answers[ref] = (digest, source.registry)
        return answers[ref]

    return lookup


def outdated_data(decks: Sequence[DeckImages]) -> dict[str, Any]:
    """`livedeck outdated` as JSON-ready data: per deck, its images then and now."""
    return {
        "decks": [
            {
                "deck": str(deck.deck),
                "status": deck.status,
                "images": deck.source,
                "checks": [
                    {
                        "image": c.image,
                        "line": c.line,
                        "old": c.old,
                        "new": c.new,
                        "registry": c.registry,
                        "note": c.note,
                        "changed": c.changed,
                    }
                    for c in deck.checks
                ],
            }
            for deck in decks
        ]
    }
