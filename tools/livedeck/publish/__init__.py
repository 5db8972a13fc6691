"""The publish stage: rendered Markdown decks -> HTML and PDF with marp-cli, all or nothing."""

from __future__ import annotations

import os
import re
import shlex
import shutil
import tempfile
from collections.abc import Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

from livedeck.errors import PublishError
from livedeck.publish.marp import (
    MARP_IN_REPO,
    Format,
    MarpRun,
    Runner,
    batch_command,
    find_chromium,
    find_marp,
    format_named,
    marp_environment,
    marp_messages,
    output_name,
    run_marp,
    scratch_dir,
    single_command,
)

# What `marp --input-dir` converts (marp-cli 4.5.1: globby, no dot files, no node_modules).
MARKDOWN_SUFFIXES = frozenset({".md", ".mdown", ".markdown", ".markdn"})


TAIL_LINES = 12


# marp-cli only warns, and exits 0, when a picture cannot be put into a PDF: livedeck fails.
_PICTURE_WARNING = re.compile(r"local files? (?:is|are) missing|detected accessing to local file")


_FAILED_REQUEST = re.compile(r"Failed request: file://(\S+)")


def publish(
    decks: Sequence[Path],
    out_dir: Path,
    formats: Sequence[str] = ("html", "pdf"),
    *,
    themes: Sequence[Path] = (),
    runner: Runner = run_marp,
    env: Mapping[str, str] | None = None,
    timeout: float = 300.0,
) -> list[Path]:
    """Convert staged decks (all in one directory) to each format; return the files in out_dir.

    One marp call per format converts every deck (one browser for all PDFs), loading the theme
    CSS found beside the decks plus `themes`. Outputs are made in a staging directory inside
    out_dir and moved in (os.replace) only once every deck converted in every format: a failure
    leaves out_dir as it was and raises PublishError naming the deck that failed.
    `timeout` is in seconds for each marp call; `env` defaults to os.environ.
    """
    fmts = [format_named(name) for name in formats]
    paths = [Path(deck).absolute() for deck in decks]  # not resolve(): pictures are relative
    if not paths or not fmts:
        return []
    check_decks(paths)
    env = dict(os.environ if env is None else env)
    marp_path = find_marp(env)
    chrome = find_chromium(env) if any(f.needs_browser for f in fmts) else None

    out_dir.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=".publish-", dir=out_dir))  # same fs: atomic replace
    scratch = scratch_dir()
    try:
        marp_env = marp_environment(env, scratch, chrome)
        marp = _Marp(marp_path, tuple(themes), marp_env, runner, timeout)
        # One marp process per format, side by side: HTML needs no browser, PDF waits on one.
        with ThreadPoolExecutor(max_workers=len(fmts)) as pool:
            done = [
                pool.submit(marp.convert, f, paths, staging / f.name, scratch / f"{f.name}-alone")
                for f in fmts
            ]
            for future in done:
                future.result()  # raises the first format's PublishError
        outputs: list[Path] = []
        for fmt in fmts:
            for deck in paths:
                name = output_name(deck, fmt)
                os.replace(staging / fmt.name / name, out_dir / name)
                outputs.append(out_dir / name)
        return outputs
    finally:
        shutil.rmtree(staging, ignore_errors=True)
        shutil.rmtree(scratch, ignore_errors=True)


def check_decks(decks: Sequence[Path]) -> None:
    """Raise ValueError unless the decks are Markdown files marp can convert in one call."""
    dirs = {deck.parent for deck in decks}
    if len(dirs) != 1:
        raise ValueError(f"decks must be staged in one directory, not {sorted(map(str, dirs))}")
    deck_dir = dirs.pop()
    for deck in decks:
        if deck.suffix not in MARKDOWN_SUFFIXES or not deck.is_file():
            raise ValueError(f"not a Markdown file: {deck}")
    if len({deck.stem for deck in decks}) != len(decks):
        raise ValueError(f"two decks would make outputs of the same name: {decks}")
    # marp --input-dir converts every Markdown file below the directory: a stray one would
    # cost time and could fail the whole batch. (One deck alone is converted by file name.)
    stray = sorted(set(_markdown_below(deck_dir)) - set(decks)) if len(decks) > 1 else []
    if stray:
        names = ", ".join(str(path.relative_to(deck_dir)) for path in stray)
        raise ValueError(f"{deck_dir} also holds Markdown that is not being published: {names}")


def _markdown_below(root: Path) -> list[Path]:
    return [
        path
        for path in root.rglob("*")
        if path.suffix in MARKDOWN_SUFFIXES
        and path.is_file()
        and not any(p.startswith(".") or p == "node_modules" for p in path.relative_to(root).parts)
    ]


@dataclass(frozen=True)
class _Marp:
    path: Path
    themes: tuple[Path, ...]
    env: Mapping[str, str]
    runner: Runner
    timeout: float

    def convert(self, fmt: Format, decks: Sequence[Path], out: Path, alone: Path) -> None:
        """Make fmt for all decks into out with one call; on failure name the deck to blame."""
        if len(decks) == 1:
            self.convert_one(fmt, decks[0], out)
            return
        argv = batch_command(self.path, fmt, decks[0].parent, out, self.themes)
        run = self.runner(argv, env=self.env, timeout=self.timeout)
        made = all((out / output_name(deck, fmt)).is_file() for deck in decks)
        problem = _problem(run, made, fmt, self.timeout)
        if not problem:
            return
        # marp's batch message names no deck: convert deck by deck to find the one to blame.
        for deck in decks:
            self.convert_one(fmt, deck, alone)
        raise PublishError(
            _with_tail(f"{decks[0].parent}: {problem} for {len(decks)} decks together", run),
            hint="each deck alone converts: publish fewer decks at a time, or a longer timeout",
        )

    def convert_one(self, fmt: Format, deck: Path, out: Path) -> None:
        """Make fmt for one deck into out, or raise PublishError naming the deck."""
        output = out / output_name(deck, fmt)
        # Load the theme CSS beside the deck, as --input-dir does (marp warns if there is none).
        local = (deck.parent,) if next(deck.parent.rglob("*.css"), None) else ()
        argv = single_command(self.path, fmt, deck, output, local + self.themes)
        run = self.runner(argv, env=self.env, timeout=self.timeout)
        problem = _problem(run, output.is_file(), fmt, self.timeout)
        if problem:
            raise PublishError(_with_tail(f"{deck}: {problem}", run), hint=_hint(fmt, deck))


def _problem(run: MarpRun, made: bool, fmt: Format, timeout: float) -> str:
    """What went wrong in one marp run, in words, or '' if nothing did."""
    what = fmt.name.upper()
    if run.returncode is None:
        return f"marp-cli did not finish the {what} within {timeout:g} s"
    if run.returncode != 0:
        return f"marp-cli could not make the {what} (exit status {run.returncode})"
    if _PICTURE_WARNING.search(run.log):
        missing = ", ".join(_FAILED_REQUEST.findall(run.log))
        return f"pictures could not be put into the {what}" + (f": {missing}" if missing else "")
    if not made:
        return f"marp-cli exited 0 but wrote no {what}"
    return ""


def _with_tail(message: str, run: MarpRun) -> str:
    tail = marp_messages(run.log)[-TAIL_LINES:]
    return "\n".join([message, "  last lines from marp-cli:", *(f"    | {line}" for line in tail)])


def _hint(fmt: Format, deck: Path) -> str:
    browser = "CHROME_PATH=/usr/bin/chromium " if fmt.needs_browser else ""
    flags = " ".join([*fmt.flags, "--allow-local-files", "--debug=marp-cli"])
    return f"see the whole log: {browser}{MARP_IN_REPO} {flags} {shlex.quote(str(deck))}"
