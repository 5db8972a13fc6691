"""Terminal emulation on byte streams recorded from a real lab (tests/streams/*.bytes)."""

from __future__ import annotations

from pathlib import Path

import pyte
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from livedeck.run import screen
from livedeck.run.screen import Terminal, render_bytes

STREAMS = Path(__file__).parent / "streams"


def seq(first: int, last: int) -> bytes:
    """What `seq FIRST LAST` prints on a terminal (the pty turns \\n into \\r\\n)."""
    return b"".join(b"%d\r\n" % number for number in range(first, last + 1))


def chunked(data: bytes, size: int) -> list[bytes]:
    return [data[start : start + size] for start in range(0, len(data), size)]


def test_docker_pull_shows_one_line_per_layer_and_no_progress_states() -> None:
    raw = (STREAMS / "docker-pull.bytes").read_bytes()
    assert b"Waiting" in raw and b"\x1b[" in raw  # the stream really is redrawn in place
    lines = render_bytes(raw, 200)
    assert lines[:2] == ("Using default tag: latest", "latest: Pulling from library/nginx")
    layers = lines[2:9]
    assert all(
        line.endswith(": Pull complete") and len(line.split(":")[0]) == 12 for line in layers
    )
    assert lines[9].startswith("Digest: sha256:")
    assert lines[10:] == (
        "Status: Downloaded newer image for nginx:latest",
        "docker.io/library/nginx:latest",
    )


def test_docker_pull_after_a_long_output_keeps_both() -> None:
    raw = (STREAMS / "docker-pull.bytes").read_bytes()
    terminal = Terminal(200)
    for chunk in chunked(seq(1, 3000) + raw, 4095):  # as a pty hands them over
        terminal.feed(chunk)
    assert terminal.lines() == tuple(map(str, range(1, 3001))) + render_bytes(raw, 200)


def test_a_programs_prompt_is_on_the_cursor_line() -> None:
    terminal = Terminal(200)
    terminal.feed((STREAMS / "docker-run-it.bytes").read_bytes())
    assert terminal.cursor_line().startswith("root@")
    assert terminal.cursor_line().endswith(":/# ")


def test_narrow_terminal_wraps_long_lines() -> None:
    assert render_bytes(b"x" * 25 + b"\r\n", 10) == ("x" * 10, "x" * 10, "x" * 5)


def test_wide_characters_keep_their_columns() -> None:
    assert render_bytes("이미지 목록\r\n".encode(), 40) == ("이미지 목록",)


@pytest.mark.parametrize("fast", [True, False])
def test_a_wide_character_that_does_not_fit_wraps_as_in_xterm(fast: bool) -> None:
    line = "a" + "가나다라마바사아자차"  # 21 cells: the 10th character has one cell left
    terminal = Terminal(20, rows=3, fast=fast)
    terminal.feed(f"{line}\r\n".encode() * 300)
    assert terminal.lines() == ("a가나다라마바사아자", "차") * 300


@pytest.mark.parametrize("fast", [True, False])
def test_every_line_of_a_long_output_is_kept(fast: bool) -> None:
    terminal = Terminal(80, fast=fast)
    for chunk in chunked(seq(1, 2500), 4095):
        terminal.feed(chunk)
    assert terminal.lines() == tuple(map(str, range(1, 2501)))
    assert terminal.cut is None


def test_clear_erases_the_screen_and_the_scrollback() -> None:
    assert render_bytes(seq(1, 100) + b"\x1b[H\x1b[2J\x1b[3Jafter\r\n", 80) == ("after",)


@pytest.mark.parametrize("fast", [True, False])
def test_the_alternate_screen_leaves_the_primary_one_as_it_was(fast: bool) -> None:
    # `tput smcup; seq 1 300; tput rmcup`, less, vim: a terminal shows the primary screen after
    terminal = Terminal(20, 5, fast=fast)
    terminal.feed(seq(1, 8) + b"\x1b[?1049h\x1b[H\x1b[2J" + seq(100, 400) + b"\x1b[?1049l")
    terminal.feed(b"after\r\n")
    assert terminal.lines() == (*(str(n) for n in range(1, 9)), "after")


def test_a_program_still_on_the_alternate_screen_shows_it() -> None:
    shown = render_bytes(b"before\r\n\x1b[?1049h\x1b[H\x1b[2J~\r\n~\r\n\x1b[H", 20, 4)
    assert shown == ("~", "~")  # what a person sees at that moment


def test_leaving_the_alternate_screen_without_having_entered_it_changes_nothing() -> None:
    assert render_bytes(b"one\r\n\x1b[?1049ltwo\r\n", 20) == ("one", "two")


def test_output_scrolled_in_a_region_under_the_top_is_kept() -> None:
    # apt-get's progress bar: a scroll region above the bottom row, the bar on the bottom row.
    terminal = Terminal(40, rows=5)
    terminal.feed(b"\x1b[1;4r\x1b[4;1H")
    for number in range(1, 21):
        terminal.feed(b"line %d\r\n\x1b7\x1b[5;1H\x1b[KProgress: %d%%\x1b8" % (number, number * 5))
    terminal.feed(b"\x1b[r\x1b[5;1H\x1b[K\x1b[4;1H")
    assert terminal.lines() == ("", "", "", *(f"line {number}" for number in range(1, 21)))


def test_huge_output_is_cut_with_a_visible_note(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(screen, "MAX_BYTES", 8000)
    terminal = Terminal(80, rows=50)
    chunk = b"y" * 79 + b"\r\n"
    for _ in range(200):
        terminal.feed(chunk)
    assert terminal.fed == 8000
    assert terminal.printed == 16200
    assert terminal.truncated
    lines = terminal.lines()
    assert lines[-1] == "[livedeck: output cut after 8,000 bytes; 16,200 bytes printed]"
    assert lines[:-1] == ("y" * 79,) * 98 + ("y" * 62,)  # 8,000 bytes = 98 lines of 81 + 62


# Streams for comparing the fast path with pyte: text of every kind, redraws, escape sequences.
TEXT = st.sampled_from(
    ["a", "word", "x" * 23, " ", "가", "가나다", "😀", "e\u0301", "\u0301", "\u200b", "\ufffd"]
)
CONTROLS = st.sampled_from(["\r\n", "\n", "\r", "\t", "\b", "\x07", "\x00", "\x7f", "\x0b"])
ESCAPES = st.sampled_from(
    [
        "\x1b[A",  # cursor up
        "\x1b[3A",
        "\x1b[2B",
        "\x1b[5C",
        "\x1b[K",  # erase line
        "\x1b[2K",
        "\x1b[1K",
        "\x1b[J",
        "\x1b[2J",
        "\x1b[3J",
        "\x1b[H",
        "\x1b[2;4H",
        "\x1b[31;1m",
        "\x1b[0m",
        "\x1b[m",
        "\x1b[38:5:1m",  # not a color for pyte: it shows "5:1m"
        "\x1b[1;2r",  # scroll region
        "\x1b[2;3r",
        "\x1b[r",
        "\x1b]0;title\x07",
        "\x1bD",  # index
        "\x1bM",  # reverse index
        "\x1b[2L",
        "\x1b[M",
        "\x1bH",  # tab stop here
        "\x1b[3g",
        "\x1b[4h",  # insert mode
        "\x1b[4l",
        "\x1b[?7l",  # no autowrap
        "\x1b[?7h",
        "\x1b[20h",  # line feed is new line
        "\x1b[20l",
        "\x1b7",
        "\x1b8",
        "\x1bc",
        "\x1b%@",  # bytes are Latin-1 from the next chunk on
        "\x1b%G",  # UTF-8 again
        "\x1b(0",  # line drawing characters (in Latin-1 only)
        "\x1b(B",
        "\x1b[?1049h",  # the alternate screen (less, vim), and back
        "\x1b[?1049l",
        "\x1b[?47h",
        "\x1b[?1047l",
        "\x0e",  # shift out, in
        "\x0f",
    ]
)
# Many lines at once: what the fast path takes.
BURSTS = st.builds(
    lambda lines, end: "".join(line + end for line in lines),
    st.one_of(
        st.lists(st.text(alphabet="ab c", max_size=30), min_size=2, max_size=60),
        st.lists(st.text(alphabet="ab c\t가😀\r", max_size=30), min_size=2, max_size=60),
        st.lists(
            st.lists(st.sampled_from(["ab", " ", "\x1b[1;31m", "\x1b[0m", "\x1b[m"])).map("".join),
            min_size=2,
            max_size=60,
        ),
    ),
    st.sampled_from(["\r\n", "\r\n", "\n"]),
)
STREAM = st.lists(st.one_of(TEXT, CONTROLS, ESCAPES, BURSTS), max_size=40).map("".join)


def feed_all(terminal: Terminal, data: bytes, cuts: list[int]) -> Terminal:
    for start, end in zip([0, *cuts], [*cuts, len(data)], strict=True):
        terminal.feed(data[start:end])
    return terminal


@settings(max_examples=600, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    text=STREAM,
    columns=st.integers(1, 24),
    rows=st.integers(1, 6),
    data=st.data(),
)
def test_the_fast_path_draws_exactly_what_pyte_draws(
    text: str, columns: int, rows: int, data: st.DataObject
) -> None:
    raw = text.encode()
    cuts = sorted(data.draw(st.lists(st.integers(0, len(raw)), max_size=6)))
    peek = data.draw(st.sampled_from([None, *cuts]))  # look at the screen in the middle
    fast = Terminal(columns, rows)
    for start, end in zip([0, *cuts], [*cuts, len(raw)], strict=True):
        fast.feed(raw[start:end])
        if end == peek:
            fast.lines()
    slow = feed_all(Terminal(columns, rows, fast=False), raw, cuts)
    assert fast.lines() == slow.lines()
    assert fast.cursor_line() == slow.cursor_line()


PLAIN = st.lists(
    st.one_of(TEXT, BURSTS, st.sampled_from(["\r\n", "\r", "\t", "\b", "\x1b[K", "\x1b[2K"])),
    max_size=40,
).map("".join)


@settings(max_examples=300, deadline=None)
# Two rows at least: on one row, a combining mark at column 0 has no character above to join.
@given(text=PLAIN, columns=st.integers(2, 24), rows=st.integers(2, 6))
def test_lines_scrolled_off_a_short_screen_are_all_kept(text: str, columns: int, rows: int) -> None:
    short = render_bytes(text.encode(), columns, rows)
    assert short == render_bytes(text.encode(), columns, rows=5000)


@settings(max_examples=200, deadline=None)
@given(
    text=st.lists(
        st.one_of(st.text(alphabet="ab c\t.", max_size=30), st.sampled_from(["\r\n", "\r"])),
        max_size=60,
    ).map("".join),
    columns=st.integers(1, 24),
)
def test_ascii_text_is_drawn_as_pyte_draws_it(text: str, columns: int) -> None:
    reference = pyte.Screen(
        columns, len(text) + 2
    )  # tall enough: a character makes one row at most
    pyte.Stream(reference).feed(text)
    expected = [line.rstrip() for line in reference.display]
    cursor = reference.cursor.y
    while len(expected) > cursor and not expected[-1]:
        expected.pop()
    assert render_bytes(text.encode(), columns, rows=3) == tuple(expected)


@pytest.mark.parametrize("fast", [True, False])
@pytest.mark.parametrize("columns", [3, 20])
def test_deleting_the_top_line_blanks_it_as_a_terminal_does(fast: bool, columns: int) -> None:
    terminal = Terminal(columns, 2, fast=fast)
    terminal.feed(b"a\r\n\x1b[A\x1b[M")  # down a line, back up, delete the line with `a`
    assert terminal.lines() == ()
