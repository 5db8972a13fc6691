"""Secret values hidden in a byte stream, in every form a terminal, a shell or a tool makes of them.

A value is matched character by character: each character may appear as itself or as any of
its renderings (a shell's backslash or quote escapes, `printf %q`'s octal bytes, JSON's `\\u`
escapes, URL percent bytes, HTML entities), and line breaks or terminal escape sequences may
sit between two characters (a program wrapping its output, `base64` at 76 columns, colours).
Base64 has no per-character rendering: its three alignments are matched as text of their own.

`Redactor` works on a stream read in pieces: the end of a piece that may be the start of a
value is held back until the next piece (or until `flush`), so a value split across two reads
is still caught.
"""

from __future__ import annotations

import base64
import html
import json
import re
import shlex
from collections.abc import Iterable
from urllib.parse import quote, quote_plus

REDACTED = "********"
MIN_LENGTH = 8  # shorter values would hide ordinary words

# What may sit between two characters of a value: line breaks, a terminal's escape sequences.
_BREAK = rb"(?:\r?\n|\r|\x1b\[[0-9;?]{0,8}[@-~])"
_GAP = _BREAK + b"{0,2}"
_GAP_MAX = 2 * 12
_PARTIAL_ESCAPE = re.compile(rb"\x1b(?:\[[0-9;?]{0,8})?\Z")
_BREAKS = re.compile(_BREAK)

Unit = tuple[bytes, ...]  # the renderings of one character, longest first


def renderings(char: str) -> Unit:
    """Every way a character of a value may be printed."""
    raw = char.encode()
    found = {raw}
    if char.isascii() and not char.isalnum():
        found.add(b"\\" + raw)  # printf %q, declare -p, $'...', a JSON or Go string
    if char == "'":
        found |= {b"'\"'\"'", b"'\\''", b'"\'"'}  # shlex.quote, bash's xtrace and ${v@Q}
    if not char.isascii():
        found.add(b"".join(b"\\%o" % byte for byte in raw))  # $'...' outside a UTF-8 locale
        found.add(b"".join(b"\\x%02x" % byte for byte in raw))
    escaped = json.dumps(char)[1:-1]  # \" \\ \uXXXX (surrogate pairs for the astral planes)
    found |= {escaped.encode(), escaped.lower().encode(), escaped.upper().encode()}
    found |= {b"\\u%04x" % ord(char), b"\\u%04X" % ord(char)} if ord(char) < 0x10000 else set()
    found.add(b"".join(b"%%%02X" % byte for byte in raw))  # URL encoding
    found.add(b"".join(b"%%%02x" % byte for byte in raw))
    found.add(quote_plus(char).encode())
    found |= {html.escape(char).encode(), b"&#%d;" % ord(char), b"&#x%x;" % ord(char)}
    # A rendering escaped once more: JSON of shell text (`docker inspect` of a command line).
    for text in list(found):
        found.add(json.dumps(text.decode())[1:-1].encode())
        found.add(text.replace(b"\\", b"\\\\"))
    return tuple(sorted(found, key=lambda r: (-len(r), r)))


def base64_runs(value: str) -> tuple[bytes, ...]:
    """The base64 text of the value wherever it sits in the encoded data: for each of the three
    alignments, the characters that depend on the value's bytes alone (standard and URL-safe)."""
    data = value.encode()
    runs = set()
    for offset in range(3):
        encoded = base64.b64encode(bytes(offset) + data + bytes(2))
        first = -(-8 * offset // 6)  # the first character made of the value's bits only
        last = (8 * (offset + len(data))) // 6  # one past the last such character
        run = encoded[first:last]
        runs |= {run, run.replace(b"+", b"-").replace(b"/", b"_")}
    return tuple(sorted(runs))


def forms(value: str) -> tuple[str, ...]:
    """Concrete texts the tools of a lab make of a value (for tests: each must be hidden)."""
    ascii_json = json.dumps(value)[1:-1]
    utf8_json = json.dumps(value, ensure_ascii=False)[1:-1]
    go_json = utf8_json.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")
    dollar = "".join(
        c if c.isascii() and c not in "'\\" else "\\" + c if c.isascii() else _octal(c)
        for c in value
    )
    return tuple(
        dict.fromkeys(
            [
                value,
                shlex.quote(value),
                "'" + value.replace("'", "'\\''") + "'",  # bash's set -x and ${v@Q}
                _printf_q(value),
                '"' + "".join("\\" + c if c in '"\\$`' else c for c in value) + '"',  # declare -p
                "$'" + dollar + "'",  # printf %q and declare -p outside a UTF-8 locale
                ascii_json,
                utf8_json,
                go_json,
                json.dumps(json.dumps(value))[1:-1],
                quote(value, safe=""),
                quote_plus(value),
                html.escape(value),
                *(run.decode() for run in base64_runs(value)),
            ]
        )
    )


def _printf_q(value: str) -> str:
    """bash's `printf %q` in a UTF-8 locale, for values without control characters."""
    out = "".join("\\" + c if c in " '\"\\$`|&;()<>!{}[]*?^," else c for c in value)
    return "\\" + out if value[:1] in "~#" else out  # a word's first ~ or # only


def _octal(char: str) -> str:
    return "".join(f"\\{byte:o}" for byte in char.encode())


class Redactor:
    """Replaces secret values in a stream of bytes read in pieces."""

    def __init__(self, values: Iterable[str]) -> None:
        self.values = tuple(sorted({v for v in values if v}, key=len, reverse=True))
        self._pattern, self._sequences = _compile(self.values)
        self._window = max((_longest(units) for units in self._sequences), default=0)
        self._starters = frozenset(r[0] for units in self._sequences for r in units[0])
        self._held = b""
        self.found = 0  # how many values were hidden so far

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
        text, count = self._pattern.subn(REDACTED.encode(), text)
        self.found += count
        cut = self._hold_from(text)
        self._held = text[cut:]
        return text[:cut]

    def flush(self) -> bytes:
        """Everything held back (the stream paused or ended: no value continues it)."""
        held, self._held = self._held, b""
        return held

    def hide(self, data: bytes) -> bytes:
        """A whole text with its values hidden."""
        return self.feed(data) + self.flush()

    def _hold_from(self, text: bytes) -> int:
        """Where the part of `text` that may begin a value starts (len(text): none)."""
        window_start = max(0, len(text) - self._window)
        window = text[window_start:]
        partial = _PARTIAL_ESCAPE.search(window)
        body = window[: partial.start()] if partial else window
        kept, where = bytearray(), list[int]()  # the window without breaks; where each byte was
        position = 0
        for gap in _BREAKS.finditer(body):
            kept += body[position : gap.start()]
            where.extend(range(position, gap.start()))
            position = gap.end()
        kept += body[position:]
        where.extend(range(position, len(body)))
        squeezed = bytes(kept)
        for index, byte in enumerate(squeezed):
            if byte in self._starters and any(
                _starts(units, 0, squeezed[index:]) for units in self._sequences
            ):
                return window_start + where[index]
        return len(text)


def _starts(units: tuple[Unit, ...], index: int, text: bytes) -> bool:
    """`text` is the beginning of a match of units[index:] (cut anywhere, even inside a
    rendering); breaks are already taken out of it."""
    if not text:
        return True
    if index == len(units):
        return False
    for rendering in units[index]:
        if rendering.startswith(text):
            return True
        if text.startswith(rendering) and _starts(units, index + 1, text[len(rendering) :]):
            return True
    return False


def _compile(
    values: tuple[str, ...],
) -> tuple[re.Pattern[bytes] | None, tuple[tuple[Unit, ...], ...]]:
    """One pattern for every value and form (longest first), and each form's units."""
    sequences = []
    for value in values:
        sequences.append(tuple(renderings(c) for c in value))
        sequences.extend(tuple((bytes([b]),) for b in run) for run in base64_runs(value))
    sequences.sort(key=len, reverse=True)
    if not sequences:
        return None, ()
    alternatives = [
        _GAP.join(b"(?:" + b"|".join(re.escape(r) for r in unit) + b")" for unit in units)
        for units in sequences
    ]
    return re.compile(b"|".join(alternatives)), tuple(sequences)


def _longest(units: tuple[Unit, ...]) -> int:
    return sum(len(unit[0]) for unit in units) + _GAP_MAX * max(len(units) - 1, 0)


def scrub(text: str, values: Iterable[str]) -> str:
    """A text with the values hidden."""
    return Redactor(values).hide(text.encode()).decode("utf-8", errors="replace")
