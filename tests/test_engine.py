"""Which engine livedeck reaches and how, and the byte paths to a lab's own engine (no Docker)."""

from __future__ import annotations

import http.server
import socket
import socketserver
import struct
import threading
from pathlib import Path

import docker
import pytest
from hypothesis import given
from hypothesis import strategies as st

from livedeck.images.sources import LabRegistry
from livedeck.run import engine
from livedeck.run.inner import _copy_down, _copy_up
from livedeck.run.labfiles import cache_volume, storage_mount
from livedeck.run.labs import lab_names


@pytest.mark.parametrize(
    ("environ", "url", "how"),
    [
        ({"DOCKER_HOST": "ssh://ubuntu@build-vm"}, "ssh://ubuntu@build-vm", "ssh"),
        (
            {"DOCKER_HOST": "tcp://vm:2376", "DOCKER_TLS_VERIFY": "1"},
            "tcp://vm:2376",
            "tcp with TLS",
        ),
        ({"DOCKER_HOST": "tcp://vm:2375"}, "tcp://vm:2375", "tcp without TLS"),
    ],
)
def test_reach_names_the_engine_and_the_way(environ: dict[str, str], url: str, how: str) -> None:
    reach = engine.reach(environ)
    assert reach.url == url
    assert reach.how.startswith(how)


def test_the_default_is_the_local_socket() -> None:
    expected = engine.Reach("unix:///var/run/docker.sock", "a unix socket")
    assert engine.reach({}) == expected
    assert engine.reach({"DOCKER_HOST": ""}) == expected


def test_an_engine_that_does_not_share_files_gets_no_bind_mount(tmp_path: Path) -> None:
    names = lab_names()
    mirror = LabRegistry("mirror", 5999, tmp_path / "registry")
    cache = LabRegistry("cache", 5998, tmp_path / "hub", "https://registry-1.docker.io")
    for registry in (mirror, cache):
        assert storage_mount(registry, names, shared=True)["Type"] == "bind"
        mount = storage_mount(registry, names, shared=False)
        assert mount["Type"] == "volume"
        assert str(tmp_path) not in str(mount)
    assert storage_mount(mirror, names, shared=False)["Source"] is None  # removed with the lab
    assert storage_mount(cache, names, shared=False)["Source"] == cache_volume(names, cache)
    other = LabRegistry("cache", 5998, tmp_path / "proxy" / "x", "http://10.0.0.1:5000")
    assert cache_volume(names, other) != cache_volume(names, cache)


def _frames(chunks: list[tuple[int, bytes]]) -> bytes:
    return b"".join(struct.pack(">BxxxL", kind, len(data)) + data for kind, data in chunks)


@given(
    st.lists(st.tuples(st.sampled_from([1, 2]), st.binary(max_size=300)), max_size=12),
    st.integers(min_value=1, max_value=50),
)
def test_the_exec_frames_give_back_stdout_exactly(
    chunks: list[tuple[int, bytes]], piece: int
) -> None:
    """However the frames are cut into reads, the SDK sees stdout's bytes alone, in order."""
    remote, remote_end = socket.socketpair()
    client_end, client = socket.socketpair()
    wire = _frames(chunks)

    def feed() -> None:
        for start in range(0, len(wire), piece):
            remote_end.sendall(wire[start : start + piece])
        remote_end.close()

    feeder = threading.Thread(target=feed)
    feeder.start()
    _copy_down(remote, client_end)
    feeder.join()
    received = b""
    while data := client.recv(65536):
        received += data
    assert received == b"".join(data for kind, data in chunks if kind == 1)
    for sock in (remote, client_end, client):
        sock.close()


def test_the_request_goes_up_unchanged_and_its_end_too() -> None:
    client, client_end = socket.socketpair()
    remote_end, remote = socket.socketpair()
    client.sendall(b"GET /_ping HTTP/1.1\r\n\r\n" * 100)
    client.shutdown(socket.SHUT_WR)
    _copy_up(client_end, remote_end)
    received = b""
    while data := remote.recv(65536):  # ends: the write side was shut down
        received += data
    assert received == b"GET /_ping HTTP/1.1\r\n\r\n" * 100


class _Engine(socketserver.ThreadingUnixStreamServer):
    """An engine's socket that answers with empty lists and objects; counts its connections."""

    daemon_threads = True
    connections = 0


class _Answer(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive, as the engine's API

    def setup(self) -> None:
        super().setup()
        assert isinstance(self.server, _Engine)
        self.server.connections += 1

    def do_GET(self) -> None:
        body = b"[]" if self.path.split("?")[0].endswith("/json") else b'{"ApiVersion": "1.41"}'
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: object) -> None:
        pass


@pytest.mark.parametrize("pooled", [True, False])
def test_a_client_asks_every_endpoint_over_one_connection(tmp_path: Path, pooled: bool) -> None:
    """To a lab's engine each connection is an exec of the docker CLI (run/inner.py): docker-py
    opens one per URL; livedeck's clients one for all (the unpooled client shows the count
    would see it)."""
    path = tmp_path / "engine.sock"
    server = _Engine(str(path), _Answer)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        url = f"unix://{path}"
        sdk = engine.client(url) if pooled else docker.DockerClient(base_url=url)
        for _ in range(2):
            sdk.version()
            sdk.info()
            sdk.images.list()
            sdk.containers.list(all=True)
            sdk.api.inspect_image("nginx")
        sdk.close()
    finally:
        server.shutdown()
        server.server_close()
    assert server.connections == 1 if pooled else server.connections >= 5
