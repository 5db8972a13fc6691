"""`python -m livedeck ARGS` for the tests that run it a hundred times, forked from a process
that imported livedeck once.

A new interpreter spends about 0.25 CPU-s importing livedeck and its libraries before it reads
its arguments: the security and corpus tests start it some 140 times a run, for builds that then
take a few milliseconds. Here one server process per test process (`Forks`) imports them, and
forks for each run. The child is a process of its own: its own pid, working folder, environment
and standard streams, `python -m livedeck` run by runpy from the top, and the interpreter's own
exit (threads joined, atexit, streams flushed). What it shares with a fresh start is the modules'
import-time state, which livedeck keeps free of the environment and the working folder (it reads
them when it runs). tests/test_forks.py holds the forked run to the real one.

Tests that signal or watch the process itself (kill, present, watch) start the real
interpreter (processes.py), as do runs under a prefix such as prlimit.
"""

from __future__ import annotations

import atexit
import io
import json
import os
import socket
import subprocess
import sys
import tempfile
import threading
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
_FDS = 3  # stdin, stdout, stderr


@dataclass(frozen=True)
class Ran:
    """A forked `python -m livedeck`: its pid, exit code and what it wrote."""

    pid: int
    returncode: int
    stdout: str
    stderr: str


def livedeck(
    *args: str, cwd: Path, env: Mapping[str, str], timeout: float = 300, errors: str = "strict"
) -> Ran:
    """`python -m livedeck ARGS` in cwd with env (stdin /dev/null), forked (this process's
    server, started on first use); its output decoded as subprocess.run(text=True, errors=...)
    decodes it."""
    return _SHARED.run(args, cwd=cwd, env=env, timeout=timeout, errors=errors)


class Forks:
    """A server that imported livedeck; run() forks it into one `python -m livedeck`."""

    def __init__(self) -> None:
        self._sock: socket.socket | None = None
        self._proc: subprocess.Popen[bytes] | None = None
        self._lock = threading.Lock()  # one run at a time: a test's threads may ask together

    def run(
        self,
        argv: Sequence[str],
        *,
        cwd: Path,
        env: Mapping[str, str],
        timeout: float,
        errors: str = "strict",
    ) -> Ran:
        """`python -m livedeck argv`, stdin /dev/null."""
        with self._lock, tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
            sock = self._server()
            null = os.open(os.devnull, os.O_RDONLY)
            try:
                request = json.dumps({"argv": list(argv), "cwd": str(cwd), "env": dict(env)})
                socket.send_fds(sock, [request.encode()], [null, out.fileno(), err.fileno()])
            finally:
                os.close(null)
            sock.settimeout(30)
            pid = int(json.loads(sock.recv(4096))["pid"])
            sock.settimeout(timeout)
            try:
                code = int(json.loads(sock.recv(4096))["code"])
            except TimeoutError:
                os.kill(pid, 9)
                self._stop()
                raise subprocess.TimeoutExpired(["livedeck", *argv], timeout) from None
            out.seek(0)
            err.seek(0)
            return Ran(pid, code, _text(out.read(), errors), _text(err.read(), errors))

    def close(self) -> None:
        with self._lock:
            self._stop()

    def _server(self) -> socket.socket:
        if self._sock is not None and self._proc is not None and self._proc.poll() is None:
            return self._sock
        self._stop()
        mine, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
        environ = {**os.environ, "PYTHONPATH": str(ROOT / "tools")}
        self._proc = subprocess.Popen(
            [sys.executable, __file__, str(theirs.fileno())],
            pass_fds=[theirs.fileno()],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            env=environ,
        )
        theirs.close()
        mine.settimeout(60)
        if mine.recv(64) != b"ready":
            raise AssertionError("the livedeck fork server did not start")
        self._sock = mine
        return mine

    def _stop(self) -> None:
        if self._sock is not None:
            self._sock.close()  # the server ends when its socket does
        if self._proc is not None:
            self._proc.wait(30)
        self._sock = self._proc = None


_SHARED = Forks()
atexit.register(_SHARED.close)


def _text(data: bytes, errors: str) -> str:
    """As subprocess.run(text=True) decodes: the locale's encoding, universal newlines."""
    return io.TextIOWrapper(io.BytesIO(data), errors=errors).read()


def _serve(fd: int) -> None:
    """Import livedeck, then fork one child per request; answer its pid, then its exit code."""
    import gc
    import importlib
    import pkgutil

    import livedeck

    for module in pkgutil.walk_packages(livedeck.__path__, "livedeck."):
        if not module.name.endswith("__main__"):
            importlib.import_module(module.name)
    for library in ("docker", "jinja2", "pyte", "ruamel.yaml", "requests", "watchdog.observers"):
        importlib.import_module(library)
    gc.freeze()  # the children's collections leave the imported objects' pages shared
    sock = socket.socket(fileno=fd)
    sock.send(b"ready")
    while True:
        try:
            message, fds, _, _ = socket.recv_fds(sock, 1 << 20, _FDS)
        except ConnectionError:
            return
        if not message:
            return
        if threading.active_count() != 1:
            raise SystemExit("the fork server has threads: a fork would copy them half-way")
        pid = os.fork()
        if pid == 0:
            sock.close()
            _child(json.loads(message), fds)  # raises SystemExit: the interpreter's own exit
        for each in fds:
            os.close(each)
        sock.send(json.dumps({"pid": pid}).encode())
        _, status = os.waitpid(pid, 0)
        sock.send(json.dumps({"code": os.waitstatus_to_exitcode(status)}).encode())


def _child(request: dict[str, object], fds: list[int]) -> None:
    """Become `python -m livedeck ARGV` in the request's folder, environment and streams."""
    import runpy

    for target, each in enumerate(fds):
        os.dup2(each, target)
        os.close(each)
    cwd = str(request["cwd"])
    os.chdir(cwd)
    environ = request["env"]
    assert isinstance(environ, dict)
    os.environ.clear()
    os.environ.update(environ)
    tempfile.tempdir = None  # gettempdir() reads TMPDIR again
    sys.path[0] = cwd  # as `python -m` puts the working folder first
    argv = request["argv"]
    assert isinstance(argv, list)
    sys.argv = ["-m", *argv]
    runpy.run_module("livedeck", run_name="__main__", alter_sys=True)
    raise SystemExit(0)


if __name__ == "__main__":
    _serve(int(sys.argv[1]))
