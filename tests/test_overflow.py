"""overflow: pure mapping of measured slides to deck lines, and real marp + Chromium (`marp`)."""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from collections.abc import Mapping, Sequence
from pathlib import Path

import pytest

from livedeck.deck import load_deck, parse_deck
from livedeck.errors import PublishError
from livedeck.publish.marp import REPO_ROOT, MarpRun, Runner
from livedeck.publish.measure import RENDER_FAILED, measure, measure_decks
from livedeck.publish.overflow import (
    CodeBox,
    SlideBox,
    code_fences,
    overflow_error,
    overflow_report,
)
from livedeck.publish.warm import WarmMarp
from marps import Lent

DECKS = Path(__file__).parent / "decks" / "overflow"
LONG = DECKS / "long-code.md"
SHORT = DECKS / "short.md"
MSPT2 = REPO_ROOT / "slides" / "themes" / "mspt2.css"

DECK = """\
---
marp: true
---

# One

```bash
a
```

~~~~text
```
not a fence of its own
```
~~~~

---

## Two

Text only.

---

    indented code, no fence

```
b
```
"""


def test_code_fences_lists_each_slides_opening_fences() -> None:
    deck = parse_deck(DECK, Path("slides/x.md"))
    assert code_fences(deck) == {1: [7, 11], 3: [27]}


def test_a_code_block_that_crosses_the_bottom_is_named_at_its_fence() -> None:
    deck = parse_deck(DECK, Path("slides/x.md"))
    box = SlideBox(1, 83, "code block", 1, (CodeBox(0, 1, 40, 12.6), CodeBox(1, 3, 90, 12.6)))
    [found] = overflow_report(deck, [box])
    assert (found.line, found.slide, found.pixels, found.code_line) == (11, 1, 83, 11)
    assert (
        str(found) == "slides/x.md:11: slide 1 overflows by 83 px (code block at line 11, 3 lines)"
    )


def test_another_block_is_named_at_the_slide_with_its_tallest_code_block() -> None:
    deck = parse_deck(DECK, Path("slides/x.md"))
    box = SlideBox(1, 7, "paragraph", None, (CodeBox(0, 1, 40, 12.6), CodeBox(1, 3, 90, 12.6)))
    [found] = overflow_report(deck, [box])
    assert found.line == deck.slides[0].line == 4
    assert found.message == (
        "slide 1 overflows by 7 px (the paragraph runs past the bottom; "
        "tallest code block: line 11, 3 lines)"
    )


def test_slides_that_fit_or_have_no_code_or_no_fence() -> None:
    deck = parse_deck(DECK, Path("slides/x.md"))
    boxes = [
        SlideBox(1, 0, None, None),
        SlideBox(2, 12, "list", None),
        # An indented block (no fence) comes first on slide 3: which line is which is unknown.
        SlideBox(3, 30, "code block", 1, (CodeBox(0, 1, 30, 12.6), CodeBox(1, 1, 30, 12.6))),
    ]
    two, three = overflow_report(deck, boxes)
    assert str(two) == "slides/x.md:18: slide 2 overflows by 12 px (the list runs past the bottom)"
    assert (three.line, three.code_line) == (24, None)
    assert overflow_report(deck, boxes, min_px=40) == []


def _fake_env(tmp_path: Path) -> dict[str, str]:
    tool = tmp_path / "tool"
    tool.write_text("#!/bin/sh\nexit 0\n")
    tool.chmod(0o755)
    return {"PATH": os.environ["PATH"], "LIVEDECK_MARP": str(tool), "CHROME_PATH": str(tool)}


def test_measure_renders_bare_html_with_the_themes_and_reads_the_browser_numbers(
    tmp_path: Path,
) -> None:
    calls: list[list[str]] = []
    specs: list[dict[str, object]] = []

    # One node process: measure.mjs renders with marp-cli (spec["marp"]) and measures.
    def runner(argv: Sequence[str], *, env: Mapping[str, str], timeout: float) -> MarpRun:
        calls.append(list(argv))
        spec = json.loads(Path(argv[2]).read_text())
        specs.append(spec)
        marp = spec["marp"]["argv"]
        source = Path(marp[marp.index("--input-dir") + 1])
        assert sorted(md.name for md in source.rglob("*.md")) == ["long-code.md", "short.md"]
        for page in spec["pages"]:  # the HTML marp would write
            Path(page["html"]).parent.mkdir(parents=True, exist_ok=True)
            Path(page["html"]).write_text("<html><head></head></html>")
            assert Path(page["html"]).is_relative_to(Path(marp[marp.index("-o") + 1]))
        slides: list[dict[str, object]] = [{"number": 1, "overflow": 5, "code": []}]
        result = {"pages": [{"html": p["html"], "slides": slides} for p in spec["pages"]]}
        Path(argv[3]).write_text(json.dumps(result))
        return MarpRun(tuple(argv), 0, "")

    env = _fake_env(tmp_path)
    result = measure_decks([LONG, SHORT], themes=[MSPT2], env=env, runner=runner)
    assert result == {LONG: (SlideBox(1, 5, None, None),), SHORT: (SlideBox(1, 5, None, None),)}
    [call], [spec] = calls, specs
    assert call[1].endswith("measure.mjs")
    assert spec["chromium"] == env["CHROME_PATH"]
    assert spec["marp"]["cli"] == env["LIVEDECK_MARP"]
    marp_argv = spec["marp"]["argv"]
    assert marp_argv[marp_argv.index("--template") + 1] == "bare"
    assert marp_argv[marp_argv.index("--theme-set") + 1] == str(MSPT2)
    assert "--html" not in marp_argv and "--no-config-file" in marp_argv
    assert spec["pages"][0]["base"] == str(DECKS.absolute())


def test_a_failing_marp_is_a_publish_error(tmp_path: Path) -> None:
    def runner(argv: Sequence[str], *, env: Mapping[str, str], timeout: float) -> MarpRun:
        return MarpRun(tuple(argv), 1, "[ ERROR ] something broke")

    with pytest.raises(PublishError, match=r"(?s)marp-cli could not render.*something broke"):
        measure(LONG, env=_fake_env(tmp_path), runner=runner)


def _html_then(returncode: int, log: str) -> Runner:
    """A fake measure.mjs run that rendered every deck, then exited with returncode."""

    def runner(argv: Sequence[str], *, env: Mapping[str, str], timeout: float) -> MarpRun:
        for page in json.loads(Path(argv[2]).read_text())["pages"]:
            Path(page["html"]).parent.mkdir(parents=True, exist_ok=True)
            Path(page["html"]).write_text("<html><head></head></html>")
        return MarpRun(tuple(argv), returncode, log)

    return runner


def test_the_exit_status_tells_a_marp_failure_from_a_browser_failure(tmp_path: Path) -> None:
    env = _fake_env(tmp_path)
    with pytest.raises(PublishError, match=r"(?s)marp-cli could not render.*bad theme"):
        measure(LONG, env=env, runner=_html_then(RENDER_FAILED, "[ ERROR ] bad theme"))
    with pytest.raises(PublishError, match=r"(?s)Chromium could not measure.*no browser"):
        measure(LONG, env=env, runner=_html_then(1, "Error: no browser"))


# --- real marp-cli and Chromium ----------------------------------------------------------------


def _leftovers(prefix: str = "livedeck-measure-") -> set[str]:
    return {p.name for p in Path(tempfile.gettempdir()).glob(f"{prefix}*")}


def _running(text: str) -> list[str]:
    """Command lines of the processes that mention text (node and Chromium name their folder)."""
    found = []
    for cmdline in Path("/proc").glob("[0-9]*/cmdline"):
        try:
            args = cmdline.read_bytes().decode(errors="replace").replace("\0", " ")
        except OSError:  # gone meanwhile
            continue
        if text in args:
            found.append(args)
    return found


@pytest.mark.marp
def test_a_too_long_code_block_overflows_at_its_slide_and_line() -> None:
    before = _leftovers()
    boxes = measure(LONG, themes=[MSPT2])
    assert [box.number for box in boxes] == [1, 2, 3]
    assert boxes[0].overflow == 0 and boxes[2].overflow == 0
    [found] = overflow_report(load_deck(LONG), boxes)
    assert (found.slide, found.line, found.block, found.code_lines) == (2, 19, "code block", 30)
    assert 40 < found.pixels < 150
    assert str(found).startswith(f"{LONG}:19: slide 2 overflows by ")
    assert _leftovers() <= before  # the temporary folder and browser profile are gone


@pytest.mark.marp
def test_a_short_deck_has_no_overflow(warm_marp: Lent) -> None:
    boxes = warm_marp.measure([SHORT], themes=[MSPT2])[SHORT]
    assert len(boxes) == 2
    assert overflow_report(load_deck(SHORT), boxes) == []
    assert boxes[0].code[0].lines == 2


@pytest.mark.marp
def test_the_course_theme_measures_differently_from_marps_default(
    tmp_path: Path, warm_marp: Lent
) -> None:
    # Two decks from two folders in one call: the same slides, with marp's default theme.
    default = tmp_path / "long-code.md"
    default.write_text(LONG.read_text().replace("theme: mspt2", "theme: default"))
    result = warm_marp.measure([LONG, default], themes=[MSPT2])
    course, plain = result[LONG][1], result[default][1]
    assert course.code[0].font_px == pytest.approx(12.6)  # 18 px * gaia's 0.7em
    assert plain.code[0].font_px != course.code[0].font_px
    assert plain.overflow > course.overflow > 0


@pytest.mark.marp
def test_builds_warm_marp_measures_as_measure_decks_does() -> None:
    before = _leftovers("livedeck-warm-")
    with WarmMarp() as marp:
        [scratch] = _leftovers("livedeck-warm-") - before
        warm = marp.measure([LONG, SHORT], themes=[MSPT2])
    assert warm == measure_decks([LONG, SHORT], themes=[MSPT2])
    assert _leftovers("livedeck-warm-") <= before and _running(scratch) == []


@pytest.mark.marp
def test_a_build_that_fails_while_marp_is_warm_leaves_no_process_and_no_folder() -> None:
    before = _leftovers("livedeck-warm-")
    with pytest.raises(RuntimeError, match="a deck failed"), WarmMarp() as marp:
        [scratch] = _leftovers("livedeck-warm-") - before
        marp.measure([LONG], themes=[MSPT2])
        assert _running(scratch)  # node and Chromium
        raise RuntimeError("a deck failed")
    assert _leftovers("livedeck-warm-") <= before and _running(scratch) == []


@pytest.mark.marp
def test_pictures_load_from_the_decks_own_folder(tmp_path: Path, warm_marp: Lent) -> None:
    shutil.copy(REPO_ROOT / "slides" / "img" / "container-layers.jpeg", tmp_path / "big.jpeg")
    deck = tmp_path / "pic.md"
    deck.write_text("---\nmarp: true\ntheme: mspt2\n---\n\n## A big picture\n\n![](big.jpeg)\n")
    [box] = warm_marp.measure([deck], themes=[MSPT2])[deck]
    assert box.overflow > 0 and box.culprit == "picture"


@pytest.mark.marp
def test_a_marp_that_is_not_the_package_runs_as_a_program(tmp_path: Path, warm_marp: Lent) -> None:
    # LIVEDECK_MARP may be any marp-cli program (a wrapper here): measure.mjs runs it instead of
    # marp-cli's API, and the numbers are the same as the package's (here a warm one's: the
    # two runners measure alike, test_builds_warm_marp_measures_as_measure_decks_does).
    marp = REPO_ROOT / "tools" / "marp" / "node_modules" / ".bin" / "marp"
    wrapper = tmp_path / "marp"
    wrapper.write_text(f'#!/bin/sh\nexec "{marp}" "$@"\n')
    wrapper.chmod(0o755)
    env = {**os.environ, "LIVEDECK_MARP": str(wrapper)}
    assert measure(LONG, themes=[MSPT2], env=env) == warm_marp.measure([LONG], themes=[MSPT2])[LONG]
    wrapper.write_text("#!/bin/sh\necho '[ ERROR ] the wrapper failed' >&2\nexit 1\n")
    with pytest.raises(PublishError, match=r"(?s)marp-cli could not render.*the wrapper failed"):
        measure(LONG, themes=[MSPT2], env=env)
    with (
        WarmMarp(env) as marp,
        pytest.raises(PublishError, match=r"(?s)marp-cli could not render.*the wrapper failed"),
    ):
        marp.measure([LONG], themes=[MSPT2])


def test_strict_builds_get_one_error_listing_every_overflow() -> None:
    deck = parse_deck(DECK, Path("slides/x.md"))
    found = overflow_report(deck, [SlideBox(1, 9, "paragraph", None), SlideBox(2, 3, "list", None)])
    error = overflow_error(found)
    assert str(error) == (
        "slides/x.md:4: slide 1 overflows by 9 px (the paragraph runs past the bottom)\n"
        "  slides/x.md:18: slide 2 overflows by 3 px (the list runs past the bottom)"
    )
    assert "<style scoped>" in error.hint
