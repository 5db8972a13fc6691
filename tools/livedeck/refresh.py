"""`livedeck refresh`: rebuild decks whose images changed and say what that changed.

Which decks: every one named (`--all`), or the ones `livedeck outdated` names (an image has a
new digest where the record's images came from, or the deck has no record yet). Each is rebuilt
from the same image source outdated asked (`source_rule`).

For a pull request: per deck the image digests old -> new, each command whose normalised
screen changed (check's diff), the slides whose rendered text changed, and a picture of each
of those slides before and after. A deck whose story and images are the same changes no file.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

from livedeck import reap, record
from livedeck.build import BuildOptions, build, find_decks, image_digests, stage_deck
from livedeck.deck import load_deck, parse_deck
from livedeck.errors import PublishError, RecordError
from livedeck.fences import code_span, fenced
from livedeck.images.outdated import SourceRule, outdated
from livedeck.marp import (
    Format,
    find_chromium,
    find_marp,
    marp_environment,
    marp_options,
    run_marp,
    scratch_dir,
)
from livedeck.model import Deck, Transcript
from livedeck.results import DeckResult
from livedeck.run import Progress
from livedeck.run.lab import LabFactory

PNG = Format("png", ".png", ("--images", "png"), needs_browser=True)

# Which of the decks to rebuild. `--all`: every one; otherwise the decks whose images changed
# upstream, which is `livedeck outdated`'s to tell (`outdated_decks`).
Choose = Callable[[Sequence[Path]], list[Path]]


@dataclass(frozen=True)
class Refreshed:
    """One rebuilt deck: its build result, and the slides whose text changed."""

    result: DeckResult
    slides: tuple[int, ...]  # slide numbers whose rendered text changed
    pictures: tuple[tuple[Path, Path], ...] = ()  # (before, after) PNG of each of those slides

    @property
    def changed(self) -> bool:
        """The deck's record and slides were rewritten."""
        return self.result.written


def every_deck(decks: Sequence[Path]) -> list[Path]:
    """`--all`: refresh every deck."""
    return list(decks)


def outdated_decks(sources: SourceRule) -> Choose:
    """The decks `livedeck outdated` names: an image changed, or no record (asks, pulls nothing).

    RegistryError when a registry does not answer: then nothing is rebuilt.
    """

    def choose(decks: Sequence[Path]) -> list[Path]:
        return [found.deck for found in outdated(decks, sources) if found.outdated]

    return choose


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
    """Rebuild the chosen decks on fresh labs; their records change where story or images did.

    `sources` gives each deck's image source (None: a build's default, as on a local lab).
    """
    chosen = choose(find_decks(paths))
    if not chosen:
        return []
    decks = {path: load_deck(path) for path in chosen}
    before = {path: _recorded(deck) for path, deck in decks.items()}
    where = {deck.path: sources(deck, before[p]) for p, deck in decks.items()} if sources else {}
    options = BuildOptions(
        out_dir=out_dir, formats=("html", "pdf"), fresh_images=True, sources=where
    )
    built = build(chosen, options, start_lab, progress)
    found = []
    for result in built.decks:
        deck = decks[result.deck]
        old = before[result.deck]
        if not result.written or old is None or result.transcript is None:
            found.append(Refreshed(result, ()))
            continue
        slides = _changed_slides(deck, old, result.transcript)
        shots = _pictures(deck, old, result.transcript, slides, pictures) if pictures else ()
        found.append(Refreshed(result, slides, shots))
    return found


def _recorded(deck: Deck) -> Transcript | None:
    try:
        return record.read(deck)
    except RecordError:
        return None


def _changed_slides(deck: Deck, old: Transcript, new: Transcript) -> tuple[int, ...]:
    """Numbers of the slides whose rendered Markdown differs between two runs."""
    with reap.owned_scratch("livedeck-refresh-") as scratch:
        before = _slide_texts(_stage(deck, old, scratch / "before"))
        after = _slide_texts(_stage(deck, new, scratch / "after"))
    numbers = sorted(before.keys() | after.keys())
    return tuple(n for n in numbers if before.get(n) != after.get(n))


def _stage(deck: Deck, transcript: Transcript, folder: Path) -> Path:
    folder.mkdir(parents=True)
    return stage_deck(deck, transcript, folder)


def _slide_texts(markdown: Path) -> dict[int, str]:
    text = markdown.read_text(encoding="utf-8")
    lines = text.split("\n")
    return {
        s.number: "\n".join(lines[s.line - 1 : s.end]) for s in parse_deck(text, markdown).slides
    }


def _pictures(
    deck: Deck, old: Transcript, new: Transcript, slides: Sequence[int], into: Path
) -> tuple[tuple[Path, Path], ...]:
    """PNGs of the changed slides before and after, as into/DECK/slide-N-before.png etc."""
    if not slides:
        return ()
    target = into / deck.name
    target.mkdir(parents=True, exist_ok=True)
    shots = []
    with reap.owned_scratch("livedeck-refresh-") as scratch:
        pngs = {
            when: _png(_stage(deck, transcript, scratch / when))
            for when, transcript in (("before", old), ("after", new))
        }
        for number in slides:
            pair = []
            for when in ("before", "after"):
                made = pngs[when].get(number)
                path = target / f"slide-{number}-{when}.png"
                if made is not None:
                    shutil.copyfile(made, path)
                pair.append(path)
            shots.append((pair[0], pair[1]))
    return tuple(shots)


def _png(markdown: Path) -> dict[int, Path]:
    """Slide number -> PNG of it, made by marp-cli (`--images png`) next to the Markdown."""
    env = dict(os.environ)
    scratch = scratch_dir()
    try:
        marp_env = marp_environment(env, scratch, find_chromium(env))
        output = markdown.with_suffix(".png")
        argv = [
            str(find_marp(env)),
            *marp_options(PNG, ()),
            "-o",
            str(output),
            "--",
            str(markdown),
        ]
        run = run_marp(argv, env=marp_env, timeout=300.0)
        if run.returncode != 0:
            raise PublishError(f"{markdown.name}: marp-cli could not make slide pictures")
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    made = sorted(markdown.parent.glob(f"{markdown.stem}.*.png"))
    return {int(p.suffixes[-2].lstrip(".")): p for p in made}


def summary(refreshed: Sequence[Refreshed], relative_to: Path | None = None) -> str:
    """The change summary in Markdown, for a pull request's body."""
    changed = [r for r in refreshed if r.changed]
    if not changed:
        return "# livedeck refresh\n\nNothing changed: every deck tells its record's story.\n"
    parts = ["# livedeck refresh", ""]
    for item in changed:
        result = item.result
        parts += [f"## {code_span(str(result.deck))}", "", result.line, ""]
        old, new = image_digests(result.previous_lab), image_digests(result.lab)
        moved = [i for i in sorted(old.keys() | new.keys()) if old.get(i) != new.get(i)]
        if moved:
            parts += ["| image | before | after |", "|---|---|---|"]
            parts += [
                f"| {_cell(i)} | {_cell(old.get(i, '-'))} | {_cell(new.get(i, '-'))} |"
                for i in moved
            ]
            parts.append("")
        for change in result.changes:
            # The summary is livedeck's Markdown: screen text in it is in code spans already.
            what = f"{code_span(change.command)}: {change.summary}"
            parts += [f"- line {change.line}: {what}", ""]
            parts += [*fenced(change.diff, "diff", indent="  "), ""]
        if item.slides:
            parts += [f"Slides whose text changed: {', '.join(map(str, item.slides))}", ""]
        for number, (before, after) in zip(item.slides, item.pictures, strict=False):
            b, a = (_shown(p, relative_to) for p in (before, after))
            parts += [f"Slide {number}, before and after:", "", f"![before]({b}) ![after]({a})", ""]
    return "\n".join(parts)


def _cell(text: str) -> str:
    """Inline code in a table cell, where `|` would end the cell."""
    return code_span(text).replace("|", "\\|")


def _shown(path: Path, relative_to: Path | None) -> str:
    return os.path.relpath(path, relative_to) if relative_to else str(path)
