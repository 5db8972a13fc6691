"""The course book: a build of a folder writes an ordered index with each deck's status and one
PDF of the course whose table of contents lists every deck (real marp-cli, Chromium, pdftotext)."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest
from pypdf import PdfReader

from livedeck.check.results import DeckResult
from livedeck.course.book import ROWS, contents_markdown, contents_pages, status
from livedeck.run.lab import LocalLab
from livedeck.verbs.build import BuildOptions, build

ROOT = Path(__file__).resolve().parent.parent


def test_statuses_say_what_became_of_each_deck() -> None:
    deck = Path("a.md")
    assert status(DeckResult(deck, "kept", False), 0) == ("built; record kept", "ok")
    assert status(DeckResult(deck, "new", True), 2) == (
        "built; new record; 2 overflow warnings",
        "warning",
    )
    text, state = status(DeckResult(deck, "changed", True, changes=(object(),)), 1)  # type: ignore[arg-type]
    assert text.startswith("check failed") and "1 overflow warning" in text and state == "error"
    assert status(None, 0) == ("built from its record", "ok")


def test_contents_take_a_slide_per_rows_chapters() -> None:
    chapters = [(f"Deck {n} | part", n * 10) for n in range(ROWS + 1)]
    text = contents_markdown("My course", chapters)
    assert text.count("\n---\n") == 2  # front matter's end, then one slide break
    assert contents_pages(len(chapters)) == 2
    assert "Deck 0 \\| part" in text  # a | in a title does not break the table
    assert f"| {ROWS + 1}. Deck {ROWS} \\| part | {ROWS * 10} |" in text


@pytest.mark.marp
def test_a_build_of_a_folder_writes_the_book(tmp_path: Path) -> None:
    course = tmp_path / "course"
    shutil.copytree(ROOT / "slides", course)
    (course / ".git").mkdir()
    (course / "livedeck.yaml").write_text(
        "title: Docker in practice\norder: [docker-mariadb, notes, docker-layers]\n",
        encoding="utf-8",
    )
    (course / "notes.md").write_text("# Notes for the students\n\nRead this first.\n", "utf-8")
    build([course / "notes.md"], BuildOptions(out_dir=tmp_path / "first", formats=()), LocalLab)
    out = tmp_path / "out"
    build([course], BuildOptions(out_dir=out, offline=True), LocalLab)
    index = (out / "index.html").read_text(encoding="utf-8")
    assert "<h1>Docker in practice</h1>" in index
    assert 'href="course.pdf"' in index
    positions = [
        index.index(f'href="{n}.html"') for n in ("docker-mariadb", "notes", "docker-layers")
    ]
    assert positions == sorted(positions)  # the course's order
    assert index.count("built from its record") == 3
    assert 'href="docker-layers.pdf"' in index and 'href="notes.pdf"' not in index
    book = out / "course.pdf"
    text = subprocess.run(
        ["pdftotext", "-f", "1", "-l", "1", "-layout", book, "-"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    reader = PdfReader(book)
    layers = len(PdfReader(out / "docker-layers.pdf").pages)
    mariadb = len(PdfReader(out / "docker-mariadb.pdf").pages)
    assert "Docker in practice" in text
    lines = [line.split() for line in text.splitlines() if line.strip()[:2] in ("1.", "2.", "3.")]
    assert [words[0] for words in lines] == ["1.", "2.", "3."]
    assert [words[-1] for words in lines] == ["2", str(2 + mariadb), str(2 + mariadb + 1)]
    assert "Notes for the students" in " ".join(lines[1])
    assert len(reader.pages) == 1 + mariadb + 1 + layers  # the notes print on one page
    outline = [item.title for item in reader.outline]  # type: ignore[union-attr]
    assert outline[0] == "Contents" and outline[2] == "2. Notes for the students"
    # The deck's own first page is where the contents say.
    first = subprocess.run(
        ["pdftotext", "-f", str(2 + mariadb + 1), "-l", str(2 + mariadb + 1), book, "-"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    own = subprocess.run(
        ["pdftotext", "-f", "1", "-l", "1", out / "docker-layers.pdf", "-"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    assert first == own


@pytest.mark.marp
def test_a_build_of_deck_files_writes_no_book(tmp_path: Path) -> None:
    course = tmp_path / "course"
    shutil.copytree(ROOT / "slides", course)
    out = tmp_path / "out"
    build([course / "docker-layers.md"], BuildOptions(out_dir=out, offline=True), LocalLab)
    assert not (out / "course.pdf").exists()
    assert "course.pdf" not in (out / "index.html").read_text(encoding="utf-8")
