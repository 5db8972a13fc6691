"""What a lab container gets from livedeck's file system, on an engine that may not share it.

Where the engine sees livedeck's folders (run/engine.py: shares_files), the registry storage is
bind-mounted as before; elsewhere it is copied into the lab's own anonymous volume through the
API, and a pull-through cache lives in a named volume on the engine. The registries'
configurations always go in through the API, before the lab starts.
"""

from __future__ import annotations

import hashlib
import io
import tarfile
import tempfile
import time
from collections.abc import Sequence
from typing import Any

from docker.types import Mount

from livedeck.images.sources import LabRegistry
from livedeck.run.labs import LabNames


def put_files(
    host: Any, container_id: str, registries: Sequence[LabRegistry], *, shared: bool
) -> None:
    """Into a created lab: one config per registry (the entrypoint starts one registry per file
    of /run/livedeck/registries), and the storage of read-only ones unless bind-mounted."""
    configs = {
        f"livedeck/registries/{number:02d}-{r.name}.yml": r.config().encode()
        for number, r in enumerate(registries)
    }
    host.api.put_archive(container_id, "/run", _archive(configs))
    for registry in registries:
        if not shared and not registry.upstream:  # a cache's volume already holds its files
            _copy_storage(host, container_id, registry)


def storage_mount(registry: LabRegistry, names: LabNames, *, shared: bool) -> Mount:
    """The registry's storage in the lab: bound where the engine shares livedeck's files; else
    an anonymous volume the storage is copied into (removed with the lab), or for a
    pull-through cache a named volume on the engine, kept between labs like the folder."""
    if shared:
        read_only = not registry.upstream
        return Mount(registry.lab_storage, str(registry.storage), type="bind", read_only=read_only)
    labels = {names.label: registry.name}  # a leftover can be told as a lab's
    if registry.upstream:
        volume = cache_volume(names, registry)
        return Mount(registry.lab_storage, volume, type="volume", labels=labels)
    return Mount(registry.lab_storage, None, type="volume", labels=labels)


def cache_volume(names: LabNames, registry: LabRegistry) -> str:
    """The engine-side volume standing in for a pull-through cache's folder."""
    digest = hashlib.sha256(str(registry.storage).encode()).hexdigest()[:12]
    return f"{names.network}-{registry.name}-{digest}"


def _copy_storage(host: Any, container_id: str, registry: LabRegistry) -> None:
    """Copy a registry storage of livedeck's into the lab's volume, as a tar through the API."""
    with tempfile.TemporaryFile(prefix="livedeck-storage-") as scratch:
        with tarfile.open(fileobj=scratch, mode="w") as tar:
            tar.add(registry.storage, arcname=registry.name)
        scratch.seek(0)
        parent = registry.lab_storage.rpartition("/")[0]
        host.api.put_archive(container_id, parent, scratch)


def _archive(files: dict[str, bytes]) -> bytes:
    """A tar of `files` (path -> content), folders made as needed."""
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w") as tar:
        for path, content in files.items():
            info = tarfile.TarInfo(path)
            info.size = len(content)
            info.mode = 0o644
            info.mtime = int(time.time())
            tar.addfile(info, io.BytesIO(content))
    return buffer.getvalue()
