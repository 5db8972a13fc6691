"""What the presenting server sends and who it answers: the page with its scripts. Pure."""

from __future__ import annotations

import hmac
from collections.abc import Mapping
from pathlib import Path

PRESENT_JS = Path(__file__).with_name("present.js").read_text(encoding="utf-8")
ASSETS = "_livedeck/"  # under the token: every URL the page uses is relative to it


def inject(page: str, label: str) -> str:
    """The deck's HTML with xterm.js and the live script, which finds its blocks itself."""
    tags = (
        f'<link rel="stylesheet" href="{ASSETS}xterm.css">'
        f'<script src="{ASSETS}xterm.js"></script>'
        f'<script src="{ASSETS}present.js" data-label="{_attribute(label)}"></script>'
    )
    end = page.lower().rfind("</body>")
    return page + tags if end < 0 else page[:end] + tags + page[end:]


def allowed(
    path: str, headers: Mapping[str, str], token: str, port: int, *, changes: bool
) -> str | None:
    """The path under the token if the request may be answered, None if it must be refused.

    The page drives a root-capable shell: the URL must carry the token, the Host must be this
    server (no DNS rebinding), and a browser's Origin, when sent (always for a POST), this page's.
    """
    own = {f"127.0.0.1:{port}", f"localhost:{port}"}
    if headers.get("Host", "") not in own:
        return None
    origin = headers.get("Origin")
    if origin is not None and origin not in {f"http://{host}" for host in own}:
        return None
    if changes and origin is None:
        return None
    if headers.get("Sec-Fetch-Site", "same-origin") not in ("same-origin", "none"):
        return None
    prefix, _, rest = path.removeprefix("/").partition("/")
    if not hmac.compare_digest(prefix.encode(), token.encode()):
        return None
    return rest


def _attribute(text: str) -> str:
    return text.replace("&", "&amp;").replace('"', "&quot;").replace("<", "&lt;")
