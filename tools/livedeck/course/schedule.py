"""Running a course's decks: each on a lab of its own, up to `jobs` at once, a deck with
`after:` only once the state it starts from is kept. Results come back in the build's order,
whatever order the labs finished in, so the outputs are those of a serial build.
"""

from __future__ import annotations

import contextlib
import os
import threading
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import replace
from pathlib import Path
from typing import Any, TypeVar

from livedeck.course import snapshot
from livedeck.course.chain import resolve
from livedeck.deck import load_deck
from livedeck.errors import LabError
from livedeck.model import Deck
from livedeck.run.lab import Lab, LabFactory, LabSpec

R = TypeVar("R")
LAB_MEMORY = 700 * 2**20  # what one lab (engine, mirror, a container or two) takes, about
MAX_JOBS = 8


_current = threading.local()
# Labs started by decks running on worker threads: Ctrl-C closes them from the main thread, so
# their runs end at once instead of the build waiting minutes for their last commands.
_opened: set[_OwnLab] = set()
_opened_lock = threading.Lock()


def current_deck() -> Deck | None:
    """The deck this thread runs (progress lines of a parallel build name it)."""
    deck: Deck | None = getattr(_current, "deck", None)
    return deck


def default_jobs(cores: int | None = None, available: int | None = None) -> int:
    """Labs at once by default: one per core, as far as memory holds them."""
    cores = cores or os.cpu_count() or 1
    available = _available_memory() if available is None else available
    return max(1, min(cores, available // LAB_MEMORY, MAX_JOBS))


def run_course(
    decks: Sequence[Deck],
    obtain: Callable[[Deck, LabFactory], R],
    start_lab: LabFactory,
    *,
    jobs: int = 1,
    run_only: Callable[[Deck, LabFactory], object] | None = None,
    salt: Callable[[], str] | None = None,
) -> list[R]:
    """obtain(deck, labs) for every deck, in chains' order, `jobs` at a time; the results in
    the decks' order. `run_only` runs an earlier deck a chain needs and the build was not
    given (none if its state is kept). Without `salt` (an offline build) no lab state is
    kept or used: `after:` is only checked. The first failure (in deck order) is raised once the
    labs running beside it are done; nothing new starts after a failure."""
    chains = resolve(decks, load_deck)
    if not chains.after or salt is None:
        tasks = {d.path: _task(d, obtain, start_lab, None, None) for d in decks}
        return _run(tasks, {}, [d.path for d in decks], jobs)
    keys = chains.keys(salt())
    states = {p: snapshot.state_for(p, keys[p]) for p in chains.decks}
    # The states the decks to run start from; one not kept is made by running its deck, which
    # may need the state before it in turn.
    todo, wanted = list(chains.given), set()
    parents = [chains.after[p] for p in todo if p in chains.after]
    while parents:
        path = parents.pop()
        if path in wanted or snapshot.kept(states[path]):
            continue
        wanted.add(path)
        if path not in todo:
            if run_only is None:
                raise LabError(f"{path}: its end state is needed and this lab cannot make it")
            todo.append(path)
            if path in chains.after:
                parents.append(chains.after[path])
    tasks = {}
    for path in todo:
        deck = chains.decks[path]
        work = obtain if path in chains.given else _ignore(run_only or obtain)
        parent = states[chains.after[path]] if path in chains.after else None
        keep = states[path] if path in wanted else None
        tasks[path] = _task(deck, work, start_lab, parent, keep)
    waits = {p: chains.after[p] for p in todo if p in chains.after and chains.after[p] in wanted}
    results = _run(tasks, waits, todo, jobs)
    return [results[todo.index(p)] for p in chains.given]


def labs_for(
    deck: Deck,
    start_lab: LabFactory,
    run_only: Callable[[Deck, LabFactory], object],
    salt: Callable[[], str],
) -> LabFactory:
    """The labs a deck runs on outside a build (watch, present): with `after:`, labs that
    start from the earlier deck's kept state, which is made first (running the decks before
    it) if it is not kept yet."""
    if deck.settings.after is None:
        return start_lab
    return run_course([deck], lambda _, labs: labs, start_lab, run_only=run_only, salt=salt)[0]


def _ignore(run: Callable[[Deck, LabFactory], object]) -> Callable[[Deck, LabFactory], Any]:
    return lambda deck, labs: run(deck, labs)


def _task(
    deck: Deck,
    obtain: Callable[[Deck, LabFactory], R],
    start_lab: LabFactory,
    parent: snapshot.State | None,
    keep: snapshot.State | None,
) -> Callable[[], R]:
    """The deck's work on a lab that starts from `parent` and, if `keep`, is kept at its end."""

    def work() -> R:
        labs = _Labs(start_lab, parent, keep)
        _current.deck = deck
        try:
            result = obtain(deck, labs)
        except BaseException:
            if keep is not None:
                snapshot.forget(keep)  # the state of a failed run is no deck's start
            raise
        finally:
            _current.deck = None
        if keep is not None:
            labs.commit()
        return result

    return work


class _Labs:
    """A LabFactory for one deck: restores the earlier deck's state into the lab it starts,
    and keeps the lab's own state when it closes (committed only once the deck succeeded)."""

    def __init__(
        self,
        start_lab: LabFactory,
        parent: snapshot.State | None,
        keep: snapshot.State | None,
    ) -> None:
        self._start, self._parent, self._keep = start_lab, parent, keep
        self._taken: dict[str, Any] | None = None

    def __call__(self, spec: LabSpec) -> Lab:
        if self._parent is not None:
            spec = replace(spec, snapshot=self._parent.volume)
        if self._keep is not None:
            snapshot.prepare(self._keep)
            spec = replace(spec, keep_data=self._keep.volume)
        lab = self._start(spec)
        own = _OwnLab(lab, None if self._keep is None else lambda: self._take(lab, spec.user))
        try:
            if self._parent is not None:
                snapshot.start_from(self._parent, lab)
        except BaseException:
            own.abort()
            raise
        return own

    def _take(self, lab: Lab, user: str) -> None:
        if self._keep is not None:
            self._taken = snapshot.take(lab, user, self._keep)

    def commit(self) -> None:
        if self._keep is None or self._taken is None:
            raise LabError("the deck's lab closed before its state was kept")
        snapshot.commit(self._keep, self._taken)


class _OwnLab:
    """A lab of a deck's run: its state kept before it closes (`before_close`), and known to
    the build until then, so that Ctrl-C can close it from the main thread."""

    def __init__(self, lab: Lab, before_close: Callable[[], None] | None) -> None:
        self._lab = lab
        self._before_close = before_close
        self.spec = lab.spec
        with _opened_lock:
            _opened.add(self)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._lab, name)

    def shell(self, env: Mapping[str, str] | None = None) -> Any:
        return self._lab.shell(env)

    def exec_root(self, argv: Sequence[str]) -> tuple[int, str]:
        return self._lab.exec_root(argv)

    def docker(self) -> Any:
        return self._lab.docker()

    def close(self) -> None:
        try:
            if self._before_close is not None:
                self._before_close()
        finally:
            self.abort()

    def abort(self) -> None:
        """Close the lab, keeping nothing."""
        with _opened_lock:
            _opened.discard(self)
        self._lab.close()


def _run(
    tasks: dict[Path, Callable[[], R]], waits: dict[Path, Path], order: list[Path], jobs: int
) -> list[R]:
    """Run tasks `jobs` at a time, each after the one it waits for; results in `order`."""
    done: dict[Path, R] = {}
    failed: dict[Path, BaseException] = {}
    if jobs <= 1 or len(order) <= 1:  # on this thread: Ctrl-C reaches the run directly
        for path in _serial(order, waits):
            done[path] = tasks[path]()
        return [done[p] for p in order]
    after_it = {p: _waiting_on(p, waits) for p in order}
    running: dict[Future[R], Path] = {}
    pool = ThreadPoolExecutor(max_workers=jobs, thread_name_prefix="livedeck-lab")
    try:
        pending = list(order)
        while pending or running:
            ready = [p for p in pending if waits.get(p) is None or waits[p] in done]
            ready.sort(key=lambda p: -after_it[p])  # long chains first: they end the build
            while ready and len(running) < jobs and not failed:
                path = ready.pop(0)
                pending.remove(path)
                running[pool.submit(tasks[path])] = path
            if not running:
                break
            finished, _ = wait(running, return_when=FIRST_COMPLETED)
            for future in finished:
                path = running.pop(future)
                error = future.exception()
                if error is None:
                    done[path] = future.result()
                else:
                    failed[path] = error
    except BaseException:  # Ctrl-C, SIGTERM: end the runs beside this one now
        pool.shutdown(wait=False, cancel_futures=True)
        _close_open_labs()
        raise
    pool.shutdown(wait=True)
    if failed:
        raise failed[min(failed, key=order.index)]
    return [done[p] for p in order]


def _waiting_on(path: Path, waits: dict[Path, Path]) -> int:
    """How many decks wait, directly or further down the chain, for this one."""
    children = [p for p, parent in waits.items() if parent == path]
    return sum(1 + _waiting_on(child, waits) for child in children)


def _close_open_labs() -> None:
    with _opened_lock:
        labs = list(_opened)
        _opened.clear()
    for lab in labs:
        with contextlib.suppress(Exception):
            lab.abort()


def _serial(order: list[Path], waits: dict[Path, Path]) -> list[Path]:
    """`order` with every deck after the one it waits for."""
    placed: list[Path] = []
    pending = list(order)
    while pending:
        path = next(p for p in pending if waits.get(p) is None or waits[p] in placed)
        pending.remove(path)
        placed.append(path)
    return placed


def _available_memory() -> int:
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemAvailable:"):
                return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        pass
    return LAB_MEMORY
