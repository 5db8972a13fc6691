"""index: the build/ index page lists every deck, its outputs and its status."""

from __future__ import annotations

import re
from html.parser import HTMLParser
from pathlib import Path

from livedeck.deck import load_deck, parse_deck
from livedeck.publish.index import DeckEntry, deck_status, deck_title, index_html
from livedeck.publish.marp import REPO_ROOT


class _Page(HTMLParser):
    """The links, row classes and text of a page, as a browser would see them."""

    def __init__(self, html: str) -> None:
        super().__init__()
        self.links: list[tuple[str, str]] = []
        self.rows: list[str] = []
        self.text: list[str] = []
        self._href: str | None = None
        self.feed(html)

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        found = dict(attrs)
        if tag == "a":
            self._href = found.get("href")
        if tag == "tr" and found.get("class"):
            self.rows.append(found["class"] or "")

    def handle_data(self, data: str) -> None:
        if self._href is not None:
            self.links.append((data, self._href))
            self._href = None
        if data.strip():
            self.text.append(data.strip())


def test_the_index_links_each_decks_outputs_and_shows_its_status() -> None:
    entries = [
        DeckEntry("docker-layers", "[Hands-on] 02. Docker layers", "docker-layers.html",
                  "docker-layers.pdf", "built, 2 overflow warnings", "warning"),
        DeckEntry("broken deck", "Broken <deck> & co", None, None,
                  "slides/broken.md:4: unknown theme 'x'", "error"),
    ]  # fmt: skip
    html = index_html(entries, title="Docker & Kubernetes")
    page = _Page(html)
    assert page.links == [("HTML", "docker-layers.html"), ("PDF", "docker-layers.pdf")]
    assert page.rows == ["warning", "error"]
    assert "Broken <deck> & co" in page.text  # shown as written, not taken for a tag
    assert "<deck>" not in html
    assert "no HTML" in page.text and "no PDF" in page.text
    assert "slides/broken.md:4: unknown theme 'x'" in page.text
    assert re.search(r"<title>Docker &amp; Kubernetes</title>", html)


def test_links_with_spaces_are_quoted_and_an_empty_build_says_so() -> None:
    page = _Page(index_html([DeckEntry("my deck", "My deck", "my deck.html")]))
    assert page.links == [("HTML", "my%20deck.html")]
    assert "No decks were built." in _Page(index_html([])).text


def test_deck_status_puts_errors_first_then_warnings_and_the_check() -> None:
    assert deck_status() == ("built", "ok")
    assert deck_status(overflows=1) == ("built, 1 overflow warning", "warning")
    assert deck_status(overflows=3, check=True) == (
        "built, 3 overflow warnings, check passed",
        "warning",
    )
    assert deck_status(check=False) == ("built, check failed", "error")
    assert deck_status(error="x.md:3: boom", overflows=2) == ("x.md:3: boom", "error")


def test_deck_title_from_front_matter_or_first_heading_outside_code() -> None:
    flagship = load_deck(REPO_ROOT / "slides" / "docker-layers.md")
    assert deck_title(flagship) == "[Hands-on] 02. Docker layers"
    titled = parse_deck("---\ntitle: Layers\n---\n\n# Other\n", Path("t.md"))
    assert deck_title(titled) == "Layers"
    code_first = parse_deck("```\n# not a heading\n```\n\n## Real ##\n", Path("c.md"))
    assert deck_title(code_first) == "Real"
    assert deck_title(parse_deck("no heading\n", Path("plain.md"))) == "plain"
