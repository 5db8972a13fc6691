"""The course book a build of a folder writes: the index page (every deck in course order, its
status, links to its HTML and PDF) and one PDF of the whole course that opens with a table of
contents and has a bookmark per deck. Documents (Markdown without `marp: true`) are in both.
"""

from __future__ import annotations

import math
import os
import shutil
import subprocess
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from livedeck.check.results import DeckResult
from livedeck.deck.course import find_course
from livedeck.errors import PublishError
from livedeck.model import Deck
from livedeck.publish import publish
from livedeck.publish.index import DeckEntry, State, deck_title, index_html
from livedeck.publish.marp import Runner, find_chromium, marp_environment, run_marp, scratch_dir
from livedeck.publish.overflow import Overflow

BOOK = "course.pdf"
CONTENTS = "contents"  # the table of contents deck, made in scratch only
ROWS = 9  # table rows on one contents slide


@dataclass(frozen=True)
class Chapter:
    """One deck of the book: its entry on the index page, and its PDF pages if any."""

    entry: DeckEntry
    pdf: Path | None  # in staging (documents: printed into scratch)


def status(result: DeckResult | None, overflows: int) -> tuple[str, State]:
    """What became of a deck, as the index shows it: built, record kept, check failed, overflow."""
    story = result.story if result is not None else "offline"
    state: State
    if story == "changed" and result is not None:
        count = len(result.changes)
        text, state = (
            f"check failed: {count} command(s) tell another story; record updated",
            "error",
        )
    else:
        text = {
            "kept": "built; record kept",
            "offline": "built from its record",
            "new": "built; new record",
            "fresh": "built; record renewed",
        }.get(story, f"built ({story})")
        state = "ok"
    if overflows:
        text += f"; {overflows} overflow warning{'s' if overflows != 1 else ''}"
        state = "error" if state == "error" else "warning"
    return text, state


def entries(
    decks: Sequence[Deck],
    results: Sequence[DeckResult],
    overflows: Mapping[Path, int],
    made: set[str],
) -> list[DeckEntry]:
    """Every deck in build order, with the outputs this build made for it."""
    by_deck = {r.deck: r for r in results}
    found = []
    for number, deck in enumerate(decks, 1):
        text, state = status(by_deck.get(deck.path), overflows.get(deck.path, 0))
        html, pdf = f"{deck.name}.html", f"{deck.name}.pdf"
        found.append(
            DeckEntry(
                deck.name,
                f"{number}. {deck_title(deck)}",
                html if html in made else None,
                pdf if pdf in made else None,
                text,
                state,
            )
        )
    return found


def contents_markdown(title: str, chapters: Sequence[tuple[str, int]]) -> str:
    """The table of contents as a Marp deck: (title, first page) per chapter, ROWS a slide."""
    slides = []
    for start in range(0, max(len(chapters), 1), ROWS):
        rows = "\n".join(
            f"| {n}. {_cell(t)} | {page} |"
            for n, (t, page) in enumerate(chapters[start : start + ROWS], start + 1)
        )
        slides.append(f"# {_cell(title)}\n\n| Contents | Page |\n|---|--:|\n{rows}\n")
    return "---\nmarp: true\npaginate: false\n---\n\n" + "\n---\n\n".join(slides)


def contents_pages(count: int) -> int:
    """How many pages the table of contents takes (one per slide, ROWS chapters each)."""
    return max(1, math.ceil(count / ROWS))


class Formats(Protocol):
    """The build's options, of which the book reads the formats."""

    @property
    def formats(self) -> tuple[str, ...]: ...


def write_book(
    decks: Sequence[Deck],
    results: Sequence[DeckResult],
    overflowing: Sequence[Overflow],
    made: set[str],
    staging: Path,
    options: Formats,
    themes: Sequence[Path] = (),
    whole: bool = True,
    runner: Runner = run_marp,
) -> None:
    """index.html, and (`whole`, with PDF) course.pdf into staging, beside the decks' outputs
    (`made`: their names); `runner` makes the contents' PDF (build's warm marp-cli)."""
    formats = options.formats
    listed = entries(decks, results, Counter(o.path for o in overflowing), made)
    course = find_course(decks[0].path) if decks else None
    title = course.title if course is not None and course.title else _folder_title(decks)
    names = {d.name for d in decks}  # a deck named `course` keeps its own course.pdf
    free = next((n for n in (BOOK, "course-book.pdf", "_course.pdf") if n[:-4] not in names), None)
    book = free if whole and "pdf" in formats and decks else None
    if book is not None:
        scratch = scratch_dir()
        try:
            pdfs = [_pdf_of(d, staging, scratch) for d in decks]
            bound = [(e, p) for e, p in zip(listed, pdfs, strict=True) if p is not None]
            _bind(
                title,
                [e for e, _ in bound],
                [p for _, p in bound],
                staging / book,
                scratch,
                themes,
                runner,
            )
        finally:
            shutil.rmtree(scratch, ignore_errors=True)
    page = index_html(listed, title=title, book=book)
    (staging / "index.html").write_text(page, encoding="utf-8")


def _bind(
    title: str,
    listed: Sequence[DeckEntry],
    pdfs: Sequence[Path],
    target: Path,
    scratch: Path,
    themes: Sequence[Path],
    runner: Runner,
) -> None:
    """The contents, then every deck's PDF, with a bookmark per deck."""
    from pypdf import PdfReader, PdfWriter  # here: every livedeck command would load it

    pages = [len(PdfReader(p).pages) for p in pdfs]
    first = contents_pages(len(pdfs)) + 1
    starts = []
    for count in pages:
        starts.append(first)
        first += count
    contents = scratch / "book" / f"{CONTENTS}.md"
    contents.parent.mkdir(parents=True)
    contents.write_text(
        contents_markdown(title, [(e.title, s) for e, s in zip(listed, starts, strict=True)]),
        encoding="utf-8",
    )
    made = publish([contents], scratch / "book-out", ("pdf",), themes=themes, runner=runner)
    writer = PdfWriter()
    writer.append(str(made[0]), outline_item="Contents")
    for entry, pdf in zip(listed, pdfs, strict=True):
        writer.append(str(pdf), outline_item=entry.title)
    with target.open("wb") as out:
        writer.write(out)


def _pdf_of(deck: Deck, staging: Path, scratch: Path) -> Path | None:
    """The deck's PDF in staging; a document's HTML page printed to PDF by Chromium (None
    without HTML: --format pdf makes no page of a document)."""
    if not deck.document:
        return staging / f"{deck.name}.pdf"
    page = staging / f"{deck.name}.html"
    if not page.is_file():
        return None
    target = scratch / f"{deck.name}.pdf"
    env = marp_environment(os.environ, scratch, None)
    argv = [str(find_chromium(os.environ)), "--headless", "--disable-gpu"]
    if os.getuid() == 0:
        argv.append("--no-sandbox")  # Chromium refuses to run as root with its sandbox
    argv += ["--no-pdf-header-footer", f"--print-to-pdf={target}", page.absolute().as_uri()]
    done = subprocess.run(
        argv, env=env, capture_output=True, text=True, timeout=120, stdin=subprocess.DEVNULL
    )
    if done.returncode != 0 or not target.is_file():
        tail = "\n".join(done.stderr.strip().splitlines()[-5:])
        raise PublishError(f"{deck.path}: Chromium could not print the document to PDF:\n{tail}")
    return target


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def _folder_title(decks: Sequence[Deck]) -> str:
    return decks[0].path.absolute().parent.name if decks else "Decks"
