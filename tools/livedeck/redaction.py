"""Secret values hidden in a byte stream, in every form a terminal, a shell or a tool makes of them.

A value is matched character by character in each of a few schemes: in one, a character may
appear as itself or as its renderings there (a shell's backslash or quote escapes, `printf %q`'s
octal bytes, JSON's `\\u` escapes, URL percent bytes, HTML entities), and line breaks or
terminal escape sequences may sit between any two bytes (a program wrapping its output,
`base64` at 76 columns, colours). The patterns are matched in the text as it came and in the
text with its breaks taken out (a value holds none: deck/secrets.py refuses control
characters), so they need no gap between each two bytes, which made compiling them cost
seconds for a value of a few hundred characters.
Base64 has no per-character rendering: its three alignments are matched as text of their own.
Hex digits are a scheme. The schemes are livedeck.redaction_forms's; what tools cut short
(`…`, `cut -c`) is livedeck.redaction_cuts's.

`Redactor` works on a stream read in pieces: the end of a piece that may be the start of a
value is held back until the next piece (or until `flush`), so a value split across two reads
is still caught.
"""

from __future__ import annotations

import re
from bisect import bisect_right
from collections.abc import Iterable
from functools import lru_cache

from livedeck.redaction_cuts import CONTEXT, ByFirst, Cuts, Unit, by_first, hex_digits
from livedeck.redaction_forms import SCHEMES, base64_runs, plain

REDACTED = "********"
MIN_LENGTH = 8  # shorter values would hide ordinary words

# What may sit between two characters of a value: line breaks, a terminal's escape sequences.
# One way only to read a run of breaks (\r\n is one, never \r then \n): a pattern that fails
# does not try every other reading of each line end (exponential on a wrapped key).
_BREAK = rb"(?:\r?\n|\r(?!\n)|\x1b\[[0-9;?]{0,8}[@-~])"
_GAP = _BREAK + b"{0,2}"
_PARTIAL_ESCAPE = re.compile(rb"\x1b(?:\[[0-9;?]{0,8})?\Z")
_BREAKS = re.compile(_BREAK)


class Redactor:
    """Replaces secret values in a stream of bytes read in pieces."""

    def __init__(self, values: Iterable[str]) -> None:
        self.values = tuple(sorted({v for v in values if v}, key=len, reverse=True))
        self._pattern, self._sequences, self._cuts = _compile(self.values)
        self._longest = max((sum(len(u[0]) for u in units) for units in self._sequences), default=0)
        self._window = self._longest * 3  # the same, with breaks (wraps, colours) in between
        self._indexed = tuple(by_first(units) for units in self._sequences)
        self._starters = frozenset(r[0] for units in self._sequences for r in units[0])
        alphabet = frozenset(
            b"\r\n\x1b[;?0123456789" + bytes(range(0x40, 0x7F))  # what breaks are made of
        ).union(b for units in self._sequences for unit in units for r in unit for b in r)
        self._outside = re.compile(b"[^" + b"".join(re.escape(bytes([b])) for b in alphabet) + b"]")
        self._held = b""
        self._before = b"\n"  # what was passed on last: a stream starts at a line's start

    @property
    def holding(self) -> bool:
        """Bytes wait for the next piece: they may start a value."""
        return bool(self._held)

    def feed(self, data: bytes) -> bytes:
        """The bytes that can be passed on now, values hidden; the rest is held back."""
        text = self._held + data
        if self._pattern is None:
            self._held = b""
            return text
        text = _replaced(text, self._whole(text), REDACTED.encode())
        text, cut = self._cuts.hide(
            self._before, text, min(self._hold_from(text), self._cuts.hold_from(self._before, text))
        )
        self._held = text[cut:]
        return self._passed(text[:cut])

    def flush(self) -> bytes:
        """Everything held back (the stream paused or ended: no value continues it)."""
        held, self._held = self._held, b""
        if not held:
            return held
        ended, _ = self._cuts.hide(self._before, held + b"\n", len(held) + 1)  # a cut at the end
        return self._passed(ended[:-1])

    def _passed(self, data: bytes) -> bytes:
        self._before = (self._before + data)[-CONTEXT:]
        return data

    def hide(self, data: bytes) -> bytes:
        """A whole text with its values hidden."""
        return self.feed(data) + self.flush()

    def _whole(self, text: bytes) -> list[tuple[int, int]]:
        """Where whole forms of the values are in text, breaks between their bytes or not."""
        assert self._pattern is not None
        squeezed = _Squeezed(text)
        if squeezed.text is text:
            return [m.span() for m in self._pattern.finditer(text)]
        # Taking out an escape sequence may take a value's first bytes with it (`printf '\e['`
        # before a value starting `1m`): such a value is matched in the text as it came.
        literal = self._pattern.finditer(text) if b"\x1b" in text else ()
        spans = [m.span() for m in literal]
        return spans + [squeezed.span(m.span()) for m in self._pattern.finditer(squeezed.text)]

    def _hold_from(self, text: bytes) -> int:
        """Where the part of `text` that may begin a value starts (len(text): none)."""
        # Only the run of bytes a value's forms (or a break) are made of can be its start.
        floor = max(0, len(text) - self._window)
        outside = self._outside.search(text[floor:][::-1])
        start = len(text) - outside.start() if outside else floor
        region = text[start:]
        partial = _PARTIAL_ESCAPE.search(region)
        body = region[: partial.start()] if partial else region
        squeezed = _Squeezed(body)
        bare = squeezed.text
        # A value's beginning is no longer than its longest form.
        for index in range(max(0, len(bare) - self._longest), len(bare)):
            if bare[index] in self._starters and any(
                _starts(units, bare, index) for units in self._indexed
            ):
                return start + squeezed.at(index)
        return len(text)


class _Squeezed:
    """A text without its breaks, and where each of its bytes is in the text."""

    def __init__(self, text: bytes) -> None:
        kept, self._starts, self._origins = [], [], []  # each kept run: where in both texts
        last = length = 0
        for gap in _BREAKS.finditer(text):
            if gap.start() > last:
                kept.append(text[last : gap.start()])
                self._starts.append(length)
                self._origins.append(last)
                length += gap.start() - last
            last = gap.end()
        if not kept and last == 0:
            self.text = text  # no break: the same object, one run
            self._starts, self._origins = [0], [0]
            return
        kept.append(text[last:])
        self._starts.append(length)
        self._origins.append(last)
        self.text = b"".join(kept)

    def span(self, span: tuple[int, int]) -> tuple[int, int]:
        """Where a span of the squeezed text (not empty) is in the text, breaks inside it."""
        start, end = span
        return self.at(start), self.at(end - 1) + 1

    def at(self, index: int) -> int:
        """Where the byte at `index` of the squeezed text is in the text."""
        run = bisect_right(self._starts, index) - 1
        return self._origins[run] + index - self._starts[run]


def _replaced(text: bytes, spans: list[tuple[int, int]], replacement: bytes) -> bytes:
    """text with each run of overlapping spans replaced once."""
    out, last = [], 0
    for start, end in sorted(spans, key=lambda span: (span[0], -span[1])):
        if start < last:
            if end > last:  # overlaps the span just replaced: that replacement covers it too
                last = end
            continue
        out += [text[last:start], replacement]
        last = end
    return b"".join(out) + text[last:] if out else text


def _starts(units: tuple[ByFirst, ...], text: bytes, at: int) -> bool:
    """text[at:] is the beginning of a match of the units (cut anywhere, even inside a
    rendering); breaks are already taken out of it. Depth first, without recursion: a value
    may have thousands of units."""
    todo, seen = [(0, at)], set()
    while todo:
        index, at = todo.pop()
        if at == len(text):
            return True
        if index == len(units) or (index, at) in seen:
            continue
        seen.add((index, at))
        for rendering in units[index].get(text[at], ()):
            if text.startswith(rendering, at):
                todo.append((index + 1, at + len(rendering)))
            elif rendering.startswith(text[at:]):
                return True
    return False


@lru_cache(maxsize=64)  # one pattern per set of values: every shell and message shares it
def _compile(
    values: tuple[str, ...],
) -> tuple[re.Pattern[bytes] | None, tuple[tuple[Unit, ...], ...], Cuts]:
    """One pattern for every value and form (longest first), each form's units, their cuts."""
    sequences: list[tuple[Unit, ...]] = []
    cut: list[tuple[Unit, ...]] = []  # the forms tools cut short: raw text, hex, base64
    for value in values:
        runs: list[tuple[Unit, ...]] = [tuple((bytes([b]),) for b in r) for r in base64_runs(value)]
        cut += [tuple(scheme(c) for c in value) for scheme in (plain, hex_digits)] + runs
        sequences.extend(tuple(scheme(c) for c in value) for scheme in SCHEMES)
        sequences.extend(runs)
    sequences = sorted(dict.fromkeys(sequences), key=len, reverse=True)  # schemes may agree
    cuts = Cuts(cut, [_pieces(units) for units in cut], _GAP, REDACTED.encode())
    if not sequences:
        return None, (), cuts
    alternatives = [b"".join(map(_exact, units)) for units in sequences]
    return re.compile(b"|".join(alternatives)), tuple(sequences), cuts


def _exact(unit: Unit) -> bytes:
    """A unit's pattern for a text without breaks."""
    return b"(?:" + b"|".join(map(re.escape, unit)) + b")"


def _pieces(units: tuple[Unit, ...]) -> list[bytes]:
    return [b"(?:" + b"|".join(map(_spread, unit)) + b")" for unit in units]


def _spread(rendering: bytes) -> bytes:
    """A rendering as a pattern that also matches it broken between two of its characters."""
    return _GAP.join(re.escape(c.encode()) for c in rendering.decode())


def scrub(text: str, values: Iterable[str]) -> str:
    """A text with the values hidden."""
    return Redactor(values).hide(text.encode()).decode("utf-8", errors="replace")
