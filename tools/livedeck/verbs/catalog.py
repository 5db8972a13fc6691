"""`livedeck images add` and `livedeck images list`: the images every lab can pull by name."""

from __future__ import annotations

import tarfile
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import docker.errors

from livedeck.errors import LivedeckError
from livedeck.images import store
from livedeck.images.names import Ref, parse_ref
from livedeck.images.push import SavedImage, push_saved, saved_images, temporary_registry
from livedeck.images.store import StoredImage
from livedeck.run.labs import LabNames, docker_errors, host_client, lab_names

SEEDED = "seeded by tools/setup/lab-images.sh (mirror only)"


@dataclass(frozen=True)
class Listed:
    """What labs can pull, by where it is served from."""

    added: tuple[StoredImage, ...]  # every image source
    seeded: tuple[StoredImage, ...]  # `mirror` only


def list_images(names: LabNames | None = None) -> Listed:
    """The added images (served in every mode) and the seeded mirror's (mirror mode)."""
    names = names or lab_names()
    with store.reading(names.images_dir) as added:
        served = store.catalog(added) if added is not None else []
    return Listed(tuple(served), tuple(store.catalog(names.registry_dir, SEEDED)))


def add_images(
    wanted: Sequence[str], from_file: Path | None = None, names: LabNames | None = None
) -> list[StoredImage]:
    """Push images from the host's engine (or a `docker save` file) into the labs' mirror.

    Each is served under its Docker Hub name: ubuntu:22.04 -> library/ubuntu:22.04.
    """
    names = names or lab_names()
    refs = [_hub_ref(name) for name in wanted]
    with tempfile.TemporaryDirectory(prefix="livedeck-images-") as scratch:
        if from_file is not None:
            if not from_file.is_file():
                raise LivedeckError(f"{from_file}: no such file")
            archives, label = [(from_file, refs)], f"file {from_file.name}"
        else:
            if not refs:
                raise LivedeckError(
                    "name the images to add", hint="livedeck images add ubuntu:22.04"
                )
            # One archive per image: the engine's API saves one name per call.
            archives = [(Path(scratch) / f"saved-{n}.tar", [ref]) for n, ref in enumerate(refs)]
            _save_from_host([(str(ref), path) for path, (ref,) in archives])
            label = "host engine"
        host = host_client()
        chosen: list[tuple[Ref, SavedImage]] = []
        with store.new_snapshot(names.images_dir, lambda: _mounted(host)) as snapshot:
            with temporary_registry(snapshot) as base:
                for archive_path, wanted_here in archives:
                    chosen += _push_archive(archive_path, wanted_here, base)
            store.write_sources(
                snapshot, {f"{ref.repo}:{ref.tag}": _source(label, ref) for ref, _ in chosen}
            )
            added = store.catalog(snapshot)
    keys = {(ref.repo, ref.tag) for ref, _ in chosen}
    return [image for image in added if (image.repo, image.tag) in keys]


def _hub_ref(name: str) -> Ref:
    try:
        ref = parse_ref(name)
    except ValueError as error:
        raise LivedeckError(str(error), hint="name images as a deck does: ubuntu:22.04") from error
    if not ref.on_hub or ref.digest:
        raise LivedeckError(
            f"{name}: labs serve images under Docker Hub names with a tag (ubuntu:22.04,"
            " myorg/app:v1), not other registries or digests",
        )
    return ref


def _push_archive(path: Path, refs: list[Ref], base: str) -> list[tuple[Ref, SavedImage]]:
    """Push the images `refs` names (every named one without refs) from a `docker save` file."""
    try:
        archive = tarfile.open(path)  # noqa: SIM115 - closed by the `with` below
    except (OSError, tarfile.TarError) as error:
        raise LivedeckError(f"{path}: not a `docker save` archive: {error}") from error
    with archive:
        try:
            chosen = _choose(saved_images(archive), refs)
            for ref, image in chosen:
                push_saved(archive, image, base, ref.repo, ref.tag)
        except (ValueError, KeyError) as error:
            raise LivedeckError(f"{path}: {error}") from error
    return chosen


def _save_from_host(wanted: list[tuple[str, Path]]) -> None:
    """`docker save` each image into its file; every name is looked up before any is saved."""
    host = host_client()
    for name, _ in wanted:
        try:
            host.images.get(name)
        except docker.errors.ImageNotFound:
            raise LivedeckError(
                f"the host's Docker engine has no image {name}",
                hint="build or load it first, or add a `docker save` file with --from-file",
            ) from None
    for name, target in wanted:
        with docker_errors(f"could not save the image {name}"), target.open("wb") as out:
            for chunk in host.api.get_image(name):
                out.write(chunk)


def _choose(saved: list[SavedImage], refs: list[Ref]) -> list[tuple[Ref, SavedImage]]:
    """Which saved image each wanted name is; without names, every tag in the archive."""
    by_tag = {(parse_ref(t).repo, parse_ref(t).tag): s for s in saved for t in s.tags}
    if not refs:
        if not by_tag:
            raise ValueError("its images have no names: name them, e.g. --from-file x.tar app:v1")
        refs = [_hub_ref(tag) for image in saved for tag in image.tags]
    chosen = []
    for ref in refs:
        image: SavedImage | None = by_tag.get((ref.repo, ref.tag))
        if image is None and len(saved) == 1 and not by_tag:
            image = saved[0]  # an unnamed single image takes the name given
        if image is None:
            held = ", ".join(sorted(f"{r.removeprefix('library/')}:{t}" for r, t in by_tag))
            raise ValueError(f"holds no image {ref} (it holds: {held or 'unnamed images'})")
        chosen.append((ref, image))
    return chosen


def _source(label: str, ref: Ref) -> str:
    return f"{label} ({ref})" if label == "host engine" else label


def _mounted(host: Any) -> set[Path] | None:
    """Host folders some container mounts (snapshots a lab may read); None if unknown."""
    try:
        # sparse: the list's own summary (it has Mounts), in one call; inspecting each one
        # fails whenever a container goes away in between (a lab closing beside this add)
        containers = host.containers.list(all=True, sparse=True)
    except docker.errors.DockerException:
        return None
    return {
        Path(mount["Source"])
        for container in containers
        for mount in container.attrs.get("Mounts") or ()
        if mount.get("Source")
    }
