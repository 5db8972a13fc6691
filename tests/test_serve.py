"""The preview server of `livedeck watch`: pages carry the live script, events carry each
deck's state, and closing ends every stream."""

from __future__ import annotations

import http.client
import json
import urllib.error
import urllib.request
from pathlib import Path

import pytest

from livedeck.errors import DeckError
from livedeck.publish.overflow import Overflow
from livedeck.serve import serve
from livedeck.serve.page import inject
from livedeck.verbs.build import Built
from livedeck.verbs.watch import Rebuilt


def test_inject_puts_the_script_before_the_end_of_the_body() -> None:
    page = inject("<html><body><p>x</p></body></html>", "d", 3)
    assert page.endswith(
        '<script src="/_livedeck/live.js" data-deck="d" data-version="3"></script></body></html>'
    )


def test_pages_events_and_closing(tmp_path: Path) -> None:
    (tmp_path / "d.html").write_text("<html><body>deck</body></html>", encoding="utf-8")
    (tmp_path / "pic.svg").write_text("<svg/>", encoding="utf-8")
    preview = serve(tmp_path, ["d", "new"])
    try:
        assert preview.url.startswith("http://127.0.0.1:")
        page = _get(preview.page_url("d"))
        assert "deck" in page and 'data-deck="d" data-version="0"' in page
        waiting = _get(preview.page_url("new"))  # no HTML yet: a page that waits for it
        assert "livedeck is building" in waiting and 'data-deck="new"' in waiting
        assert _get(preview.url + "pic.svg") == "<svg/>"
        assert "d.html" in _get(preview.url)
        with pytest.raises(urllib.error.HTTPError):
            _get(preview.url + "../etc/passwd")

        stream = http.client.HTTPConnection(preview.url[7:-1], timeout=10)
        stream.request("GET", "/_livedeck/events?deck=d")
        events = stream.getresponse()
        assert events.headers["Content-Type"] == "text/event-stream"
        assert _event(events) == {"version": 0, "error": None, "warnings": []}

        error = DeckError(tmp_path / "d.md", 7, "unknown theme 'x'", hint="add the CSS")
        preview.show(Rebuilt(tmp_path / "d.md", error=error))
        assert _event(events)["error"] == {
            "text": f"{tmp_path / 'd.md'}:7: unknown theme 'x'",
            "hint": "add the CSS",
        }
        built = Built(overflows=[Overflow(tmp_path / "d.md", 12, 2, 30, "picture")])
        preview.show(Rebuilt(tmp_path / "d.md", built=built))
        assert _event(events) == {
            "version": 1,
            "error": None,
            "warnings": ["d.md:12: slide 2 overflows by 30 px (the picture runs past the bottom)"],
        }
        assert 'data-version="1"' in _get(preview.page_url("d"))
    finally:
        preview.close()
    assert events.read().strip() == b""  # the stream ended with the server
    with pytest.raises(OSError):
        _get(preview.url)


def test_a_port_in_use_is_a_clear_error(tmp_path: Path) -> None:
    with serve(tmp_path, ["d"]) as first:
        port = int(first.url.rsplit(":", 1)[1].strip("/"))
        with pytest.raises(Exception, match=f"cannot serve the preview on 127.0.0.1:{port}"):
            serve(tmp_path, ["d"], port)


def test_pages_and_files_are_never_cached(tmp_path: Path) -> None:
    (tmp_path / "d.html").write_text("<html><body>deck</body></html>", encoding="utf-8")
    (tmp_path / "pic.svg").write_text("<svg/>", encoding="utf-8")
    with serve(tmp_path, ["d"]) as preview:
        for url in (preview.page_url("d"), preview.url + "pic.svg", preview.url):
            with urllib.request.urlopen(url, timeout=10) as response:
                assert response.headers["Cache-Control"] == "no-store"  # every save shows


def _get(url: str) -> str:
    with urllib.request.urlopen(url, timeout=10) as response:
        return str(response.read().decode("utf-8"))


def _event(response: http.client.HTTPResponse) -> dict[str, object]:
    """The data of the next `state` event on an event stream."""
    while True:
        line = response.readline().decode("utf-8")
        assert line, "the stream ended"
        if line.startswith("data: "):
            return dict(json.loads(line[6:]))
