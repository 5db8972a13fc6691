"""marp-cli and Chromium kept running between renders, for rebuilding on every save.

`WarmMarp` owns one node process (tools/marp/warm.mjs) that loaded marp-cli once and holds one
Chromium tab open: rendering a deck's HTML and measuring its slides then take tens of
milliseconds instead of a process start, a module load and a browser start each time. It
renders exactly as publish and measure do (the same marp-cli options and theme CSS).

A build measures and publishes through one too (`run` is publish's Runner): its HTML and PDF
cost no node start and no second load of marp-cli (tools/bench/marp_calls.py).
"""

from __future__ import annotations

import contextlib
import json
import os
import select
import shutil
import signal
import subprocess
import threading
import time
import uuid
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from livedeck import reap
from livedeck.errors import PublishError
from livedeck.publish.marp import (
    CALL_ENV,
    FORMATS,
    MarpRun,
    find_chromium,
    find_marp,
    kill_marked,
    marp_environment,
    marp_folder,
    marp_messages,
    scratch_dir,
    single_command,
)
from livedeck.publish.measure import BARE_HTML, RENDER_FAILED, slide_box
from livedeck.publish.overflow import SlideBox

WARM_SCRIPT = marp_folder() / "warm.mjs"


class WarmMarp:
    """One long-lived marp-cli + Chromium; `html` and `measure` may be called many times.

    A request that fails or times out raises PublishError; a node process that died is started
    again on the next request. close() (or `with`) ends node and Chromium and removes the
    scratch folder (Chromium's profile, marp's temporary files).
    """

    def __init__(self, env: Mapping[str, str] | None = None, timeout: float = 120.0) -> None:
        self._env = dict(os.environ if env is None else env)
        self._marp = find_marp(self._env)
        self._chrome = find_chromium(self._env)
        self._node = shutil.which("node", path=self._env.get("PATH")) or "node"
        self._timeout = timeout
        self._lock = threading.Lock()  # one request at a time: node answers in order
        self._scratch = scratch_dir("livedeck-warm-")
        self._proc: subprocess.Popen[bytes] | None = None
        self._pending = b""
        self._requests = 0
        # Node and every process it starts (Chromium; a marp-cli program and its browser) carry
        # this mark: _stop kills what is left of them by it.
        self._call = uuid.uuid4().hex
        self._start()

    @property
    def cli(self) -> Path:
        """The marp-cli this node loaded: the first word of a command line for `run`."""
        return self._marp

    def __enter__(self) -> WarmMarp:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def html(self, deck: Path, output: Path, *, themes: Sequence[Path] = ()) -> Path:
        """Render deck (Markdown) to output as publish's HTML; return output."""
        argv = single_command(self._marp, FORMATS["html"], deck, output, themes)
        self._request({"render": [argv[1:]]}, what=f"{deck}: marp-cli could not make the HTML")
        if not output.is_file():
            raise PublishError(f"{deck}: marp-cli exited 0 but wrote no HTML")
        return output

    def measure(
        self, decks: Sequence[Path], *, themes: Sequence[Path] = ()
    ) -> dict[Path, tuple[SlideBox, ...]]:
        """Measure every slide of every deck, as measure.measure_decks does."""
        render, pages = [], []
        for number, deck in enumerate(decks):
            bare = self._scratch / "bare" / str(number) / Path(deck).with_suffix(".html").name
            bare.parent.mkdir(parents=True, exist_ok=True)
            render.append(single_command(self._marp, BARE_HTML, Path(deck), bare, themes)[1:])
            pages.append({"html": str(bare), "base": str(Path(deck).absolute().parent)})
        if not pages:
            return {}
        answer = self._request(
            {"render": render, "measure": pages}, what="marp-cli could not render the decks"
        )
        return {
            Path(deck): tuple(slide_box(raw) for raw in page["slides"])
            for deck, page in zip(decks, answer["pages"], strict=True)
        }

    def run(self, argv: Sequence[str], *, env: Mapping[str, str], timeout: float) -> MarpRun:
        """publish's Runner: one marp-cli command line of this marp-cli, run here.

        `env` is not used: the calls run in node's own (made from the same environment, with a
        scratch folder of its own). Returns the exit status (None: stopped at `timeout`, node
        is then started again on the next request) and what marp-cli logged meanwhile.
        """
        if Path(argv[0]) != self._marp:
            raise ValueError(f"{argv[0]} is not the marp-cli this node loaded ({self._marp})")
        with self._lock:
            log_start = self._log_size()
            status: int | None
            try:
                answer = self._exchange({"render": [list(argv[1:])]}, timeout)
                status = 0 if answer.get("status") == 0 else 1
            except (BrokenPipeError, TimeoutError) as error:
                self._stop()
                status = None if isinstance(error, TimeoutError) else 1
            return MarpRun(tuple(argv), status, self._log_text(log_start))

    def close(self) -> None:
        """End node and Chromium, and remove the scratch folder."""
        with self._lock:
            self._stop()
            shutil.rmtree(self._scratch, ignore_errors=True)

    def _start(self) -> None:
        log = (self._scratch / "log").open("ab")  # a file: a pipe nobody reads could fill up
        with log:
            self._proc = subprocess.Popen(
                [self._node, str(WARM_SCRIPT), str(self._marp), str(self._chrome)],
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                stderr=log,
                env={
                    **marp_environment(self._env, self._scratch, self._chrome),
                    CALL_ENV: self._call,
                },
                start_new_session=True,
                preexec_fn=reap.die_with_parent,  # a killed livedeck takes node (and Chromium)
            )
        self._pending = b""

    def _exchange(self, request: dict[str, Any], timeout: float) -> dict[str, Any]:
        """Send one request (node started if it is not running) and read its answer; raises
        BrokenPipeError if node ended, TimeoutError after `timeout` seconds. Under the lock."""
        if self._proc is None or self._proc.poll() is not None:
            self._stop()
            self._start()
        assert self._proc is not None and self._proc.stdin is not None
        self._requests += 1
        self._proc.stdin.write(json.dumps({"id": self._requests, **request}).encode() + b"\n")
        self._proc.stdin.flush()
        return self._answer(self._requests, time.monotonic() + timeout)

    def _request(self, request: dict[str, Any], *, what: str) -> dict[str, Any]:
        with self._lock:
            log_start = self._log_size()
            try:
                answer = self._exchange(request, self._timeout)
            except (BrokenPipeError, TimeoutError) as error:
                self._stop()  # started again on the next request
                stopped = "timed out" if isinstance(error, TimeoutError) else "ended"
                raise PublishError(
                    f"{what}: marp-cli and Chromium {stopped}\n" + self._log_tail(log_start)
                ) from None
            if answer.get("status") == RENDER_FAILED:
                raise PublishError(f"{what}\n{self._log_tail(log_start)}")
            if answer.get("status") != 0:
                raise PublishError(
                    f"Chromium could not measure the slides\n{self._log_tail(log_start)}"
                )
            return answer

    def _answer(self, number: int, deadline: float) -> dict[str, Any]:
        """Read node's lines until the answer to request `number`."""
        assert self._proc is not None and self._proc.stdout is not None
        out = self._proc.stdout.fileno()
        while True:
            while b"\n" in self._pending:
                line, self._pending = self._pending.split(b"\n", 1)
                message = json.loads(line)
                if message.get("id") == number:
                    return dict(message)
            left = deadline - time.monotonic()
            if left <= 0 or not select.select([out], [], [], left)[0]:
                raise TimeoutError
            chunk = os.read(out, 1 << 16)
            if not chunk:
                raise BrokenPipeError
            self._pending += chunk

    def _stop(self) -> None:
        """End node (which ends Chromium), then every process left with this node's mark."""
        proc, self._proc = self._proc, None
        if proc is None:
            return
        with contextlib.suppress(OSError):
            if proc.stdin is not None:
                proc.stdin.close()  # the end of its requests: node ends Chromium and exits
        try:
            proc.wait(5)
        except subprocess.TimeoutExpired:
            for sig in (signal.SIGTERM, signal.SIGKILL):
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(proc.pid, sig)
                with contextlib.suppress(subprocess.TimeoutExpired):
                    proc.wait(5)
                    break
        if proc.stdout is not None:
            proc.stdout.close()
        # What node could not end (its Chromium, when node was killed): gone before this returns.
        kill_marked(self._call)

    def _log_size(self) -> int:
        with contextlib.suppress(OSError):
            return (self._scratch / "log").stat().st_size
        return 0

    def _log_text(self, start: int) -> str:
        """What node logged from byte `start` on."""
        try:
            with (self._scratch / "log").open("rb") as log:
                log.seek(start)
                return log.read().decode("utf-8", errors="replace")
        except OSError:
            return ""

    def _log_tail(self, start: int) -> str:
        text = self._log_text(start)
        return "\n".join(f"    | {line}" for line in marp_messages(text)[-12:])
