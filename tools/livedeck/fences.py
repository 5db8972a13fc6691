"""Text livedeck did not write, put into Markdown so that it stays text. Pure.

Command output, commands and names come from a deck and its lab; put into Markdown (slides,
documents, the refresh summary a pull request shows), a line of ``` would close a code block
and what follows would become live Markdown (links, pictures that load, fake approvals). Every
such text goes through here: code blocks get a fence longer than any run of its character in
the text, inline code a run of backticks longer than any inside, and prose has every character
Markdown or HTML would act on escaped.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence


def fence(lines: Iterable[str], char: str = "`", least: int = 3) -> str:
    """A fence of `char` longer than any run of it in `lines` (and at least `least` long)."""
    runs = (len(run) for line in lines for run in re.findall(f"{re.escape(char)}+", line))
    return char * max(least, max(runs, default=0) + 1)


def fenced(lines: Sequence[str], info: str = "", indent: str = "") -> list[str]:
    """`lines` as a code block no line of it can close; `indent` goes before every line."""
    marker = fence(lines)
    return [f"{indent}{marker}{info}", *(f"{indent}{line}" for line in lines), indent + marker]


def code_span(text: str) -> str:
    """`text` as inline code on one line: backticks longer than any run inside."""
    flat = " ".join(text.splitlines()) or " "
    ticks = fence([flat], least=1)
    pad = " " if flat.startswith("`") or flat.endswith("`") else ""
    return f"{ticks}{pad}{flat}{pad}{ticks}"
