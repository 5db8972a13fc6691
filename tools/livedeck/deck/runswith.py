"""What a deck's run depends on besides its commands, as one digest a record keeps.

A record fits a deck only while its commands and all of this are as they were: the setup
commands, the course files (their content), packages, image source, secrets' names, the lab's
user, host and terminal size, and the hidden steps and input of each command. `watch` and
`build --offline` render from a record that fits; any other edit runs the deck again.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

from livedeck.model import Deck


def runs_with(deck: Deck) -> str:
    """`sha256:...` of everything besides the commands' text that decides what a run shows."""
    settings = deck.settings
    data: dict[str, Any] = {
        "setup": list(settings.setup),
        "files": [[s, t, _content(deck.path.parent / s)] for s, t in settings.files],
        "packages": list(settings.packages),
        "images": settings.images,
        "secrets": list(settings.secrets),
        "user": settings.user,
        "host": settings.host,
        "size": [settings.columns, settings.rows],
        "commands": [
            {
                "before": [[h.text, h.until, h.timeout] for h in c.before],
                "input": [[i.text, i.secret] for i in c.input],
            }
            for c in deck.commands
            if c.runnable and (c.before or c.input)
        ],
    }
    text = json.dumps(data, sort_keys=True, ensure_ascii=True)
    return "sha256:" + hashlib.sha256(text.encode()).hexdigest()


def _content(source: Path) -> str:
    """A digest of a course file, or of a folder's files and their names."""
    digest = hashlib.sha256()
    paths = sorted(p for p in source.rglob("*") if p.is_file()) if source.is_dir() else [source]
    for path in paths:
        digest.update(str(path.relative_to(source) if path != source else "").encode() + b"\0")
        try:
            digest.update(path.read_bytes())
        except OSError:
            digest.update(b"\0unreadable")
    return digest.hexdigest()
