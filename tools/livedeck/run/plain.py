"""Plain text scrolling through the bottom row of a terminal: the fast path of screen.py.

Most of a long output is lines of plain text (no escape sequences) that scroll off the top of
the screen. Emulating them character by character in pyte costs about 1 s per MB; here whole
lines are cut into rows at the terminal's width and go to the scrollback in bulk. This module
draws exactly as screen.py's pyte screen does (tests/test_screen.py compares the two on
generated streams): wide characters take two cells and wrap when only one is left, tabs stop at
the screen's tab stops, combining marks join the cell before them, other zero-width and
unprintable characters show nothing.
"""

from __future__ import annotations

import re
import unicodedata
from bisect import bisect_right
from collections import deque
from collections.abc import Sequence

from wcwidth import wcwidth

# A screen row: printable ASCII (one cell per character, blank cells after its end), or cells.
# A cell holds what is drawn in it: " " when blank, "" when a wide character to its left covers it.
Row = str | list[str]

_CR_OR_TAB = re.compile(r"([\r\t])")


def row_text(cells: Sequence[str]) -> str:
    """One row as a person reads it, trailing blanks removed: a wide character hides its stub."""
    if isinstance(cells, str):
        return cells.rstrip()
    chars = []
    skip = False
    for cell in cells:
        if skip:
            skip = False
            continue
        skip = wcwidth(cell[0]) == 2 if cell else False
        chars.append(cell)
    return "".join(chars).rstrip()


class PlainScroll:
    """The screen's rows while plain text is drawn on its bottom row; rows pushed off the top
    go to `scrollback` as text.

    Plain text means printable characters, \\r, \\n and \\t: the cursor stays on the bottom row
    and every line feed scrolls. The terminal is in its usual modes (autowrap on, no insert
    mode, no scroll region, the default character set); screen.py checks that before it hands
    text over.
    """

    def __init__(
        self,
        columns: int,
        above: Sequence[Row],
        row: Row,
        x: int,
        tabstops: Sequence[int],
        scrollback: list[str],
    ) -> None:
        self.columns = columns
        self.above = deque(above)  # the rows over the cursor's, top first; their number is kept
        self.row = row  # the cursor's row, the bottom one
        self.x = x  # the cursor's column; == columns after the last column was drawn
        self._keep = len(above)
        self._stops = sorted(tabstops)
        self._scrollback = scrollback

    def write(self, text: str) -> None:
        """Draw `text` (no control characters other than \\r, \\n and \\t)."""
        first = text.find("\n")
        if first < 0:
            self._put(text)
            return
        last = text.rfind("\n")
        self._put(text[:first])
        self._line_feed()
        if first < last:
            middle = text[first + 1 : last]
            if not self._bulk(middle):
                for piece in middle.split("\n"):
                    self._put(piece)
                    self._line_feed()
        self._put(text[last + 1 :])

    def _bulk(self, middle: str) -> bool:
        """Lines of printable ASCII, each ending in \\r\\n, from column 0: cut them at the width
        without looking at single characters. False if `middle` is not such lines."""
        if self.x or not middle.endswith("\r") or not middle.isascii() or "\t" in middle:
            return False
        breaks = middle.count("\n")
        if middle.count("\r\n") != breaks or middle.count("\r") != breaks + 1:
            return False  # a \r inside a line redraws it, a bare \n keeps the column
        lines = middle[:-1].split("\r\n")
        columns = self.columns
        if max(map(len, lines)) > columns:
            lines = [
                line[start : start + columns]
                for line in lines
                for start in range(0, max(len(line), 1), columns)
            ]
        self._scroll(lines)
        return True

    def _scroll(self, rows: Sequence[Row]) -> None:
        """Rows drawn on the bottom row one after another, each followed by a line feed."""
        above, keep = self.above, self._keep
        if len(rows) >= keep:
            gone = [*above, *rows[: len(rows) - keep]]
            above.clear()
            above.extend(rows[len(rows) - keep :])
        else:
            above.extend(rows)
            gone = [above.popleft() for _ in range(len(above) - keep)]
        self._scrollback.extend(
            [row.rstrip() if isinstance(row, str) else row_text(row) for row in gone]
        )

    def _line_feed(self) -> None:
        """The bottom row scrolls up; the cursor keeps its column on a new blank row."""
        above = self.above
        above.append(self.row)
        if len(above) > self._keep:
            self._scrollback.append(row_text(above.popleft()))
        self.row = ""

    def _wrap(self) -> None:
        self._line_feed()
        self.x = 0

    def _tab(self, x: int) -> int:
        stops = self._stops
        index = bisect_right(stops, x)
        return stops[index] if index < len(stops) else self.columns - 1

    def _put(self, piece: str) -> None:
        """Draw text that holds no line feed on the cursor's row."""
        if not piece:
            return
        if not (piece.isascii() and isinstance(self.row, str)):
            self._put_cells(piece)
            return
        for part in _CR_OR_TAB.split(piece) if "\r" in piece or "\t" in piece else (piece,):
            if part == "\r":
                self.x = 0
            elif part == "\t":
                self.x = self._tab(self.x)
            elif part:
                self._put_ascii(part)

    def _put_ascii(self, text: str) -> None:
        columns = self.columns
        start = 0
        while start < len(text):
            if self.x == columns:
                self._wrap()
            x = self.x
            part = text[start : start + columns - x]
            start += len(part)
            row = self.row
            assert isinstance(row, str)
            if len(row) < x:
                row += " " * (x - len(row))
            self.row = row[:x] + part + row[x + len(part) :]
            self.x = x + len(part)

    def _put_cells(self, piece: str) -> None:
        """Character by character, as screen.py's pyte screen draws."""
        columns = self.columns
        cells = _cells(self.row, columns)
        x = self.x
        for char in piece:
            if char == "\r":
                x = 0
                continue
            if char == "\t":
                x = self._tab(x)
                continue
            width = wcwidth(char)
            if width == 0 and unicodedata.combining(char):
                if x:
                    cells[x - 1] = unicodedata.normalize("NFC", cells[x - 1] + char)
                elif self.above:
                    before = self.above[-1] = _cells(self.above[-1], columns)
                    before[-1] = unicodedata.normalize("NFC", before[-1] + char)
                continue
            if width <= 0:
                continue
            if x == columns or (width == 2 and x == columns - 1 > 0):
                self.row = cells
                self._wrap()
                cells = [" "] * columns
                x = 0
            cells[x] = char
            if width == 2 and x + 1 < columns:
                cells[x + 1] = ""
            x = min(x + width, columns)
        self.row = cells
        self.x = x


def _cells(row: Row, columns: int) -> list[str]:
    """A row as a list of `columns` cells (the list itself when it is one already)."""
    if isinstance(row, list):
        return row
    return [*row, *" " * (columns - len(row))]
