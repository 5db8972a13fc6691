"""The publish stage: rendered Markdown decks -> HTML and PDF with marp-cli, all or nothing."""

from __future__ import annotations

import contextlib
import os
import re
import shlex
import shutil
import signal
import subprocess
import tempfile
from collections.abc import Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from livedeck.errors import PublishError, ToolMissing

REPO_ROOT = Path(__file__).resolve().parents[2]
MARP_IN_REPO = Path("tools/marp/node_modules/.bin/marp")
SETUP = "tools/setup/publish-deps.sh"
# What `marp --input-dir` converts (marp-cli 4.5.1: globby, no dot files, no node_modules).
MARKDOWN_SUFFIXES = frozenset({".md", ".mdown", ".markdown", ".markdn"})
TAIL_LINES = 12
# marp-cli only warns, and exits 0, when a picture cannot be put into a PDF: livedeck fails.
_PICTURE_WARNING = re.compile(r"local files? (?:is|are) missing|detected accessing to local file")
_FAILED_REQUEST = re.compile(r"Failed request: file://(\S+)")
_DEBUG_LINE = re.compile(r"\d{4}-\d\d-\d\dT[\d:.]+Z ")


@dataclass(frozen=True)
class Format:
    """One kind of output; one marp call makes one kind for all decks."""

    name: str
    suffix: str
    flags: tuple[str, ...]
    needs_browser: bool


FORMATS: Mapping[str, Format] = {
    "html": Format("html", ".html", (), needs_browser=False),
    "pdf": Format("pdf", ".pdf", ("--pdf",), needs_browser=True),
}


@dataclass(frozen=True)
class MarpRun:
    """What one marp-cli call did: exit status (None: stopped at the timeout) and its log."""

    argv: tuple[str, ...]
    returncode: int | None
    log: str


class Runner(Protocol):
    """Runs one marp-cli command line; the real one is `run_marp`, pure-logic tests pass a fake."""

    def __call__(self, argv: Sequence[str], *, env: Mapping[str, str], timeout: float) -> MarpRun:
        """Run argv with env and no stdin; stop it after timeout seconds."""
        ...


def run_marp(argv: Sequence[str], *, env: Mapping[str, str], timeout: float) -> MarpRun:
    """Run one marp-cli call with stdin from /dev/null; stop its process group at the timeout."""
    with subprocess.Popen(
        list(argv),
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        env=dict(env),
        text=True,
        errors="replace",
        start_new_session=True,
    ) as proc:
        try:
            log, _ = proc.communicate(timeout=timeout)
        except subprocess.TimeoutExpired:
            return MarpRun(tuple(argv), None, _stop(proc))
        except BaseException:  # Ctrl-C: marp runs in its own session and would go on
            _stop(proc)
            raise
    return MarpRun(tuple(argv), proc.returncode, log)


def _stop(proc: subprocess.Popen[str]) -> str:
    """Stop marp's process group; return what it logged."""
    # A picture that never loads makes marp print its error and then hang. SIGTERM lets
    # puppeteer close Chromium (which runs in a process group of its own).
    for sig in (signal.SIGTERM, signal.SIGKILL):
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, sig)
        with contextlib.suppress(subprocess.TimeoutExpired):
            log, _ = proc.communicate(timeout=5)
            return log
    return ""


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
    fmts = [_format(name) for name in formats]
    paths = [Path(deck).absolute() for deck in decks]  # not resolve(): pictures are relative
    if not paths or not fmts:
        return []
    check_decks(paths)
    env = dict(os.environ if env is None else env)
    marp_path = find_marp(env)
    chrome = find_chromium(env) if any(f.needs_browser for f in fmts) else None

    out_dir.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=".publish-", dir=out_dir))  # same fs: atomic replace
    scratch = _scratch_dir()
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


def _scratch_dir() -> Path:
    # Chromium makes its SingletonSocket in $TMPDIR, and a Unix socket path has at most 107
    # bytes ("Socket path too long" kills the browser): a deep temporary directory will not do.
    base = tempfile.gettempdir()
    return Path(tempfile.mkdtemp(prefix="livedeck-marp-", dir=base if len(base) <= 48 else "/tmp"))


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


def output_name(deck: Path, fmt: Format) -> str:
    """The file name marp gives the output of deck in fmt."""
    return deck.with_suffix(fmt.suffix).name


def marp_options(fmt: Format, themes: Sequence[Path]) -> list[str]:
    """Options of every marp call.

    No --html: the decks are plain Markdown with terminal transcripts; with HTML enabled a
    transcript word such as `<none>` (docker images) would be taken for a tag and vanish.
    --no-config-file: the output must not depend on a marp config found by chance.
    --allow-local-files: PDF rendering must load the decks' pictures (./img/...).
    """
    options = ["--no-stdin", "--no-config-file", "--allow-local-files", *fmt.flags]
    if fmt.needs_browser:
        options += ["--browser", "chrome"]  # "auto" also hunts for Edge and Firefox
    for theme in themes:
        options += ["--theme-set", str(theme)]
    return options


def batch_command(
    marp: Path, fmt: Format, deck_dir: Path, out: Path, themes: Sequence[Path] = ()
) -> list[str]:
    """One marp call converting every deck in deck_dir (and loading its theme CSS) into out."""
    return [str(marp), *marp_options(fmt, themes), "--input-dir", str(deck_dir), "-o", str(out)]


def single_command(
    marp: Path, fmt: Format, deck: Path, output: Path, themes: Sequence[Path] = ()
) -> list[str]:
    """One marp call for one deck; logs the pictures it failed to load."""
    # --theme-set takes many values: the deck goes after `--`, or marp takes it for a theme.
    options = marp_options(fmt, themes)
    return [str(marp), *options, "--debug=marp-cli", "-o", str(output), "--", str(deck)]


def marp_environment(env: Mapping[str, str], scratch: Path, chrome: Path | None) -> dict[str, str]:
    """The environment of marp: the Chromium to use, and every temporary file inside scratch.

    Each browser run leaves a /tmp/marp-cli-* profile, marp-cli writes its temporary HTML to
    $HOME (for snap Chromium) and Chromium writes ~/.config: TMPDIR and HOME point into scratch,
    which publish removes, so nothing is left behind and no other run's files are touched.
    Sandbox: marp-cli 4.5.1 adds --no-sandbox itself when run as root (or in Docker, or with
    CHROME_NO_SANDBOX set); other users keep Chromium's sandbox.
    """
    result = dict(env)
    result.update(
        TMPDIR=str(scratch),
        HOME=str(scratch),
        XDG_CONFIG_HOME=str(scratch / ".config"),
        XDG_CACHE_HOME=str(scratch / ".cache"),
        NO_COLOR="1",
    )
    if chrome is not None:
        result["CHROME_PATH"] = str(chrome)
    return result


def check_tools(formats: Sequence[str], env: Mapping[str, str] = os.environ) -> None:
    """Raise ToolMissing now if marp-cli, or Chromium for a browser format, is not installed."""
    find_marp(env)
    if any(_format(name).needs_browser for name in formats):
        find_chromium(env)


def find_marp(env: Mapping[str, str]) -> Path:
    """marp-cli from $LIVEDECK_MARP or the repo's pinned install; ToolMissing says how to fix."""
    override = env.get("LIVEDECK_MARP")
    marp = Path(override) if override else REPO_ROOT / MARP_IN_REPO
    if not os.access(marp, os.X_OK):
        where = f"LIVEDECK_MARP={marp} is not" if override else f"{marp} is missing, so not"
        raise ToolMissing(
            f"{where} an installed marp-cli: run {SETUP}",
            hint=f"{SETUP} runs `npm ci --prefix tools/marp` (marp-cli 4.5.1, from the lockfile)",
        )
    if shutil.which("node", path=env.get("PATH")) is None:
        raise ToolMissing(f"marp-cli needs Node.js, and `node` is not on PATH: run {SETUP}")
    return marp


def find_chromium(env: Mapping[str, str]) -> Path:
    """Chromium for PDF: $CHROME_PATH if set, else `chromium` on PATH (Debian: /usr/bin)."""
    configured = env.get("CHROME_PATH")
    if configured:
        if not os.access(configured, os.X_OK):
            raise ToolMissing(
                f"CHROME_PATH={configured} is not an executable browser",
                hint="unset CHROME_PATH to use Debian's chromium (apt-get install chromium)",
            )
        return Path(configured)
    found = shutil.which("chromium", path=env.get("PATH"))
    if found is None:
        raise ToolMissing(
            "making PDF needs Chromium, which is missing: run apt-get install chromium",
            hint=f"or run {SETUP}, which installs Chromium, the fonts and marp-cli",
        )
    return Path(found)


def _format(name: str) -> Format:
    try:
        return FORMATS[name]
    except KeyError:
        raise ValueError(f"unknown format {name!r}; choose from {', '.join(FORMATS)}") from None


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


def marp_messages(log: str) -> list[str]:
    """marp's own lines ('[ ERROR ] ...' and their continuations), without --debug noise."""
    kept: list[str] = []
    keep = True
    for line in log.splitlines():
        if line.startswith("["):
            keep = True
        elif _DEBUG_LINE.match(line):
            keep = False
        if keep and line.strip():
            kept.append(line.rstrip())
    return kept
