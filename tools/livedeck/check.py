"""The check stage: a new run against the record, with what changes on every run set aside. Pure."""

from __future__ import annotations

import difflib
import re
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from livedeck.context import context_at
from livedeck.errors import DeckError
from livedeck.fences import code_span
from livedeck.model import Deck, Result, Transcript
from livedeck.template import evaluate

MONTH = r"(?:Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec)"
AGE = (
    r"(?:Less than a second|About an? (?:minute|hour)|an? (?:minute|hour|day|week|month|year)"
    r"|\d+ (?:second|minute|hour|day|week|month|year)s?)"
)
# Docker output that differs on every run although nothing in the story changed. Order matters.
RULES: tuple[tuple[re.Pattern[str], str], ...] = (
    (re.compile(r"sha256:[0-9a-f]{64}"), "sha256:<digest>"),
    (re.compile(r"\b[0-9a-f]{64}\b"), "<id>"),
    (re.compile(r"\b[0-9a-f]{12}\b"), "<id>"),
    (re.compile(r"\b\d{4}-\d\d-\d\d[T ]\d\d:\d\d:\d\d(?:\.\d+)?(?:Z|[+-]\d\d:?\d\d)?"), "<time>"),
    (re.compile(rf"\b{MONTH}\s+\d{{1,2}}\s+(?:\d\d:\d\d|\d{{4}})\b"), "<date>"),
    (re.compile(rf"\b{AGE}\b"), "<age>"),
    (re.compile(r"\b\d+(?:\.\d+)?(?:B|kB|MB|GB|TB)\b"), "<size>"),
    # ls -l: link count and size are bookkeeping of the file system, not the lesson
    (
        re.compile(r"^([-dlcbps][-rwxsStT]{9}[.+@]?)\s+\d+\s+(\S+)\s+(\S+)\s+\d+\s+"),
        r"\1 <n> \2 \3 <n> ",
    ),
    (re.compile(r"^total \d+$"), "total <n>"),
    # database clients: how long a query took, which connection this is
    (re.compile(r"\(\d+(?:\.\d+)? sec\)"), "(<n> sec)"),
    (re.compile(r"\b(connection id is|Thread ID:|Connection id:)\s*\d+"), r"\1 <n>"),
    (re.compile(r"\b[a-z]+_[a-z]+$"), "<name>"),  # docker's random container names (NAMES)
    (re.compile(r"\s+"), " "),  # columns realign when a value's width changes
)


def normalise(line: str, extra: Sequence[str] = ()) -> str:
    """A screen line with run-to-run noise replaced by placeholders."""
    for pattern in extra:
        line = re.sub(pattern, "<volatile>", line)
    for rule, replacement in RULES:
        line = rule.sub(replacement, line)
    return line.strip()


@dataclass(frozen=True)
class Change:
    """One command whose new run tells a different story than the record."""

    line: int
    command: str
    summary: str
    diff: tuple[str, ...]


def compare(deck: Deck, recorded: Transcript, fresh: Transcript) -> list[Change]:
    """The commands whose exit status or meaningful screen lines changed."""
    extra = deck.settings.volatile
    changes = []
    for old, new in zip(recorded.results, fresh.results, strict=True):
        change = _compare(old, new, extra)
        if change is not None:
            changes.append(change)
    return changes


def _compare(old: Result, new: Result, extra: Sequence[str]) -> Change | None:
    command = old.command
    summary = []
    if old.status != new.status:
        summary.append(f"exit status {old.status} -> {new.status}")
    before = [normalise(line, extra) for line in old.screen]
    after = [normalise(line, extra) for line in new.screen]
    if before != after:  # lines equal after normalising may swap places; no others
        moved = sorted(before) == sorted(after)
        summary.extend(["lines in another order"] if moved else _counts(before, after))
    if not summary:
        return None
    diff = tuple(_diff(old.screen, new.screen, before, after))
    return Change(command.line, command.text, "; ".join(summary), diff)


def _counts(before: list[str], after: list[str]) -> list[str]:
    """`<id>: Pull complete`: 7 -> 6: the shapes of lines that appear more or fewer times."""
    old, new = Counter(before), Counter(after)
    found = [
        f"{code_span(shape)}: {old[shape]} -> {new[shape]} lines"
        for shape in sorted(old.keys() | new.keys())
        if old[shape] != new[shape]
    ]
    return found or ["lines changed"]


def _diff(old: Sequence[str], new: Sequence[str], before: list[str], after: list[str]) -> list[str]:
    """A unified-style diff of the real lines, decided on their normalised forms."""
    out: list[str] = []
    matcher = difflib.SequenceMatcher(a=before, b=after, autojunk=False)
    for tag, i1, i2, j1, j2 in matcher.get_opcodes():
        if tag == "equal":
            continue
        out.extend(f"- {line}" for line in old[i1:i2])
        out.extend(f"+ {line}" for line in new[j1:j2])
    return out


def report(deck: Path, changes: Sequence[Change]) -> str:
    """The changes as `deck:line` paragraphs with their diffs."""
    paragraphs = []
    for change in changes:
        head = f"{deck}:{change.line}: $ {change.command}\n  {change.summary}"
        paragraphs.append("\n".join([head, *(f"    {line}" for line in change.diff)]))
    return "\n".join(paragraphs)


def check_asserts(deck: Deck, transcript: Transcript) -> None:
    """Evaluate the deck's assertions on its transcript; DeckError names the first false one."""
    for n, result in enumerate(transcript.results):
        command = result.command
        for expression in command.expect.asserts:
            _assert(deck, transcript, n + 1, expression, command.expect.line)
    for expression in deck.settings.asserts:
        _assert(deck, transcript, len(transcript.results), expression, _front_matter_line(deck))


def _assert(deck: Deck, transcript: Transcript, position: int, expression: str, line: int) -> None:
    context = context_at(deck, transcript, position)
    if evaluate(expression, context, deck.path, line) is not True:
        raise DeckError(
            deck.path,
            line,
            f"assertion failed: {expression}",
            hint="the deck's story no longer holds for this run; look at the screens it names",
        )


def _front_matter_line(deck: Deck) -> int:
    for number, text in enumerate(deck.text.split("\n"), 1):
        if text.strip().startswith("assert"):
            return number
    return 1
