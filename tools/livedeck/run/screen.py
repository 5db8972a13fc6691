"""Terminal emulation: the bytes a command printed -> the screen a person sees (pyte)."""

from __future__ import annotations

import pyte

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
        display = [line.rstrip() for line in self._screen.display]
        last = max(self._screen.cursor.y, _last_nonblank(display))
        shown = display[: last + 1]
        if shown and not shown[-1] and self._screen.cursor.y == last:
            shown.pop()  # the empty line the cursor waits on after a final newline
        if self.truncated:
            shown.append(f"[livedeck: output cut after {self.fed:,} bytes]")
        return tuple(shown)

    def cursor_line(self) -> str:
        """The text on the cursor's line, up to the cursor: where a program's prompt shows."""
        cursor = self._screen.cursor
        row = self._screen.buffer[cursor.y]
        return "".join(row[x].data for x in range(cursor.x))


def _last_nonblank(lines: list[str]) -> int:
    for index in range(len(lines) - 1, -1, -1):
        if lines[index]:
            return index
    return -1


def render_bytes(data: bytes, columns: int) -> tuple[str, ...]:
    """The final screen for a whole recorded byte stream."""
    terminal = Terminal(columns)
    terminal.feed(data)
    return terminal.lines()
