"""Registry storage on disk: what it serves (read from its files), and the added images' snapshots.

`livedeck images add` never writes a storage a lab is reading: it pushes into a new snapshot
(blobs hard-linked, which the registry never rewrites; tags and links copied, which it does) and
then points `current` at it in one rename. A lab mounts the snapshot `current` named when it
started. An exclusive lock serialises pushes; a lab holds the shared lock only while it resolves
`current` and creates its container, so a push never prunes a snapshot on its way into a lab.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import shutil
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

V2 = Path("docker/registry/v2")
SOURCES = "livedeck-sources.json"  # "repo:tag" -> where the image came from


@dataclass(frozen=True)
class StoredImage:
    """An image a registry storage serves under a tag."""

    repo: str  # library/ubuntu, myorg/app
    tag: str
    digest: str  # the manifest's, as `docker pull` prints it
    layers: int
    source: str  # where it came from

    @property
    def name(self) -> str:
        """As a deck writes it: ubuntu:22.04, myorg/app:v1."""
        return f"{self.repo.removeprefix('library/')}:{self.tag}"


def catalog(storage: Path, default_source: str = "") -> list[StoredImage]:
    """Every tag a registry storage serves, read from its files (no registry needed)."""
    repositories = storage / V2 / "repositories"
    if not repositories.is_dir():
        return []
    sources = _read_sources(storage)
    found = []
    for manifests in sorted(repositories.glob("**/_manifests")):
        repo = manifests.parent.relative_to(repositories).as_posix()
        for link in sorted((manifests / "tags").glob("*/current/link")):
            tag = link.parent.parent.name
            digest = link.read_text(encoding="utf-8").strip()
            found.append(
                StoredImage(
                    repo,
                    tag,
                    digest,
                    _layer_count(storage, digest),
                    sources.get(f"{repo}:{tag}", default_source),
                )
            )
    return found


def blob_path(storage: Path, digest: str) -> Path:
    """The file of a registry storage holding the blob `digest` (sha256:HEX)."""
    algorithm, _, hex_digest = digest.partition(":")
    return storage / V2 / "blobs" / algorithm / hex_digest[:2] / hex_digest / "data"


def _layer_count(storage: Path, digest: str) -> int:
    try:
        manifest = json.loads(blob_path(storage, digest).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return 0
    return len(manifest.get("layers") or ())


def _read_sources(storage: Path) -> dict[str, str]:
    try:
        data = json.loads((storage / SOURCES).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return {str(k): str(v) for k, v in data.items()} if isinstance(data, dict) else {}


def write_sources(storage: Path, sources: dict[str, str]) -> None:
    """Remember where each added image came from (for `livedeck images list`)."""
    merged = {**_read_sources(storage), **sources}
    (storage / SOURCES).write_text(json.dumps(merged, indent=1, sort_keys=True), encoding="utf-8")


@contextlib.contextmanager
def reading(images_dir: Path) -> Iterator[Path | None]:
    """The snapshot a lab should mount (None: nothing added yet), pinned while the block runs."""
    if not images_dir.is_dir():
        yield None
        return
    with _locked(images_dir, fcntl.LOCK_SH):
        current = images_dir / "current"
        yield current.resolve() if current.exists() else None


@contextlib.contextmanager
def new_snapshot(images_dir: Path, in_use: Callable[[], set[Path] | None]) -> Iterator[Path]:
    """A copy of `current` to push into; it becomes `current` when the block ends without error.

    Afterwards, snapshots no container mounts (`in_use`; None: unknown, keep all) and `current`
    does not name are removed.
    """
    images_dir.mkdir(parents=True, exist_ok=True)
    with _locked(images_dir, fcntl.LOCK_EX):
        current = images_dir / "current"
        old = current.resolve() if current.exists() else None
        numbers = [int(p.name.split("-")[1]) for p in images_dir.glob("store-*")]
        fresh = images_dir / f"store-{max(numbers, default=0) + 1:04d}"
        try:
            if old is not None:
                copy_storage(old, fresh)
            else:
                fresh.mkdir()
            yield fresh
        except BaseException:
            shutil.rmtree(fresh, ignore_errors=True)
            raise
        link = images_dir / ".current.tmp"
        link.unlink(missing_ok=True)
        link.symlink_to(fresh.name)
        os.replace(link, current)
        mounted = in_use()
        if mounted is None:
            return
        used = {p.resolve() for p in mounted} | {fresh.resolve()}
        for snapshot in images_dir.glob("store-*"):
            if snapshot.resolve() not in used:
                shutil.rmtree(snapshot, ignore_errors=True)


def copy_storage(old: Path, fresh: Path, link: Callable[[str, str], object] = os.link) -> None:
    """A copy of a registry storage (or of an images folder's snapshot) that can be written to
    without touching the original. Blobs are written once under their digest and never changed:
    `link` shares them (a hard link; a test's copy across file systems may copy instead).
    Everything else (tag links, layer links, sources) is rewritten in place: real copies."""
    shutil.copytree(old, fresh, ignore=shutil.ignore_patterns("blobs"), symlinks=True)
    blobs = old / V2 / "blobs"
    if blobs.is_dir():
        shutil.copytree(blobs, fresh / V2 / "blobs", copy_function=link)


@contextlib.contextmanager
def _locked(images_dir: Path, mode: int) -> Iterator[None]:
    with open(images_dir / ".lock", "a") as lock:
        fcntl.flock(lock, mode)
        try:
            yield
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)
