"""The byte-stream redactor: every form of a value (made by livedeck.redaction.forms and by the
real programs of a lab) is hidden however the stream is cut into reads, wrapped or coloured;
text without a value passes unchanged."""

from __future__ import annotations

import base64
import json
import random
import subprocess
from urllib.parse import quote, quote_plus

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from livedeck.redaction import REDACTED, Redactor
from livedeck.redaction_forms import forms

# Values as people choose them: quotes, spaces, `$`, backslashes, accents, emoji, CJK.
CHARS = st.sampled_from(list("abcXYZ019 '\"$\\`!#%&*()[]{}<>|;:,./?~^=+-_éß한😀\u00a0"))
VALUES = st.lists(CHARS, min_size=8, max_size=24).map("".join).filter(lambda v: v.strip())
NOISE = st.text(st.sampled_from(list("qwjkQWJK \r\n\t:")), max_size=40)


def through(redactor: Redactor, data: bytes, cuts: list[int]) -> bytes:
    """`data` read in pieces cut at `cuts`, as a channel reads it."""
    out = b""
    start = 0
    for cut in sorted(c % (len(data) + 1) for c in cuts):
        out += redactor.feed(data[start:cut])
        start = max(start, cut)
    return out + redactor.feed(data[start:]) + redactor.flush()


@settings(deadline=None, max_examples=20)  # compiling a pattern takes ~0.2 s
@given(VALUES, st.data(), NOISE, NOISE, st.lists(st.integers(0, 10_000), max_size=6))
def test_every_form_is_hidden_however_the_stream_is_cut(
    value: str, data: st.DataObject, before: str, after: str, cuts: list[int]
) -> None:
    form = data.draw(st.sampled_from(forms(value)))
    stream = (before + form + after).encode()
    out = through(Redactor([value]), stream, cuts)
    assert form.encode() not in out
    assert value.encode() not in out
    assert REDACTED.encode() in out


@settings(deadline=None, max_examples=20)  # compiling a pattern takes ~0.2 s
@given(VALUES, st.data(), st.integers(1, 30), st.sampled_from(["\r\n", "\n", "\x1b[K\r\n"]))
def test_a_form_wrapped_or_coloured_by_a_program_is_hidden(
    value: str, data: st.DataObject, width: int, newline: str
) -> None:
    form = data.draw(st.sampled_from(forms(value)))
    chars = list(form)
    if data.draw(st.booleans()):  # wrapped every `width` characters (base64 -w, fold)
        wrapped = newline.join("".join(chars[i : i + width]) for i in range(0, len(chars), width))
    else:  # a colour around part of it (grep --color)
        cut = data.draw(st.integers(1, len(chars) - 1))
        wrapped = "".join(chars[:cut]) + "\x1b[01;31m" + "".join(chars[cut:]) + "\x1b[m"
    out = through(Redactor([value]), f"x {wrapped} y".encode(), data.draw(st.lists(st.integers())))
    assert REDACTED.encode() in out
    assert not any(piece.encode() in out for piece in _pieces(form, 8))


BREAKS = ["\r\n", "\n", "\r", "\x1b[0m", "\x1b[01;31m", "\x1b[K"]


@settings(deadline=None, max_examples=30)
@given(VALUES, st.data())
def test_a_form_with_breaks_anywhere_between_its_characters_is_hidden(
    value: str, data: st.DataObject
) -> None:
    """Line breaks and escape sequences, as many as a program puts, between any characters of a
    form (the patterns allowed two at one place: three between two characters got through)."""
    form = data.draw(st.sampled_from(forms(value)))
    places = data.draw(st.lists(st.integers(1, len(form) - 1), min_size=1, max_size=6))
    broken = ""
    for at, char in enumerate(form):
        for _ in range(places.count(at)):
            broken += "".join(data.draw(st.lists(st.sampled_from(BREAKS), min_size=1, max_size=4)))
        broken += char
    out = Redactor([value]).hide(f"x {broken} y".encode())
    assert REDACTED.encode() in out
    shown = out.decode(errors="replace")
    for gap in BREAKS:
        shown = shown.replace(gap, "")
    assert not any(piece in shown for piece in _pieces(form, 8)), out


def test_a_value_whose_first_bytes_end_an_escape_sequence_is_hidden() -> None:
    """Taking the escapes out of `\\e[1mS3cret...` would take the value's `1m` with them."""
    value = "1mS3cret-value"
    for stream in (b"\x1b[" + value.encode() + b"\r\n$ ", b"a\r\n\x1b[" + value.encode()):
        out = Redactor([value]).hide(stream)
        assert b"S3cret-value" not in out, out
        assert REDACTED.encode() in out


def test_a_long_value_is_hidden_wrapped_at_any_width_and_in_json() -> None:
    """A key of 1,700 characters (a 2048-bit RSA key's base64) printed 64 to a line, 76 to a
    line and in JSON, read in pieces: the patterns once took seconds to compile for such a
    value, and a failing match was exponential in its line ends."""
    rng = random.Random(1)
    alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"
    key = "".join(rng.choice(alphabet) for _ in range(1700))
    redactor = Redactor([key])
    for width in (64, 76):
        wrapped = "\r\n".join(key[i : i + width] for i in range(0, len(key), width))
        out = through(redactor, f"$ cat key\r\n{wrapped}\r\n$ ".encode(), [100, 900, 1500])
        assert out.replace(b"\r\n", b"") == b"$ cat key" + REDACTED.encode() + b"$ ", out[:200]
    out = through(redactor, json.dumps({"key": key}).encode(), [300, 1200])
    assert out == b'{"key": "' + REDACTED.encode() + b'"}'


@settings(deadline=None, max_examples=20)  # compiling a pattern takes ~0.2 s
@given(st.binary(max_size=3000), st.lists(st.integers(0, 3000), max_size=8))
def test_text_without_a_value_passes_unchanged(data: bytes, cuts: list[int]) -> None:
    redactor = Redactor(["Zq9'vK$w", '한😀 xé\\"pp'])
    assert through(redactor, data, cuts) == data


def test_a_value_split_across_reads_is_held_until_it_completes() -> None:
    redactor = Redactor(["hunter2-and-more"])
    assert redactor.feed(b"login: hunter") == b"login: "
    assert redactor.holding
    assert redactor.feed(b"2-and-more\r\n$ ") == REDACTED.encode() + b"\r\n$ "
    assert redactor.feed(b"hunt") == b""
    assert redactor.flush() == b"hunt"  # the stream paused: not a value after all


@pytest.mark.parametrize("seed", range(6))
def test_what_real_programs_print_of_a_value_is_hidden(seed: int) -> None:
    """bash (printf %q, declare -p, ${v@Q}, set -x, export -p in two locales), base64 at every
    alignment and width, JSON and URL encoders, on random values."""
    rng = random.Random(seed)
    alphabet = "abcXYZ09 '\"$\\`!#&*()<>|;~^=+é한😀"
    value = "".join(rng.choice(alphabet) for _ in range(rng.randint(8, 20)))
    script = (
        'printf "%q\\n" "$V"; declare -p V; echo "${V@Q}"; export -p | grep " V="; '
        'set -x; : "$V"; set +x'
    )
    printed = b""
    for locale in ("C.UTF-8", "C"):
        printed += subprocess.run(
            ["bash", "-c", script],
            env={"V": value, "LC_ALL": locale, "PATH": "/usr/bin:/bin"},
            capture_output=True,
            check=True,
        ).stdout
        printed += subprocess.run(
            ["bash", "-c", script],
            env={"V": value, "LC_ALL": locale, "PATH": "/usr/bin:/bin"},
            capture_output=True,
            check=True,
        ).stderr
    for prefix in (b"", b"u", b"u:"):  # docker login's base64 of user:password, any alignment
        for width in ("76", "8", "0"):
            printed += subprocess.run(
                ["base64", "-w", width],
                input=prefix + value.encode() + b"tail",
                capture_output=True,
                check=True,
            ).stdout.replace(b"\n", b"\r\n")
    printed += json.dumps({"Env": [f"V={value}"]}).encode()
    printed += json.dumps([value], ensure_ascii=False).encode()
    printed += (quote(value, safe="") + " " + quote_plus(value)).encode()
    printed += base64.urlsafe_b64encode(value.encode())
    out = through(Redactor([value]), printed, [rng.randint(0, len(printed)) for _ in range(5)])
    assert value.encode() not in out
    decoded = out.decode(errors="replace")
    # Nothing of 8 characters of the value, in any of its forms, is left.
    assert not any(piece in decoded for form in forms(value) for piece in _pieces(form, 8))


def _pieces(text: str, size: int) -> set[str]:
    """Every run of `size` characters of text (what would give a value away)."""
    return {text[i : i + size] for i in range(len(text) - size + 1)}
