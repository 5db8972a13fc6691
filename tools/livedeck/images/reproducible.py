"""The lab's own images made reproducible: the same inputs give the same digest on any machine.

An image built with `docker build` carries the time of the build everywhere: in every file a
package script or a RUN line wrote, in logs and caches, in the config's dates, in the id of the
container each step ran in. Built twice, on two machines or an hour apart, it has two digests,
and a record made on one machine reads as outdated on every other. Debian's Docker 20.10 has no
BuildKit that rewrites timestamps, so the layers are rewritten here, from `docker save`:

- every file's time is clamped to `epoch` (SOURCE_DATE_EPOCH); owner names are dropped (ids stay);
- entries are sorted by name, and a group of hard links is stored under its first name;
- logs are emptied, caches that record build times or inodes are left out, and the day of the
  last password change in /etc/shadow is the epoch's day;
- the config keeps what a container runs with (Env, Cmd, ports ...), its layers and the commands
  of its history, dated at the epoch, and nothing of the engine that built it.

What remains is the content of the packages installed, so the digest changes exactly when
Debian ships another version of one of them.
"""

from __future__ import annotations

import fnmatch
import hashlib
import io
import json
import tarfile
import time
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import IO, Any

from livedeck.images.push import Pushed, SavedImage, push_saved, saved_images

# Files whose content is the time or the machine of the build, left out of every layer.
LEFT_OUT = (
    "var/cache/ldconfig/aux-cache",  # inode numbers and ctimes of the libraries
    "var/cache/debconf/*-old",
    "var/lib/dpkg/*-old",
    "var/cache/apt/*.bin",
    "var/lib/apt/lists/*",
    "etc/passwd-",  # backups written by useradd and friends
    "etc/group-",
    "etc/shadow-",
    "etc/gshadow-",
    "etc/subuid-",
    "etc/subgid-",
    "etc/machine-id",
    "var/lib/dbus/machine-id",
    "tmp/*",
    "var/tmp/*",
    "root/.cache/*",
)
EMPTIED = ("var/log/*",)  # logs: kept as empty files, with their modes, as packages made them
# What a container runs with: the rest of a classic builder's config names the build machine.
CONFIG_KEYS = (
    "User",
    "ExposedPorts",
    "Env",
    "Cmd",
    "Healthcheck",
    "Volumes",
    "WorkingDir",
    "Entrypoint",
    "OnBuild",
    "Labels",
    "StopSignal",
    "Shell",
)


def left_out(name: str) -> bool:
    """A layer entry whose content is the build's time or machine."""
    return any(fnmatch.fnmatchcase(name, pattern) for pattern in LEFT_OUT)


def _emptied(info: tarfile.TarInfo) -> bool:
    return info.isfile() and any(fnmatch.fnmatchcase(info.name, p) for p in EMPTIED)


def normalize_layer(source: tarfile.TarFile, out: IO[bytes], epoch: int) -> None:
    """Write the layer `source` to `out` as a tar that depends on its files' content alone."""
    members = {m.name: m for m in source.getmembers() if not left_out(_name(m.name))}
    # A hard link names the entry stored before it; the group is stored under its first name.
    groups: dict[str, list[str]] = {}
    for member in members.values():
        if member.islnk() and member.linkname in members:
            groups.setdefault(member.linkname, [member.linkname]).append(member.name)
    holder = {name: min(group) for group in groups.values() for name in group}
    data_of = {min(group): members[target] for target, group in groups.items()}
    with tarfile.open(fileobj=out, mode="w|", format=tarfile.PAX_FORMAT) as target:
        for name in sorted(members):
            member = members[name]
            first = holder.get(name)
            if first is not None and first != name:
                info = _header(data_of[first], name, epoch)
                info.type, info.linkname, info.size = tarfile.LNKTYPE, _name(first), 0
                target.addfile(info)
                continue
            stored = data_of.get(name, member)
            info = _header(stored, name, epoch)
            if member.islnk() and first is None:  # a link to something outside this layer
                info.type, info.linkname = tarfile.LNKTYPE, _name(member.linkname)
            if not stored.isfile():
                target.addfile(info)
                continue
            data = _content(source, stored, info, epoch)
            info.size = len(data)
            target.addfile(info, io.BytesIO(data))


def _name(name: str) -> str:
    return name.removeprefix("./")


def _header(member: tarfile.TarInfo, name: str, epoch: int) -> tarfile.TarInfo:
    info = tarfile.TarInfo(_name(name))
    info.type = member.type
    info.mode = member.mode
    info.uid, info.gid = member.uid, member.gid
    info.uname = info.gname = ""
    info.mtime = min(int(member.mtime), epoch)
    info.linkname = member.linkname
    info.devmajor, info.devminor = member.devmajor, member.devminor
    # File capabilities and other extended attributes are part of what a file is; times are not.
    info.pax_headers = {
        k: v for k, v in member.pax_headers.items() if k.startswith("SCHILY.xattr.")
    }
    return info


def _content(
    source: tarfile.TarFile, member: tarfile.TarInfo, info: tarfile.TarInfo, epoch: int
) -> bytes:
    if _emptied(info):
        return b""
    handle = source.extractfile(member)
    data = handle.read() if handle is not None else b""
    if info.name == "etc/shadow":
        data = shadow_at(data, epoch // 86400)
    return data


def shadow_at(shadow: bytes, day: int) -> bytes:
    """/etc/shadow with every last-change day that is set replaced by `day`."""
    lines = []
    for line in shadow.split(b"\n"):
        fields = line.split(b":")
        if len(fields) > 2 and fields[2].strip():
            fields[2] = str(day).encode()
        lines.append(b":".join(fields))
    return b"\n".join(lines)


def normalize_config(config: Mapping[str, Any], diff_ids: Iterable[str], epoch: int) -> bytes:
    """The image config: what a container runs with, its layers, its history dated `epoch`."""
    when = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(epoch))
    runs = config.get("config") or {}
    history = []
    for step in config.get("history") or []:
        entry: dict[str, Any] = {"created": when}
        for key in ("created_by", "comment"):
            if step.get(key):
                entry[key] = step[key]
        if step.get("empty_layer"):
            entry["empty_layer"] = True
        history.append(entry)
    made = {
        "architecture": config.get("architecture", "amd64"),
        "os": config.get("os", "linux"),
        "created": when,
        "config": {key: runs[key] for key in CONFIG_KEYS if runs.get(key)},
        "rootfs": {"type": "layers", "diff_ids": list(diff_ids)},
        "history": history,
    }
    return json.dumps(made, sort_keys=True, separators=(",", ":")).encode()


def normalize_image(archive: tarfile.TarFile, image: SavedImage, out: Path, epoch: int) -> None:
    """Write `image` of a `docker save` archive to `out` as a reproducible `docker save` archive."""
    config = json.load(_member(archive, image.config))
    layers = []
    with tarfile.open(out, "w", format=tarfile.PAX_FORMAT) as saved:
        for number, name in enumerate(image.layers):
            scratch = out.with_name(f"{out.name}.layer{number}")
            try:
                with (
                    tarfile.open(fileobj=_member(archive, name)) as layer,
                    scratch.open("wb") as written,
                ):
                    normalize_layer(layer, written, epoch)
                digest = _sha256(scratch)
                member = f"{digest.removeprefix('sha256:')}/layer.tar"
                saved.add(str(scratch), arcname=member)
                layers.append((member, digest))
            finally:
                scratch.unlink(missing_ok=True)
        body = normalize_config(config, [d for _, d in layers], epoch)
        config_name = f"{hashlib.sha256(body).hexdigest()}.json"
        _add_bytes(saved, config_name, body)
        manifest = [{"Config": config_name, "RepoTags": [], "Layers": [m for m, _ in layers]}]
        _add_bytes(saved, "manifest.json", json.dumps(manifest).encode())


def _member(archive: tarfile.TarFile, name: str) -> IO[bytes]:
    handle = archive.extractfile(name)
    if handle is None:
        raise ValueError(f"the archive lacks {name}")
    return handle


def _add_bytes(archive: tarfile.TarFile, name: str, data: bytes) -> None:
    info = tarfile.TarInfo(name)
    info.size = len(data)
    archive.addfile(info, io.BytesIO(data))


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            digest.update(chunk)
    return f"sha256:{digest.hexdigest()}"


def push_reproducible(saved: Path, base: str, repo: str, tag: str, epoch: int) -> Pushed:
    """Normalize the one image of the `docker save` archive `saved` and push it as repo:tag."""
    made = saved.with_name(f"{saved.name}.reproducible")
    try:
        with tarfile.open(saved) as archive:
            images = saved_images(archive)
            if len(images) != 1:
                raise ValueError(f"{saved} holds {len(images)} images, not one")
            normalize_image(archive, images[0], made, epoch)
        with tarfile.open(made) as archive:
            return push_saved(archive, saved_images(archive)[0], base, repo, tag)
    finally:
        made.unlink(missing_ok=True)
