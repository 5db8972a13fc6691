"""The presenting server: the deck's HTML with live blocks, on 127.0.0.1 behind a random token.

Like the watch preview (serve/), a small stdlib server with one thread per connection and
Server-Sent Events; unlike it, every URL starts with a token and requests from another
Origin are refused: the page types into a shell that can become root on the lab.
"""

from __future__ import annotations

import contextlib
import json
import queue
import secrets
from functools import partial
from pathlib import Path
from typing import Any

from livedeck.errors import LivedeckError, ToolMissing
from livedeck.present.director import Director
from livedeck.present.page import ASSETS, PRESENT_JS, BadAction, inject, read_action
from livedeck.publish.marp import marp_folder
from livedeck.serve.policy import Policy, body_length
from livedeck.serve.server import HOST, KEEPALIVE_SECONDS, LocalHandler, serve_in_background

XTERM = marp_folder() / "node_modules/@xterm/xterm"
XTERM_FILES = {"xterm.js": XTERM / "lib/xterm.js", "xterm.css": XTERM / "css/xterm.css"}
MAX_BODY = 64 * 1024


class PresentServer:
    """Serves one deck's page (html_dir) and its live blocks until close()."""

    def __init__(self, director: Director, html_dir: Path, deck: str, port: int = 0) -> None:
        missing = [str(p) for p in XTERM_FILES.values() if not p.is_file()]
        if missing:
            raise ToolMissing(
                f"xterm.js is not installed ({missing[0]} is missing)",
                hint="install the pinned npm packages: tools/setup/publish-deps.sh",
            )
        self.director = director
        self.html_dir = html_dir
        self.deck = deck
        self.token = secrets.token_urlsafe(24)
        handler = partial(_Handler, self, directory=str(html_dir))
        self._server, self._thread = serve_in_background(handler, port, "the presentation")
        self.port: int = self._server.server_address[1]
        self.url = f"http://{HOST}:{self.port}/{self.token}/{deck}.html"

    def close(self) -> None:
        """Stop serving (the director's close ends the open event streams)."""
        self._server.shutdown()
        self._server.server_close()
        self._thread.join()


class _Handler(LocalHandler):
    def __init__(self, server: PresentServer, *args: Any, **kwargs: Any) -> None:
        self.present = server
        super().__init__(*args, **kwargs)

    def policy(self) -> Policy:
        # The page drives a shell that can become root on the lab: a token, and one POST path.
        return Policy(self.port(), self.present.token, frozenset({f"{ASSETS}act"}), MAX_BODY)

    def do_GET(self) -> None:
        rest = self.rest
        if rest == f"{self.present.deck}.html":
            text = (self.present.html_dir / rest).read_text(encoding="utf-8")
            label = self.present.director.show.label
            self.send_body(inject(text, label).encode(), "text/html; charset=utf-8")
        elif rest == f"{ASSETS}present.js":
            self.send_body(PRESENT_JS.encode(), "text/javascript; charset=utf-8")
        elif rest.removeprefix(ASSETS) in XTERM_FILES and rest.startswith(ASSETS):
            name = rest.removeprefix(ASSETS)
            kind = "text/css" if name.endswith(".css") else "text/javascript"
            self.send_body(XTERM_FILES[name].read_bytes(), f"{kind}; charset=utf-8")
        elif rest == f"{ASSETS}events":
            self._events()
        else:
            self.path = "/" + rest
            super().do_GET()

    def do_HEAD(self) -> None:
        self.path = "/" + self.rest  # the files beside the page, as GET serves them
        super().do_HEAD()

    def do_POST(self) -> None:
        if self.headers.get("Content-Type", "").split(";")[0].strip() != "application/json":
            self.send_error(415, "expected a JSON body (Content-Type: application/json)")
            return
        body = self.rfile.read(body_length(self.request_headers()))
        try:
            action, block, data = read_action(body)
            self.present.director.act(action, block, data)
        except BadAction as error:
            self.send_error(400, f"bad request: {error}")
            return
        except LivedeckError as error:
            self.send_error(409, str(error))
            return
        self.send_response(204)
        self.end_headers()

    def end_headers(self) -> None:
        self.send_header("Referrer-Policy", "no-referrer")  # the token stays in this page
        super().end_headers()

    def _events(self) -> None:
        director = self.present.director
        listener = director.subscribe()
        self.send_response(200)
        self.send_header("Content-Type", "text/event-stream")
        self.end_headers()
        with contextlib.suppress(OSError):
            self._write(director.state())
            while True:
                try:
                    event = listener.get(timeout=KEEPALIVE_SECONDS)
                except queue.Empty:
                    self.wfile.write(b": alive\n\n")
                    self.wfile.flush()
                    continue
                if event is None:
                    return
                self._write(event)
        director.unsubscribe(listener)

    def _write(self, event: dict[str, Any]) -> None:
        self.wfile.write(f"data: {json.dumps(event)}\n\n".encode())
        self.wfile.flush()
