"""The lab's own Docker engine, reached through the outer engine's API (no shared files).

Each connection to a socket in livedeck's run folder becomes a `docker system dial-stdio` exec in
the lab: the docker CLI there joins its stdin and stdout to the inner engine's socket. So the SDK
talks to the inner engine wherever the lab runs (a remote engine, a host's socket), as the
docker CLI does over ssh.
"""

from __future__ import annotations

import contextlib
import socket
import struct
import threading
from pathlib import Path
from typing import Any

DIAL = ("docker", "system", "dial-stdio")
HEADER = struct.Struct(">BxxxL")  # a non-tty exec's frames: stream (1 stdout, 2 stderr), size


class InnerEngine:
    """A unix socket of livedeck's whose connections reach the lab's engine."""

    def __init__(self, host: Any, container_id: str, folder: Path) -> None:
        self.path = folder / "inner-docker.sock"
        self._host = host
        self._container_id = container_id
        self._server = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self._server.bind(str(self.path))
        self._server.listen(16)
        self._open: set[socket.socket] = set()
        self._lock = threading.Lock()
        threading.Thread(target=self._serve, name="livedeck-inner-engine", daemon=True).start()

    @property
    def url(self) -> str:
        """base_url for a Docker SDK client."""
        return f"unix://{self.path}"

    def close(self) -> None:
        """Stop accepting and cut every open connection."""
        with contextlib.suppress(OSError):
            self._server.shutdown(socket.SHUT_RDWR)
        with contextlib.suppress(OSError):
            self._server.close()
        with self._lock:
            for sock in self._open:
                with contextlib.suppress(OSError):
                    sock.shutdown(socket.SHUT_RDWR)
            self._open.clear()

    def _serve(self) -> None:
        while True:
            try:
                client, _ = self._server.accept()
            except OSError:
                return  # closed
            threading.Thread(target=self._bridge, args=(client,), daemon=True).start()

    def _bridge(self, client: socket.socket) -> None:
        try:
            exec_id = self._host.api.exec_create(
                self._container_id, list(DIAL), stdin=True, stdout=True, stderr=True, user="root"
            )["Id"]
            stream = self._host.api.exec_start(exec_id, socket=True)
        except Exception:  # the lab is gone: the client sees its connection closed
            client.close()
            return
        remote: socket.socket = getattr(stream, "_sock", stream)
        with self._lock:
            self._open.update((client, remote))
        upward = threading.Thread(target=_copy_up, args=(client, remote), daemon=True)
        upward.start()
        try:
            _copy_down(remote, client)
        finally:
            upward.join(timeout=5)
            with self._lock:
                self._open.difference_update((client, remote))
            for sock in (client, remote):
                with contextlib.suppress(OSError):
                    sock.close()
            with contextlib.suppress(Exception):
                stream.close()


def _copy_up(client: socket.socket, remote: socket.socket) -> None:
    """The SDK's request bytes, as they are, to dial-stdio's stdin; its end as stdin's end."""
    with contextlib.suppress(OSError):
        while data := client.recv(65536):
            remote.sendall(data)
    with contextlib.suppress(OSError):
        remote.shutdown(socket.SHUT_WR)


def _copy_down(remote: socket.socket, client: socket.socket) -> None:
    """dial-stdio's stdout, out of the exec's frames, back to the SDK (stderr is dropped)."""
    buffer = b""
    with contextlib.suppress(OSError):
        while data := remote.recv(65536):
            buffer += data
            while len(buffer) >= HEADER.size:
                kind, size = HEADER.unpack_from(buffer)
                if len(buffer) < HEADER.size + size:
                    break
                payload = buffer[HEADER.size : HEADER.size + size]
                buffer = buffer[HEADER.size + size :]
                if kind == 1:
                    client.sendall(payload)
    with contextlib.suppress(OSError):
        client.shutdown(socket.SHUT_WR)
