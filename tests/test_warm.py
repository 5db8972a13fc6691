"""WarmMarp: one marp-cli + Chromium for many renders and measurements, gone once closed."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from livedeck.errors import PublishError
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
