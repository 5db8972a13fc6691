"""WarmMarp: one marp-cli + Chromium for many renders and measurements, gone once closed."""

from __future__ import annotations

import os
import re
import subprocess
from pathlib import Path

import pytest

from livedeck.errors import PublishError
from livedeck.publish import publish
from livedeck.publish.warm import WarmMarp

pytestmark = pytest.mark.marp

TWO_SLIDES = "---\nmarp: true\n---\n\n# One\n\n---\n\n# Two {n}\n\n```\n" + "line\n" * 40 + "```\n"


def test_renders_and_measures_again_and_again_then_leaves_nothing(tmp_path: Path) -> None:
    deck = tmp_path / "d.md"
    marp = WarmMarp()
    try:
        for n in range(3):
            deck.write_text(TWO_SLIDES.format(n=n), encoding="utf-8")
            page = marp.html(deck, tmp_path / "out" / "d.html")
            assert f"Two {n}" in page.read_text(encoding="utf-8")
            slides = marp.measure([deck])[deck]
            assert [s.number for s in slides] == [1, 2]
            assert slides[0].overflow == 0 and slides[1].overflow > 0  # 40 lines run off
        node = marp._proc
        scratch = marp._scratch
        assert node is not None
    finally:
        marp.close()
    assert node.returncode is not None
    assert not scratch.exists()
    with pytest.raises(ProcessLookupError):
        os.kill(node.pid, 0)


def test_a_failed_render_is_an_error_and_the_next_one_works(tmp_path: Path) -> None:
    deck = tmp_path / "d.md"
    deck.write_text(TWO_SLIDES.format(n=1), encoding="utf-8")
    with WarmMarp() as marp:
        with pytest.raises(PublishError, match=r"missing\.md: marp-cli .*HTML"):
            marp.html(tmp_path / "missing.md", tmp_path / "missing.html")
        assert "Two 1" in marp.html(deck, tmp_path / "d.html").read_text(encoding="utf-8")


def test_publish_through_it_makes_what_marp_cli_makes(tmp_path: Path) -> None:
    # A build publishes with WarmMarp.run as its runner: the same HTML (but for the random
    # scope of scoped styles) and a PDF of the same pages as marp-cli programs make.
    folder = tmp_path / "decks"
    folder.mkdir()
    for name in ("a", "b"):
        text = TWO_SLIDES.format(n=name) + "\n<style scoped>h1 { color: red }</style>\n"
        (folder / f"{name}.md").write_text(text, encoding="utf-8")
    decks = sorted(folder.glob("*.md"))
    by_programs = publish(decks, tmp_path / "programs", ("html", "pdf"))
    with WarmMarp() as marp:
        warm = publish(decks, tmp_path / "warm", ("html", "pdf"), runner=marp.run)
        browsers = _browsers(marp)
    assert [p.name for p in warm] == [p.name for p in by_programs]
    scope = re.compile(r"data-marpit-scope-[A-Za-z0-9]+")
    for made, made_warm in zip(by_programs, warm, strict=True):
        if made.suffix == ".html":
            assert scope.sub("", made.read_text()) == scope.sub("", made_warm.read_text())
        else:
            assert _pdf_text(made) == _pdf_text(made_warm)
    assert browsers == 1  # marp-cli's own for the PDF is closed again


def test_a_render_that_fails_is_an_exit_status_for_publish(tmp_path: Path) -> None:
    missing = tmp_path / "missing.md"
    with WarmMarp() as marp:
        argv = ["marp", "--html", str(missing), "-o", str(tmp_path / "missing.html")]
        run = marp.run(argv, env={}, timeout=60)
        assert run.returncode not in (0, None)
        assert "Not found processable Markdown" in run.log
        good = tmp_path / "good.md"
        good.write_text(TWO_SLIDES.format(n=1), encoding="utf-8")
        assert publish([good], tmp_path / "out", ("html",), runner=marp.run)


def _browsers(marp: WarmMarp) -> int:
    """Chromium main processes under the warm node process."""
    assert marp._proc is not None
    found = subprocess.run(
        ["ps", "-o", "args=", "--ppid", str(marp._proc.pid)], capture_output=True, text=True
    ).stdout
    return sum("chrom" in line for line in found.splitlines())


def _pdf_text(pdf: Path) -> str:
    return subprocess.run(
        ["pdftotext", "-layout", str(pdf), "-"], capture_output=True, text=True, check=True
    ).stdout
