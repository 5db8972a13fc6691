"""The front matter of a deck: Marp's keys as data, livedeck's settings checked key by key. Pure.

Marp drops a broken front matter and ignores unknown keys without a word; here each is an error
at its `deck:line`, with a did-you-mean.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import fields
from pathlib import Path
from typing import Any

from ruamel.yaml import YAML
from ruamel.yaml.error import MarkedYAMLError, YAMLError

from livedeck.deck import directives
from livedeck.errors import DeckError
from livedeck.images.sources import parse_source
from livedeck.model import Settings
from livedeck.paths import lab_path

# `user@host:path$ command` (or `#` for root), or a bare `$ command` / `# command` whose user and
# host are the deck's (groups user and host do not take part). A prompt with no command may lack
# its trailing space. Bare prompts count only in shell fences (SHELL_FENCES), and a bare `# `
# only where the shell is root's: elsewhere `# ` starts a comment or a heading in a file's text.
DEFAULT_PROMPT = r"(?:(?P<user>[A-Za-z_][\w.-]*)@(?P<host>[\w.-]+):(?P<path>[^\s$#]*))?[$#]"
FITS = ("none", "shrink")


def front_matter(lines: list[str], path: Path) -> tuple[dict[str, Any], int]:
    """The front matter as plain data, and the index of the first body line."""
    if not lines or lines[0].rstrip() != "---":
        return {}, 0
    try:
        end = next(i for i in range(1, len(lines)) if lines[i].rstrip() == "---")
    except StopIteration:
        raise DeckError(path, 1, "front matter opened with `---` is never closed") from None
    yaml = YAML(typ="safe", pure=True)
    try:
        data = yaml.load("\n".join(lines[1:end]))
    except MarkedYAMLError as error:
        mark = error.problem_mark or error.context_mark
        line = 2 + (mark.line if mark is not None else 0)
        problem = error.problem or error.context or "invalid YAML"
        raise DeckError(
            path,
            line,
            f"front matter is not valid YAML: {problem}",
            hint="Marp would silently drop this front matter; fix the YAML.",
        ) from error
    except YAMLError as error:
        raise DeckError(path, 2, f"front matter is not valid YAML: {error}") from error
    if data is None:
        data = {}
    if not isinstance(data, dict):
        raise DeckError(path, 2, "front matter must be a YAML mapping of `key: value` lines")
    return data, end + 1


def settings(raw: Any, path: Path, lines: Sequence[str]) -> Settings:
    """The `livedeck:` front-matter key, checked key by key."""
    if raw is None:
        return Settings(prompt=DEFAULT_PROMPT)
    if not isinstance(raw, Mapping):
        raise DeckError(path, 2, "`livedeck:` in the front matter must be a mapping")
    # Front-matter names; `assert` is a Python keyword, so its field is `asserts`.
    known = {("assert" if f.name == "asserts" else f.name): f for f in fields(Settings)}
    values: dict[str, Any] = {"prompt": DEFAULT_PROMPT}
    for key, value in raw.items():
        if key not in known:
            raise DeckError(
                path,
                key_line(lines, key),
                directives.unknown_key_message(f"livedeck key {key!r}", key, list(known)),
                hint="Marp would ignore a misspelt key; fix or remove it",
            )
        values[known[key].name] = _coerce(key, value, known[key].type, path, lines)
    return Settings(**values)


def _coerce(key: str, value: Any, kind: Any, path: Path, lines: Sequence[str]) -> Any:
    if key == "files":
        return _files(value, path, key_line(lines, key))
    if key == "packages":
        return _packages(value, path, key_line(lines, key))
    wanted = str(kind)
    if "float" in wanted and isinstance(value, int | float) and not isinstance(value, bool):
        if value <= 0:
            raise DeckError(path, key_line(lines, key), f"livedeck.{key} must be positive")
        return float(value)
    if wanted == "int" and isinstance(value, int) and not isinstance(value, bool):
        if value < 20:
            raise DeckError(path, key_line(lines, key), f"livedeck.{key} must be at least 20")
        return value
    if "tuple[int" in wanted:
        if isinstance(value, list) and len(value) == 2 and all(_count(v) for v in value):
            return tuple(value)
        raise DeckError(path, key_line(lines, key), f"livedeck.{key} must be [head, tail] lines")
    if key == "fit" and value not in FITS:
        raise DeckError(path, key_line(lines, key), f"livedeck.fit must be one of {FITS}")
    if key == "images":
        try:
            parse_source(str(value))
        except ValueError as error:
            raise DeckError(path, key_line(lines, key), f"livedeck.{error}") from error
    if "tuple" in wanted:
        items = [value] if isinstance(value, str) else value
        if isinstance(items, list) and all(isinstance(item, str) for item in items):
            if key == "volatile":
                _check_patterns(items, path, lines)
            return tuple(items)
    elif "str" in wanted and isinstance(value, str):
        return value
    raise DeckError(path, key_line(lines, key), f"livedeck.{key} has the wrong type ({value!r})")


def _check_patterns(patterns: Sequence[str], path: Path, lines: Sequence[str]) -> None:
    """Each `volatile:` pattern is a regular expression: wrong here, not after a whole run."""
    for pattern in patterns:
        try:
            compiled = re.compile(pattern)
        except re.error as error:
            raise DeckError(
                path,
                _item_line(lines, "volatile", pattern),
                f"livedeck.volatile: {pattern!r} is not a regular expression ({error})",
                hint="Python's re syntax, e.g. 'took \\d+ ms'; a ( [ { or . that stands for itself"
                " needs a backslash",
            ) from error
        if compiled.fullmatch(""):
            raise DeckError(
                path,
                _item_line(lines, "volatile", pattern),
                f"livedeck.volatile: {pattern!r} matches an empty text, so it could hide any"
                " change from `livedeck check`",
                hint="make it match only the text that changes on every run, e.g. 'took \\d+ ms'",
            )


def _item_line(lines: Sequence[str], key: str, item: str) -> int:
    """The line of one item of a front-matter list: the first at or after its key holding it."""
    start = key_line(lines, key)
    return next((n for n, text in enumerate(lines, 1) if n >= start and item in text), start)


def _files(value: Any, path: Path, line: int) -> tuple[tuple[str, str], ...]:
    """`files: {hands_on/ch05: ~/course/ch05}`: deck-relative sources -> lab paths."""
    if not isinstance(value, Mapping):
        raise DeckError(
            path,
            line,
            "livedeck.files maps files or folders beside the deck to paths in the lab",
            hint="for example  files: {hands_on_files/ch05: ~/course/ch05}",
        )
    found = []
    for source, target in value.items():
        if not isinstance(source, str) or not source or source.startswith("/"):
            raise DeckError(
                path, line, f"livedeck.files: {source!r} must be a path relative to the deck"
            )
        if not isinstance(target, str) or not target.startswith(("/", "~")):
            raise DeckError(
                path,
                line,
                f"livedeck.files: {source} goes to {target!r}, which is not a lab path",
                hint="a lab path starts with `~/` (the lab user's home) or `/`",
            )
        if target.startswith(("/", "~/")):
            lab_path(target, "files", deck=path, line=line)
        found.append((source, target))
    return tuple(found)


PACKAGE = re.compile(r"[a-z0-9][a-z0-9+.-]+(?:=[\w.:~+-]+)?")


def _packages(value: Any, path: Path, line: int) -> tuple[str, ...]:
    """`packages: [make, python3-venv]`: Debian packages installed in the lab."""
    items = [value] if isinstance(value, str) else value
    if not isinstance(items, list) or not all(isinstance(item, str) for item in items):
        raise DeckError(path, line, "livedeck.packages is a list of Debian package names")
    for item in items:
        if not PACKAGE.fullmatch(item):
            raise DeckError(path, line, f"livedeck.packages: {item!r} is not a package name")
    return tuple(sorted(set(items)))


def _count(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and value >= 0


def key_line(lines: Sequence[str], key: str) -> int:
    """The deck line of a front-matter key (errors point at it), else the front matter's first."""
    for number, line in enumerate(lines, 1):
        if line.strip() == "---" and number > 1:
            break
        if re.match(rf"\s*{re.escape(str(key))}\s*:", line):
            return number
    return 2


def compile_prompt(pattern: str, path: Path, lines: Sequence[str]) -> re.Pattern[str]:
    try:
        compiled = re.compile(pattern)
    except re.error as error:
        raise DeckError(path, key_line(lines, "prompt"), f"livedeck.prompt: {error}") from error
    missing = {"user", "host"} - set(compiled.groupindex)
    if missing:
        raise DeckError(
            path,
            key_line(lines, "prompt"),
            f"livedeck.prompt needs the named groups {sorted(missing)}",
            hint=r"for example (?P<user>\w+)@(?P<host>[\w.-]+):(?P<path>\S*)[$#]",
        )
    return re.compile(rf"^(?P<prompt>{pattern})(?: (?P<command>.*)|\s*)$")
