"""The record: one run of a deck as diff-friendly YAML, committed beside the deck.

`livedeck build` writes it, `livedeck build --offline` renders from it, `livedeck check`
compares a new run with it. Reading and writing text is pure; only the two file helpers touch disk.
"""

from __future__ import annotations

import io
import os
import re
import tempfile
from pathlib import Path
from typing import Any

from ruamel.yaml import YAML
from ruamel.yaml.error import MarkedYAMLError, YAMLError
from ruamel.yaml.scalarstring import LiteralScalarString

from livedeck import __version__
from livedeck import facts as lab_facts
from livedeck.deck.recordfields import FORMAT, check_fields, facts_position, line_of
from livedeck.deck.runswith import runs_with
from livedeck.errors import OutputError, RecordError
from livedeck.model import Command, Deck, Result, Transcript
from livedeck.paths import contained, course_root

HEADER = """\
# livedeck record of {deck}: what each command showed in one run on a lab.
# Written by `livedeck build` and `livedeck check --update`; commit it beside the deck.
# A build keeps it as it is while a new run tells the same story (IDs, ages and dates aside).
# `livedeck build --offline` renders the deck from it; `livedeck check` compares a new run with it.
"""


def record_path(deck_path: Path) -> Path:
    """Where a deck's record lives: `slides/x.md` -> `slides/x.record.yaml`."""
    return deck_path.with_suffix(".record.yaml")


def dump(deck: Deck, transcript: Transcript) -> str:
    """The record of a run, as YAML text."""
    commands = []
    for result in transcript.results:
        entry: dict[str, Any] = {"line": result.command.line, "command": result.command.text}
        if result.typed and result.typed != result.command.text:
            entry["typed"] = result.typed
        if result.prompt is not None:
            entry["prompt"] = result.prompt
        if result.cwd and not result.command.prompt:  # a `run` block's prompt shows it
            entry["cwd"] = result.cwd
        if result.bare:  # by their place after the command: deck lines move when it is edited
            places = {c.line: n for n, c in enumerate(_bare_after(deck, result.command), 1)}
            entry["bare"] = {places[line]: prompt for line, prompt in result.bare}
        entry["exit"] = result.status  # no duration: it differs on every run
        entry["screen"] = screen_text(result.screen)
        commands.append(entry)
    data: dict[str, Any] = {
        "format": FORMAT,
        "livedeck": __version__,
        "deck": deck.path.name,
        "lab": dict(transcript.engine),
        "runs_with": runs_with(deck),
        "commands": commands,
    }
    if transcript.facts:
        data["facts"] = {
            f"after {n} commands": lab_facts.to_data(f) for n, f in sorted(transcript.facts.items())
        }
    out = io.StringIO()
    out.write(HEADER.format(deck=deck.path.name))
    _yaml().dump(data, out)
    return out.getvalue()


def _parse(text: str, deck: Deck, path: Path, lines: bool = False) -> Any:
    """The record's YAML as data; with `lines`, as round-trip data that knows each field's line
    (slower: only read so when a field is wrong)."""
    try:
        return YAML(typ="rt" if lines else "safe", pure=True).load(text)
    except MarkedYAMLError as error:
        mark = error.problem_mark or error.context_mark
        # YAML may find the problem at the end of the text, past the record's last line.
        line = min(1 + (mark.line if mark is not None else 0), max(text.count("\n"), 1))
        raise RecordError(
            path,
            line,
            f"the record is not valid YAML: {error.problem}",
            hint=_rebuild(deck),
        ) from error
    except YAMLError as error:
        raise RecordError(
            path, 1, f"the record is not valid YAML: {error}", hint=_rebuild(deck)
        ) from error


def load(text: str, deck: Deck, path: Path) -> Transcript:
    """The transcript a record holds, checked against the deck it claims to record."""
    data = _parse(text, deck, path)
    try:
        check_fields(data, path, _rebuild(deck))
    except RecordError:
        check_fields(_parse(text, deck, path, lines=True), path, _rebuild(deck))
        raise
    runnable = [c for c in deck.commands if c.runnable]
    entries = data["commands"]
    for command, entry in zip(runnable, entries, strict=False):
        if not isinstance(entry, dict) or entry.get("command") != command.text:
            had = entry.get("command") if isinstance(entry, dict) else entry
            raise RecordError(
                deck.path,
                command.line,
                f"the record {path.name} is from another version of the deck: here the deck runs"
                f" {command.text!r}, the record has {had!r}",
                hint=_rebuild(deck),
            )
    if len(entries) != len(runnable):
        # The first command the record lacks, or the deck's last; none left: where its body starts.
        at = runnable[min(len(entries), len(runnable) - 1)].line if runnable else deck.body_line
        raise RecordError(
            deck.path,
            at,
            f"the record {path.name} has {len(entries)} commands, the deck {len(runnable)}",
            hint=_rebuild(deck),
        )
    made_with = data.get("runs_with")  # older records do not say: they fit while commands do
    if made_with is not None and made_with != runs_with(deck):
        raise RecordError(
            deck.path,
            _livedeck_line(deck),
            f"the record {path.name} was made with another setup: livedeck's setup:, files:,"
            " packages:, images:, secrets:, user/host/size, or a command's before:/input:"
            " changed since",
            hint=_rebuild(deck),
        )
    results = tuple(
        _result(command, entry, data["format"], deck)
        for command, entry in zip(runnable, entries, strict=True)
    )
    facts = {}
    for key, value in (data.get("facts") or {}).items():
        try:
            facts[facts_position(key)] = lab_facts.from_data(value)
        except (KeyError, TypeError, ValueError, AttributeError) as error:
            raise RecordError(
                path,
                line_of(_parse(text, deck, path, lines=True)["facts"], key),
                f"the lab facts `{key}:` are damaged ({error!r})",
                hint=_rebuild(deck),
            ) from error
    lab = {str(k): str(v) for k, v in (data.get("lab") or {}).items()}
    return Transcript(deck.path, results, facts, lab)


def _rebuild(deck: Deck) -> str:
    """The hint of every record error: how to record the deck again."""
    return (
        f"record it again: `livedeck check --update {deck.path}` (or `livedeck build {deck.path}`)"
    )


def _livedeck_line(deck: Deck) -> int:
    """The line of the front matter's `livedeck:` key (or the deck's first)."""
    lines = deck.text.split("\n")[: deck.body_line - 1]
    return next((n for n, t in enumerate(lines, 1) if t.startswith("livedeck:")), 1)


def _bare_after(deck: Deck, command: Command) -> list[Command]:
    """The bare prompt lines between `command` and the deck's next command that runs."""
    following = []
    for other in deck.commands[deck.commands.index(command) + 1 :]:
        if other.runnable:
            break
        following.append(other)
    return following


def _result(command: Any, entry: dict[str, Any], version: int, deck: Deck) -> Result:
    """A command's result from its entry, whose fields recordfields checked."""
    following = _bare_after(deck, command)
    bare = entry.get("bare") or {}
    if any(int(n) > len(following) for n in bare):
        raise RecordError(
            deck.path,
            command.line,
            f"the record {record_path(deck.path).name} has more bare prompts after this command"
            f" than the deck ({len(following)})",
            hint=_rebuild(deck),
        )
    prompt = entry.get("prompt")
    return Result(
        command=command,
        screen=screen_lines(str(entry.get("screen") or ""), version),
        status=entry["exit"],
        duration=0.0,  # older records hold `seconds:`: run-to-run noise, ignored
        prompt=None if prompt is None else str(prompt),
        typed=str(entry.get("typed", "")),
        cwd=str(entry.get("cwd", "")),
        bare=tuple((following[int(n) - 1].line, str(p)) for n, p in bare.items()),
    )


def screen_text(lines: tuple[str, ...]) -> str:
    """A screen as record text: each line ends with a newline (a literal block in YAML where
    YAML allows one: readable and diff-friendly)."""
    text = "".join(line + "\n" for line in lines)
    return LiteralScalarString(text) if _LITERAL_SAFE.fullmatch(text) and text else text


def screen_lines(text: str, version: int = FORMAT) -> tuple[str, ...]:
    """The screen a record's text holds (format 1 joined lines without a last newline)."""
    if not text:
        return ()
    if version == 1:
        return tuple(text.split("\n"))
    return tuple(text.split("\n")[:-1]) if text.endswith("\n") else tuple(text.split("\n"))


# Characters a YAML literal block can hold as they are; others make the text a quoted scalar.
_LITERAL_SAFE = re.compile(r"[^\x00-\x08\x0b-\x1f\x7f-\x9f\u2028\u2029\ufeff\ud800-\udfff]*")


def read(deck: Deck) -> Transcript:
    """Load the record beside a deck; DeckError if it is missing or does not fit."""
    path = contained(course_root(deck.path), record_path(deck.path).name, "record", deck=deck.path)
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        raise RecordError(
            deck.path,
            1,
            f"no record {path.name} beside the deck",
            hint=_rebuild(deck),
        ) from None
    except OSError as error:
        raise RecordError(
            deck.path,
            1,
            f"cannot read its record {path}: {error.strerror}",
            hint="make it a readable file, or " + _rebuild(deck),
        ) from None
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as error:
        line = data.count(b"\n", 0, error.start) + 1
        raise RecordError(
            path,
            line,
            f"the record is damaged: byte {data[error.start]:#04x} is not UTF-8",
            hint=_rebuild(deck),
        ) from None
    return load(text, deck, path)


def write(deck: Deck, transcript: Transcript) -> Path:
    """Write the record beside the deck atomically (temporary file, then rename)."""
    path = record_path(deck.path)
    text = dump(deck, transcript)
    temporary = ""
    try:
        handle, temporary = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
        with os.fdopen(handle, "w", encoding="utf-8") as out:
            out.write(text)
        os.replace(temporary, path)
    except BaseException as error:
        if temporary:
            Path(temporary).unlink(missing_ok=True)
        if isinstance(error, OSError):  # a full disk, a read-only folder
            raise OutputError(
                f"could not write the record {path}: {error.strerror}",
                hint=f"free space on its file system or make {path.parent} writable;"
                " the previous record was left as it was",
            ) from error
        raise
    return path


def _yaml() -> YAML:
    yaml = YAML()
    yaml.default_flow_style = False
    yaml.width = 4096  # never fold a long line of a screen
    yaml.indent(mapping=2, sequence=2, offset=0)
    return yaml
