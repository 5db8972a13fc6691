"""Pieces of a secret that a tool cut off, and its hex digits: what livedeck.redaction adds to
the whole-value forms.

Tools shorten long values: `docker ps` ends a column with `…`, `cut -c1-12` and `head -c` stop
mid-value, `ps` stops at the terminal's edge, others print `...`. A beginning of a value (8
characters or more) right before `…`, `...`, a line break or a terminal escape (the next prompt,
a colour's end), or at the end of the stream, is hidden; so is an ending of a value right after
`…`, `...` or a line's start. Pieces longer than `CAP` characters are hidden by their first (or
last) `CAP` characters and what follows (or precedes) them of the value's characters: patterns
grow with the cap, not with the value.

The redactor hands in the forms tools cut: a value's raw text, its hex digits and its base64
runs (a sequence of units, one character's renderings each). Its quoted, escaped, JSON, URL and
HTML forms are matched whole only: a tool that cuts those is rare, and each scheme more would
double the time to compile the pattern.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

SHORTEST = 8  # the redactor's own minimum: shorter pieces would hide ordinary words
CAP = 64  # longer cut pieces are matched by their CAP characters next to the cut

_ELLIPSIS = "…".encode()
# What may follow a cut beginning; before it, what a cut of bytes (`cut -c`, `head -c`) left of
# a character it split.
_AFTER = rb"(?:[\xc0-\xf7][\x80-\xbf]{0,2})?(?=\xe2\x80\xa6|\.\.\.|[\r\n\x1b])"
_SPLIT_BYTES = 3  # at most what a cut of bytes leaves of a character before an ending
_SPLIT = rb"[\x80-\xbf]{0,%d}" % _SPLIT_BYTES
_PARTIAL_AFTER = (b"\xe2\x80", b"\xe2", b"..", b".")  # a marker split across two reads
_TAILS = frozenset(range(0x80, 0xC0))  # bytes that continue a UTF-8 character
_STARTS = re.compile(rb"\xe2\x80\xa6|\.\.\.|[\r\n]")
_END = b"\n"  # appended at the end of a stream: it ends a cut beginning as a line break does
CONTEXT = 3  # bytes of what was passed on that may hold the marker before an ending

Unit = tuple[bytes, ...]  # the renderings of one character in one scheme, longest first


def hex_digits(char: str) -> Unit:
    """A character as `xxd -p`, `hexdump -e '/1 "%02x"'` or `printf %x` per byte print it."""
    low = char.encode().hex().encode()
    return (low,) if low == low.upper() else (low, low.upper())


class Cuts:
    """The cut pieces of every sequence, and what of a stream's end to hold for them."""

    def __init__(
        self,
        sequences: Sequence[tuple[Unit, ...]],
        pieces: Sequence[Sequence[bytes]],
        gap: bytes,
        replacement: bytes,
    ) -> None:
        """`pieces[i][j]`: the pattern of unit j of sequence i (its renderings, breaks inside)."""
        self._replacement = replacement
        beginnings = [b for units in pieces if (b := _beginning(units, gap))]
        endings = [e for units in pieces if (e := _ending(units, gap))]
        # Beginnings are searched for (they start with a value's first character); endings are
        # tried only where a marker ends, which is cheaper than a look-behind at every byte.
        self._beginnings = re.compile(b"|".join(beginnings)) if beginnings else None
        self._endings = re.compile(b"|".join(endings)) if endings else None
        self._window = max((sum(len(u[0]) for u in s) for s in sequences), default=0) * 3
        # For each sequence, the units an ending may start with, by their renderings' first byte.
        self._ending_units = tuple(by_first(s) for s in sequences if len(s) > SHORTEST)
        self._ending_firsts = _TAILS.union(
            r[0] for s in sequences for unit in s[1 : len(s) - SHORTEST + 1] for r in unit
        )

    def hide(self, before: bytes, text: bytes, upto: int) -> tuple[bytes, int]:
        """`text` with the cut pieces that end by `upto` hidden, and where `upto` moved to
        (it moves back to the start of a piece that runs past it); `before`: what was passed
        on just before `text`."""
        spans = self._spans(before + text, len(before))
        out, last = [], 0
        for start, end in spans:
            start, end = start - len(before), end - len(before)
            if start < last:
                continue  # inside a piece already hidden
            if end > upto:
                upto = min(upto, start)
                break
            out += [text[last:start], self._replacement]
            last = end
        replaced = b"".join(out)
        return replaced + text[last:], upto + len(replaced) - last

    def _spans(self, text: bytes, floor: int) -> list[tuple[int, int]]:
        """Where the cut pieces in text[floor:] are, in order (they may overlap)."""
        found = []
        if self._beginnings is not None:
            found += [m.span() for m in self._beginnings.finditer(text, floor)]
        if self._endings is not None:
            for marker in _STARTS.finditer(text, max(0, floor - CONTEXT)):
                at = marker.end()
                if at < floor or at == len(text) or text[at] not in self._ending_firsts:
                    continue  # most lines start with what no ending starts with
                match = self._endings.match(text, at)
                if match:
                    found.append(match.span())
        return sorted(found, key=lambda span: (span[0], -span[1]))

    def hold_from(self, before: bytes, text: bytes) -> int:
        """Where the part of `text` that may be a cut piece not yet ended starts (len: none);
        `before`: what was passed on just before `text`."""
        floor = max(0, len(text) - self._window)
        for partial in _PARTIAL_AFTER:  # a beginning followed by half an ellipsis
            if text.endswith(partial) and self._beginnings is not None:
                head = text[: len(text) - len(partial)]
                for match in self._beginnings.finditer(head + _END, floor):
                    if match.end() == len(head):
                        return match.start()
                break
        joined = before + text  # the marker before an ending may have been passed on
        for marker in _STARTS.finditer(joined, floor):
            at = marker.end()
            if len(before) <= at < len(joined) and any(
                _ends_here(units, joined, at) for units in self._ending_units
            ):
                return at - len(before)
        return len(text)


def _beginning(units: Sequence[bytes], gap: bytes) -> bytes:
    """A value's first SHORTEST..CAP units (not all of them) before a cut marker; with more
    units than CAP, its first CAP units and then any of its units, wherever they stand."""
    last = min(len(units) - 1, CAP)
    if last < SHORTEST:
        return b""
    chain = b""
    for unit in reversed(units[SHORTEST:last]):
        chain = b"(?:" + gap + unit + chain + b")?"
    pattern = gap.join(units[:SHORTEST]) + chain + _AFTER
    if len(units) - 1 > CAP:
        rest = b"(?:" + gap + b"(?:" + b"|".join(dict.fromkeys(units[CAP:])) + b"))*"
        pattern = gap.join(units[:CAP]) + rest + b"|" + pattern
    return pattern


def _ending(units: Sequence[bytes], gap: bytes) -> bytes:
    """A value's last SHORTEST..CAP units (not all of them) after a cut marker; with more units
    than CAP, any of its units and then its last CAP units."""
    first = max(1, len(units) - CAP)
    if len(units) - first < SHORTEST:
        return b""
    chain = b""
    for unit in units[first : len(units) - SHORTEST]:
        chain = b"(?:" + chain + unit + gap + b")?"
    pattern = _SPLIT + chain + gap.join(units[len(units) - SHORTEST :])
    if first > 1:
        lead = b"(?:(?:" + b"|".join(dict.fromkeys(units[1:first])) + b")" + gap + b")*"
        pattern = _SPLIT + lead + gap.join(units[first:]) + b"|" + pattern
    return pattern


ByFirst = dict[int, tuple[bytes, ...]]


def by_first(units: tuple[Unit, ...]) -> tuple[ByFirst, ...]:
    """Each unit's renderings by their first byte: the only ones worth a look."""
    found = []
    for unit in units:
        firsts: dict[int, list[bytes]] = {}
        for rendering in unit:
            firsts.setdefault(rendering[0], []).append(rendering)
        found.append({first: tuple(r) for first, r in firsts.items()})
    return tuple(found)


def _ends_here(units: tuple[ByFirst, ...], text: bytes, at: int) -> bool:
    """text[at:] is the beginning of one of the value's endings (SHORTEST units or more)."""
    start = at
    while at < len(text) and text[at] in _TAILS and at - start < _SPLIT_BYTES:
        at += 1  # what a cut of bytes left of a character
    if at == len(text):
        return True  # the read ended inside those bytes: the ending may come with the next
    return any(
        _runs_on(units, index, text, at)
        for index in range(max(1, len(units) - CAP), len(units) - SHORTEST + 1)
        if text[at] in units[index]
    )


def _runs_on(units: tuple[ByFirst, ...], index: int, text: bytes, at: int) -> bool:
    """text[at:] is the beginning of a match of units[index:], cut anywhere."""
    while at < len(text):
        if index == len(units):
            return False
        for rendering in units[index].get(text[at], ()):
            if text.startswith(rendering, at):
                at += len(rendering)
                index += 1
                break
            if rendering.startswith(text[at:]):
                return True
        else:
            return False
    return True
