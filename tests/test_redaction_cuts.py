"""A value that a tool cut short (`docker ps`'s `…`, `cut -c`, `head -c`, `...`, the terminal's
edge) or printed as hex digits is hidden too, however the stream is cut into reads; ordinary
text beside `…` and line ends passes unchanged."""

from __future__ import annotations

import subprocess

from hypothesis import given, settings
from hypothesis import strategies as st

from livedeck.redaction import REDACTED, Redactor
from livedeck.redaction_cuts import CAP, SHORTEST

# Values as people choose them (as in test_redaction.py), and long ones: API keys, certificates.
CHARS = st.sampled_from(list("abcXYZ019 '\"$\\`!#%&*()[]{}<>|;:,/?~^=+-_éß한😀"))
VALUES = st.lists(CHARS, min_size=SHORTEST + 1, max_size=160).map("".join)
NOISE = st.text(st.sampled_from(list("qwjkQWJK \t:")), max_size=30)
AFTER = ["…", "...", "\n", "\r\n", "\x1b[0m", ""]  # "": the stream ends with the piece
BEFORE = ["…", "...", "\n", "\r\n"]


def through(redactor: Redactor, data: bytes, cuts: list[int]) -> bytes:
    """`data` read in pieces cut at `cuts`, as a channel reads it."""
    out, start = b"", 0
    for cut in sorted(c % (len(data) + 1) for c in cuts):
        out += redactor.feed(data[start:cut])
        start = max(start, cut)
    return out + redactor.feed(data[start:]) + redactor.flush()


def runs(piece: bytes, size: int = SHORTEST) -> set[bytes]:
    """Every run of `size` characters of a piece (what would give a value away)."""
    text = piece.decode("utf-8", errors="ignore")
    return {text[i : i + size].encode() for i in range(len(text) - size + 1)}


def shown(out: bytes, piece: bytes) -> list[bytes]:
    """The runs of the piece that got through."""
    return sorted(run for run in runs(piece) if run in out)


@settings(deadline=None, max_examples=40)
@given(VALUES, st.data(), NOISE, NOISE, st.lists(st.integers(0, 10_000), max_size=5))
def test_a_beginning_of_a_value_before_a_cut_is_hidden(
    value: str, data: st.DataObject, before: str, after: str, cuts: list[int]
) -> None:
    length = data.draw(st.integers(SHORTEST, len(value) - 1), label="characters kept")
    marker = data.draw(st.sampled_from(AFTER), label="marker")
    piece = value[:length].encode()
    stream = before.encode() + piece + marker.encode() + (after.encode() if marker else b"")
    out = through(Redactor([value]), stream, cuts)
    assert not shown(out, piece), out
    assert REDACTED.encode() + marker.encode() in out


@settings(deadline=None, max_examples=40)
@given(VALUES, st.data(), NOISE, NOISE, st.lists(st.integers(0, 10_000), max_size=5))
def test_an_ending_of_a_value_after_a_cut_is_hidden(
    value: str, data: st.DataObject, before: str, after: str, cuts: list[int]
) -> None:
    length = data.draw(st.integers(SHORTEST, len(value) - 1), label="characters kept")
    marker = data.draw(st.sampled_from(BEFORE), label="marker")
    piece = value[len(value) - length :].encode()
    start = data.draw(st.booleans(), label="at the stream's start")
    stream = (b"" if start else before.encode() + marker.encode()) + piece + b" " + after.encode()
    out = through(Redactor([value]), stream, cuts)
    assert not shown(out, piece), out


@settings(deadline=None, max_examples=30)
@given(VALUES, st.data(), st.lists(st.integers(0, 10_000), max_size=5))
def test_a_value_cut_by_bytes_inside_a_character_is_hidden(
    value: str, data: st.DataObject, cuts: list[int]
) -> None:
    """`cut -c` and `head -c` count bytes: they may stop (or start) inside a character."""
    raw = value.encode()
    length = data.draw(st.integers(SHORTEST * 4, max(SHORTEST * 4, len(raw) - 1)))
    head, tail = raw[:length], raw[len(raw) - length :]
    out = through(Redactor([value]), b"id " + head + b"\n" + tail + b"\n", cuts)
    assert not shown(out, head) and not shown(out, tail), out


@settings(deadline=None, max_examples=30)
@given(VALUES, st.sampled_from(["lower", "upper"]), st.integers(2, 80), st.data())
def test_hex_digits_of_a_value_are_hidden(
    value: str, case: str, width: int, data: st.DataObject
) -> None:
    digits = value.encode().hex()
    digits = digits.upper() if case == "upper" else digits
    wrapped = "\n".join(digits[i : i + width] for i in range(0, len(digits), width))
    out = through(
        Redactor([value]), f"$ xxd -p\n{wrapped}\n$ ".encode(), data.draw(st.lists(st.integers()))
    )
    assert REDACTED.encode() in out
    assert not shown(out.replace(b"\n", b""), digits.encode()), out


def test_what_xxd_hexdump_and_printf_print_of_a_value_is_hidden() -> None:
    value = "Zq9'vK$w-é-0123456789"
    printed = b""
    for script in (
        'printf %s "$V" | xxd -p',
        'printf %s "$V" | xxd -p -u',
        """printf %s "$V" | hexdump -v -e '/1 "%02x"'""",
        """printf %s "$V" | hexdump -v -e '/1 "%02X"'""",
        """printf %s "$V" | od -An -v -tx1 | tr -d ' \\n'""",
    ):
        printed += subprocess.run(
            ["bash", "-c", script], env={"V": value}, capture_output=True, check=True
        ).stdout
        printed += b"\r\n"
    out = Redactor([value]).hide(printed)
    assert out.count(REDACTED.encode()) == 5, out
    assert not shown(out, value.encode().hex().encode())


def test_a_long_value_cut_anywhere_past_the_cap_is_hidden() -> None:
    value = "k" + "".join(f"{n:03d}-" for n in range(60))  # 241 characters, none repeated in 8
    for kept in (CAP - 1, CAP, CAP + 1, 150, len(value) - 1):
        out = Redactor([value]).hide(b"key=" + value[:kept].encode() + "…\n".encode())
        assert not shown(out, value[:kept].encode()), (kept, out)
        out = Redactor([value]).hide(b"...\n" + value[len(value) - kept :].encode() + b" end")
        assert not shown(out, value[len(value) - kept :].encode()), (kept, out)


def test_docker_ps_shows_a_cut_command_without_the_secret() -> None:
    value = "s3cr3t-Pass-0123456789-long"
    table = (
        "CONTAINER ID   IMAGE     COMMAND                  STATUS\r\n"
        f'0123456789ab   mariadb   "mysqld -p{value[:12]}…"   Up 2 seconds\r\n'
    ).encode()
    out = Redactor([value]).hide(table)
    assert f'"mysqld -p{REDACTED}…"   Up 2 seconds'.encode() in out


@settings(deadline=None, max_examples=20)
@given(st.lists(st.sampled_from(["…", "...", "\n", "\r\n", "Loading", "qwjk", " "]), max_size=40))
def test_ordinary_text_beside_cut_markers_passes_unchanged(words: list[str]) -> None:
    value = "Zq9'vK$w-0123456789"
    text = ("".join(words) + value[: SHORTEST - 1] + "…\n" + value[-(SHORTEST - 1) :]).encode()
    assert through(Redactor([value]), text, [3, 17, 40]) == text


def test_an_ending_whose_split_character_a_read_cuts_is_hidden() -> None:
    """Found by the property above: a read that ended inside the bytes a `cut -c` left of a
    character (just after the line break) passed the ending on unseen. Every cut is tried."""
    value = "a한aaaaaaaé😀"
    raw = value.encode()
    data = b"id " + raw + b"\n" + raw[-15:] + b"\n"  # the ending starts inside 한
    for cut in range(len(data) + 1):
        out = through(Redactor([value]), data, [cut])
        assert b"aaaa" not in out, (cut, out)
