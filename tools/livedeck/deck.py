"""The deck stage: Marp Markdown -> `Deck` (front matter, slides, transcript blocks). Pure."""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, fields, replace
from pathlib import Path
from typing import Any

from ruamel.yaml import YAML
from ruamel.yaml.error import MarkedYAMLError, YAMLError

from livedeck import directives
from livedeck.errors import DeckError
from livedeck.images.sources import parse_source
from livedeck.model import Block, Command, Deck, Settings, Slide

# user@host:path$ command  (or # for root). The bare prompt may lack its trailing space.
DEFAULT_PROMPT = r"(?P<user>[A-Za-z_][\w.-]*)@(?P<host>[\w.-]+):(?P<path>[^\s$#]*)[$#]"
FENCE = re.compile(r"^( {0,3})(`{3,}|~{3,})(.*)$")
DIRECTIVE = re.compile(r"^\s*<!--\s*livedeck:(?P<body>.*?)(?P<close>-->)?\s*$")
FITS = ("none", "shrink")
RUN_WORD = "run"  # ```bash run: a block of bare commands


def load_deck(path: Path) -> Deck:
    """Read and parse a deck file."""
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as error:
        raise DeckError(path, 1, f"cannot read the deck: {error}") from error
    return parse_deck(text, path)


def parse_deck(text: str, path: Path) -> Deck:
    """Parse a Marp deck held in `text`; `path` only names it in errors and outputs."""
    lines = text.split("\n")
    front, body_start = _front_matter(lines, path)
    settings = _settings(front.get("livedeck"), path, lines)
    prompt = _compile_prompt(settings.prompt, path, lines)
    slides, blocks, found, verbatim = _scan(lines, body_start, prompt, path)
    blocks = _fill_source_form(blocks, settings)
    return Deck(
        path=path,
        text=text,
        front_matter=front,
        settings=settings,
        slides=slides,
        blocks=blocks,
        directive_lines=frozenset(found),
        verbatim=tuple(verbatim),
        body_line=body_start + 1,
    )


def _fill_source_form(blocks: tuple[Block, ...], settings: Settings) -> tuple[Block, ...]:
    """Commands of `run` blocks run as the deck's user on its host: the first prompt's."""
    prompted = next((c for b in blocks if not b.source_form for c in b.commands), None)
    user = settings.user or (prompted.user if prompted else "ubuntu")
    host = settings.host or (prompted.host if prompted else "lab")
    return tuple(
        replace(b, commands=tuple(replace(c, user=user, host=host) for c in b.commands))
        if b.source_form
        else b
        for b in blocks
    )


def _front_matter(lines: list[str], path: Path) -> tuple[dict[str, Any], int]:
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


def _settings(raw: Any, path: Path, lines: Sequence[str]) -> Settings:
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
                _key_line(lines, key),
                directives.unknown_key_message(f"livedeck key {key!r}", key, list(known)),
            )
        values[known[key].name] = _coerce(key, value, known[key].type, path, lines)
    return Settings(**values)


def _coerce(key: str, value: Any, kind: Any, path: Path, lines: Sequence[str]) -> Any:
    wanted = str(kind)
    if "float" in wanted and isinstance(value, int | float) and not isinstance(value, bool):
        if value <= 0:
            raise DeckError(path, _key_line(lines, key), f"livedeck.{key} must be positive")
        return float(value)
    if wanted == "int" and isinstance(value, int) and not isinstance(value, bool):
        if value < 20:
            raise DeckError(path, _key_line(lines, key), f"livedeck.{key} must be at least 20")
        return value
    if "tuple[int" in wanted:
        if isinstance(value, list) and len(value) == 2 and all(_count(v) for v in value):
            return tuple(value)
        raise DeckError(path, _key_line(lines, key), f"livedeck.{key} must be [head, tail] lines")
    if key == "fit" and value not in FITS:
        raise DeckError(path, _key_line(lines, key), f"livedeck.fit must be one of {FITS}")
    if key == "images":
        try:
            parse_source(str(value))
        except ValueError as error:
            raise DeckError(path, _key_line(lines, key), f"livedeck.{error}") from error
    if "tuple" in wanted:
        items = [value] if isinstance(value, str) else value
        if isinstance(items, list) and all(isinstance(item, str) for item in items):
            return tuple(items)
    elif "str" in wanted and isinstance(value, str):
        return value
    raise DeckError(path, _key_line(lines, key), f"livedeck.{key} has the wrong type ({value!r})")


def _count(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and value >= 0


def _key_line(lines: Sequence[str], key: str) -> int:
    """The deck line of a front-matter key (errors point at it), else the front matter's first."""
    for number, line in enumerate(lines, 1):
        if line.strip() == "---" and number > 1:
            break
        if re.match(rf"\s*{re.escape(str(key))}\s*:", line):
            return number
    return 2


def _compile_prompt(pattern: str, path: Path, lines: Sequence[str]) -> re.Pattern[str]:
    try:
        compiled = re.compile(pattern)
    except re.error as error:
        raise DeckError(path, _key_line(lines, "prompt"), f"livedeck.prompt: {error}") from error
    missing = {"user", "host"} - set(compiled.groupindex)
    if missing:
        raise DeckError(
            path,
            _key_line(lines, "prompt"),
            f"livedeck.prompt needs the named groups {sorted(missing)}",
            hint=r"for example (?P<user>\w+)@(?P<host>[\w.-]+):(?P<path>\S*)[$#]",
        )
    return re.compile(rf"^(?P<prompt>{pattern})(?: (?P<command>.*)|\s*)$")


@dataclass
class _Pending:
    """Directives read since the last block, waiting for the next one."""

    items: list[directives.Directive]


def _scan(
    lines: list[str], start: int, prompt: re.Pattern[str], path: Path
) -> tuple[tuple[Slide, ...], tuple[Block, ...], list[int], list[tuple[int, int]]]:
    slides: list[Slide] = []
    blocks: list[Block] = []
    directive_lines: list[int] = []
    verbatim: list[tuple[int, int]] = []
    pending = _Pending([])
    slide_start = start
    i = start
    while i < len(lines):
        line = lines[i]
        fence = FENCE.match(line)
        if fence:
            close = _closing_fence(lines, i, fence.group(2))
            if close is None:
                raise DeckError(path, i + 1, "code block opened here is never closed")
            block = _block(lines, i, close, prompt, path, pending)
            if block is not None:
                blocks.append(block)
            else:
                verbatim.append((i + 1, close + 1))
            pending = _Pending([])
            i = close + 1
            continue
        directive = DIRECTIVE.match(line)
        if directive:
            i = _directive(lines, i, directive, path, pending, directive_lines)
            continue
        if line.rstrip() == "---":
            slides.append(Slide(len(slides) + 1, slide_start + 1, i))
            slide_start = i + 1
        i += 1
    slides.append(Slide(len(slides) + 1, slide_start + 1, len(lines)))
    return tuple(slides), tuple(blocks), directive_lines, verbatim


def _closing_fence(lines: list[str], opening: int, marker: str) -> int | None:
    for j in range(opening + 1, len(lines)):
        stripped = lines[j].strip()
        if stripped.startswith(marker[0] * len(marker)) and set(stripped) == {marker[0]}:
            return j
    return None


def _directive(
    lines: list[str],
    i: int,
    match: re.Match[str],
    path: Path,
    pending: _Pending,
    directive_lines: list[int],
) -> int:
    """Read a `<!-- livedeck: {...} -->` comment (one or more lines); return the next index."""
    body = [match.group("body")]
    end = i
    if not match.group("close"):
        end = next((j for j in range(i + 1, len(lines)) if "-->" in lines[j]), -1)
        if end < 0:
            raise DeckError(path, i + 1, "`<!-- livedeck:` comment is never closed with `-->`")
        body.extend(lines[i + 1 : end])
        body.append(lines[end].split("-->")[0])
    directive_lines.extend(range(i + 1, end + 2))
    yaml = YAML(typ="safe", pure=True)
    try:
        data = yaml.load("\n".join(body))
    except YAMLError as error:
        raise DeckError(path, i + 1, f"livedeck directive is not valid YAML: {error}") from error
    if not isinstance(data, dict):
        raise DeckError(
            path, i + 1, "a livedeck directive is a mapping, e.g. `<!-- livedeck: {exit: 2} -->`"
        )
    directives.check_keys(data, i + 1, path)
    pending.items.append((i + 1, data))
    return end + 1


def _block(
    lines: list[str],
    opening: int,
    close: int,
    prompt: re.Pattern[str],
    path: Path,
    pending: _Pending,
) -> Block | None:
    body = lines[opening + 1 : close]
    info = FENCE.match(lines[opening])
    if info is not None and RUN_WORD in info.group(3).split()[1:]:
        commands = _source_form(body, opening, path)
        commands = directives.apply(commands, pending.items, path)
        return Block(opening + 1, close + 1, (), tuple(commands), source_form=True)
    starts = [k for k, text in enumerate(body) if prompt.match(text)]
    if not starts:
        if pending.items:
            raise DeckError(
                path,
                pending.items[0][0],
                "livedeck directive is not followed by a transcript block",
            )
        return None
    commands = []
    k = starts[0]
    while k < len(body):
        match = prompt.match(body[k])
        assert match is not None
        line_no = opening + 2 + k
        text_lines, k = _command_lines(body, k, match.group("command") or "")
        output_start = k
        while k < len(body) and not prompt.match(body[k]):
            k += 1
        commands.append(
            Command(
                line=line_no,
                prompt=match.group("prompt") + (" " if match.group("command") is not None else ""),
                text="\n".join(text_lines),
                user=match.group("user"),
                host=match.group("host"),
                output=tuple(body[output_start:k]),
            )
        )
    commands = directives.apply(commands, pending.items, path)
    return Block(opening + 1, close + 1, tuple(body[: starts[0]]), tuple(commands))


def _command_lines(body: list[str], k: int, first: str) -> tuple[list[str], int]:
    """The lines of the command starting at body[k] (a trailing `\\` continues it)."""
    text_lines = [first]
    k += 1
    while text_lines[-1].endswith("\\") and k < len(body):
        text_lines.append(body[k])
        k += 1
    return text_lines, k


def _source_form(body: list[str], opening: int, path: Path) -> list[Command]:
    """A ```` ```bash run ```` block: each line a command, prompts and screens added on build."""
    commands = []
    k = 0
    while k < len(body):
        if not body[k].strip():
            k += 1
            continue
        line_no = opening + 2 + k
        text_lines, k = _command_lines(body, k, body[k])
        commands.append(Command(line_no, "", "\n".join(text_lines), "", "", ()))
    if not commands:
        raise DeckError(path, opening + 1, "a `run` block holds no command")
    return commands
