"""The preview server: build/ over HTTP on 127.0.0.1, each deck's page told when to reload.

A small stdlib server (one thread per connection). A deck's page gets a script that listens
to Server-Sent Events: after each build that succeeded it reloads (keeping the slide in the
URL's #hash); while the last save did not build it shows the error over the page.
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Callable, Sequence
from dataclasses import replace
from functools import partial
from http.server import BaseHTTPRequestHandler, SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

from livedeck.errors import LivedeckError, UsageError
from livedeck.serve.page import (
    EVENTS,
    LIVE_JS,
    LIVE_SCRIPT,
    DeckState,
    inject,
    listing_page,
    waiting_page,
)
from livedeck.serve.policy import Policy, Refused
from livedeck.verbs.watch import Rebuilt

HOST = "127.0.0.1"  # never another interface: the preview is for the person at this machine
KEEPALIVE_SECONDS = 15.0


class Preview:
    """Serves out_dir and the watched decks' state until close(); `with` closes it too."""

    def __init__(self, out_dir: Path, decks: Sequence[str], port: int = 0) -> None:
        self.out_dir = out_dir
        self.decks = tuple(decks)
        self._states = {deck: DeckState() for deck in self.decks}
        self._changed = threading.Condition()
        self._closed = False
        handler = partial(_Handler, self, directory=str(out_dir))
        self._server, self._thread = serve_in_background(handler, port, "the preview")
        self.url = f"http://{HOST}:{self._server.server_address[1]}/"

    def __enter__(self) -> Preview:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def page_url(self, deck: str) -> str:
        """Where a deck's page is."""
        return f"{self.url}{deck}.html"

    def show(self, rebuilt: Rebuilt) -> None:
        """Tell the deck's open pages: reload after a build, or show its error."""
        deck = rebuilt.deck.stem
        with self._changed:
            state = self._states.get(deck, DeckState())
            if rebuilt.built is not None:
                warnings = tuple(
                    f"{o.path.name}:{o.line}: {o.message}" for o in rebuilt.built.overflows
                )
                state = DeckState(state.version + 1, None, warnings)
            else:
                state = replace(state, error=rebuilt.error)
            self._states[deck] = state
            self._changed.notify_all()

    def state(self, deck: str) -> DeckState:
        """A deck's state as its page sees it."""
        with self._changed:
            return self._states.get(deck, DeckState())

    def close(self) -> None:
        """Stop serving: end every open event stream, then the server and its socket."""
        with self._changed:
            self._closed = True
            self._changed.notify_all()
        self._server.shutdown()
        self._server.server_close()
        self._thread.join()

    def next_state(self, deck: str, sent: str | None) -> str | None:
        """The deck's state once it differs from `sent` (or a while passed); None once closed."""
        with self._changed:
            self._changed.wait_for(
                lambda: self._closed or self._states[deck].to_json() != sent, KEEPALIVE_SECONDS
            )
            return None if self._closed else self._states[deck].to_json()


class LocalHandler(SimpleHTTPRequestHandler):
    """A folder's files for the person at this machine: never cached, requests not logged.

    Every request, whatever its method, passes the server's Policy before a handler sees it;
    `self.rest` is then the path it asks for. A handler that fails answers 500, never a trace.
    """

    timeout = 60  # seconds a connection may take to send its request: no idle thread forever
    rest = ""

    def policy(self) -> Policy:
        """The server's request policy."""
        raise NotImplementedError

    def port(self) -> int:
        """The port this server listens on."""
        address = self.server.server_address
        assert isinstance(address, tuple)
        return int(address[1])

    def request_headers(self) -> dict[str, list[str]]:
        """Lower-case header name -> every value sent under it."""
        found: dict[str, list[str]] = {}
        for name, value in self.headers.items():
            found.setdefault(name.lower(), []).append(value.strip())
        return found

    def parse_request(self) -> bool:
        """Read the request line and headers, then refuse what the policy refuses."""
        if not super().parse_request():
            return False
        path = unquote(urlsplit(self.path).path)
        verdict = self.policy().check(self.command, path, self.request_headers())
        if isinstance(verdict, Refused):
            self.send_error(verdict.status, verdict.reason)
            return False
        self.rest = verdict
        return True

    def handle_one_request(self) -> None:
        try:
            super().handle_one_request()
        except OSError:  # the client went away
            self.close_connection = True
        except Exception:  # a defect of livedeck: answer it, never print a trace into a terminal
            self.close_connection = True
            with contextlib.suppress(OSError):
                self.send_error(500, "livedeck could not answer this request")

    def end_headers(self) -> None:
        self.send_header("Cache-Control", "no-store")  # every save must show
        super().end_headers()

    def log_message(self, format: str, *args: Any) -> None:
        pass  # the terminal shows builds and commands, not requests

    def send_body(self, body: bytes, content_type: str) -> None:
        """Answer 200 with body."""
        self.send_response(200)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


class _Handler(LocalHandler):
    def __init__(self, preview: Preview, *args: Any, **kwargs: Any) -> None:
        self.preview = preview
        super().__init__(*args, **kwargs)

    def policy(self) -> Policy:
        return Policy(self.port())  # no shell to reach here: no token

    def do_GET(self) -> None:
        url = urlsplit(self.path)
        path = unquote(url.path)
        name = path.removeprefix("/").removesuffix(".html")
        if path == LIVE_SCRIPT:
            self.send_body(LIVE_JS.encode(), "text/javascript; charset=utf-8")
        elif path == EVENTS:
            self._events(parse_qs(url.query).get("deck", [""])[0])
        elif path == "/":
            page = listing_page(self.preview.decks, dict(self._states()))
            self.send_body(page.encode(), "text/html; charset=utf-8")
        elif path.endswith(".html") and name in self.preview.decks:
            version = self.preview.state(name).version  # before reading: never newer than it
            try:
                text = (self.preview.out_dir / f"{name}.html").read_text(encoding="utf-8")
                page = inject(text, name, version)
            except FileNotFoundError:
                page = waiting_page(name, version)
            self.send_body(page.encode(), "text/html; charset=utf-8")
        else:
            super().do_GET()

    def _states(self) -> list[tuple[str, DeckState]]:
        return [(deck, self.preview.state(deck)) for deck in self.preview.decks]

    def _events(self, deck: str) -> None:
        if deck not in self.preview.decks:
            self.send_error(404, f"no deck named {deck!r} is watched")
            return
        self.send_response(200)
        self.send_header("Content-Type", "text/event-stream")
        self.end_headers()
        sent: str | None = None
        with contextlib.suppress(OSError):  # the page went away
            while True:
                state = self.preview.next_state(deck, sent)
                if state is None:
                    return
                message = f"event: state\ndata: {state}\n\n" if state != sent else ": alive\n\n"
                self.wfile.write(message.encode())
                self.wfile.flush()
                sent = state


def serve_in_background(
    handler: Callable[..., BaseHTTPRequestHandler], port: int, what: str
) -> tuple[ThreadingHTTPServer, threading.Thread]:
    """A threading HTTP server on 127.0.0.1:port (0: a free one), serving in a daemon thread."""
    if not 0 <= port <= 65535:
        raise UsageError(f"--port must be 0 to 65535, not {port}")
    try:
        server = ThreadingHTTPServer((HOST, port), handler)
    except OSError as error:
        raise LivedeckError(
            f"cannot serve {what} on {HOST}:{port}: {error.strerror}",
            hint="choose another --port, or leave it out to take a free one",
        ) from None
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    return server, thread
