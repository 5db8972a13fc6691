"""One warm marp-cli and Chromium per test process, lent to the builds tests run in-process.

A build (or a refresh) starts node, marp-cli and Chromium for its marp calls and ends them when
it is done: about 1.3 CPU-s more than the calls themselves each time (measured on this 2-core
machine: a start and first render 1.6 to 2.1 CPU-s, a next render 0.3 to 0.6), dozens of times
a test run.
Tests that call `main(["build", ...])` borrow this process's instead, the way `watch` keeps one
for every rebuild: the product's own path (one WarmMarp serving many builds), with the real
marp-cli and Chromium.

A borrowed one is never closed by the build. It is lent only to builds whose environment is the
one it was started in (what marp and Chromium could see: PATH, TMPDIR, LIVEDECK_MARP...): a test
that changes it gets a new one, and the old one ends. Tests of a build's own start and end of
marp (what it leaves behind) are marked `own_marp` and get the real class.
"""

from __future__ import annotations

import os
import threading
from pathlib import Path
from typing import Any

import pytest

from livedeck.publish.marp import MarpRun
from livedeck.publish.warm import WarmMarp
from livedeck.verbs import build as build_verb
from livedeck.verbs import refresh as refresh_verb

# Variables that cannot change what marp-cli and Chromium do: a test setting them keeps the lent
# one (labs, the Docker engine and pytest's own). Every other variable is part of the key.
_NOT_MARPS = ("DOCKER_", "PYTEST_", "HYPOTHESIS")


def _key(timeout: float) -> tuple[object, ...]:
    def marps(name: str) -> bool:
        if name.startswith("LIVEDECK_"):
            return name.startswith("LIVEDECK_MARP")
        return not name.startswith(_NOT_MARPS)

    return (timeout, tuple(sorted((k, v) for k, v in os.environ.items() if marps(k))))


def lend(patch: pytest.MonkeyPatch, factory: Any) -> None:
    """The verbs that start a WarmMarp (build, refresh) start theirs with `factory`."""
    for verb in (build_verb, refresh_verb):
        patch.setattr(verb, "WarmMarp", factory)


class Lent:
    """A WarmMarp as a build sees it, but close() leaves it running for the next build."""

    def __init__(self, warm: WarmMarp) -> None:
        self._warm = warm

    @property
    def cli(self) -> Path:
        return self._warm.cli

    def html(self, deck: Path, output: Path, **kwargs: Any) -> Path:
        return self._warm.html(deck, output, **kwargs)

    def measure(self, decks: Any, **kwargs: Any) -> Any:
        return self._warm.measure(decks, **kwargs)

    def run(self, argv: Any, *, env: Any, timeout: float) -> MarpRun:
        return self._warm.run(argv, env=env, timeout=timeout)

    def close(self) -> None:
        """The lender closes it, at the end of the test process."""

    def __enter__(self) -> Lent:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


class Lender:
    """Lends one WarmMarp at a time; a request from another environment ends it and starts a
    new one."""

    def __init__(self) -> None:
        self._key: tuple[object, ...] | None = None
        self._warm: WarmMarp | None = None
        self._lock = threading.Lock()  # builds in threads of one test ask together
        self.started = 0  # WarmMarps started so far

    def __call__(self, timeout: float = 120.0) -> Lent:
        key = _key(timeout)
        with self._lock:
            if self._warm is None or key != self._key:
                self._end()
                self._warm, self._key = WarmMarp(timeout=timeout), key
                self.started += 1
            return Lent(self._warm)

    def alive(self) -> bool:
        """A WarmMarp is lent now and its node runs."""
        proc = None if self._warm is None else self._warm._proc
        return proc is not None and proc.poll() is None

    def close(self) -> None:
        with self._lock:
            self._end()

    def _end(self) -> None:
        if self._warm is not None:
            self._warm.close()
        self._warm = self._key = None
