"""Terminal emulation: the bytes a command printed -> the screen a person sees (pyte).

A Terminal is a real terminal's screen (`rows` high) plus the scrollback a person can scroll
through: every line that left the top of the screen is kept, so a program that redraws in
place (progress bars, `docker pull`) shows its final screen and a long output keeps all its
lines. Plain text that scrolls through the bottom row skips pyte (plain.py): emulating is then
linear in the output's size, tens of MB/s, up to the cut at MAX_BYTES.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Mapping
from typing import Any

import pyte
from pyte import modes
from pyte.charsets import LAT1_MAP
from wcwidth import wcwidth

from livedeck.run.plain import PlainScroll, Row, row_text

# Past this many bytes a command's output is not emulated any further; lines() says so.
MAX_BYTES = 4 * 1024 * 1024
# A lab's terminal height (LabSpec.rows).
ROWS = 50

# Colors and other character attributes (SGR): they change no text on the screen.
_SGR = re.compile("\x1b\\[[0-9;]*m")
# What only pyte can draw: escape sequences other than SGR, control characters other than
# \t, \n and \r.
_CONTROL = re.compile(f"(?!{_SGR.pattern})[\x00-\x08\x0b-\x0c\x0e-\x1f\x7f-\x9f]")


class Terminal:
    """A terminal `columns` wide and `rows` high that keeps every line scrolled off its top."""

    def __init__(self, columns: int, rows: int = ROWS, *, fast: bool = True) -> None:
        # fast=False draws everything in pyte: the reference the fast path is tested against.
        self.columns = columns
        self.rows = rows
        self._screen = _Screen(columns, rows)
        self._stream = pyte.ByteStream(self._screen)
        self._fast = fast
        # Plain text shorter than this stays in pyte: moving the screen out and back costs
        # about as much as pyte drawing an eighth of its cells.
        self._worth = rows * columns // 8 + 1
        self._plain: PlainScroll | None = None  # set while plain text scrolls past pyte
        self.fed = 0  # bytes emulated
        self.printed = 0  # bytes the command printed, emulated or not
        self.truncated = False

    def feed(self, data: bytes) -> None:
        """Emulate `data` as written to the terminal (past MAX_BYTES it is only counted)."""
        self.printed += len(data)
        room = MAX_BYTES - self.fed
        if room <= 0:
            self.truncated = True
            return
        if len(data) > room:
            data = data[:room]
            self.truncated = True
        self.fed += len(data)
        # Decoded as pyte.ByteStream.feed does (a character split between chunks waits).
        stream = self._stream
        text = stream.utf8_decoder.decode(data) if stream.use_utf8 else data.decode("latin-1")
        self._write(text)

    @property
    def cut(self) -> str | None:
        """The note that ends lines() when the output was cut, or None."""
        if not self.truncated:
            return None
        return f"[livedeck: output cut after {self.fed:,} bytes; {self.printed:,} bytes printed]"

    def lines(self) -> tuple[str, ...]:
        """The scrollback and the screen up to the last line written, without trailing spaces."""
        self._leave_plain()
        screen = self._screen
        buffer = screen.buffer
        cursor_y = screen.cursor.y
        last = max([cursor_y, *(y for y, row in buffer.items() if row)])
        shown = [*screen.scrollback]
        shown.extend(_pyte_row_text(buffer.get(y), self.columns) for y in range(last + 1))
        cursor_at = len(screen.scrollback) + cursor_y
        while shown and not shown[-1] and len(shown) - 1 >= cursor_at:
            shown.pop()  # blank rows at the end, down to the one the cursor waits on
        if self.cut:
            shown.append(self.cut)
        return tuple(shown)

    def cursor_line(self) -> str:
        """The text on the cursor's line, up to the cursor: where a program's prompt shows."""
        self._leave_plain()
        cursor = self._screen.cursor
        row = self._screen.buffer[cursor.y]
        return "".join(row[x].data for x in range(cursor.x))

    def _write(self, text: str) -> None:
        """Plain text that would scroll through the bottom row goes to PlainScroll, the rest
        to pyte, in order."""
        end_of_text = len(text)
        done = 0  # text[:done] has been drawn
        at = 0
        while at < end_of_text:
            control = _CONTROL.search(text, at)
            end = control.start() if control else end_of_text
            if self._plain is not None:
                plain = text[at:end]
                self._plain.write(_SGR.sub("", plain) if "\x1b" in plain else plain)
                if control:
                    self._leave_plain()
                done = at = end
                continue
            if not (self._fast and end - at >= self._worth):
                at = end + 1 if control else end  # stays with pyte, control character too
                continue
            self._pyte(text[done:at])
            at = self._enter_plain(text, at, end)
            done = at
        self._pyte(text[done:])

    def _pyte(self, text: str) -> None:
        if text:
            pyte.Stream.feed(self._stream, text)

    def _enter_plain(self, text: str, at: int, end: int) -> int:
        """Hand the plain text text[at:end] to PlainScroll if the terminal is in the state it
        draws for; return how far the text was drawn."""
        screen = self._screen
        # Inside an escape sequence the text is still the sequence's: finish it in pyte.
        for _ in range(64):
            if self._stream._taking_plain_text or at == end:
                break
            self._pyte(text[at])
            at += 1
        if not (self._stream._taking_plain_text and self._plain_state()):
            self._pyte(text[at:end])
            return end
        # In plain text each line feed moves the cursor one row down, until the bottom row.
        for _ in range(self.rows - 1 - screen.cursor.y):
            found = text.find("\n", at, end)
            if found < 0:
                break
            self._pyte(text[at : found + 1])
            at = found + 1
        if screen.cursor.y != self.rows - 1:  # too few lines to reach it: pyte draws them
            self._pyte(text[at:end])
            return end
        rows = [_cells(screen.buffer.get(y), self.columns) for y in range(self.rows)]
        screen.buffer.clear()
        self._plain = PlainScroll(
            self.columns,
            rows[:-1],
            rows[-1],
            screen.cursor.x,
            sorted(screen.tabstops),
            screen.scrollback,
        )
        return at

    def _plain_state(self) -> bool:
        """Is the terminal in the modes PlainScroll draws in?"""
        screen = self._screen
        return (
            screen.primary is None  # the alternate screen keeps no scrollback
            and screen.margins in (None, (0, self.rows - 1))
            and modes.DECAWM in screen.mode
            and modes.IRM not in screen.mode
            and modes.LNM not in screen.mode
            and (screen.g1_charset if screen.charset else screen.g0_charset) == LAT1_MAP
        )

    def _leave_plain(self) -> None:
        """Put the rows PlainScroll drew back into pyte's screen."""
        plain = self._plain
        if plain is None:
            return
        self._plain = None
        screen = self._screen
        blank = screen.default_char
        for y, row in enumerate([*plain.above, plain.row]):
            line = screen.buffer[y]
            for x, cell in enumerate(row):
                if cell != " ":
                    line[x] = blank._replace(data=cell)
        screen.cursor.x = plain.x


# xterm's alternate screen (`tput smcup`, less, vim, top): 1049 saves the cursor and clears the
# alternate screen on entering, 1047 clears it on leaving, 47 only switches.
_ALTERNATE = (1049, 1047, 47)


class _Screen(pyte.Screen):
    """pyte's screen with a scrollback and xterm's alternate screen, drawing wide characters and
    zero-width ones as xterm."""

    def __init__(self, columns: int, rows: int) -> None:
        self.scrollback: list[str] = []  # lines that left the top of the screen, as text
        self.primary: Any = None  # the primary screen's rows while the alternate one shows
        super().__init__(columns, rows)

    def set_mode(self, *modes: int, **kwargs: Any) -> None:
        """SM; entering the alternate screen keeps the primary one for when it is left."""
        wanted = [m for m in modes if kwargs.get("private") and m in _ALTERNATE]
        if wanted and self.primary is None:
            if 1049 in wanted:
                self.save_cursor()
            self.primary = self.buffer
            self.buffer = self._blank()
            self.dirty.update(range(self.lines))
        super().set_mode(*modes, **kwargs)

    def reset_mode(self, *modes: int, **kwargs: Any) -> None:
        """RM; leaving the alternate screen shows the primary one again, as it was."""
        wanted = [m for m in modes if kwargs.get("private") and m in _ALTERNATE]
        if wanted and self.primary is not None:
            self.buffer, self.primary = self.primary, None
            self.dirty.update(range(self.lines))
            if 1049 in wanted:
                self.restore_cursor()
        super().reset_mode(*modes, **kwargs)

    def reset(self) -> None:
        """RIS (`ESC c`): also back to the primary screen, erased."""
        self.primary = None
        super().reset()

    def _blank(self) -> Any:
        """An empty screen buffer like pyte's own."""
        buffer: Any = self.buffer  # a defaultdict; pyte types it as a plain dict
        return type(buffer)(buffer.default_factory)

    def index(self) -> None:
        """A line feed; at the bottom, the top line goes to the scrollback (as in xterm, only
        from a scroll region that starts at the top, and never from the alternate screen)."""
        top, bottom = self.margins or (0, self.lines - 1)
        if self.cursor.y == bottom and top == 0 and self.primary is None:
            self.scrollback.append(_pyte_row_text(self.buffer.get(0), self.columns))
        super().index()

    def delete_lines(self, count: int | None = None) -> None:
        """DL: the lines below the cursor move up. pyte 0.8 keeps a line whose replacement was
        never written to (a blank row it has not stored); here it goes blank, as on a terminal."""
        count = count or 1
        top, bottom = self.margins or (0, self.lines - 1)
        if top <= self.cursor.y <= bottom:
            self.dirty.update(range(self.cursor.y, self.lines))
            for y in range(self.cursor.y, bottom + 1):
                if y + count <= bottom and y + count in self.buffer:
                    self.buffer[y] = self.buffer.pop(y + count)
                else:
                    self.buffer.pop(y, None)
            self.carriage_return()

    def erase_in_display(self, how: int = 0, *args: Any, **kwargs: Any) -> None:
        """ED; `ESC [ 3 J` (which `clear` sends) erases the scrollback only, as in xterm."""
        if how == 3:
            self.scrollback.clear()
        else:
            super().erase_in_display(how, *args, **kwargs)

    def draw(self, data: str) -> None:
        """pyte's Screen.draw, but a wide character that does not fit in the last column wraps
        (pyte leaves half of it there), a combining mark never wraps, and an unprintable or
        zero-width character shows nothing (pyte drops the rest of `data`)."""
        data = data.translate(self.g1_charset if self.charset else self.g0_charset)
        cursor = self.cursor
        columns = self.columns
        for char in data:
            width = wcwidth(char)
            if width == 0 and unicodedata.combining(char):
                self._combine(char)
                continue
            if width <= 0:
                continue
            if modes.DECAWM in self.mode:
                if cursor.x == columns or (width == 2 and cursor.x == columns - 1 > 0):
                    self.dirty.add(cursor.y)
                    self.carriage_return()
                    self.linefeed()
            elif cursor.x == columns:
                cursor.x -= width
            if modes.IRM in self.mode:
                self.insert_characters(width)
            line = self.buffer[cursor.y]
            line[cursor.x] = cursor.attrs._replace(data=char)
            if width == 2 and cursor.x + 1 < columns:
                line[cursor.x + 1] = cursor.attrs._replace(data="")
            cursor.x = min(cursor.x + width, columns)
        self.dirty.add(cursor.y)

    def _combine(self, char: str) -> None:
        """A combining mark joins the character before the cursor (on the line above at x=0)."""
        cursor = self.cursor
        if cursor.x:
            line, x = self.buffer[cursor.y], cursor.x - 1
        elif cursor.y:
            line, x = self.buffer[cursor.y - 1], self.columns - 1
        else:
            return
        line[x] = line[x]._replace(data=unicodedata.normalize("NFC", line[x].data + char))


def _cells(row: Mapping[int, Any] | None, columns: int) -> Row:
    """A pyte row as PlainScroll's row."""
    if not row:
        return ""
    return [row[x].data for x in range(columns)]


def _pyte_row_text(row: Mapping[int, Any] | None, columns: int) -> str:
    if not row:
        return ""
    return row_text([row[x].data for x in range(min(columns, max(row) + 1))])


def render_bytes(data: bytes, columns: int, rows: int = ROWS) -> tuple[str, ...]:
    """The final screen for a whole recorded byte stream."""
    terminal = Terminal(columns, rows)
    terminal.feed(data)
    return terminal.lines()
