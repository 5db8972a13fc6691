"""What `check` sets aside as run-to-run noise, and nothing else. Pure.

Noise is a short, closed list of kinds: IDs and names the lab chose, digests, dates, ages and
durations, sizes, and the deck's own `volatile:` patterns. Each is found where Docker (or the
program) prints one, never because a word merely looks like one: a 12-digit ID counts when the
lab reported it (its facts, or the full 64-digit ID printed elsewhere in either run), when it sits
in a column whose header names an ID, or where `docker pull` lists layers; a container name
counts when the lab reported it (facts, the NAMES column of `docker ps`), the deck never typed
it and it has the shape of the names Docker makes up (`adjective_surname`). Everything else on a
screen, indentation included, is compared exactly.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from functools import cached_property, lru_cache

from livedeck.model import Deck, Transcript

MONTH = r"(?:Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec)"
DAY = r"(?:Mon|Tue|Wed|Thu|Fri|Sat|Sun)"
AGE = (
    r"(?:Less than a second|About an? (?:minute|hour)|an? (?:minute|hour|day|week|month|year)"
    r"|\d+ (?:second|minute|hour|day|week|month|year)s?)"
)
_HEX64 = re.compile(r"(?<![0-9A-Za-z])[0-9a-f]{64}(?![0-9A-Za-z])")
_HEX12 = re.compile(r"(?<![0-9A-Za-z])[0-9a-f]{12}(?![0-9A-Za-z])")
# Where a line's shape says the token is an ID: `docker pull`'s layer lines.
_LAYER_LINE = re.compile(
    r"^\s*([0-9a-f]{12}): (?:Pull complete|Already exists|Pulling fs layer|Waiting|Download"
    r" complete|Verifying Checksum|Downloading|Extracting|Pushed|Pushing|Layer already exists"
    r"|Preparing|Mounted from .*)"
)
# Kinds found by their own grammar anywhere on a line, in this order (earlier ones win).
RULES: tuple[tuple[str, re.Pattern[str]], ...] = (
    ("digest", re.compile(r"sha256:[0-9a-f]{64}")),
    ("id", _HEX64),
    ("date", re.compile(r"\b\d{4}-\d\d-\d\d[T ]\d\d:\d\d:\d\d(?:\.\d+)?(?:Z|[+-]\d\d:?\d\d)?")),
    ("date", re.compile(rf"\b{DAY} {MONTH} [ \d]\d \d\d:\d\d:\d\d(?: [A-Z]{{2,5}})? \d{{4}}\b")),
    ("date", re.compile(rf"\b{MONTH} [ \d]?\d (?: \d{{4}}|\d\d:\d\d)\b")),
    ("age", re.compile(rf"\b{AGE}(?= ago\b)")),
    ("age", re.compile(rf"(?<=\bUp ){AGE}\b")),
    ("duration", re.compile(r"(?<=\()\d+(?:\.\d+)?(?= sec\))")),  # database clients
    ("duration", re.compile(r"\b\d+m\d+\.\d+s\b")),  # bash's `time`
    ("size", re.compile(r"\b\d+(?:\.\d+)?(?:B|kB|KB|MB|GB|TB|KiB|MiB|GiB|TiB)\b")),
    ("size", re.compile(r"(?<=^total )\d+$")),  # ls -l: blocks in use
    ("id", re.compile(r"(?<=@)[0-9a-f]{12}(?=:)")),  # a container's prompt: its host name
    ("id", re.compile(r"(?<=\bconnection id is )\d+\b|(?<=\bThread ID: )\d+\b")),
    ("id", re.compile(r"(?<=\bConnection id:)\s*\d+\b")),
)
# ls -l: the size column (its date is a date by the rules above).
_LS_LONG = re.compile(r"^[-dlcbps][-rwxsStT]{9}[.+@]? +\d+ +\S+ +\S+ +(\d+) ")
_GAP = re.compile(r"(?<=\S) {2,}(?=\S)")  # columns realign when a value's width changes
_HEADER_ID = re.compile(r"(?:^|(?<=  ))([A-Z]+ ID)(?=  |$)")
_HEADER_NAMES = re.compile(r"(?:^|(?<=  ))NAMES$")
_WORD = re.compile(r"[\w.-]+")
# The names Docker gives a container without --name: adjective_surname, a digit on a clash.
_DOCKER_NAME = re.compile(r"[a-z]+_[a-z]+\d?")
_NAMED_BY_ID = re.compile(r"<id>(?:-[\w.]+)?$")  # `<id>`, `<id>-init`


@dataclass(frozen=True)
class Known:
    """What the lab reported about itself in the runs being compared."""

    ids: frozenset[str] = frozenset()  # full 64-digit IDs (images, layers, containers, dirs)
    names: frozenset[str] = frozenset()  # container names the lab chose (the deck typed none)
    typed: frozenset[str] = frozenset()  # the words the deck's commands and setup wrote

    @cached_property
    def short(self) -> frozenset[str]:
        """The IDs as Docker shortens them (12 digits)."""
        return frozenset(i[:12] for i in self.ids)

    def __or__(self, other: Known) -> Known:
        return Known(self.ids | other.ids, self.names | other.names, self.typed | other.typed)


NOTHING = Known()  # no IDs or names known: only what the rules find by their grammar


@dataclass(frozen=True)
class Span:
    """A stretch of a screen line that is noise of one kind."""

    start: int
    end: int
    kind: str  # id, digest, name, date, age, duration, size, volatile


def known(deck: Deck, transcripts: Iterable[Transcript]) -> Known:
    """The IDs and chosen names the lab reported in these runs (facts, `lab:`, screens)."""
    written = [c.text for c in deck.commands] + list(deck.settings.setup)
    written += [h.text for c in deck.commands for h in c.before]
    typed = {w for text in written for w in _WORD.findall(text)}
    ids: set[str] = set()
    names: set[str] = set()
    for transcript in transcripts:
        ids.update(h for v in transcript.engine.values() for h in _HEX64.findall(str(v)))
        for facts in transcript.facts.values():
            for image in getattr(facts, "images", ()):
                ids.update(_HEX64.findall(" ".join([image.id, *image.digests])))
                for layer in image.layers:
                    ids.update(_HEX64.findall(f"{layer.diff_id} {layer.overlay2_dir or ''}"))
            for container in getattr(facts, "containers", ()):
                ids.update(_HEX64.findall(f"{container.id} {container.rw_dir or ''}"))
                names.add(container.name)
        for result in transcript.results:
            ids.update(h for line in result.screen for h in _HEX64.findall(line))
            names.update(_names_column(result.screen))
    chosen = {n for n in names - typed if _DOCKER_NAME.fullmatch(n)}
    return Known(frozenset(ids), frozenset(chosen), frozenset(typed))


def _names_column(screen: Sequence[str]) -> Iterable[str]:
    """The cells of `docker ps`'s NAMES column."""
    for rows, start in _tables(screen, _HEADER_NAMES):
        for line in (screen[n] for n in rows):
            cell = line[start:].strip()
            if cell and line[start - 1 : start] == " ":
                yield cell


def _tables(screen: Sequence[str], header: re.Pattern[str]) -> Iterable[tuple[list[int], int]]:
    """(the rows under a header line, the column where `header` starts), per table."""
    for n, line in enumerate(screen):
        match = header.search(line)
        if match is None or line != line.upper():  # a header is all capitals
            continue
        rows = []
        for k in range(n + 1, len(screen)):
            row = screen[k]
            if not row.strip() or (row == row.upper() and header.search(row)):
                break
            rows.append(k)
        yield rows, match.start()


def screen_spans(
    screen: Sequence[str], facts: Known, extra: Sequence[str] = ()
) -> list[list[Span]]:
    """Per line of a screen, its noise spans (sorted, not overlapping)."""
    placed: list[list[Span]] = [[] for _ in screen]
    for rows, start in _tables(screen, _HEADER_ID):
        for n in rows:
            match = _HEX12.match(screen[n], start)
            if match:
                placed[n].append(Span(start, match.end(), "id"))
    for n, line in enumerate(screen):
        placed[n] = line_spans(line, facts, extra, placed[n])
    return placed


def line_spans(
    line: str, facts: Known = NOTHING, extra: Sequence[str] = (), found: Sequence[Span] = ()
) -> list[Span]:
    """A line's noise spans; `found` holds spans already known from the screen around it."""
    return list(_line_spans(line, facts, tuple(extra), tuple(found)))


@lru_cache(maxsize=1 << 16)  # a screen compared again differs from its record in a few lines
def _line_spans(
    line: str, facts: Known, extra: tuple[str, ...], found: tuple[Span, ...]
) -> tuple[Span, ...]:
    spans = list(found)

    def add(start: int, end: int, kind: str) -> None:
        if end > start and not any(s.start < end and start < s.end for s in spans):
            spans.append(Span(start, end, kind))

    for pattern in extra:
        for match in re.finditer(pattern, line):
            add(match.start(), match.end(), "volatile")
    for kind, rule in RULES:
        for match in rule.finditer(line):
            add(match.start(), match.end(), kind)
    ls = _LS_LONG.match(line)
    if ls:
        add(ls.start(1), ls.end(1), "size")
    layer = _LAYER_LINE.match(line)
    if layer:
        add(layer.start(1), layer.end(1), "id")
    short = facts.short if _HEX12.search(line) else frozenset()
    for match in _HEX12.finditer(line):
        if match.group() in short:
            add(match.start(), match.end(), "id")
    if line.strip() and _HEX12.fullmatch(line.strip()) and re.search("[a-f]", line):
        add(line.index(line.strip()), len(line.rstrip()), "id")  # `docker ps -q`, `docker rm`
    for match in _WORD.finditer(line):
        if match.group() in facts.names:
            add(match.start(), match.end(), "name")
    return tuple(sorted(spans, key=lambda s: s.start))


def apply(line: str, spans: Sequence[Span]) -> str:
    """The line with each span replaced by `<kind>`, column gaps as one, trailing blanks off."""
    out, at = [], 0
    for span in spans:
        out.append(line[at : span.start])
        out.append(f"<{span.kind}>")
        at = span.end
    out.append(line[at:])
    return _GAP.sub("  ", "".join(out)).rstrip()


def normalise_screen(
    screen: Sequence[str], facts: Known = NOTHING, extra: Sequence[str] = ()
) -> list[str]:
    """Every line of a screen with its noise replaced by placeholders."""
    spans = screen_spans(screen, facts, extra)
    return [apply(line, s) for line, s in zip(screen, spans, strict=True)]


def named_by_id(line: str) -> bool:
    """A normalised line that ends in an ID: a file or folder named by one (`ls` of layers)."""
    return _NAMED_BY_ID.search(line) is not None


def in_any_order(lines: Sequence[str]) -> list[str]:
    """The normalised lines, each run of consecutive lines named by an ID sorted: such a
    listing is sorted by the names, which are random, so their order is noise too."""
    out: list[str] = []
    run: list[str] = []
    for line in [*lines, None]:
        if line is not None and named_by_id(line):
            run.append(line)
            continue
        out.extend(sorted(run))
        run = []
        if line is not None:
            out.append(line)
    return out
