"""What the preview server sends: pages with the live script, and each deck's state. Pure."""

from __future__ import annotations

import html
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from livedeck.errors import LivedeckError

LIVE_SCRIPT = "/_livedeck/live.js"
EVENTS = "/_livedeck/events"
LIVE_JS = (Path(__file__).with_name("live.js")).read_text(encoding="utf-8")


@dataclass(frozen=True)
class DeckState:
    """A watched deck as its page sees it: which build it is at, and what is wrong."""

    version: int = 0  # 0: not built since the watch started; +1 for every build that succeeded
    error: LivedeckError | None = None
    warnings: tuple[str, ...] = ()

    def to_json(self) -> str:
        """The state event's data."""
        error = None
        if self.error is not None:
            error = {"text": str(self.error), "hint": self.error.hint}
        return json.dumps({"version": self.version, "error": error, "warnings": self.warnings})


def inject(page: str, deck: str, version: int) -> str:
    """The page with the live script, told which deck and which build of it the page shows."""
    tag = (
        f'<script src="{LIVE_SCRIPT}" data-deck="{html.escape(deck)}"'
        f' data-version="{version}"></script>'
    )
    end = page.lower().rfind("</body>")
    return page + tag if end < 0 else page[:end] + tag + page[end:]


def waiting_page(deck: str, version: int) -> str:
    """The page of a deck that has no HTML yet: it turns into the deck once one is built."""
    title = html.escape(deck)
    body = (
        f"<!DOCTYPE html><html><head><meta charset='utf-8'><title>{title}</title></head>"
        "<body style='font:16px sans-serif;margin:3em'>"
        f"<p>livedeck is building <b>{title}</b>; this page shows it once it is built.</p>"
        "</body></html>"
    )
    return inject(body, deck, version)


def listing_page(decks: Sequence[str], states: Mapping[str, DeckState]) -> str:
    """The server's front page: every watched deck, with a link to its page."""
    rows = []
    for deck in decks:
        state = states.get(deck, DeckState())
        status = "error" if state.error else "built" if state.version else "building"
        rows.append(
            f"<li><a href='{html.escape(deck)}.html'>{html.escape(deck)}</a> ({status})</li>"
        )
    return (
        "<!DOCTYPE html><html><head><meta charset='utf-8'><title>livedeck watch</title></head>"
        "<body style='font:16px sans-serif;margin:3em'><h1>livedeck watch</h1>"
        f"<ul>{''.join(rows)}</ul></body></html>"
    )
