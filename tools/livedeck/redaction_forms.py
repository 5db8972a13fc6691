"""The forms a value takes in a lab's output, character by character: the schemes livedeck.redaction
matches (a shell's quotes and escapes, JSON, URL, HTML, hex digits), base64's runs, and `forms`,
the concrete texts tools print of a value (for tests: each must be hidden)."""

from __future__ import annotations

import base64
import html
import json
import re
import shlex
from collections.abc import Callable
from urllib.parse import quote, quote_plus

from livedeck.redaction_cuts import Unit, hex_digits


def plain(char: str) -> Unit:
    return (char.encode(),)


def _quoted(char: str) -> Unit:
    """Inside single quotes: shlex.quote, bash's `set -x` and ${v@Q} (a quote ends them)."""
    return (b"'\"'\"'", b"'\\''") if char == "'" else plain(char)


def _escaped(char: str) -> Unit:
    """Backslash escapes: `printf %q`, `declare -p`, $'...' (octal bytes outside UTF-8)."""
    raw = char.encode()
    if char == "\\":
        return (b"\\\\",)  # always doubled: no run of backslashes reads two ways
    if not char.isascii():
        return (b"".join(b"\\%o" % byte for byte in raw), raw)
    return (b"\\" + raw, raw) if not char.isalnum() else (raw,)


def _json(char: str) -> Unit:
    """A JSON or Go string (`docker inspect`, jq): \\uXXXX escapes, Go's for <, > and &."""
    escaped = json.dumps(char)[1:-1]
    upper = re.sub(r"\\u([0-9a-f]{4})", lambda hex4: "\\u" + hex4.group(1).upper(), escaped)
    found = {escaped, json.dumps(char, ensure_ascii=False)[1:-1], upper}
    if char in "<>&'/" or ord(char) > 0x7E:
        found |= {f"\\u{ord(char):04x}", f"\\u{ord(char):04X}"} if ord(char) < 0x10000 else set()
    found |= {"\\/"} if char == "/" else set()
    return tuple(sorted((f.encode() for f in found), key=len, reverse=True))


def _url(char: str) -> Unit:
    raw = char.encode()
    found = {quote_plus(char).encode(), quote(char, safe="").encode(), raw}
    found |= {b"".join(b"%%%02x" % byte for byte in raw)}
    return tuple(sorted(found, key=len, reverse=True))


def _html(char: str) -> Unit:
    found = {html.escape(char).encode(), b"&#%d;" % ord(char), b"&#x%x;" % ord(char)}
    return tuple(sorted(found | {char.encode()}, key=len, reverse=True))


def _json_of(scheme: Callable[[str], Unit]) -> Callable[[str], Unit]:
    """A scheme's renderings inside a JSON string (a command line in `docker inspect`)."""

    def rendered(char: str) -> Unit:
        return tuple(json.dumps(r.decode())[1:-1].encode() for r in scheme(char))

    return rendered


# Each scheme renders every character of a value one way or a few, never ambiguously: a
# character's renderings and its neighbours' cannot be read as one another, so matching a long
# run of like characters never backtracks without end.
SCHEMES: tuple[Callable[[str], Unit], ...] = (
    plain,
    _quoted,
    _escaped,
    _json,
    _json_of(_escaped),
    _json_of(_json),
    _url,
    _html,
    hex_digits,
)


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
                value.encode().hex(),
                value.encode().hex().upper(),
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
