"""The check stage: a new run against the record, with what changes on every run set aside. Pure."""

from __future__ import annotations

import difflib
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from livedeck.check.noise import (
    NOTHING,
    Known,
    apply,
    in_any_order,
    known,
    line_spans,
    normalise_screen,
)
from livedeck.check.order import by_time, swapped_in_ticks
from livedeck.errors import DeckError
from livedeck.fences import code_span
from livedeck.model import Deck, Result, Transcript
from livedeck.render.context import context_at
from livedeck.render.template import evaluate


def normalise(line: str, extra: Sequence[str] = (), facts: Known = NOTHING) -> str:
    """A screen line with run-to-run noise replaced by placeholders (livedeck.noise)."""
    return apply(line, line_spans(line, facts, extra))


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
    facts = known(deck, (recorded, fresh))
    changes = []
    for old, new in zip(recorded.results, fresh.results, strict=True):
        change = compare_result(old, new, extra, facts)
        if change is not None:
            changes.append(change)
    return changes


def compare_result(
    old: Result, new: Result, extra: Sequence[str] = (), facts: Known = NOTHING
) -> Change | None:
    """One command's new result against its record: None when only noise differs."""
    command = old.command
    summary = []
    if old.status != new.status:
        summary.append(f"exit status {old.status} -> {new.status}")
    # What the slide shows around the screen: a program's prompt, the directory of a `run`
    # block's prompt (a written prompt shows its own, and the record keeps none), the real
    # prompts of bare prompt lines (a container's prompt holds its ID).
    around = [
        ("prompt", old.prompt or "", new.prompt or ""),
        ("prompt of a bare line", repr(old.bare), repr(new.bare)),
    ]
    if not command.prompt:
        around.append(("directory", old.cwd, new.cwd))
    for what, was, now in around:
        if normalise(was, extra, facts) != normalise(now, extra, facts):
            summary.append(f"{what} {was!r} -> {now!r}")
    before = normalise_screen(old.screen, facts, extra)
    after = normalise_screen(new.screen, facts, extra)
    # Lines equal after normalising may swap places, and so may neighbours named by IDs, and
    # neighbours of an `ls -t` listing that show one time (check/order.py).
    if in_any_order(before) != in_any_order(after):
        if sorted(before) != sorted(after):
            summary.extend(_counts(before, after))
        elif not (
            by_time(command.text)
            and swapped_in_ticks((old.screen, before), (new.screen, after), facts.typed)
        ):
            summary.append("lines in another order")
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
