"""The course config: defaults for every deck of a folder, from `livedeck.yaml` or the
`[tool.livedeck]` table of pyproject.toml at the course root.

Deck keys (prompt, user, host, timeout, images, setup, ...) are the `livedeck:` keys of a deck's
front matter, checked by the same code (frontmatter.settings) with errors at the config's own
file:line; a deck's front matter overrides them key by key. Course keys: `title` (of the
course book), `themes` (theme folders), `files_root` (what `files:` sources are relative to),
`secrets_file`, and `order` (the decks' order in a build and in the book).
"""

from __future__ import annotations

import functools
import re
import tomllib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, fields, replace
from pathlib import Path
from typing import Any

from ruamel.yaml import YAML
from ruamel.yaml.error import MarkedYAMLError, YAMLError

from livedeck.deck import directives, frontmatter
from livedeck.errors import DeckError
from livedeck.model import Settings

FILE = "livedeck.yaml"
PYPROJECT = "pyproject.toml"
COURSE_KEYS = ("title", "order", "themes", "files_root", "secrets_file")
# A deck's own business: a course-wide value would make every deck wait for itself.
DECK_ONLY = frozenset({"after"})


@dataclass(frozen=True)
class Course:
    """A course folder's config: deck defaults as written, and where course things are."""

    root: Path
    source: Path | None = None  # livedeck.yaml or pyproject.toml; None: no config found
    title: str | None = None  # the course book's title (default: the folder's name)
    defaults: Mapping[str, Any] = field(default_factory=dict)  # deck `livedeck:` keys
    order: tuple[str, ...] = ()  # deck names (file names without .md)
    themes: tuple[Path, ...] = ()
    files_root: Path | None = None
    secrets_file: Path | None = None
    lines: tuple[str, ...] = ()  # the config's lines as `key: value` (errors point at them)

    def line_of(self, key: str) -> int:
        """The config line of a key, for messages."""
        return frontmatter.key_line(self.lines, key) if self.lines else 1


def deck_keys() -> list[str]:
    """The keys a deck's `livedeck:` front matter knows (`asserts` is written `assert`)."""
    return [("assert" if f.name == "asserts" else f.name) for f in fields(Settings)]


def find_course(deck_path: Path) -> Course:
    """The config of the course a deck belongs to: the nearest livedeck.yaml, or pyproject.toml
    with [tool.livedeck], in its folder or above (not above a git repository's top)."""
    folder = deck_path.absolute().parent
    for here in (folder, *folder.parents):
        if (here / FILE).is_file():
            return load_course(here / FILE)
        project = here / PYPROJECT
        if project.is_file() and _has_livedeck_table(project):
            return load_course(project)
        if (here / ".git").exists():
            break
    return Course(root=folder)


def load_course(path: Path) -> Course:
    """Read and check a course config (cached while the file is unchanged)."""
    stat = path.stat()
    return _load(path.absolute(), stat.st_mtime_ns, stat.st_size)


@functools.lru_cache(maxsize=32)
def _load(path: Path, mtime: int, size: int) -> Course:
    text = path.read_text(encoding="utf-8")
    if path.name == PYPROJECT:
        data, lines = _toml_table(text, path)
    else:
        data, lines = _yaml(text, path), text.split("\n")
    return parse_course(data, path, lines)


def parse_course(data: Mapping[str, Any], path: Path, lines: Sequence[str]) -> Course:
    """Check a course config's keys and values; DeckError at its file:line."""
    known = deck_keys() + list(COURSE_KEYS)

    def at(key: str) -> int:
        return frontmatter.key_line(lines, key) if key in data else 1

    for key in data:
        if key in DECK_ONLY:
            raise DeckError(
                path, at(key), f"`{key}:` names another deck: set it in a deck's front matter"
            )
        if key not in known:
            raise DeckError(
                path,
                at(key),
                directives.unknown_key_message(f"course key {key!r}", key, known),
                hint="fix or remove it",
            )
    defaults = {k: v for k, v in data.items() if k not in COURSE_KEYS}
    checked = frontmatter.settings(defaults, path, lines)  # errors at the config's file:line
    frontmatter.compile_prompt(checked.prompt, path, lines)
    root = path.parent
    order = _names(data.get("order", []), path, at("order"), "order")
    if len(set(order)) != len(order):
        twice = next(n for n in order if order.count(n) > 1)
        raise DeckError(path, at("order"), f"order: {twice!r} is listed twice")
    themes = tuple(root / p for p in _names(data.get("themes", []), path, at("themes"), "themes"))
    title = data.get("title")
    if title is not None and not (isinstance(title, str) and title.strip()):
        raise DeckError(path, at("title"), "title is the course's name, a line of text")
    return Course(
        root=root,
        source=path,
        title=title,
        defaults=defaults,
        order=tuple(order),
        themes=themes,
        files_root=_folder(data, "files_root", root, path, at("files_root")),
        secrets_file=_folder(data, "secrets_file", root, path, at("secrets_file")),
        lines=tuple(lines),
    )


def _names(value: Any, path: Path, line: int, key: str) -> list[str]:
    items = [value] if isinstance(value, str) else value
    if not isinstance(items, list) or not all(isinstance(i, str) and i for i in items):
        raise DeckError(path, line, f"{key} is a list of names")
    return [i.removesuffix(".md") if key == "order" else i for i in items]


def _folder(data: Mapping[str, Any], key: str, root: Path, path: Path, line: int) -> Path | None:
    value = data.get(key)
    if value is None:
        return None
    if not isinstance(value, str) or not value:
        raise DeckError(path, line, f"{key} is a path relative to the course root")
    return root / value


def _yaml(text: str, path: Path) -> dict[str, Any]:
    try:
        data = YAML(typ="safe", pure=True).load(text)
    except MarkedYAMLError as error:
        mark = error.problem_mark or error.context_mark
        line = 1 + (mark.line if mark is not None else 0)
        raise DeckError(path, line, f"not valid YAML: {error.problem or error}") from error
    except YAMLError as error:
        raise DeckError(path, 1, f"not valid YAML: {error}") from error
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise DeckError(path, 1, "a course config is a mapping of `key: value` lines")
    return data


TABLE = re.compile(r"^\s*\[\s*tool\s*\.\s*livedeck\s*\]\s*$")


def _has_livedeck_table(path: Path) -> bool:
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError):
        return False
    return any(TABLE.match(line) for line in text.split("\n"))


def _toml_table(text: str, path: Path) -> tuple[dict[str, Any], list[str]]:
    """[tool.livedeck] as data, and pyproject's lines with the table's `key =` read as
    `key:` (and every other line blanked) so errors find their keys' lines."""
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as error:
        match = re.search(r"line (\d+)", str(error))
        raise DeckError(
            path, int(match.group(1)) if match else 1, f"not valid TOML: {error}"
        ) from None
    table = data.get("tool", {}).get("livedeck", {})
    if not isinstance(table, dict):
        raise DeckError(path, 1, "[tool.livedeck] must be a table")
    lines, inside = [], False
    for line in text.split("\n"):
        if line.lstrip().startswith("["):
            inside = bool(TABLE.match(line))
            lines.append("")
            continue
        lines.append(re.sub(r"^(\s*[\w-]+)\s*=", r"\1:", line) if inside else "")
    return table, lines


def with_defaults(course: Course, own: Any) -> Any:
    """A deck's `livedeck:` front matter over the course's defaults, key by key."""
    if not course.defaults or not (own is None or isinstance(own, Mapping)):
        return own  # a `livedeck:` that is no mapping is frontmatter.settings' error to report
    return {**course.defaults, **(own or {})}


def course_files(course: Course, own: Any, settings: Settings) -> Settings:
    """`files:` sources made absolute where they are not the deck folder's: under `files_root`,
    or under the course root when the course config gave them."""
    from_course = "files" in course.defaults and not (isinstance(own, Mapping) and "files" in own)
    base = course.files_root or (course.root if from_course else None)
    if base is None or not settings.files:
        return settings
    return replace(settings, files=tuple((str(base / s), t) for s, t in settings.files))


def folder_decks(folder: Path) -> list[Path]:
    """A folder's decks (its *.md files but README.md) in its course's `order`, the ones it
    does not list after, by name; a name in `order` that is no deck there is an error."""
    decks = [p for p in folder.glob("*.md") if p.name.lower() != "readme.md"]
    course = find_course(folder / FILE)
    if not course.order or course.root.resolve() != folder.absolute().resolve():
        return sorted(decks)
    by_name = {d.stem: d for d in decks}
    for name in course.order:
        if name not in by_name:
            raise DeckError(
                course.source or folder,
                course.line_of("order"),
                directives.unknown_key_message(f"deck {name!r} in order", name, list(by_name))
                .replace("Known keys", "Decks here")
                .replace("unknown", "no such"),
            )
    rest = sorted(d for d in decks if d.stem not in course.order)
    return [by_name[n] for n in course.order] + rest
