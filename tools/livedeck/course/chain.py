"""`after: OTHER-DECK`: which deck each deck continues, checked before anything runs. Pure,
but for reading the decks a build was not given that a chain needs."""

from __future__ import annotations

import difflib
import hashlib
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from livedeck.deck.frontmatter import key_line
from livedeck.errors import DeckError
from livedeck.model import Deck


@dataclass(frozen=True)
class Chains:
    """Every deck of a build and the earlier decks its chains need, with their order."""

    decks: Mapping[Path, Deck]  # by path: the build's decks and the earlier ones they need
    after: Mapping[Path, Path]  # deck -> the deck it continues
    given: tuple[Path, ...]  # the build's own decks, in build order

    def needed(self) -> set[Path]:
        """Decks whose end state a deck of the build starts from (directly or further up)."""
        return {self.after[d] for d in self.decks if d in self.after}

    def chain(self, deck: Path) -> list[Path]:
        """The deck and every deck before it, first first."""
        found = [deck]
        while found[-1] in self.after:
            found.append(self.after[found[-1]])
        return found[::-1]

    def keys(self, salt: str) -> dict[Path, str]:
        """A key per deck that changes with its text, its settings (course defaults included),
        the course files it copies into the lab, every deck before it, and `salt` (the lab
        image, the image source)."""
        keys: dict[Path, str] = {}
        for deck in self.decks:
            for path in self.chain(deck):
                if path not in keys:
                    parent = keys.get(self.after[path], "") if path in self.after else ""
                    seen = self.decks[path]
                    files = _files_digest(seen)
                    text = "\0".join((parent, salt, seen.text, repr(seen.settings), files))
                    keys[path] = hashlib.sha256(text.encode()).hexdigest()[:16]
        return keys


def resolve(decks: Sequence[Deck], load: Callable[[Path], Deck]) -> Chains:
    """Find each `after:` deck beside the deck that names it (loading those not given); a
    missing deck or a cycle is a DeckError at the `after:` line."""
    by_path = {d.path: d for d in decks}
    after: dict[Path, Path] = {}
    todo = list(decks)
    while todo:
        deck = todo.pop()
        name = deck.settings.after
        if name is None or deck.path in after:
            continue
        target = deck.path.parent / f"{name.removesuffix('.md')}.md"
        if not target.is_file():
            raise DeckError(
                deck.path,
                _line(deck),
                _missing(name, deck.path.parent),
                hint="after: names a deck of the same folder by its file name without .md",
            )
        known = next((p for p in by_path if p.resolve() == target.resolve()), None)
        if known is None:
            by_path[target] = load(target)
            todo.append(by_path[target])
            known = target
        after[deck.path] = known
    for deck in decks:
        _no_cycle(deck, after, by_path)
    return Chains(by_path, after, tuple(d.path for d in decks))


def _no_cycle(deck: Deck, after: Mapping[Path, Path], decks: Mapping[Path, Deck]) -> None:
    seen = [deck.path]
    while seen[-1] in after:
        nxt = after[seen[-1]]
        if nxt in seen:
            loop = [p.stem for p in seen[seen.index(nxt) :]] + [nxt.stem]
            first = decks[seen[seen.index(nxt)]]
            raise DeckError(
                first.path,
                _line(first),
                f"after: the decks continue each other in a circle: {' -> '.join(loop)}",
                hint="a deck starts from the end of an earlier one: remove one `after:`",
            )
        seen.append(nxt)


def _files_digest(deck: Deck) -> str:
    """What the deck's `files:` hold: names and bytes of every file, folders walked in order."""
    digest = hashlib.sha256()
    for source, target in deck.settings.files:
        root = deck.path.parent / source
        found = sorted(p for p in root.rglob("*") if p.is_file()) if root.is_dir() else [root]
        for path in found:
            digest.update(f"{target}\0{path.relative_to(root) if root.is_dir() else ''}\0".encode())
            digest.update(path.read_bytes() if path.is_file() else b"missing")
    return digest.hexdigest()


def _line(deck: Deck) -> int:
    return key_line(deck.text.split("\n")[: deck.body_line], "after")


def _missing(name: str, folder: Path) -> str:
    names = sorted(p.stem for p in folder.glob("*.md"))
    close = difflib.get_close_matches(name, names, n=1)
    guess = f" Did you mean {close[0]!r}?" if close else ""
    return f"after: no deck {name!r} ({name}.md) in {folder.resolve()}.{guess}"
