"""`livedeck refresh`: rebuild decks whose images changed and say what that changed.

Which decks: every one named (`--all`), or the ones `livedeck outdated` names (an image has a
new digest where the record's images came from, or the deck has no record yet). Each is rebuilt
from the same image source outdated asked (`source_rule`), on a lab of its own: a deck that
fails is reported with its error and the others are refreshed all the same.

For a pull request per deck: the image digests old -> new, each command whose normalised screen
changed (check's diff), the slides those commands are on, and a picture of each of those slides
before and after, in the deck's theme and fitted as the published slides are. Why the pull
request must not be merged as it is (a slide overflows, the deck failed) is part of the result
(`draft`). A deck whose story and images are the same changes no file.
"""

from __future__ import annotations

import contextlib
import functools
import hashlib
import os
import shutil
from collections.abc import Callable, Collection, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from livedeck import reap
from livedeck.check.results import DeckResult, deck_data, error_data, overflow_data
from livedeck.deck import load_deck, record
from livedeck.errors import LivedeckError, PublishError, RecordError
from livedeck.images.sources import MIRROR, ImageSource
from livedeck.images.versions import image_version
from livedeck.model import Deck, Transcript
from livedeck.publish.marp import Format, marp_options
from livedeck.publish.overflow import Overflow
from livedeck.publish.themes import resolve_theme, theme_dirs_for
from livedeck.publish.warm import WarmMarp
from livedeck.run import Progress
from livedeck.run.lab import LabFactory
from livedeck.run.labs import lab_names
from livedeck.verbs.build import PUBLISH_TIMEOUT, BuildOptions, build, find_decks
from livedeck.verbs.build_publish import fit_slides
from livedeck.verbs.build_render import stage_deck
from livedeck.verbs.build_run import image_digests
from livedeck.verbs.outdated import DeckImages, SourceRule, outdated

PNG = Format("png", ".png", ("--images", "png"), needs_browser=True)

# Which of the decks to rebuild, and the proposal each would make (`proposal`): `--all`: every
# one; otherwise the decks whose images changed upstream, which is `livedeck outdated`'s to tell.
Choose = Callable[[Sequence[Path]], list[tuple[Path, str]]]


@dataclass(frozen=True)
class Refreshed:
    """One deck of a refresh: its build result or its error, and what a reviewer looks at."""

    deck: Path
    result: DeckResult | None  # None: the deck failed (`error`)
    slides: tuple[int, ...] = ()  # slides whose story changed
    pictures: tuple[tuple[int, Path, Path], ...] = ()  # (slide, before PNG, after PNG)
    overflows: tuple[Overflow, ...] = ()  # slides of the new deck that run off the bottom
    error: LivedeckError | None = None
    proposal: str = ""  # what this refresh proposes (`proposal`): "" when not known
    versions: tuple[tuple[str, str, str], ...] = ()  # (image, version before, after) if known

    @property
    def changed(self) -> bool:
        """The deck's record and slides were rewritten."""
        return self.result is not None and self.result.written

    @property
    def draft(self) -> tuple[str, ...]:
        """Why a pull request of this deck must not be merged as it is; () when it may."""
        reasons = [
            f"slide {o.slide} overflows ({o.path}:{o.line}): {o.message}" for o in self.overflows
        ]
        if self.error is not None:
            reasons.append(f"the deck failed: {self.error}")
        return tuple(reasons)


def proposal(deck: Path, digests: dict[str, str]) -> str:
    """A short name for "this deck with these images": the same on every run that proposes it.

    A pull request carries it; a closed one's is passed back (`skip`) so that it is not proposed
    again, and an open one's so that it is not pushed again while nothing changed.
    """
    text = "\n".join([deck.stem, *(f"{k}={v}" for k, v in sorted(digests.items()))])
    return f"{deck.stem}@{hashlib.sha256(text.encode()).hexdigest()[:16]}"


def every_deck(decks: Sequence[Path]) -> list[tuple[Path, str]]:
    """`--all`: refresh every deck (its proposal is known only once it ran)."""
    return [(deck, "") for deck in decks]


def outdated_decks(sources: SourceRule, skip: Collection[str] = ()) -> Choose:
    """The decks `livedeck outdated` names, except those whose proposal is in `skip`.

    RegistryError when a registry does not answer: then nothing is rebuilt.
    """

    def choose(decks: Sequence[Path]) -> list[tuple[Path, str]]:
        found = [(f.deck, _proposed(f)) for f in outdated(decks, sources) if f.outdated]
        return [(deck, key) for deck, key in found if key not in skip]

    return choose


def _proposed(found: DeckImages) -> str:
    return proposal(found.deck, {c.image: c.new for c in found.checks if not c.note})


def refresh(
    paths: Sequence[Path],
    start_lab: LabFactory,
    *,
    choose: Choose = every_deck,
    sources: SourceRule | None = None,
    out_dir: Path = Path("build"),
    pictures: Path | None = None,
    progress: Progress | None = None,
) -> list[Refreshed]:
    """Rebuild the chosen decks, each on a fresh lab; their records change where story or
    images did. A deck that fails is returned with its error; the others go on.

    `sources` gives each deck's image source (None: a build's default, as on a local lab).
    """
    found = []
    with contextlib.ExitStack() as stack:
        # One node with marp-cli and Chromium publishes every deck and makes every picture,
        # started when the first deck's runs are over.
        warm = functools.cache(lambda: stack.enter_context(WarmMarp(timeout=PUBLISH_TIMEOUT)))
        for path, key in choose(find_decks(paths)):
            try:
                found.append(
                    _refresh_one(path, key, start_lab, sources, out_dir, pictures, progress, warm)
                )
            except LivedeckError as error:
                found.append(Refreshed(path, None, error=error, proposal=key))
    return found


def _refresh_one(
    path: Path,
    key: str,
    start_lab: LabFactory,
    sources: SourceRule | None,
    out_dir: Path,
    pictures: Path | None,
    progress: Progress | None,
    warm: Callable[[], WarmMarp],
) -> Refreshed:
    deck = load_deck(path)
    old = _recorded(deck)
    where = {deck.path: sources(deck, old)} if sources else {}
    options = BuildOptions(
        out_dir=out_dir, formats=("html", "pdf"), fresh_images=True, sources=where
    )
    built = build([path], options, start_lab, progress, warm=warm)
    result = built.decks[0]
    overflows = tuple(built.overflows)
    key = key or proposal(path, image_digests(result.lab))
    versions = _versions(where.get(deck.path, MIRROR), result)
    if not result.written or old is None or result.transcript is None:
        return Refreshed(path, result, overflows=overflows, proposal=key, versions=versions)
    slides = story_slides(deck, result)
    shots = _pictures(deck, old, result.transcript, slides, pictures, warm()) if pictures else ()
    return Refreshed(path, result, slides, shots, overflows, proposal=key, versions=versions)


def _versions(source: ImageSource, result: DeckResult) -> tuple[tuple[str, str, str], ...]:
    """Each image whose digest moved, with the release its config names before and after."""
    old, new = image_digests(result.previous_lab), image_digests(result.lab)
    storage = lab_names().registry_dir
    found = []
    for image in sorted(old.keys() | new.keys()):
        if old.get(image) == new.get(image):
            continue
        before = image_version(source, storage, image, old.get(image, ""))
        after = image_version(source, storage, image, new.get(image, ""))
        if before or after:
            found.append((image, before, after))
    return tuple(found)


def _recorded(deck: Deck) -> Transcript | None:
    try:
        return record.read(deck)
    except RecordError:
        return None


def story_slides(deck: Deck, result: DeckResult) -> tuple[int, ...]:
    """The slides that show a command whose story changed (IDs, ages and dates aside).

    A slide whose text differs only by a new ID or date is not among them: those change on
    every run and tell a reviewer nothing.
    """
    lines = {change.line for change in result.changes}
    return tuple(s.number for s in deck.slides if any(s.line <= n <= s.end for n in lines))


def _pictures(
    deck: Deck,
    old: Transcript,
    new: Transcript,
    slides: Sequence[int],
    into: Path,
    marp: WarmMarp,
) -> tuple[tuple[int, Path, Path], ...]:
    """PNGs of the slides before and after, as into/DECK/slide-N-before.png etc.

    Rendered as the published deck is: in its theme, and fitted (long code shrunk) the same way.
    """
    if not slides:
        return ()
    target = into / deck.name
    target.mkdir(parents=True, exist_ok=True)
    theme = resolve_theme(deck, theme_dirs_for(deck.path))
    themes = [theme] if theme else []
    shots = []
    # The node that published the deck measures both and makes their pictures.
    with reap.owned_scratch("livedeck-refresh-") as scratch:
        staged = {
            when: _stage(deck, transcript, Path(scratch) / when)
            for when, transcript in (("before", old), ("after", new))
        }
        fit_slides([deck, deck], list(staged.values()), themes, marp.measure, marp.measure)
        pngs = {when: _png(markdown, themes, marp) for when, markdown in staged.items()}
        for number in slides:
            pair = []
            for when in ("before", "after"):
                made = pngs[when].get(number)
                path = target / f"slide-{number}-{when}.png"
                if made is not None:
                    shutil.copyfile(made, path)
                pair.append(path)
            shots.append((number, pair[0], pair[1]))
    return tuple(shots)


def _stage(deck: Deck, transcript: Transcript, folder: Path) -> Path:
    folder.mkdir(parents=True)
    return stage_deck(deck, transcript, folder)


def _png(markdown: Path, themes: Sequence[Path], marp: WarmMarp) -> dict[int, Path]:
    """Slide number -> PNG of it, made by marp-cli (`--images png`) next to the Markdown."""
    output = markdown.with_suffix(".png")
    argv = [str(marp.cli), *marp_options(PNG, themes), "-o", str(output), "--", str(markdown)]
    run = marp.run(argv, env=os.environ, timeout=PUBLISH_TIMEOUT)
    if run.returncode != 0:
        raise PublishError(f"{markdown.name}: marp-cli could not make slide pictures")
    made = sorted(markdown.parent.glob(f"{markdown.stem}.*.png"))
    return {int(p.suffixes[-2].lstrip(".")): p for p in made}


def refreshed_data(item: Refreshed) -> dict[str, Any]:
    """One deck of a refresh as JSON-ready data (results.schema.json, `refreshed`)."""
    return {
        "deck": str(item.deck),
        "name": item.deck.stem,
        "changed": item.changed,
        "proposal": item.proposal,
        "draft": list(item.draft),
        "slides": list(item.slides),
        "pictures": [
            {"slide": n, "before": str(before), "after": str(after)}
            for n, before, after in item.pictures
        ],
        "overflows": [overflow_data(o) for o in item.overflows],
        "versions": [{"image": i, "before": b, "after": a} for i, b, a in item.versions],
        "result": deck_data(item.result) if item.result is not None else None,
        "error": error_data(item.error) if item.error is not None else None,
    }
