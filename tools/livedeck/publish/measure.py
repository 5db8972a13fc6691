"""Measuring rendered slides in headless Chromium: how far each runs off the bottom."""

from __future__ import annotations

import json
import os
import shutil
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from livedeck.errors import PublishError
from livedeck.publish.marp import (
    Format,
    MarpRun,
    Runner,
    batch_command,
    find_chromium,
    find_marp,
    marp_environment,
    marp_folder,
    marp_messages,
    run_marp,
    scratch_dir,
)
from livedeck.publish.overflow import CodeBox, SlideBox

MEASURE_SCRIPT = marp_folder() / "measure.mjs"


# The HTML that publish makes, without the presenter's JavaScript: one <section> per slide.
BARE_HTML = Format("html", ".html", ("--template", "bare"), needs_browser=False)


# measure.mjs's exit status when marp-cli failed (any other failure: 1).
RENDER_FAILED = 3


def measure(
    markdown: Path,
    *,
    themes: Sequence[Path] = (),
    env: Mapping[str, str] | None = None,
    runner: Runner = run_marp,
    timeout: float = 120.0,
) -> tuple[SlideBox, ...]:
    """Render one Markdown deck as publish does and measure each of its slides."""
    return measure_decks([markdown], themes=themes, env=env, runner=runner, timeout=timeout)[
        Path(markdown)
    ]


def measure_decks(
    decks: Sequence[Path],
    *,
    themes: Sequence[Path] = (),
    env: Mapping[str, str] | None = None,
    runner: Runner = run_marp,
    timeout: float = 120.0,
) -> dict[Path, tuple[SlideBox, ...]]:
    """Measure every slide of every deck: one Node.js process renders and measures them all.

    tools/marp/measure.mjs renders the decks with marp-cli (its API, in a worker thread) while
    Chromium starts, then measures every slide in that one browser. `themes` must be the theme
    CSS publish is given, so the directives and theme are the same as in the real render.
    Pictures load from each deck's own folder. Raises ToolMissing without marp-cli, Node.js or
    Chromium, and PublishError if marp or the browser fails. `timeout` is for the whole run.
    """
    if not decks:
        return {}
    env = dict(os.environ if env is None else env)
    marp, chrome, node = _tools(env)
    scratch = scratch_dir("livedeck-measure-")
    try:
        spec, result = scratch / "spec.json", scratch / "result.json"
        pages = _stage_spec(spec, decks, themes, scratch, marp, chrome)
        argv = [node, str(MEASURE_SCRIPT), str(spec), str(result)]
        run = runner(argv, env=marp_environment(env, scratch, chrome), timeout=timeout)
        return _results(decks, pages, run, result)
    finally:
        shutil.rmtree(scratch, ignore_errors=True)


def _tools(env: Mapping[str, str]) -> tuple[Path, Path, str]:
    """marp-cli, Chromium and node: ToolMissing if one is not installed."""
    marp = find_marp(env)
    chrome = find_chromium(env)
    return marp, chrome, shutil.which("node", path=env.get("PATH")) or "node"


def _stage_spec(
    spec: Path,
    decks: Sequence[Path],
    themes: Sequence[Path],
    scratch: Path,
    marp: Path,
    chrome: Path,
) -> list[dict[str, str]]:
    """Copy the decks into scratch and write measure.mjs's SPEC; its pages, in deck order."""
    source, html = scratch / "src", scratch / "html"
    pages = []
    for number, deck in enumerate(decks):
        # One folder each: decks from different folders (or of the same name) in one call.
        copy = source / str(number) / Path(deck).name
        copy.parent.mkdir(parents=True)
        shutil.copyfile(deck, copy)
        out = html / str(number) / Path(deck).with_suffix(".html").name
        pages.append({"html": str(out), "base": str(Path(deck).absolute().parent)})
    theme_css = [Path(t).absolute() for t in themes]
    marp_argv = batch_command(marp, BARE_HTML, source, html, theme_css)
    marp_spec = {"cli": marp_argv[0], "argv": marp_argv[1:]}
    spec.write_text(
        json.dumps({"chromium": str(chrome), "marp": marp_spec, "pages": pages}), encoding="utf-8"
    )
    return pages


def _results(
    decks: Sequence[Path], pages: Sequence[Mapping[str, str]], run: MarpRun, result: Path
) -> dict[Path, tuple[SlideBox, ...]]:
    """What measure.mjs measured, or PublishError saying which of marp and Chromium failed."""
    missing = [page["html"] for page in pages if not Path(page["html"]).is_file()]
    if run.returncode == RENDER_FAILED or missing:
        raise PublishError(_failure("marp-cli could not render the decks to measure", run))
    if run.returncode != 0 or not result.is_file():
        raise PublishError(_failure("Chromium could not measure the slides", run))
    measured = json.loads(result.read_text(encoding="utf-8"))["pages"]
    return {
        Path(deck): tuple(slide_box(raw) for raw in page["slides"])
        for deck, page in zip(decks, measured, strict=True)
    }


def _failure(what: str, run: MarpRun) -> str:
    status = "timed out" if run.returncode is None else f"exit status {run.returncode}"
    tail = [f"    | {line}" for line in marp_messages(run.log)[-12:]]
    return "\n".join([f"{what} ({status})", *tail])


def slide_box(raw: Mapping[str, Any]) -> SlideBox:
    """One slide as measure.mjs reports it."""
    culprit = raw.get("culprit") or {}
    return SlideBox(
        number=int(raw["number"]),
        overflow=int(raw["overflow"]),
        culprit=str(culprit["kind"]) if culprit else None,
        culprit_code=None if culprit.get("code_index") is None else int(culprit["code_index"]),
        code=tuple(
            CodeBox(
                index=int(c["index"]),
                lines=int(c["lines"]),
                height=float(c["height"]),
                font_px=float(c["font_px"]),
                scale=float(c.get("scale", 1.0)),
            )
            for c in raw.get("code", ())
        ),
    )
