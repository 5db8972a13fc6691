"""Terminal emulation: the bytes a command printed -> the screen a person sees (pyte)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import pyte
from wcwidth import wcwidth

# Past this many bytes a command's output is not emulated any further (pyte does ~0.6 MB/s).
MAX_BYTES = 4 * 1024 * 1024
# A virtual screen this tall keeps everything a command prints; nothing scrolls away.
VIRTUAL_LINES = 2000


class Terminal:
    """A virtual terminal `columns` wide that keeps every line written to it."""

    def __init__(self, columns: int, lines: int = VIRTUAL_LINES) -> None:
        self._screen = pyte.Screen(columns, lines)
        self._stream = pyte.ByteStream(self._screen)
        self.fed = 0
        self.truncated = False

    def feed(self, data: bytes) -> None:
        """Emulate `data` as written to the terminal (past MAX_BYTES it is dropped)."""
        room = MAX_BYTES - self.fed
        if room <= 0:
            self.truncated = True
            return
        if len(data) > room:
            data = data[:room]
            self.truncated = True
        self.fed += len(data)
        self._stream.feed(data)

    def lines(self) -> tuple[str, ...]:
        """The screen's lines up to the last one written, without trailing spaces."""
        # Only rows that were written to exist in pyte's buffer: rendering just those keeps
        # this cheap on a 2000-line virtual screen (Screen.display renders every row).
        buffer = self._screen.buffer
        cursor_y = self._screen.cursor.y
        last = max([cursor_y, *(y for y, row in buffer.items() if row)])
        shown = [_row_text(buffer[y], self._screen.columns).rstrip() for y in range(last + 1)]
        while shown and not shown[-1] and len(shown) - 1 >= cursor_y:
            shown.pop()  # blank rows at the end, down to the one the cursor waits on
        if self.truncated:
            shown.append(f"[livedeck: output cut after {self.fed:,} bytes]")
        return tuple(shown)

    def cursor_line(self) -> str:
        """The text on the cursor's line, up to the cursor: where a program's prompt shows."""
        cursor = self._screen.cursor
        row = self._screen.buffer[cursor.y]
        return "".join(row[x].data for x in range(cursor.x))


def _row_text(row: Mapping[int, Any], columns: int) -> str:
    """One row as pyte's Screen.display shows it: a wide character hides the cell after it."""
    chars = []
    skip = False
    for x in range(min(columns, max(row, default=-1) + 1)):
        if skip:
            skip = False
            continue
        char = row[x].data
        skip = wcwidth(char[0]) == 2 if char else False
        chars.append(char)
    return "".join(chars)


def render_bytes(data: bytes, columns: int) -> tuple[str, ...]:
    """The final screen for a whole recorded byte stream."""
    terminal = Terminal(columns)
    terminal.feed(data)
    return terminal.lines()
