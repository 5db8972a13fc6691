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
def lab_data_on_disk() -> Iterator[None]:
    """Labs keep their Docker data on disk, livedeck's default (the suite sets memory)."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("LIVEDECK_LAB_DATA", "disk")
        yield


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
    """Headless Chromium driven one command at a time (browsers.py), closed at the end."""
    from browsers import Browser

    chromium = Browser()
    yield chromium
    chromium.close()


@pytest.hookimpl(tryfirst=True)  # before xdist reads the groups
def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Slow tests first, each module's tests together, and the act runs only when asked.

    Under `--dist loadgroup` (tools/bootstrap.sh) a module is one unit of work, so its module
    fixtures are made once; a module marked `spread` gives each test a unit of its own, so its
    long tests run side by side. Units go out in this order (with --no-loadscope-reorder): the
    `slow` ones first, then the other labs, then the rest, so the run does not end on one long
    test while the other workers idle.
    """

    def weight(item: pytest.Item) -> int:
        return (
            0 if item.get_closest_marker("slow") else 1 if item.get_closest_marker("docker") else 2
        )

    module_weight: dict[Path, int] = {}
    for item in items:
        module_weight[item.path] = min(weight(item), module_weight.get(item.path, 2))
    items.sort(key=lambda item: module_weight[item.path])  # stable: modules stay whole, in order
    if config.getoption("dist", "no") == "loadgroup":
        for index, item in enumerate(items):
            module = item.path.name
            group = f"{module}-{index}" if item.get_closest_marker("spread") else module
            item.add_marker(pytest.mark.xdist_group(group))
    # The act runs of the workflows build a runner image (about 11 min on a new machine) and
    # run each job in it (minutes each): they run when asked for, not in every test run.
    if os.environ.get("LIVEDECK_TEST_WORKFLOWS") == "1":
        return
    skip = pytest.mark.skip(reason="the workflows under act: LIVEDECK_TEST_WORKFLOWS=1 runs them")
    for item in items:
        if item.get_closest_marker("workflows"):
            item.add_marker(skip)
