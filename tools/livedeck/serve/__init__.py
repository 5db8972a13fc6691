"""The preview of `livedeck watch`: build/ served on 127.0.0.1, pages that follow each save.

with serve(Path("build"), ["docker-layers"]) as preview:
    print(preview.page_url("docker-layers"))
    preview.show(rebuilt)   # after each rebuild: the open pages reload or show the error
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from livedeck.serve.server import Preview


def serve(out_dir: Path, decks: Sequence[str], port: int = 0) -> Preview:
    """Start serving out_dir on 127.0.0.1:port (0: a free port) for the named decks' pages."""
    return Preview(out_dir, decks, port)


__all__ = ["Preview", "serve"]
