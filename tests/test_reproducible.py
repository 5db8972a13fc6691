"""Reproducible mirror images: the same content gives the same layer, config and digest.

Pure tests on generated layers (any order of entries, any file times, owner names, logs and
caches that hold the build's time), and one on the real engine: an image built twice with
`docker build --no-cache` gets two Docker ids and one pushed digest.
"""

from __future__ import annotations

import io
import secrets
import subprocess
import tarfile
import tempfile
import time
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from livedeck.images.push import temporary_registry
from livedeck.images.reproducible import normalize_config, normalize_layer, push_reproducible
from livedeck.run.labs import lab_names

EPOCH = 1735689600
FILES = {
    "etc/hostname": b"lab\n",
    "etc/shadow": b"root:*:20001:0:99999:7:::\nnginx:!:20001::::::\n",
    "usr/bin/tool": b"\x7fELF binary",
    "var/log/dpkg.log": b"2026-12-04 16:31:02 install nginx\n",
    "var/cache/ldconfig/aux-cache": b"inode 1234 ctime 99",
}


def layer(order: list[str], mtimes: list[int], owner: str, build: bytes) -> bytes:
    """A layer tar as an engine might write it: `build` is what differs between two builds."""
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w", format=tarfile.PAX_FORMAT) as out:
        for name, mtime in zip(order, mtimes, strict=True):
            data = FILES[name]
            if name in ("var/log/dpkg.log", "var/cache/ldconfig/aux-cache"):
                data += build
            if name == "etc/shadow":
                data = data.replace(b"20001", str(20001 + build[0] % 5).encode())
            info = tarfile.TarInfo(name)
            info.size, info.mtime, info.uname, info.gname = len(data), mtime, owner, owner
            out.addfile(info, io.BytesIO(data))
        for link, mtime in zip(("usr/bin/alias", "usr/bin/another"), mtimes, strict=False):
            info = tarfile.TarInfo(link)
            info.type, info.linkname, info.mtime = tarfile.LNKTYPE, "usr/bin/tool", mtime
            out.addfile(info)
    return buffer.getvalue()


def normalized(raw: bytes) -> bytes:
    out = io.BytesIO()
    with tarfile.open(fileobj=io.BytesIO(raw)) as source:
        normalize_layer(source, out, EPOCH)
    return out.getvalue()


@settings(max_examples=60, deadline=None)
@given(
    st.permutations(sorted(FILES)),
    st.lists(st.integers(EPOCH, EPOCH + 10**9), min_size=5, max_size=5),  # built after it
    st.sampled_from(["root", "", "builder"]),
    st.binary(min_size=1, max_size=8),
)
def test_two_builds_of_the_same_files_give_the_same_layer(
    order: list[str], mtimes: list[int], owner: str, build: bytes
) -> None:
    first = normalized(layer(sorted(FILES), [EPOCH + 5] * 5, "root", b"\x00"))
    assert normalized(layer(order, mtimes, owner, build)) == first


def test_the_layer_keeps_the_files_and_their_links() -> None:
    with tarfile.open(
        fileobj=io.BytesIO(normalized(layer(sorted(FILES), [1] * 5, "x", b"z")))
    ) as t:
        names = t.getnames()
        assert names == sorted(names) and "var/cache/ldconfig/aux-cache" not in names
        first = t.getmember("usr/bin/alias")  # a link group is stored under its first name
        assert first.isfile() and t.extractfile(first).read() == FILES["usr/bin/tool"]  # type: ignore[union-attr]
        assert t.getmember("usr/bin/tool").linkname == "usr/bin/alias"
        assert t.extractfile("var/log/dpkg.log").read() == b""  # type: ignore[union-attr]
        shadow = t.extractfile("etc/shadow").read()  # type: ignore[union-attr]
        assert (
            shadow
            == f"root:*:{EPOCH // 86400}:0:99999:7:::\nnginx:!:{EPOCH // 86400}::::::\n".encode()
        )
        assert all(m.mtime <= EPOCH for m in t.getmembers())


def test_other_content_gives_another_layer() -> None:
    same = layer(sorted(FILES), [1] * 5, "root", b"a")
    FILES["etc/hostname"] = b"other\n"
    try:
        assert normalized(layer(sorted(FILES), [1] * 5, "root", b"a")) != normalized(same)
    finally:
        FILES["etc/hostname"] = b"lab\n"


def test_the_config_names_no_build_machine() -> None:
    config = {
        "architecture": "amd64",
        "os": "linux",
        "created": "2026-12-04T16:31:02.123Z",
        "docker_version": "20.10.24",
        "container": "0123456789ab",
        "config": {
            "Hostname": "0123456789ab",
            "Image": "sha256:aa",
            "Cmd": ["nginx"],
            "Env": ["A=1"],
        },
        "history": [
            {"created": "2026-12-04T16:31:02Z", "created_by": "/bin/sh -c x", "empty_layer": True}
        ],
    }
    made = normalize_config(config, ["sha256:" + "0" * 64], EPOCH)
    other = normalize_config(
        {**config, "created": "2027-01-01T00:00:00Z", "container": "f"},
        ["sha256:" + "0" * 64],
        EPOCH,
    )
    assert made == other
    assert b"0123456789ab" not in made and b"20.10" not in made and b'"Cmd":["nginx"]' in made


DOCKERFILE = """\
FROM {base}
RUN useradd --system demo && date > /var/log/built.log && date > /etc/built-at-build-time \\
 && rm /etc/built-at-build-time && ldconfig
CMD ["sh"]
"""


@pytest.mark.docker
def test_an_image_built_twice_is_pushed_with_one_digest(tmp_path: Path) -> None:
    base = lab_names().base_image
    context = tmp_path / "context"
    context.mkdir()
    (context / "Dockerfile").write_text(DOCKERFILE.format(base=base))
    tag = f"livedeck-test-reproducible:{secrets.token_hex(4)}"
    ids, digests = [], []
    try:
        for _ in range(2):
            subprocess.run(
                ["docker", "build", "--no-cache", "-q", "-t", tag, str(context)],
                env={"DOCKER_BUILDKIT": "0", "PATH": "/usr/bin:/bin:/usr/sbin:/sbin"},
                check=True,
                capture_output=True,
            )
            ids.append(
                subprocess.run(
                    ["docker", "image", "inspect", "-f", "{{.Id}}", tag],
                    check=True,
                    capture_output=True,
                    text=True,
                ).stdout
            )
            with tempfile.TemporaryDirectory() as scratch:
                saved = Path(scratch) / "image.tar"
                with saved.open("wb") as out:
                    subprocess.run(["docker", "save", tag], stdout=out, check=True)
                with temporary_registry(Path(scratch) / "storage") as registry:
                    digests.append(
                        push_reproducible(saved, registry, "library/demo", "latest", EPOCH).digest
                    )
            time.sleep(1.1)  # another second in every time the build writes
    finally:  # the first build's image too: the second took its tag
        subprocess.run(["docker", "rmi", "-f", tag, *(i.strip() for i in ids)], capture_output=True)
    assert ids[0] != ids[1]  # Docker's own image is not reproducible
    assert digests[0] == digests[1]


def test_file_capabilities_survive_and_times_in_pax_headers_do_not() -> None:
    capability = "\x01\x00\x00\x02\x00\x20\x00\x00"  # cap_net_bind_service, as tar stores it
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w", format=tarfile.PAX_FORMAT) as out:
        info = tarfile.TarInfo("usr/bin/ping")
        info.size, info.mtime = 3, EPOCH + 99
        info.pax_headers = {
            "SCHILY.xattr.security.capability": capability,
            "atime": "1764865862.5",
            "ctime": "1764865862.5",
        }
        out.addfile(info, io.BytesIO(b"elf"))
    with tarfile.open(fileobj=io.BytesIO(normalized(buffer.getvalue()))) as layer:
        (member,) = layer.getmembers()
        assert member.pax_headers == {"SCHILY.xattr.security.capability": capability}
        assert member.mtime == EPOCH
