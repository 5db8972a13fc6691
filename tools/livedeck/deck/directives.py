"""`<!-- livedeck: {...} -->` comments: what the author expects of the next block. Pure."""

from __future__ import annotations

import difflib
import re
import shlex
from collections.abc import Mapping, Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any

from livedeck.errors import DeckError
from livedeck.model import Command, Expectation, Hidden, Input
from livedeck.programs import Program, declared

KEYS = (
    "command",
    "exit",
    "timeout",
    "name",
    "shows",
    "not_shows",
    "assert",
    "fit",
    "elide",
    "input",
    "before",
    "wait",
    "file",
    "program",
)
# About the block's first command unless `command:` names another: what runs before the block,
# and the input the command that starts it waits for.
FIRST_ONLY = ("before", "wait", "input")
SECRET = re.compile(r"^\{\{\s*secret\.([A-Za-z_]\w*)\s*\}\}$")
NAME = re.compile(r"[A-Za-z_]\w*")
RESERVED = frozenset({"last", "commands", "docker", "picture", "deck"})

Directive = tuple[int, Mapping[str, Any]]  # its line, and its YAML mapping


def unknown_key_message(what: str, key: object, known: Sequence[str]) -> str:
    """`unknown KEY. Did you mean X? Known keys: ...`."""
    names = sorted(known)
    close = difflib.get_close_matches(str(key), names, n=1)
    guess = f" Did you mean {close[0]!r}?" if close else ""
    return f"unknown {what}.{guess} Known keys: {', '.join(names)}"


def check_keys(data: Mapping[str, Any], line: int, path: Path) -> None:
    """Every key of a directive is one livedeck knows."""
    for key in data:
        if key not in KEYS:
            raise DeckError(path, line, unknown_key_message(f"directive key {key!r}", key, KEYS))


def apply(
    commands: Sequence[Command], directives: Sequence[Directive], path: Path
) -> list[Command]:
    """The block's commands with the expectations and names its directives give them.

    Several directives before one block merge; two that set the same key for the same command
    are an error naming both lines.
    """
    merged: dict[int, dict[str, Any]] = {}  # command index -> key -> value
    origin: dict[tuple[int, str], int] = {}  # (command index, key) -> directive line
    lines: dict[int, int] = {}  # command index -> line of the first directive about it
    asserted: set[int] = set()  # commands after which a directive's assertions run
    for line, data in directives:
        wanted = data.get("command")
        targets = [n for n, c in enumerate(commands) if c.runnable and wanted in (None, c.text)]
        if not targets:
            raise DeckError(
                path,
                line,
                f"livedeck directive names command {wanted!r}, which the next block does not run",
                hint="`command:` must equal the command text after the prompt",
            )
        for key in ("name",):
            if data.get(key) is not None and len(targets) > 1:
                raise DeckError(
                    path, line, f"`{key}:` needs `command:` in a block of several commands"
                )
        for n in targets:
            for key, value in data.items():
                if key in ("command", "program") or (key in FIRST_ONLY and n != targets[0]):
                    continue
                if (n, key) in origin:
                    raise DeckError(
                        path,
                        line,
                        f"`{key}:` is set twice for the same command: here and at line"
                        f" {origin[n, key]}",
                        hint="merge the two directives, or name the command with `command:`",
                    )
                origin[n, key] = line
                merged.setdefault(n, {})[key] = value
            lines.setdefault(n, line)
        if "assert" in data:  # once, after the last command the directive is about
            asserted.add(targets[-1])
    result = list(commands)
    for n, data in merged.items():
        line = lines[n]
        expect = _expectation(data, origin.get((n, "assert"), line), path)
        if n not in asserted:
            expect = replace(expect, asserts=())
        result[n] = replace(
            result[n],
            expect=expect,
            **_layout(data, line, path),
            before=_hidden(data, origin, n, path),
            input=_inputs(data.get("input"), origin.get((n, "input"), line), path),
        )
        if data.get("name") is not None:
            result[n] = replace(result[n], name=_name(data["name"], origin[n, "name"], path))
    return result


def programs(directives: Sequence[Directive], path: Path) -> list[Program]:
    """The programs a block's directives declare: `program: {prompt: RE}`."""
    found = []
    for line, data in directives:
        if "program" not in data:
            continue
        value = data["program"]
        if not isinstance(value, Mapping) or set(value) != {"prompt"}:
            raise DeckError(
                path,
                line,
                f"`program:` is {{prompt: REGEX}}, the prompt of a program the block types into,"
                f" not {value!r}",
                hint="for example <!-- livedeck: {program: {prompt: 'sqlite> '}} -->",
            )
        prompt = value["prompt"]
        try:
            compiled = re.compile(prompt) if isinstance(prompt, str) else None
        except re.error as error:
            raise DeckError(path, line, f"`program:` prompt {prompt!r}: {error}") from error
        if compiled is None or not prompt.strip() or compiled.groups:
            raise DeckError(
                path,
                line,
                f"`program:` prompt must be a regular expression without groups, not {prompt!r}",
                hint="write groups as (?:...)",
            )
        found.append(declared(prompt.rstrip()))
    return found


def _hidden(
    data: Mapping[str, Any], origin: Mapping[tuple[int, str], int], n: int, path: Path
) -> tuple[Hidden, ...]:
    """`before: [commands]` and `wait: {until: command, timeout: S}` (or `{log: REGEX,
    container: NAME}`): hidden steps before the command, in that order."""
    steps: list[Hidden] = []
    if "before" in data:
        line = origin[n, "before"]
        steps += [Hidden(line, text) for text in strings(data["before"], "before", line, path)]
    if "wait" in data:
        line = origin[n, "wait"]
        wait = data["wait"]
        if isinstance(wait, str):
            wait = {"until": wait}
        if not isinstance(wait, Mapping) or set(wait) - {"until", "log", "container", "timeout"}:
            raise DeckError(
                path,
                line,
                "`wait:` is a command, or {until: COMMAND, timeout: S}, or"
                " {log: REGEX, container: NAME, timeout: S}",
            )
        timeout = wait.get("timeout", 60)
        if not isinstance(timeout, int | float) or isinstance(timeout, bool) or timeout <= 0:
            raise DeckError(path, line, f"`wait:` timeout must be positive seconds: {timeout!r}")
        if "until" in wait and isinstance(wait["until"], str):
            until = wait["until"]
        elif isinstance(wait.get("log"), str) and isinstance(wait.get("container"), str):
            until = (
                f"docker logs {shlex.quote(wait['container'])} 2>&1"
                f" | grep -qE {shlex.quote(wait['log'])}"
            )
        else:
            raise DeckError(path, line, "`wait:` needs `until: COMMAND` or `log:` + `container:`")
        steps.append(Hidden(line, until, until=True, timeout=float(timeout)))
    return tuple(steps)


def _inputs(value: Any, line: int, path: Path) -> tuple[Input, ...]:
    """`input: [line, {secret: NAME}, '{{ secret.NAME }}']`: what to type when it waits."""
    if value is None:
        return ()
    items = value if isinstance(value, list) else [value]
    found = []
    for item in items:
        if (
            isinstance(item, Mapping)
            and set(item) == {"secret"}
            and isinstance(item["secret"], str)
        ):
            found.append(Input(secret=item["secret"]))
        elif isinstance(item, Mapping) and set(item) == {"keys"} and isinstance(item["keys"], str):
            if not item["keys"]:
                raise DeckError(path, line, "`input:` `{keys: ...}` needs at least one key")
            found.append(Input(text=item["keys"], enter=False))
        elif isinstance(item, str | int | float) and not isinstance(item, bool):
            named = SECRET.match(str(item))
            found.append(Input(secret=named.group(1)) if named else Input(text=str(item)))
        else:
            raise DeckError(
                path,
                line,
                f"`input:` items are lines to type, {{keys: KEYS}} (without Enter) or"
                f" {{secret: NAME}}, not {item!r}",
            )
    return tuple(found)


def _layout(data: Mapping[str, Any], line: int, path: Path) -> dict[str, Any]:
    layout: dict[str, Any] = {}
    if "fit" in data:
        if data["fit"] not in ("none", "shrink"):
            raise DeckError(path, line, f"`fit:` must be `shrink` or `none`, not {data['fit']!r}")
        layout["fit"] = data["fit"]
    if "elide" in data:
        value = data["elide"]
        ok = isinstance(value, list) and len(value) == 2
        if not ok or not all(
            isinstance(v, int) and not isinstance(v, bool) and v >= 0 for v in value
        ):
            raise DeckError(path, line, f"`elide:` must be [head, tail] line counts, not {value!r}")
        layout["elide"] = tuple(value)
    return layout


def _expectation(data: Mapping[str, Any], line: int, path: Path) -> Expectation:
    exit_status = data.get("exit", 0)
    if exit_status == "any":
        exit_status = None
    elif not isinstance(exit_status, int) or isinstance(exit_status, bool):
        raise DeckError(path, line, f"`exit:` must be a number or `any`, not {exit_status!r}")
    timeout = data.get("timeout")
    if timeout is not None and (not isinstance(timeout, int | float) or timeout <= 0):
        raise DeckError(
            path, line, f"`timeout:` must be a positive number of seconds, not {timeout!r}"
        )
    return Expectation(
        exit=exit_status,
        exit_given="exit" in data,
        timeout=None if timeout is None else float(timeout),
        shows=_patterns(data, "shows", line, path),
        not_shows=_patterns(data, "not_shows", line, path),
        asserts=strings(data.get("assert"), "assert", line, path),
        line=line,
    )


def _patterns(data: Mapping[str, Any], key: str, line: int, path: Path) -> tuple[str, ...]:
    patterns = strings(data.get(key), key, line, path)
    for pattern in patterns:
        try:
            re.compile(pattern)
        except re.error as error:
            raise DeckError(path, line, f"`{key}:` pattern {pattern!r}: {error}") from error
    return patterns


def strings(value: Any, key: str, line: int, path: Path) -> tuple[str, ...]:
    """A string or a list of strings, as a tuple."""
    if value is None:
        return ()
    items = [value] if isinstance(value, str) else value
    if not isinstance(items, list) or not all(isinstance(item, str) for item in items):
        raise DeckError(path, line, f"`{key}:` must be a string or a list of strings")
    return tuple(items)


def _name(value: Any, line: int, path: Path) -> str:
    if not isinstance(value, str) or not NAME.fullmatch(value) or value in RESERVED:
        raise DeckError(
            path,
            line,
            f"`name:` must be a template name (letters, digits, _), not {value!r}",
            hint=f"these names are taken: {', '.join(sorted(RESERVED))}",
        )
    return value
