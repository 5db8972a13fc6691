"""The fields of a record, each checked with the line it is on. Pure.

A record is written by livedeck, but it is a file in git: a merge, a hand edit or a newer
livedeck can leave it in a shape this one cannot read. Each field is checked here so that such
a record is named at its line, before any lab starts, instead of failing inside the run.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

from livedeck.errors import NewerRecord, RecordError

FORMAT = 2  # 2: every screen line ends with a newline, so a screen of one blank line survives
READABLE = (1, 2)
_FACTS_KEY = re.compile(r"after (\d+) commands?")


Check = Callable[[Any], bool]


def _text(value: Any) -> bool:
    return isinstance(value, str)


def _count(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _status(value: Any) -> bool:
    return value is None or _count(value)


def _optional_text(value: Any) -> bool:
    return value is None or isinstance(value, str)


def _number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _scalar(value: Any) -> bool:
    return isinstance(value, str | int | float) and not isinstance(value, bool)


# Each field a command entry may hold: (required, check, what it must be).
COMMAND_FIELDS: dict[str, tuple[bool, Check, str]] = {
    "line": (True, _count, "a line number"),
    "command": (True, _text, "the command's text"),
    "typed": (False, _text, "text"),
    "prompt": (False, _optional_text, "a prompt (text)"),
    "cwd": (False, _text, "a directory (text)"),
    "bare": (False, lambda v: isinstance(v, dict), "a mapping of places to prompts"),
    "exit": (True, _status, "an exit status (a whole number, or empty)"),
    "screen": (False, _optional_text, "the screen's text"),
    "seconds": (False, _number, "a number"),
}


def line_of(node: Any, key: Any = None, default: int = 1) -> int:
    """The 1-based line of a mapping's key (or of a sequence's item) in the record's YAML."""
    lc = getattr(node, "lc", None)
    if lc is None:
        return default
    try:
        if key is None:
            return int(lc.line) + 1
        found = lc.item(key) if isinstance(key, int) and isinstance(node, list) else lc.key(key)
        return int(found[0]) + 1
    except (KeyError, IndexError, TypeError, AttributeError):
        return default


def check_fields(data: Any, path: Path, hint: str) -> None:
    """Raise RecordError at the line of the first field that is not what a record holds."""

    def fail(line: int, message: str) -> RecordError:
        return RecordError(path, line, message, hint=hint)

    if not isinstance(data, dict) or "format" not in data:
        raise fail(1, f"not a livedeck record (it has no `format:`; livedeck writes {FORMAT})")
    version = data["format"]
    where = line_of(data, "format")
    if _count(version) and version > FORMAT:
        raise NewerRecord(
            path,
            where,
            f"the record was written by a newer livedeck (record format {version}; this"
            f" livedeck reads {', '.join(map(str, READABLE))})",
            hint="upgrade livedeck; or, to replace the record with a run of this livedeck,"
            " build with --fresh or check with --update",
        )
    if version not in READABLE or not _count(version):
        raise fail(where, f"`format: {version!r}` is no livedeck record format ({FORMAT} is)")
    for key in ("livedeck", "deck", "runs_with"):
        if key in data and not _scalar(data[key]):
            raise fail(line_of(data, key), f"`{key}:` must be text")
    lab = data.get("lab")
    if lab is not None and not (isinstance(lab, dict) and all(map(_scalar, lab.values()))):
        raise fail(line_of(data, "lab"), "`lab:` must map names to values (engine: 20.10.24)")
    commands = data.get("commands")
    if not isinstance(commands, list):
        raise fail(line_of(data, "commands"), "the record's `commands:` must be a list")
    for n, entry in enumerate(commands):
        _check_command(entry, line_of(commands, n), fail)
    facts = data.get("facts")
    if facts is None:
        return
    if not isinstance(facts, dict):
        raise fail(line_of(data, "facts"), "`facts:` must map `after N commands` to lab facts")
    for key in facts:
        if not (isinstance(key, str) and _FACTS_KEY.fullmatch(key)):
            raise fail(line_of(facts, key), f"`{key}:` is not `after N commands`")
        if not isinstance(facts[key], dict):
            raise fail(line_of(facts, key), f"`{key}:` must hold the lab's facts (a mapping)")
        _check_shape(facts[key], FACTS, line_of(facts, key), fail)


def _check_command(entry: Any, line: int, fail: Callable[[int, str], RecordError]) -> None:
    if not isinstance(entry, dict):
        raise fail(line, "each of `commands:` must be a mapping (line:, command:, exit:, ...)")
    for key, (required, check, what) in COMMAND_FIELDS.items():
        if key not in entry:
            if required:
                raise fail(line, f"this command has no `{key}:`")
            continue
        if not check(entry[key]):
            raise fail(line_of(entry, key, line), f"`{key}: {entry[key]!r}` must be {what}")
    for place, prompt in (entry.get("bare") or {}).items():
        if not (_count(place) and place > 0 and isinstance(prompt, str)):
            raise fail(line_of(entry, "bare", line), "`bare:` maps 1, 2, ... to prompts (text)")


def _texts(value: Any) -> bool:
    return isinstance(value, list) and all(isinstance(v, str) for v in value)


def _labels(value: Any) -> bool:
    return isinstance(value, dict) and all(isinstance(v, str) for v in value.values())


def _optional_count(value: Any) -> bool:
    return value is None or _count(value)


Shape = dict[str, "Check | tuple[str, Shape]"]
# The lab facts a record keeps (livedeck.facts.to_data): a field's check, or a list of mappings.
LAYER: Shape = {
    "diff_id": _text,
    "size": _optional_count,
    "created_by": _text,
    "overlay2_dir": _optional_text,
}
IMAGE: Shape = {
    "id": _text,
    "tags": _texts,
    "digests": _texts,
    "size": _count,
    "created": _text,
    "labels": _labels,
    "layers": ("layers", LAYER),
}
CONTAINER: Shape = {
    **{key: _text for key in ("id", "name", "image", "image_id", "status", "created")},
    "labels": _labels,
    "rw_dir": _optional_text,
    "init_dir": _optional_text,
}
FACTS: Shape = {
    "engine": _text,
    "storage_driver": _text,
    "images": ("images", IMAGE),
    "containers": ("containers", CONTAINER),
}


def _check_shape(
    node: dict[str, Any], shape: Shape, line: int, fail: Callable[[int, str], RecordError]
) -> None:
    """Every field of a facts mapping present and of its kind (a list of mappings goes deeper)."""
    for key, want in shape.items():
        where = line_of(node, key, line)
        if key not in node:
            raise fail(line, f"these lab facts have no `{key}:`")
        value = node[key]
        if isinstance(want, tuple):
            if not isinstance(value, list) or not all(isinstance(v, dict) for v in value):
                raise fail(where, f"`{key}:` must be a list of mappings")
            for n, item in enumerate(value):
                _check_shape(item, want[1], line_of(value, n, where), fail)
        elif not want(value):
            if isinstance(value, dict):  # a label: point at the one that is wrong
                bad = next((k for k, v in value.items() if not isinstance(v, str)), None)
                where = line_of(value, bad, where) if bad is not None else where
            raise fail(where, f"`{key}: {value!r}` is not what the lab's facts hold there")


def facts_position(key: str) -> int:
    """`after 6 commands` -> 6."""
    match = _FACTS_KEY.fullmatch(key)
    if match is None:
        raise ValueError(key)
    return int(match.group(1))
