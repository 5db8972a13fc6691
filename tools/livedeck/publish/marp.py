"""marp-cli and Chromium: where they are, how to call them, and what their logs say."""

from __future__ import annotations

import contextlib
import os
import re
import shutil
import signal
import subprocess
import tempfile
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from livedeck import reap
from livedeck.errors import ToolMissing

REPO_ROOT = Path(__file__).resolve().parents[3]


MARP_IN_REPO = Path("tools/marp/node_modules/.bin/marp")
# marp-cli's npm folder with livedeck's Node scripts (tools/marp): the repo's, or one named by
# LIVEDECK_MARP_DIR when livedeck runs from an installed wheel, which carries no node_modules.
MARP_DIR_ENV = "LIVEDECK_MARP_DIR"


def marp_folder(env: Mapping[str, str] = os.environ) -> Path:
    """Where marp-cli, Chromium's driver, xterm.js and livedeck's Node scripts are installed."""
    override = env.get(MARP_DIR_ENV)
    return Path(override) if override else REPO_ROOT / "tools" / "marp"


SETUP = "tools/setup/publish-deps.sh"


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
    "pptx": Format("pptx", ".pptx", ("--pptx",), needs_browser=True),  # slides as pictures
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


# Each marp call's environment carries its own mark, inherited by the Chromium it starts.
CALL_ENV = "LIVEDECK_MARP_CALL"


def run_marp(argv: Sequence[str], *, env: Mapping[str, str], timeout: float) -> MarpRun:
    """Run one marp-cli call with stdin from /dev/null; stop it and its browser at the timeout."""
    call = uuid.uuid4().hex
    with subprocess.Popen(
        list(argv),
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        env={**env, CALL_ENV: call},
        text=True,
        errors="replace",
        start_new_session=True,
        preexec_fn=reap.die_with_parent,  # a killed livedeck takes marp (and Chromium) with it
    ) as proc:
        try:
            log, _ = proc.communicate(timeout=timeout)
        except subprocess.TimeoutExpired:
            return MarpRun(tuple(argv), None, _stop(proc, call))
        except BaseException:  # Ctrl-C: marp runs in its own session and would go on
            _stop(proc, call)
            raise
    return MarpRun(tuple(argv), proc.returncode, log)


def _stop(proc: subprocess.Popen[str], call: str) -> str:
    """Stop marp's process group and the browser it started; return what marp logged."""
    # A picture that never loads makes marp print its error and then hang. SIGTERM lets
    # puppeteer close Chromium, which runs in a session of its own; a marp that does not end
    # in time is killed, and whatever carries the call's mark goes with it (an orphaned
    # Chromium, a child holding marp's output open).
    with contextlib.suppress(ProcessLookupError):
        os.killpg(proc.pid, signal.SIGTERM)
    try:
        log, _ = proc.communicate(timeout=5)
    except subprocess.TimeoutExpired:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGKILL)
        kill_marked(call)
        try:
            log, _ = proc.communicate(timeout=5)
        except subprocess.TimeoutExpired:
            log = ""
    kill_marked(call)
    return log


def kill_marked(call: str) -> None:
    """Kill every process whose environment carries the call's mark (CALL_ENV), and wait."""
    reap.kill_marked(CALL_ENV, call)


def scratch_dir(prefix: str = "livedeck-marp-") -> Path:
    """A folder of this process's own for marp-cli and Chromium, in a short temporary path."""
    # Chromium makes its SingletonSocket in $TMPDIR, and a Unix socket path has at most 107
    # bytes ("Socket path too long" kills the browser): a deep temporary directory will not do.
    base = tempfile.gettempdir()
    return reap.owned_tempdir(prefix, base if len(base) <= 48 else "/tmp")


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
    LIVEDECK_OWNER marks marp and its Chromium as this process's (for the sweep in reap.py).
    Sandbox: marp-cli 4.5.1 adds --no-sandbox itself when run as root (or in Docker, or with
    CHROME_NO_SANDBOX set); other users keep Chromium's sandbox.
    """
    result = reap.child_env(env)
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
    if any(format_named(name).needs_browser for name in formats):
        find_chromium(env)


def find_marp(env: Mapping[str, str]) -> Path:
    """marp-cli from $LIVEDECK_MARP or the repo's pinned install; ToolMissing says how to fix."""
    override = env.get("LIVEDECK_MARP")
    marp = Path(override) if override else marp_folder(env) / "node_modules" / ".bin" / "marp"
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


def format_named(name: str) -> Format:
    try:
        return FORMATS[name]
    except KeyError:
        raise ValueError(f"unknown format {name!r}; choose from {', '.join(FORMATS)}") from None


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
