"""What the presenting server sends and who it answers: the page with its scripts. Pure."""

from __future__ import annotations

import json
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


class BadAction(ValueError):
    """A POST body that is not one action of the page."""


def read_action(body: bytes) -> tuple[str, int, str]:
    """The (action, block, data) a page's POST asks for: a JSON object with exactly a string
    `action`, an integer `block` and an optional string `data`; BadAction for anything else."""
    try:
        asked = json.loads(body.decode("utf-8"), parse_constant=_no_constant)
    except (UnicodeDecodeError, ValueError, RecursionError) as error:
        raise BadAction(f"the body is not JSON ({error})") from None
    if not isinstance(asked, dict) or not set(asked) <= {"action", "block", "data"}:
        raise BadAction('expected {"action": ..., "block": ..., "data": ...}')
    action, block, data = asked.get("action"), asked.get("block"), asked.get("data", "")
    if not isinstance(action, str) or not action:
        raise BadAction("action must be a word")
    if type(block) is not int or not 0 <= block < 2**31:
        raise BadAction(f"block must be a block's number, not {block!r}")
    if not isinstance(data, str):
        raise BadAction("data must be a string")
    return action, block, data


def _no_constant(name: str) -> object:
    raise ValueError(f"{name} is not a number")


def _attribute(text: str) -> str:
    return text.replace("&", "&amp;").replace('"', "&quot;").replace("<", "&lt;")
