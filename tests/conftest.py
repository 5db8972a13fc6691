"""Shared test helpers."""

from __future__ import annotations

import os
import secrets
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import pytest
from hypothesis import settings

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tools"))

# Property tests explore anew on every local run; in CI they replay the same examples, so a
# submission is judged on what was tested here (a failure found locally is kept in .hypothesis/).
# No deadline in either: test files run side by side on a busy machine, and a slow example is
# no wrong one.
settings.register_profile("ci", derandomize=True, deadline=None)
settings.register_profile("local", deadline=None)
settings.load_profile("ci" if os.environ.get("CI") else "local")

if TYPE_CHECKING:
    from browsers import Browser
    from marps import Lender, Lent
    from registries import Upstream


@pytest.fixture(scope="session", autouse=True)
def worker_namespace() -> Iterator[dict[str, str]]:
    """Labs, network and TMPDIR of this test process's own for the whole run (namespaces.py):
    workers run side by side on one engine, and each test compares only what is its own."""
    import shutil
    import tempfile

    from namespaces import remove_labs, worker_environment

    names = worker_environment()
    with pytest.MonkeyPatch.context() as patch:
        for key, value in names.items():
            patch.setenv(key, value)
        tempfile.tempdir = None  # gettempdir() reads TMPDIR again
        yield names
    tempfile.tempdir = None
    remove_labs(names["LIVEDECK_LAB_LABEL"], names["LIVEDECK_LAB_NETWORK"])
    shutil.rmtree(names["TMPDIR"], ignore_errors=True)


@pytest.fixture(scope="session", autouse=True)
def lent_marp() -> Iterator[Lender]:
    """Builds and refreshes run in this process borrow one warm marp-cli (marps.py)."""
    from marps import Lender, lend

    lender = Lender()
    with pytest.MonkeyPatch.context() as patch:
        lend(patch, lender)
        yield lender
    lender.close()


@pytest.fixture
def warm_marp(lent_marp: Lender) -> Lent:
    """That warm marp-cli, for a test that publishes with it as build does (runner=.run): with
    the builds' timeout, so that a build in the same test borrows it rather than starting
    another (the timeout is part of what it is lent by)."""
    from livedeck.verbs.build import PUBLISH_TIMEOUT

    return lent_marp(PUBLISH_TIMEOUT)


@pytest.fixture(autouse=True)
def own_marp(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> None:
    """A test marked `own_marp` sees its builds start and end marp-cli themselves."""
    if request.node.get_closest_marker("own_marp") is None:
        return
    from livedeck.publish.warm import WarmMarp
    from marps import lend

    lend(monkeypatch, WarmMarp)


@pytest.fixture(scope="session")
def flagship_build(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Path, Path]]:
    """The flagship built online once per test process (flagship_build.py): (its folder, with
    the new record; the build folder), to read only."""
    from flagship_build import built_flagship

    with built_flagship(tmp_path_factory) as built:
        yield built


@pytest.fixture(scope="module")
def lab_namespace() -> Iterator[dict[str, str]]:
    """Labs of their own (label, network, subnet): a sweep or `lab down` in a test touches no
    one else's. Yields the variables, set in os.environ too, for subprocesses."""
    import docker

    from namespaces import free_subnet

    tag = secrets.token_hex(3)
    names = {
        "LIVEDECK_LAB_LABEL": f"livedeck.lab.test-{tag}",
        # Not livedeck-lab-*: the engine's name filter matches parts of names, and an older
        # livedeck would take such a network for its own.
        "LIVEDECK_LAB_NETWORK": f"ldtest-{tag}",
        "LIVEDECK_LAB_SUBNET": free_subnet(219)[0],
    }
    with pytest.MonkeyPatch.context() as patch:
        for key, value in names.items():
            patch.setenv(key, value)
        yield names
    host = docker.from_env()
    for container in host.containers.list(all=True, filters={"label": names["LIVEDECK_LAB_LABEL"]}):
        container.remove(v=True, force=True)
    for network in host.networks.list(names=[names["LIVEDECK_LAB_NETWORK"]]):
        if network.name == names["LIVEDECK_LAB_NETWORK"]:
            network.remove()
    host.close()


@pytest.fixture(scope="module")
def lab_env(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, str]]:
    """Labs of this module's own pulling through caches in its own folders (registries.py)."""
    from registries import images_namespace

    with images_namespace(tmp_path_factory.mktemp("images")) as env:
        yield env


@pytest.fixture
def upstream(lab_env: dict[str, str]) -> Iterator[Upstream]:
    """A registry standing in for Docker Hub, on the labs' network gateway, with a 7-layer nginx."""
    from registries import upstream_registry

    with upstream_registry(lab_env["GATEWAY"]) as registry:
        registry.push_nginx(7)
        yield registry


@pytest.fixture
def browser() -> Iterator[Browser]:
    """Headless Chromium driven one command at a time (browsers.py), closed at the end.

    One per test: a Chromium kept for the next test costs more than a start (about 1.5 CPU-s),
    since a page the test drove goes on using CPU (about 3% of a core, measured) while the
    other tests run."""
    from browsers import Browser

    chromium = Browser()
    yield chromium
    chromium.close()


# Modules whose tests share no costly fixture: each test is a unit of work of its own, so their
# long tests run side by side. Every other module is one unit: its module fixtures (a build of
# the flagship, a run of the whole corpus) are made once, on one worker. The last seven come
# late in the order (pytest_collection_modifyitems) and take 10 to 40 s a module, waiting out
# timeouts or computing: as one unit each, the run ended on one of them while the other workers
# had nothing left.
SPREAD = frozenset(
    {
        "test_concurrency.py",
        "test_generated.py",
        "test_generated_programs.py",
        "test_kill.py",
        "test_present.py",
        "test_refresh.py",
        "test_tutorials_lab.py",
        "test_ownership.py",
        "test_record_fields.py",
        "test_redaction_cuts.py",
        "test_screen.py",
        "test_session.py",
        "test_template_limits.py",
        "test_typing.py",
    }
)


# Modules that share a session fixture, as one unit of work: made once, on one worker.
TOGETHER = {"test_check_lab.py": "test_flagship.py"}  # flagship_build


def pytest_xdist_make_scheduler(config: pytest.Config, log: object) -> object:
    """Units of work for pytest-xdist: a module (or modules TOGETHER), or a test of a SPREAD
    module.

    (xdist's own `--dist loadgroup` marks a group by renaming the test, which pytest 9 ignores.)
    Units go out in collection order (with --no-loadscope-reorder, tools/bootstrap.sh), which
    pytest_collection_modifyitems sorts.
    """
    from xdist.scheduler import LoadScopeScheduling

    class ModuleScheduling(LoadScopeScheduling):
        def _split_scope(self, nodeid: str) -> str:
            module = Path(nodeid.split("::", 1)[0])
            if module.name in SPREAD:
                return nodeid
            return str(module.with_name(TOGETHER.get(module.name, module.name)))

    return ModuleScheduling(config, log)


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Slow tests first, and the act runs only when asked.

    Units of work (pytest_xdist_make_scheduler) go out in this order: the `slow` ones first,
    then the other labs, then those that start marp-cli, then the rest (short tests of pure
    logic, several modules spread test by test), so the run does not end on one long test while
    the other workers idle.
    """
    ranks = ("slow", "docker", "marp")

    def weight(item: pytest.Item) -> int:
        return next(
            (rank for rank, name in enumerate(ranks) if item.get_closest_marker(name)), len(ranks)
        )

    module_weight: dict[Path, int] = {}
    for item in items:
        module_weight[item.path] = min(weight(item), module_weight.get(item.path, len(ranks)))
    items.sort(key=lambda item: module_weight[item.path])  # stable: modules stay whole, in order
    # The act runs of the workflows build a runner image (about 11 min on a new machine) and
    # run each job in it (minutes each): they run when asked for, not in every test run.
    if os.environ.get("LIVEDECK_TEST_WORKFLOWS") == "1":
        return
    skip = pytest.mark.skip(reason="the workflows under act: LIVEDECK_TEST_WORKFLOWS=1 runs them")
    for item in items:
        if item.get_closest_marker("workflows"):
            item.add_marker(skip)
