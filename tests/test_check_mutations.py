"""`check` misses no real change: every recorded screen in the project, mutated one token at a time.

The records are the ones committed in slides/ and tests/ (found, not listed). Each mutation
changes one thing a person would see - a word, a number, a line, its indentation, the order of
two lines, the exit status - and `check` must report it, unless the changed token lies inside a
stretch `livedeck.noise` calls noise. Those stretches are themselves checked against the closed
list of noise kinds the README gives, so the exemption cannot grow silently.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, replace
from pathlib import Path

import pytest

from livedeck.check import compare, compare_result, normalise
from livedeck.check.noise import (
    Known,
    Span,
    known,
    line_spans,
    named_by_id,
    normalise_screen,
    screen_spans,
)
from livedeck.deck import load_deck, parse_deck, record
from livedeck.model import Deck, Result, Transcript

ROOT = Path(__file__).resolve().parent.parent
RECORDS = sorted(
    p for folder in (ROOT / "slides", ROOT / "tests") for p in folder.rglob("*.record*.yaml")
)
# What each kind of noise may look like: the README's list, as whole-token grammars.
KINDS = {
    "digest": re.compile(r"sha256:[0-9a-f]{64}"),
    "id": re.compile(r"[0-9a-f]{12}|[0-9a-f]{64}|\d+"),
    "date": re.compile(r"[\w:. +-]*\d\d:\d\d[\w:. +-]*|\w{3} [ \d]?\d  \d{4}"),
    "age": re.compile(r"Less than a second|About an? (minute|hour)|an? \w+|\d+ \w+?s?"),
    "duration": re.compile(r"\d+(\.\d+)?|\d+m\d+\.\d+s"),
    "size": re.compile(r"\d+(\.\d+)?([kKMGT]i?)?B?"),
}


@dataclass(frozen=True)
class Mutation:
    what: str
    screen: tuple[str, ...]
    status: int | None
    noise: bool  # the change touches only noise: check may call it the same story
    prompt: str | None = None  # a program's prompt shown before the command, changed


def deck_of(path: Path) -> Deck:
    name = re.sub(r"\.record(-\d+)?\.yaml$", ".md", path.name)
    return load_deck(path.with_name(name))


def _other(token: str) -> str:
    """Another word or number in place of `token`."""
    if token.isdigit():
        return str(int(token) + 1)
    return token[:-1] + ("y" if token[-1] != "y" else "z")


# The time an `ls -l` line shows (the tests' own reading: month, day, then time or year).
_LS_TIME = re.compile(r"^[-dl][-rwxsStT]{9}.* (\w{3} [ \d]\d (?: \d{4}|\d\d:\d\d)) \S")


def _shown(line: str) -> str | None:
    found = _LS_TIME.match(line)
    return found.group(1) if found else None


def mutations(
    result: Result, spans: list[list[Span]], lines: list[str], facts: Known
) -> Iterator[Mutation]:
    screen = result.screen
    time_sorted = re.search(r"\bls -\w*t", result.command.text) is not None
    yield Mutation("exit status", screen, 1 if result.status == 0 else 0, False)
    prompt = result.prompt or ""
    prompt_noise = line_spans(prompt, facts)
    for token in re.finditer(r"[^\W\d_]+|\d+", prompt):
        a, b = token.span()
        noise = any(s.start < b and a < s.end for s in prompt_noise)
        changed = prompt[:a] + _other(token.group()) + prompt[b:]
        yield Mutation(f"prompt {prompt!r}", screen, result.status, noise, changed)
    for n, line in enumerate(screen):

        def at(new: str, n: int = n) -> tuple[str, ...]:
            return (*screen[:n], new, *screen[n + 1 :])

        for token in re.finditer(r"[^\W\d_]+|\d+", line):
            a, b = token.span()
            noise = any(s.start < b and a < s.end for s in spans[n])
            text, new = token.group(), _other(token.group())
            yield Mutation(
                f"token {text!r} of line {n + 1}",
                at(line[:a] + new + line[b:]),
                result.status,
                noise,
            )
        if line.strip():
            yield Mutation(f"indent line {n + 1}", at("  " + line), result.status, False)
            if line.startswith(" "):
                yield Mutation(f"dedent line {n + 1}", at(line[1:]), result.status, False)
        yield Mutation(f"drop line {n + 1}", (*screen[:n], *screen[n + 1 :]), result.status, False)
        yield Mutation(
            f"repeat line {n + 1}", (*screen[: n + 1], line, *screen[n + 1 :]), result.status, False
        )
        yield Mutation(f"replace line {n + 1}", at("a line of another story"), result.status, False)
        if n + 1 < len(screen) and lines[n] != lines[n + 1]:
            swapped = (*screen[:n], screen[n + 1], line, *screen[n + 2 :])
            by_ids = named_by_id(lines[n]) and named_by_id(lines[n + 1])
            # ls -t breaks ties in time by name: neighbours showing one time may swap.
            tick = (
                time_sorted and _shown(line) is not None and _shown(line) == _shown(screen[n + 1])
            )
            yield Mutation(
                f"swap lines {n + 1} and {n + 2}", swapped, result.status, by_ids or tick
            )
        if n + 2 < len(screen) and lines[n] not in lines[n + 1 : n + 3]:
            # Two places down: no tie in time moves a line that far, but for the folder listed
            # (`.`, touched with every entry) among lines of its time.
            three = screen[n : n + 3]
            moved = (*screen[:n], screen[n + 1], screen[n + 2], line, *screen[n + 3 :])
            by_ids = all(named_by_id(x) for x in lines[n : n + 3])
            folder = (
                time_sorted
                and any(x.split()[-1:] == ["."] for x in three)
                and len({_shown(x) for x in three}) == 1
                and _shown(line) is not None
            )
            yield Mutation(f"move line {n + 1} two down", moved, result.status, by_ids or folder)


@pytest.mark.parametrize("path", RECORDS, ids=lambda p: str(p.relative_to(ROOT)))
def test_every_real_change_to_a_recorded_screen_is_reported(path: Path) -> None:
    deck = deck_of(path)
    transcript = record.load(path.read_text(encoding="utf-8"), deck, path)
    facts = known(deck, [transcript])
    extra = deck.settings.volatile
    missed, counted = [], Counter[str]()
    for result in transcript.results:
        spans = screen_spans(result.screen, facts, extra)
        lines = normalise_screen(result.screen, facts, extra)
        for mutation in mutations(result, spans, lines, facts):
            new = replace(result, screen=mutation.screen, status=mutation.status)
            if mutation.prompt is not None:
                new = replace(new, prompt=mutation.prompt)
            seen = facts | known(deck, [Transcript(deck.path, (new,))])
            reported = compare_result(result, new, extra, seen) is not None
            counted["noise" if mutation.noise else "real"] += 1
            if not reported and not mutation.noise:
                missed.append(
                    f"line {result.command.line} ({result.command.text}): {mutation.what}"
                )
    assert missed == [], f"{len(missed)} real changes missed: " + "; ".join(missed[:10])
    assert counted["real"] > 10 * len(transcript.results)  # the mutations really ran


@pytest.mark.parametrize("path", RECORDS, ids=lambda p: str(p.relative_to(ROOT)))
def test_what_is_called_noise_is_only_the_listed_kinds(path: Path) -> None:
    deck = deck_of(path)
    transcript = record.load(path.read_text(encoding="utf-8"), deck, path)
    facts = known(deck, [transcript])
    typed = {w for c in deck.commands for w in re.findall(r"[\w.-]+", c.text)}
    for result in transcript.results:
        for line, spans in zip(result.screen, screen_spans(result.screen, facts), strict=True):
            for span in spans:
                text = line[span.start : span.end]
                if span.kind == "name":
                    assert text in facts.names and text not in typed, text
                else:
                    assert KINDS[span.kind].fullmatch(text), (span.kind, text, line)


def test_docker_noise_is_normalised() -> None:
    header = "CONTAINER ID   IMAGE     COMMAND                  CREATED              STATUS              PORTS     NAMES"
    row = '237e34821eea   nginx     "/docker-entrypoint.…"   About a minute ago   Up About a minute   80/tcp    ecstatic_visvesvaraya'
    assert normalise_screen((header, row), Known())[1] == (
        '<id>  nginx  "/docker-entrypoint.…"  <age> ago  Up <age>  80/tcp  ecstatic_visvesvaraya'
    )
    lab = Known(names=frozenset({"ecstatic_visvesvaraya"}))  # the lab said it is a container
    assert normalise_screen((header, row), lab)[1].endswith("80/tcp  <name>")
    assert normalise(
        "drwx--x---  4 root root  4096 Jun 17 06:01 5dc378c99eedd46fc3aca29e771c7a044b91ac71f4ebff2da0be8260da057350"
    ) == ("drwx--x---  4 root root  <size> <date> <id>")
    assert normalise("Digest: sha256:" + "a" * 64) == "Digest: <digest>"
    assert normalise("build 42 took 3s", extra=[r"\d+s"]) == "build 42 took <volatile>"


def test_a_name_the_deck_typed_is_the_story() -> None:
    deck = parse_deck("```bash\n$ docker run -d --name db nginx\n```\n", Path("d.md"))
    header = "CONTAINER ID   NAMES"
    screens = [(header, "0123456789ab   db"), (header, "0123456789ab   busy_bassi")]
    seen = known(
        deck, [Transcript(deck.path, (Result(deck.commands[0], s, 0, 0.0),)) for s in screens][0:1]
    )
    assert seen.names == frozenset()
    both = known(
        deck, [Transcript(deck.path, (Result(deck.commands[0], s, 0, 0.0),)) for s in screens]
    )
    assert both.names == {"busy_bassi"}


@pytest.mark.parametrize("path", RECORDS, ids=lambda p: str(p.relative_to(ROOT)))
def test_a_run_is_the_same_story_as_its_own_record(path: Path) -> None:
    """What a run holds and its record drops (a written prompt's directory) is no change."""
    deck = deck_of(path)
    recorded = record.load(path.read_text(encoding="utf-8"), deck, path)
    run = replace(recorded, results=tuple(replace(r, cwd="~/x") for r in recorded.results))
    assert compare(deck, record.load(record.dump(deck, run), deck, path), run) == []
