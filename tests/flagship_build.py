"""One online build of the flagship deck for the test modules that read it (conftest.py's
`flagship_build`): test_flagship.py and test_check_lab.py run as one unit of work, on one test
process, so the deck is run and published once for both."""

from __future__ import annotations

import contextlib
import secrets
import shutil
from collections.abc import Iterator
from pathlib import Path

import docker
import pytest

from livedeck.cli import main
from livedeck.run.labs import lab_names

FLAGSHIP = Path(__file__).resolve().parent.parent / "slides" / "docker-layers.md"


@contextlib.contextmanager
def built_flagship(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Path, Path]]:
    """slides/docker-layers.md built online as `livedeck build --strict` builds it (HTML and PDF,
    the lab's Docker data on disk), with an image of the user's own on the host engine: yields
    (the deck's folder, holding its new record; the build folder). Tests read them, never write.

    The deck starts with `docker rmi --force $(docker images -aq)`: the user's image must still
    be there afterwards, and the build must leave no container, volume or network of its labs.
    """
    slides = tmp_path_factory.mktemp("flagship-slides")
    shutil.copy(FLAGSHIP, slides / FLAGSHIP.name)  # its record is written beside it
    out = tmp_path_factory.mktemp("flagship-build")
    host = docker.from_env()
    keep = f"livedeck-test/keep-{secrets.token_hex(4)}"  # the test run's own: engines are shared
    host.images.get(lab_names().base_image).tag(keep, "1")
    try:
        before = _lab_state(host)
        with pytest.MonkeyPatch.context() as patch:
            patch.setenv("LIVEDECK_LAB_DATA", "disk")  # livedeck's default (the suite: memory)
            argv = ["build", str(slides / FLAGSHIP.name), "--out", str(out), "-q", "--strict"]
            assert main(argv) == 0
        assert (slides / "docker-layers.record.yaml").is_file()
        assert _lab_state(host) == before, "the build left containers, volumes or networks"
        yield slides, out
        host.images.get(f"{keep}:1")  # the user's image is still there
    finally:
        with contextlib.suppress(docker.errors.ImageNotFound):
            host.images.remove(f"{keep}:1")
        host.close()


def _lab_state(host: docker.DockerClient) -> tuple[list[str], list[str], list[str]]:
    """This test run's labs, their volumes and the labs' network: other tests' labs come and
    go beside this build (namespaces.py)."""
    names = lab_names()
    return (
        sorted(c.id for c in host.containers.list(all=True, filters={"label": names.label})),
        sorted(v.id for v in host.volumes.list(filters={"label": names.label})),
        sorted(n.id for n in host.networks.list(names=[names.network])),
    )
