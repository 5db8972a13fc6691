"""Everything about a deck that can be checked before a lab starts: errors in seconds, not minutes.

Pictures, course files and templates are errors (`DeckError` with `deck:line`); fences that look
like transcripts but hold no command, and images no source can serve, are warnings.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

from livedeck.deck.blocks import FENCE, SHELL_FENCES
from livedeck.deck.commands import file_body
from livedeck.deck.directives import RESERVED
from livedeck.errors import DeckError
from livedeck.images import store
from livedeck.images.names import pulled_images
from livedeck.model import Deck
from livedeck.paths import contained, course_root
from livedeck.render import IMAGE
from livedeck.render.context import run_plan
from livedeck.render.timeline import names_by_position

# Is this image (`nginx`, `library/nginx:latest`, `ghcr.io/x/y:1`) one the lab can pull?
Served = Callable[[str], bool]

# A line that reads like a prompt livedeck does not know: `~ $ ls`, `user@host ~ % ls`, `> dir`.
_PROMPTISH = re.compile(r"^\s*(?:\S*[@:~]\S*\s*)?[$%>#] +\S")
# A picture on the web (https://...): not a file; `file:` URLs are files, and checked as such.
_WEB = re.compile(r"^(?!file:)[A-Za-z][A-Za-z0-9+.-]*://")
_JINJA_GLOBALS = frozenset({"range", "dict", "lipsum", "cycler", "joiner", "namespace", "loop"})


@dataclass(frozen=True)
class Notice:
    """A warning about a deck line: the build goes on."""

    path: Path
    line: int
    message: str

    def __str__(self) -> str:
        return f"{self.path}:{self.line}: warning: {self.message}"


def preflight(deck: Deck, served: Served | None = None) -> list[Notice]:
    """Check what needs no lab; raise DeckError for what would fail later, return warnings.

    `served` tells which images the lab can pull (None: do not look at images).
    """
    _check_pictures(deck)
    _check_files(deck)
    run_plan(deck)  # template syntax, in prose, commands and assertions
    _check_names(deck)
    notices = _silent_fences(deck)
    if served is not None:
        notices += _unserved_images(deck, served)
    return notices


def _prose_lines(deck: Deck) -> Iterator[tuple[int, str]]:
    """Deck lines outside code blocks and directives, with their numbers."""
    inside = {n for b in deck.blocks for n in range(b.line, b.end + 1)}
    inside |= {n for start, end in deck.verbatim for n in range(start, end + 1)}
    for number, text in enumerate(deck.text.split("\n"), 1):
        if number >= deck.body_line and number not in inside | deck.directive_lines:
            yield number, text


def _check_pictures(deck: Deck) -> None:
    """Every picture the deck shows (not drawn by a template) is a file in the deck's folder."""
    root = course_root(deck.path)
    for number, text in _prose_lines(deck):
        for match in IMAGE.finditer(text):
            src = match.group("src")
            if "{{" in src or src.startswith(("data:", "#")) or _WEB.match(src):
                continue
            source = contained(root, picture_file(src), "picture", deck=deck.path, line=number)
            if not source.is_file():
                raise DeckError(
                    deck.path,
                    number,
                    f"picture {src} not found (looked at {source})",
                    hint="pictures are relative to the deck: fix the path or add the file",
                )


def picture_file(src: str) -> str:
    """The file a picture's address names: `img/a.png#frag` -> `img/a.png`; a `file://` URL
    names its absolute path (which no deck may show: it is the author's machine)."""
    return src.removeprefix("file://").split("#")[0].split("?")[0]


def _check_files(deck: Deck) -> None:
    """Every course file or folder the deck copies into the lab exists in the deck's folder."""
    root = course_root(deck.path)
    for source, _ in deck.settings.files:
        line = front_matter_line(deck, source)
        found = contained(root, source, "files", deck=deck.path, line=line)
        if not found.exists():
            raise DeckError(
                deck.path,
                line,
                f"livedeck.files: {source} not found (looked at {found})",
                hint="course files are relative to the deck's folder",
            )


def front_matter_line(deck: Deck, word: str) -> int:
    """The front matter line that names `word` (1 if none does)."""
    lines = deck.text.split("\n")[: deck.body_line - 1]
    return next((n for n, text in enumerate(lines, 1) if word in text), 1)


def _check_names(deck: Deck) -> None:
    """A template reads only the names of commands that ran before it."""
    runnable = [c for c in deck.commands if c.runnable]
    named = {c.name: n + 1 for n, c in enumerate(runnable) if c.name}  # usable from position
    for position, names in sorted(names_by_position(deck).items()):
        for name in sorted(names - RESERVED - _JINJA_GLOBALS):
            if named.get(name, position + 1) <= position:
                continue
            line = _line_using(deck, name)
            later = (
                f" (the command named {name!r} runs later)"
                if name in named
                else " (no command is named so)"
            )
            raise DeckError(
                deck.path,
                line,
                f"template reads {name!r}, which is not defined here{later}",
                hint="name a command before this point with <!-- livedeck: {name: ...} -->",
            )


def _line_using(deck: Deck, name: str) -> int:
    word = re.compile(rf"\b{re.escape(name)}\b")
    for number, text in enumerate(deck.text.split("\n"), 1):
        if number >= deck.body_line and "{" in text and word.search(text):
            return number
    return deck.body_line


def _silent_fences(deck: Deck) -> list[Notice]:
    """Fences that look like terminal sessions in a deck that runs no command."""
    if any(c.runnable for c in deck.commands):
        return []
    lines = deck.text.split("\n")
    found = []
    for start, end in deck.verbatim:
        fence = FENCE.match(lines[start - 1])
        words = fence.group(3).split() if fence else []
        body = lines[start : end - 1]
        shell = (words[0].lower() if words else "") in SHELL_FENCES
        if (shell and words) or any(_PROMPTISH.match(text) for text in body):
            found.append(
                Notice(
                    deck.path,
                    start,
                    "this block looks like a terminal session, but livedeck found no command"
                    " in the deck: its output will not be refreshed (prompts livedeck knows:"
                    " `user@host:path$ `, or `$ ` in a bash/console/no-language block; others"
                    " via livedeck.prompt)",
                )
            )
    return found


# `docker pull IMAGE`, `docker run [options] IMAGE`, `docker create ...`; options with a value.
_MADE = re.compile(r"\bdocker\s+(?:build|image\s+build|buildx\s+build)\b.*?(?:-t|--tag)[ =](\S+)")
_TAGGED = re.compile(r"\bdocker\s+(?:tag|image\s+tag|commit)\s+(?:-\S+\s+)*\S+\s+(\S+)")
_FROM = re.compile(r"^\s*FROM\s+(?:--\S+\s+)*(\S+)(?:\s+AS\s+(\S+))?", re.IGNORECASE)


def images_pulled(command: str) -> list[str]:
    """The images a command line pulls (or runs, pulling them if missing)."""
    return list(pulled_images(command))


def _unserved_images(deck: Deck, served: Served) -> list[Notice]:
    """Images the deck pulls that the lab cannot get (and the deck does not build itself)."""
    made: set[str] = set()
    wanted: list[tuple[int, str]] = []
    for block in deck.blocks:
        for command in block.commands:
            if "{{" in command.text:
                continue
            if block.file is not None:
                stages: set[str] = set()
                for number, text in enumerate(file_body(command.text), block.line + 1):
                    match = _FROM.match(text)
                    if match:
                        if match.group(1) not in stages and "$" not in match.group(1):
                            wanted.append((number, match.group(1)))
                        if match.group(2):
                            stages.add(match.group(2))
                continue
            made.update(_MADE.findall(command.text))
            made.update(_TAGGED.findall(command.text))
            wanted.extend((command.line, image) for image in images_pulled(command.text))
    made_names = {_short(name) for name in made}
    notices = []
    for line, image in wanted:
        if image == "scratch" or _short(image) in made_names or served(image):
            continue
        notices.append(
            Notice(
                deck.path,
                line,
                f"image {image} is not served to the lab (its registry mirror lacks it): the"
                " command will fail to pull it; add the image to the lab's mirror, or use one"
                " it serves (`livedeck lab status`)",
            )
        )
    return notices


def _short(name: str) -> str:
    """`docker.io/library/app:latest` and `app` alike."""
    repo, tag = split_ref(name)
    return f"{repo}:{tag}"


def split_ref(name: str) -> tuple[str, str]:
    """An image name as the registry stores it: (`library/nginx`, `latest`); a registry host
    other than Docker Hub's stays in the repository name."""
    name = name.split("@")[0]
    repo, _, tag = name.rpartition(":") if ":" in name.split("/")[-1] else (name, "", "latest")
    first, _, rest = repo.partition("/")
    if rest and first in ("docker.io", "index.docker.io", "registry-1.docker.io"):
        repo = rest
    if "/" not in repo:
        repo = f"library/{repo}"
    return repo, tag


def registry_serves(storage: Path) -> Served:
    """What a registry storage folder (distribution's filesystem layout) serves, read-only."""
    root = storage / "docker" / "registry" / "v2" / "repositories"

    def serves(image: str) -> bool:
        repo, tag = split_ref(image)
        first = repo.split("/")[0]
        if "." in first or ":" in first or first == "localhost":  # another registry
            return False
        manifests = root / repo / "_manifests"
        if "@" in image:
            return manifests.is_dir()
        return (manifests / "tags" / tag).is_dir()

    return serves


def lab_serves(seeded: Path, images_dir: Path) -> Served:
    """What a lab can pull: the seeded mirror's images and those `livedeck images add` added
    (the snapshot `current` names, as a lab mounts it)."""
    mirror = registry_serves(seeded)

    def serves(image: str) -> bool:
        if mirror(image):
            return True
        with store.reading(images_dir) as added:
            return added is not None and registry_serves(added)(image)

    return serves
