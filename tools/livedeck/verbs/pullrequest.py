"""The Markdown a refresh proposes: one pull-request body per deck, and one summary of them all.

Pure: a refresh's results in, text out. Pictures are linked through `link` (a path -> its URL):
in a pull request's body only absolute URLs render, so CI passes the raw URL of the branch the
pictures are committed to; a local summary links them relative to itself.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from pathlib import Path

from livedeck.fences import code_span, fenced
from livedeck.verbs.build_run import image_digests
from livedeck.verbs.refresh import Refreshed

Link = Callable[[Path], str]
MARKER = "livedeck-proposal"  # <!-- livedeck-proposal: KEY -->: which proposal a PR carries


def relative_links(folder: Path | None) -> Link:
    """Links relative to `folder` (where the summary is written); the path as it is for None."""
    return lambda path: os.path.relpath(path, folder) if folder else str(path)


def url_links(base: str) -> Link:
    """Links to `base` + the path relative to the current folder (the repository's root).

    `{deck}` in `base` stands for the deck's name (pictures are in a folder named after it):
    each deck's pictures are on a branch of its own.
    """

    def link(path: Path) -> str:
        root = base.replace("{deck}", path.parent.name).rstrip("/")
        return f"{root}/{Path(os.path.relpath(path)).as_posix()}"

    return link


def title(item: Refreshed) -> str:
    """The pull request's title."""
    released = {image: after for image, _, after in item.versions if after}
    moved = [f"{i} {released[i]}" if i in released else i for i in _moved(item)]
    return (
        f"Refresh {item.deck.stem}: new {', '.join(moved)}"
        if moved
        else (f"Refresh {item.deck.stem}: its story changed")
    )


def body(item: Refreshed, link: Link) -> str:
    """The pull request's body for one deck (also the section of the summary)."""
    parts = [f"## {code_span(str(item.deck))}", ""]
    if item.result is not None:
        parts += [item.result.line, ""]
    if item.draft:
        parts += ["> [!WARNING]", "> Not ready to merge (a draft) because:"]
        parts += [f"> - {reason}" for reason in item.draft]
        parts.append("")
    result = item.result
    if result is not None:
        old, new = image_digests(result.previous_lab), image_digests(result.lab)
        moved = _moved(item)
        versions = {image: (before, after) for image, before, after in item.versions}
        if moved:
            parts += ["| image | version | before | after |", "|---|---|---|---|"]
            for i in moved:
                release = " -> ".join(v or "?" for v in versions.get(i, ("-",)))
                cells = (_cell(i), release, _cell(old.get(i, "-")), _cell(new.get(i, "-")))
                parts.append(f"| {' | '.join(cells)} |")
            parts.append("")
        if result.changes:
            parts += ["Commands whose output tells another story:", ""]
        for change in result.changes:
            # The summary is livedeck's Markdown: screen text in it is in code spans already.
            parts += [f"- line {change.line}: {code_span(change.command)}: {change.summary}", ""]
            parts += [*fenced(change.diff, "diff", indent="  "), ""]
        if result.written and not result.changes:
            parts += ["Same story: only IDs, dates and digests change.", ""]
    if item.slides:
        parts += [f"Slides whose story changed: {', '.join(map(str, item.slides))}", ""]
    for number, before, after in item.pictures:
        parts += [
            f"Slide {number}, before and after:",
            "",
            f"![slide {number} before]({link(before)}) ![slide {number} after]({link(after)})",
            "",
        ]
    if item.proposal:
        parts.append(f"<!-- {MARKER}: {item.proposal} -->")
    return "\n".join(parts).rstrip("\n") + "\n"


def _cell(text: str) -> str:
    """Inline code in a table cell, where `|` would end the cell."""
    return code_span(text).replace("|", "\\|")


def _moved(item: Refreshed) -> list[str]:
    if item.result is None:
        return []
    old, new = image_digests(item.result.previous_lab), image_digests(item.result.lab)
    return [i for i in sorted(old.keys() | new.keys()) if old.get(i) != new.get(i)]


def summary(refreshed: Sequence[Refreshed], link: Link) -> str:
    """Every changed or failed deck of a refresh, in Markdown."""
    shown = [r for r in refreshed if r.changed or r.error is not None]
    if not shown:
        return "# livedeck refresh\n\nNothing changed: every deck tells its record's story.\n"
    return "\n".join(["# livedeck refresh", "", *(body(item, link) for item in shown)])
