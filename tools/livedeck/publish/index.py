"""The index page of build/: every deck, links to its HTML and PDF, and how its build went. Pure."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from html import escape
from typing import Literal
from urllib.parse import quote

from livedeck.model import Deck

State = Literal["ok", "warning", "error"]
_HEADING = re.compile(r"^ {0,3}#{1,6}\s+(?P<text>.+?)\s*#*\s*$")
_FENCE = re.compile(r"^\s*(`{3,}|~{3,})")

_CSS = """
body { font-family: 'NanumSquare_ac', 'NanumSquare', 'Noto Sans CJK KR', system-ui, sans-serif;
       color: #27343a; background: #fafafa; margin: 2rem auto; max-width: 60rem;
       padding: 0 1rem; line-height: 1.5; }
h1 { font-size: 1.6rem; margin-bottom: 1.5rem; }
table { border-collapse: collapse; width: 100%; background: #fff; }
th, td { text-align: left; padding: .6rem .8rem; border-bottom: 1px solid #e3e6e8;
         vertical-align: top; }
th { font-size: .85rem; text-transform: uppercase; letter-spacing: .05em; color: #5c6b73; }
td:first-child { width: 35%; }
td:nth-child(2) { white-space: nowrap; }
.name { color: #5c6b73; font-size: .85rem; font-family: ui-monospace, monospace; }
a { color: #0277bd; text-decoration: none; margin-right: .8rem; }
a:hover { text-decoration: underline; }
.missing { color: #9aa5ab; margin-right: .8rem; }
.status { white-space: pre-line; }
.ok .status { color: #2e7d32; }
.warning .status { color: #b26a00; }
.error .status { color: #c62828; }
footer { margin-top: 1.5rem; color: #5c6b73; font-size: .85rem; }
"""


@dataclass(frozen=True)
class DeckEntry:
    """One deck on the index page; html and pdf are links relative to the page (None: none)."""

    name: str
    title: str
    html: str | None = None
    pdf: str | None = None
    status: str = "built"  # e.g. "built", "2 overflow warnings", "check failed: ..."
    state: State = "ok"  # how the status is shown


def index_html(
    entries: Sequence[DeckEntry],
    *,
    title: str = "Decks",
    note: str = "",
    lang: str = "en",
    book: str | None = None,
) -> str:
    """A small self-contained HTML page listing the decks, their outputs and status (and a
    link to `book`, the whole course as one PDF)."""
    rows = "\n".join(_row(entry) for entry in entries)
    whole = f"<p>{_link('The whole course as one PDF', book)}</p>\n" if book else ""
    if not entries:
        rows = '<tr><td colspan="3">No decks were built.</td></tr>'
    footer = f"<footer>{escape(note)}</footer>\n" if note else ""
    return f"""<!DOCTYPE html>
<html lang="{escape(lang)}">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{escape(title)}</title>
<style>{_CSS}</style>
</head>
<body>
<h1>{escape(title)}</h1>
{whole}<table>
<thead><tr><th>Deck</th><th>Slides</th><th>Status</th></tr></thead>
<tbody>
{rows}
</tbody>
</table>
{footer}</body>
</html>
"""


def deck_status(
    *, error: str | None = None, overflows: int = 0, check: bool | None = None
) -> tuple[str, State]:
    """The status text and state of a deck: its error, else overflow warnings and check result."""
    if error:
        return error, "error"
    parts = ["built"]
    if overflows:
        parts.append(f"{overflows} overflow warning{'s' if overflows != 1 else ''}")
    if check is not None:
        parts.append("check passed" if check else "check failed")
    state: State = "error" if check is False else "warning" if overflows else "ok"
    return ", ".join(parts), state


def _row(entry: DeckEntry) -> str:
    links = " ".join(
        _link(label, href) for label, href in (("HTML", entry.html), ("PDF", entry.pdf))
    )
    return (
        f'<tr class="{entry.state}">'
        f'<td>{escape(entry.title)}<br><span class="name">{escape(entry.name)}</span></td>'
        f"<td>{links}</td>"
        f'<td class="status">{escape(entry.status)}</td></tr>'
    )


def _link(label: str, href: str | None) -> str:
    if href is None:
        return f'<span class="missing">no {label}</span>'
    return f'<a href="{escape(quote(href, safe="/#?=&"), quote=True)}">{label}</a>'


def deck_title(deck: Deck) -> str:
    """The deck's `title:` from the front matter, else its first heading, else its name."""
    title = deck.front_matter.get("title")
    if isinstance(title, str) and title.strip():
        return title.strip()
    fence: str | None = None
    start = deck.slides[0].line if deck.slides else 1
    for line in deck.text.split("\n")[start - 1 :]:
        marker = _FENCE.match(line)
        if marker:
            fence = (
                None if fence and marker.group(1).startswith(fence) else fence or marker.group(1)
            )
        elif fence is None and (heading := _HEADING.match(line)):
            return heading.group("text")
    return deck.name
