"""A lab's Docker data kept in a volume of the host engine, and put into another lab.

A lab whose end is kept holds its /var/lib/docker in a named volume from the start
(LabSpec.keep_data), which stays when the lab is removed: keeping it copies nothing. A lab that
starts from it gets a copy, so the kept state stays as it was for the next one. The copy runs
in a short-lived helper container of the lab image on the host engine, disk to disk (`cp -a`
keeps the overlay2 layers' whiteouts and trusted.* xattrs, for which the helper gets
CAP_SYS_ADMIN); streaming 200 MB through the API as a tar took 20 s. Only the Docker API is
used; nothing of this machine is mounted into a container.
"""

from __future__ import annotations

import io
import tarfile
from typing import Any

import docker.errors
from docker.types import Mount

from livedeck.errors import LabError
from livedeck.run.labs import docker_errors, lab_names

DATA = "/var/lib/docker"
KEPT = "/kept"  # where the helper sees the kept state's volume


def new_volume(host: Any, volume: str, labels: dict[str, str]) -> None:
    """An empty volume `volume` (replacing one of that name)."""
    with docker_errors(f"could not make the volume {volume}"):
        with _suppress_missing():
            host.volumes.get(volume).remove(force=True)
        host.volumes.create(volume, labels=labels)


def load_data(host: Any, lab: str, volume: str) -> None:
    """Copy a kept state into a created (not yet started) lab's /var/lib/docker."""
    _copy(host, f"{KEPT}/.", f"{DATA}/", volumes_from=lab, volume=volume)


def save_folder(host: Any, lab: str, path: str) -> bytes:
    """A folder of a lab (the user's home) as a tar, through the engine's archive API."""
    with docker_errors(f"could not read {path} of the lab"):
        stream, _ = host.api.get_archive(lab, path)
        return b"".join(stream)


def load_folder(host: Any, lab: str, parent: str, archive: bytes) -> None:
    """Extract a tar made by save_folder under `parent` of a created lab."""
    with docker_errors(f"could not restore {parent} in the lab"):
        host.api.put_archive(lab, parent, archive)


def names_in(archive: bytes) -> list[str]:
    """The top-level names of a tar (tests, messages)."""
    with tarfile.open(fileobj=io.BytesIO(archive)) as tar:
        return sorted({m.name.split("/", 1)[0] for m in tar.getmembers()})


def _copy(host: Any, source: str, target: str, *, volumes_from: str, volume: str) -> None:
    image = lab_names().lab_image
    with docker_errors("could not copy the lab's Docker data"):
        helper = host.containers.create(
            image,
            entrypoint=["cp", "-a", source, target],
            volumes_from=[volumes_from],
            mounts=[Mount(KEPT, volume, type="volume")],
            cap_add=["SYS_ADMIN"],  # to write trusted.overlay.* xattrs (overlay2's opaque dirs)
            network_mode="none",
            labels={f"{lab_names().label}.helper": "1"},
        )
        try:
            helper.start()
            result = helper.wait(timeout=600)
            if result.get("StatusCode") != 0:
                tail = helper.logs(tail=5).decode(errors="replace").strip()
                raise LabError(f"copying the lab's Docker data failed: {tail}")
        finally:
            helper.remove(force=True)


class _suppress_missing:
    def __enter__(self) -> None:
        return None

    def __exit__(self, kind: Any, *_: Any) -> bool:
        return kind is not None and issubclass(kind, docker.errors.NotFound)
