"""Who owns what: every resource a livedeck process makes names its owner, and goes with it.

A livedeck process (the owner) is its pid, its start time and the machine's boot: a pid alone is
reused. Temporary folders carry `PID.START` in their name, child processes (node, Chromium)
carry LIVEDECK_OWNER in their environment and get a signal when livedeck dies, and lab
containers carry the owner in a label (run/labs.py). Whatever a dead owner left is swept by the
next livedeck command; what a live owner holds (another build, a watch) is never touched.
"""

from __future__ import annotations

import contextlib
import ctypes
import fcntl
import os
import re
import shutil
import signal
import tempfile
import time
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path

OWNER_ENV = "LIVEDECK_OWNER"
KILLED_SECONDS = 5.0  # how long a sweep waits for the processes it killed to go

# Temporary folders livedeck makes in the temporary directory: `PREFIX-PID.START-random`.
TEMP_PREFIXES = (
    "livedeck-lab-",
    "livedeck-marp-",
    "livedeck-measure-",
    "livedeck-present-",
    "livedeck-refresh-",
    "livedeck-warm-",
)

_OWNED_NAME = re.compile(r"-(\d+)\.(\d+)-[^/]*$")
_PR_SET_PDEATHSIG = 1


@dataclass(frozen=True)
class Owner:
    """A process on a machine: pid, start time (clock ticks after boot), boot and pid namespace."""

    pid: int
    started: int
    boot: str
    pid_ns: str

    @property
    def tag(self) -> str:
        """`PID.START`: what a temporary name carries."""
        return f"{self.pid}.{self.started}"

    def label(self) -> str:
        """The owner as one word-separated string (a container label, an environment value)."""
        return f"{self.pid} {self.started} {self.boot} {self.pid_ns}"

    @classmethod
    def parse(cls, text: str) -> Owner | None:
        """The owner a label() wrote, or None if `text` is not one."""
        parts = text.split()
        if len(parts) != 4 or not (parts[0].isdigit() and parts[1].isdigit()):
            return None
        return cls(int(parts[0]), int(parts[1]), parts[2], parts[3])


@cache
def me() -> Owner:
    """This process."""
    pid = os.getpid()
    return Owner(pid, _start_time(pid) or 0, _boot_id(), _pid_ns())


def is_dead(owner: Owner) -> bool:
    """True only when `owner` surely ran here and is gone: another machine's process is alive."""
    if owner.boot != _boot_id() or owner.pid_ns != _pid_ns():
        return False  # another machine, container or boot: nothing to tell from here
    return _start_time(owner.pid) != owner.started


def tag_is_dead(pid: int, started: int) -> bool:
    """A `PID.START` name of this machine whose process is gone (same pid, new start: gone)."""
    return _start_time(pid) != started


def owned_tempdir(prefix: str, directory: str | Path | None = None) -> Path:
    """mkdtemp whose name says which process owns it, so a sweep can tell when it is orphaned."""
    return Path(tempfile.mkdtemp(prefix=f"{prefix}{me().tag}-", dir=directory))


@contextlib.contextmanager
def owned_scratch(prefix: str, directory: str | Path | None = None) -> Iterator[Path]:
    """An owned_tempdir for the time of a `with`: removed at its end, swept if killed before."""
    folder = owned_tempdir(prefix, directory)
    try:
        yield folder
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def child_env(env: Mapping[str, str]) -> dict[str, str]:
    """`env` for a child process, marked with its owner so its leftovers can be found."""
    return {**env, OWNER_ENV: me().label()}


def die_with_parent() -> None:
    """preexec_fn: the child gets SIGTERM when the thread that started it dies (even by kill -9).

    SIGTERM, not SIGKILL: node's exit handlers then end the Chromium it started.
    """
    _prctl(_PR_SET_PDEATHSIG, signal.SIGTERM, 0, 0, 0)


@dataclass
class Swept:
    """What a sweep removed, and the dead owners it belonged to."""

    folders: list[Path] = field(default_factory=list)
    processes: list[int] = field(default_factory=list)
    owners: set[int] = field(default_factory=set)


def sweep(temp_dirs: Iterable[Path] | None = None) -> Swept:
    """Remove the temporary folders and kill the child processes of dead livedeck processes."""
    swept = Swept()
    # Processes first: a Chromium left running writes into its profile folder again after
    # the folder is removed.
    for pid, owner in _marked_processes():
        if is_dead(owner):
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.kill(pid, signal.SIGKILL)
                swept.processes.append(pid)
                swept.owners.add(owner.pid)
    wait_gone(swept.processes)
    dirs = temp_dirs if temp_dirs is not None else {Path(tempfile.gettempdir()), Path("/tmp")}
    for directory in dirs:
        for prefix in TEMP_PREFIXES:
            swept_folder(directory, prefix, swept)
    return swept


def kill_marked(variable: str, value: str) -> None:
    """SIGKILL every process processes_with(variable, value) finds, and wait until they are
    gone: a Chromium still dying writes into its profile folder while that is removed."""
    killed = []
    for pid in processes_with(variable, value):
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.kill(pid, signal.SIGKILL)
            killed.append(pid)
    wait_gone(killed)


def wait_gone(pids: Sequence[int], seconds: float = KILLED_SECONDS) -> None:
    """Wait (up to `seconds`) until killed processes have left the process table."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        alive = [p for p in pids if Path(f"/proc/{p}").exists() and not _zombie(p)]
        if not alive:
            return
        time.sleep(0.05)


def _zombie(pid: int) -> bool:
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] == "Z"
    except (OSError, IndexError):
        return True


def swept_folder(directory: Path, prefix: str, swept: Swept | None = None) -> Swept:
    """Remove `prefix`-named entries of `directory` whose owner is dead (a live owner's stay)."""
    swept = swept if swept is not None else Swept()
    with contextlib.suppress(OSError):
        for entry in directory.iterdir():
            found = _OWNED_NAME.search(entry.name)
            if not entry.name.startswith(prefix) or found is None:
                continue
            pid, started = int(found.group(1)), int(found.group(2))
            if tag_is_dead(pid, started):
                if entry.is_dir() and not entry.is_symlink():
                    shutil.rmtree(entry, ignore_errors=True)
                else:
                    entry.unlink(missing_ok=True)
                if not entry.exists():
                    swept.folders.append(entry)
                    swept.owners.add(pid)
    return swept


@contextlib.contextmanager
def folder_lock(folder: Path, waiting: Callable[[], None] | None = None) -> Iterator[None]:
    """Hold an exclusive lock on `folder` (flock on the folder itself: no lock file is left).

    `waiting` is called once if another process holds it, before waiting for it.
    """
    fd = os.open(folder, os.O_RDONLY | os.O_DIRECTORY)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            if waiting is not None:
                waiting()
            fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)  # releases the lock


def processes_with(variable: str, value: str) -> list[int]:
    """Every other process whose environment holds `variable=value`: what a child started,
    even one that left its session (setsid, a daemon)."""
    wanted = f"{variable}={value}".encode()
    mine = os.getpid()
    found = []
    for entry in os.scandir("/proc"):
        if not entry.name.isdigit() or int(entry.name) == mine:
            continue
        try:
            environ = Path(entry.path, "environ").read_bytes()
        except OSError:
            continue
        if wanted in environ.split(b"\0"):
            found.append(int(entry.name))
    return found


def _marked_processes() -> Iterator[tuple[int, Owner]]:
    """(pid, owner) of every process whose environment carries LIVEDECK_OWNER."""
    marker = f"\0{OWNER_ENV}=".encode()
    mine = os.getpid()
    for entry in os.scandir("/proc"):
        if not entry.name.isdigit() or int(entry.name) == mine:
            continue
        try:
            environ = b"\0" + Path(entry.path, "environ").read_bytes()
        except OSError:
            continue
        start = environ.find(marker)
        if start < 0:
            continue
        value = environ[start + len(marker) :].split(b"\0", 1)[0]
        owner = Owner.parse(value.decode(errors="replace"))
        if owner is not None:
            yield int(entry.name), owner


def _start_time(pid: int) -> int | None:
    """Field 22 of /proc/PID/stat (after the command name, which may hold spaces)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    return int(stat.rpartition(")")[2].split()[19])


@cache
def _boot_id() -> str:
    return Path("/proc/sys/kernel/random/boot_id").read_text().strip()


@cache
def _pid_ns() -> str:
    try:
        return os.readlink("/proc/self/ns/pid").removeprefix("pid:").strip("[]")
    except OSError:
        return "?"


_libc = ctypes.CDLL(None, use_errno=True)
_prctl = _libc.prctl  # looked up here: a preexec_fn should do as little as it can
