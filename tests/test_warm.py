"""WarmMarp: one marp-cli + Chromium for many renders and measurements, gone once closed."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest

from livedeck.cli import main
from livedeck.errors import PublishError
from livedeck.publish.marp import single_command
from livedeck.publish.measure import BARE_HTML
from livedeck.publish.warm import WarmMarp
from livedeck.verbs import build as build_verb
from marps import Lender, Lent

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


def test_a_failed_measurement_says_why(tmp_path: Path, warm_marp: Lent) -> None:
    """Chromium's own reason is in the message, after marp-cli's debug lines too (it was cut:
    a build on a loaded machine failed with "Chromium could not measure the slides" alone)."""
    deck = tmp_path / "d.md"
    deck.write_text(TWO_SLIDES.format(n=1), encoding="utf-8")
    marp = warm_marp._warm
    render = single_command(marp.cli, BARE_HTML, deck, tmp_path / "d.html", ())[1:]
    gone = {"html": str(tmp_path / "never-made.html"), "base": str(tmp_path)}
    with pytest.raises(PublishError, match=r"(?s)could not measure the slides.*never-made\.html"):
        marp._request({"render": [render], "measure": [gone]}, what="rendering")
    assert len(marp.measure([deck])[deck]) == 2  # the next request works


@pytest.mark.own_marp
def test_a_build_ends_the_marp_cli_it_started_even_when_publishing_fails(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """build's own WarmMarp (not one lent by the tests, conftest.py): closed after a build that
    published, and after one whose publish failed; its node and scratch folder are gone."""
    started: list[tuple[int, Path]] = []  # node's pid and the scratch folder of each

    class Seen(WarmMarp):
        def __init__(self, *args: Any, **kwargs: Any) -> None:
            super().__init__(*args, **kwargs)
            assert self._proc is not None
            started.append((self._proc.pid, self._scratch))

    monkeypatch.setattr(build_verb, "WarmMarp", Seen)
    slides = tmp_path / "slides"
    slides.mkdir()
    (slides / "d.md").write_text(TWO_SLIDES.format(n=1), encoding="utf-8")
    out = tmp_path / "out"
    assert main(["build", str(slides), "--lab", "local", "--out", str(out), "-q"]) == 0
    # --strict: slide 2 overflows (40 lines), found by the marp-cli the build started.
    assert main(["build", str(slides), "--lab", "local", "--out", str(out), "--strict"]) != 0
    assert len(started) == 2
    for pid, scratch in started:
        with pytest.raises(ProcessLookupError):
            os.kill(pid, 0)
        assert not scratch.exists()


def test_builds_in_one_test_process_borrow_one_marp_cli(tmp_path: Path) -> None:
    """The lending the suite relies on (conftest.py): two builds, one node."""
    slides = tmp_path / "slides"
    slides.mkdir()
    (slides / "d.md").write_text(TWO_SLIDES.format(n=1), encoding="utf-8")
    lender = build_verb.WarmMarp
    assert isinstance(lender, Lender)
    before = lender.started
    for n in range(2):
        assert main(["build", str(slides), "--lab", "local", "--out", str(tmp_path / f"o{n}")]) == 0
        assert (tmp_path / f"o{n}" / "d.pdf").read_bytes()[:5] == b"%PDF-"
    assert lender.started - before <= 1  # one more at most: the first build may start it
    assert lender.alive()  # the builds did not end it
