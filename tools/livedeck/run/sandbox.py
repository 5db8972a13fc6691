"""The embedded lab: a Docker-in-Docker container on the host engine that plays the deck's host.

The lab container runs Debian's Docker engine (overlay2) and the registries its engine uses as
mirrors (livedeck.images.sources): the images `livedeck images add` put there, then either the
seeded mirror (the nginx tools/setup/lab-images.sh built) or a pull-through cache of Docker Hub
or another registry. So `docker pull nginx` prints what a pull from Docker Hub prints. Nothing a
deck does inside reaches the host engine's images or containers.

The engine may be remote or another machine's (run/engine.py): nothing of livedeck's file system
is bind-mounted unless the engine is seen to share it. Files go in through the API, the inner
engine is reached through exec (run/inner.py), and readiness is asked with exec too.
"""

from __future__ import annotations

import contextlib
import io
import select
import shutil
import socket
import tarfile
import weakref
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

from livedeck import reap
from livedeck.errors import LabError, RegistryError
from livedeck.images import registry as registry_api
from livedeck.images import store
from livedeck.images.sources import lab_registries, parse_source
from livedeck.run import engine, states
from livedeck.run.container import (
    close_quietly,
    create_container,
    exec_root,
    hang_up,
    ready_user,
    signals_held,
    watch_owner,
    with_packages,
)
from livedeck.run.inner import InnerEngine
from livedeck.run.lab import SHELL_ARGV, LabSpec, terminal_env
from livedeck.run.labs import (
    SETUP_HINT,
    docker_errors,
    ensure_network,
    host_client,
    lab_names,
    remove_lab,
)

START_TIMEOUT = 60.0


class DockerLab:
    """A lab container: the deck's host name and user, its own Docker engine and registry mirror."""

    def __init__(
        self,
        spec: LabSpec,
        host: Any,
        container: Any,
        run_dir: Path,
        home: str,
        *,
        keep: bool,
        watcher: Any = None,
    ) -> None:
        self.spec = spec
        self._watcher = watcher
        self.name: str = container.name
        self._host = host
        self._container = container
        self._run_dir = run_dir
        self._home = home
        self._inner: Any = None
        self._bridge: InnerEngine | None = None
        self._channels: list[ExecChannel] = []
        self._closed = False
        # A lab nobody closes is removed when the object is lost or Python exits; a kept one
        # (`livedeck lab up`) stays until `livedeck lab down`.
        self._finalizer = (
            None if keep else weakref.finalize(self, remove_lab, host, container.id, run_dir)
        )

    def shell(self, env: Mapping[str, str] | None = None) -> ExecChannel:
        """Start `bash -i` as spec.user in the user's home under a pty of spec's size, with
        `env` added to its environment (the engine's API carries it: no command line shows it)."""
        env = {
            **terminal_env(self.spec),
            "HOME": self._home,
            "USER": self.spec.user,
            **(env or {}),
        }
        with docker_errors("could not start a shell in the lab"):
            exec_id = self._host.api.exec_create(
                self._container.id,
                list(SHELL_ARGV),
                stdin=True,
                tty=True,
                user=self.spec.user,
                workdir=self._home,
                environment=env,
            )["Id"]
            stream = self._host.api.exec_start(exec_id, socket=True, tty=True)
            # exec_create has no console size before API 1.42: size the pty once it exists.
            self._host.api.exec_resize(exec_id, height=self.spec.rows, width=self.spec.columns)
        channel = ExecChannel(
            getattr(stream, "_sock", stream), stream, lambda: hang_up(self._host, exec_id)
        )
        self._channels.append(channel)
        return channel

    def copy_in(self, source: Path, target: str) -> None:
        """Copy a file or folder of this machine to `target` in the lab (`~/...`: the lab
        user's home), owned by the lab user; missing parent folders are made as the user."""
        path = self._home + target[1:] if target == "~" or target.startswith("~/") else target
        path = path.rstrip("/") or "/"
        parent, _, name = path.rpartition("/")
        parent = parent or "/"
        as_user = parent == self._home or parent.startswith(self._home + "/")
        mkdir = ["mkdir", "-p", parent]
        status, output = self.exec_root(
            ["runuser", "-u", self.spec.user, "--", *mkdir] if as_user else mkdir
        )
        if status != 0:
            raise LabError(f"could not make {parent} in the lab: {output.strip()}")
        archive = io.BytesIO()
        with tarfile.open(fileobj=archive, mode="w") as tar:
            tar.add(source, arcname=name)
        with docker_errors(f"could not copy {source} into the lab"):
            self._host.api.put_archive(self._container.id, parent, archive.getvalue())
        owner = f"{self.spec.user}:{self.spec.user}"
        status, output = self.exec_root(["chown", "-R", owner, path])
        if status != 0:
            raise LabError(
                f"could not give {path} to {self.spec.user} in the lab: {output.strip()}"
            )

    def exec_root(self, argv: Sequence[str]) -> tuple[int, str]:
        """Run a side command as root in the lab; its exit code and output (stdout + stderr)."""
        return exec_root(self._host, self._container.id, argv)

    def docker(self) -> Any:
        """A Docker SDK client for the lab's own engine (through exec: run/inner.py)."""
        if self._inner is None:
            with docker_errors("the lab's Docker engine does not answer"):
                self._bridge = InnerEngine(self._host, self._container.id, self._run_dir)
                self._inner = engine.client(self._bridge.url)
        return self._inner

    def close(self) -> None:
        """Remove the lab container, its volume, its socket folder; safe to call again."""
        if self._closed:
            return
        self._closed = True
        if self._finalizer is not None:
            self._finalizer.detach()
        with signals_held():  # a second Ctrl-C must not leave a half-removed lab
            for channel in self._channels:
                channel.close()
            if self._inner is not None:
                with contextlib.suppress(Exception):
                    self._inner.close()
            if self._bridge is not None:
                self._bridge.close()
            problems = remove_lab(self._host, self._container.id, self._run_dir)
            close_quietly(self._watcher)
            with contextlib.suppress(Exception):
                self._host.close()
        if problems:
            raise LabError(f"lab {self.name} was not fully removed: {'; '.join(problems)}")


class ExecChannel:
    """The socket of a `docker exec -it`: raw terminal bytes both ways (no multiplexing)."""

    def __init__(self, sock: socket.socket, keepalive: object, hang_up: Callable[[], None]) -> None:
        self._sock = sock
        self._keepalive = keepalive  # the SDK's response object; the socket closes with it
        self._hang_up = hang_up
        self._closed = False

    def send(self, data: bytes) -> None:
        """Write bytes to the terminal, as typed keys."""
        self._sock.sendall(data)

    def recv(self, timeout: float) -> bytes:
        """Read what the terminal printed; b"" after `timeout` seconds of silence."""
        if self._closed:
            raise EOFError
        ready, _, _ = select.select([self._sock], [], [], timeout)
        if not ready:
            return b""
        try:
            data = self._sock.recv(65536)
        except OSError:
            data = b""
        if not data:
            raise EOFError
        return data

    def close(self) -> None:
        """Hang up: close the socket and send the shell SIGHUP (it passes it on to its jobs)."""
        if self._closed:
            return
        self._closed = True
        # Closing the socket alone leaves the exec's shell running in the lab.
        self._hang_up()
        with contextlib.suppress(OSError):
            self._sock.shutdown(socket.SHUT_RDWR)
        with contextlib.suppress(OSError):
            self._sock.close()


def start_sandbox(
    spec: LabSpec | None = None,
    *,
    keep: bool = False,
    registry_dir: Path | None = None,
    timeout: float = START_TIMEOUT,
) -> DockerLab:
    """Start a lab container for `spec` and wait until its Docker engine and mirror answer.

    Unless `keep`, the lab is also removed when this Python process exits without close().
    """
    spec = spec or LabSpec()
    names = lab_names()
    try:
        source = parse_source(spec.images)
    except ValueError as error:
        raise LabError(str(error)) from error
    seeded = (registry_dir or names.registry_dir).resolve()
    if source.kind == "mirror" and not (seeded / "docker").is_dir():
        raise LabError(f"the lab's registry storage {seeded} holds no images", hint=SETUP_HINT)
    if source.kind != "mirror" and not registry_api.answers(source.url):
        # The cache inside the lab would not even start (docker-registry asks at start-up).
        raise RegistryError(
            f"{source.registry} is unreachable, and labs pull images through it (images: "
            f"{source.label})",
            hint="check the network, or choose another image source: --images mirror",
        )
    host = host_client()
    image = with_packages(host, names.lab_image, spec.packages) if spec.packages else None
    run_dir = reap.owned_tempdir("livedeck-lab-")
    container: Any = None
    watcher: Any = None
    try:
        for attempt in (1, 2):  # a lab closing in parallel may remove the idle network
            try:
                ensure_network(host, names)
                # Pins the added images' snapshot until the container mounts it.
                with store.reading(names.images_dir) as added:
                    registries = lab_registries(
                        source,
                        added=added,
                        seeded=seeded,
                        hub_cache=names.hub_cache,
                        proxy_cache=names.proxy_cache,
                    )
                    with docker_errors("could not start the lab container"):
                        container = create_container(
                            host,
                            spec,
                            names,
                            source,
                            registries,
                            run_dir,
                            image or names.lab_image,
                            keep=keep,
                        )
                        if spec.snapshot:  # an earlier deck's Docker data, before the engine
                            states.load_data(host, container.id, spec.snapshot)
                        container.start()
                break
            except LabError as error:
                if attempt == 2 or "network" not in str(error):
                    raise
                if container is not None:
                    remove_lab(host, container.id, None)
                    container = None
        if not keep:
            watcher = watch_owner(host, container.id)
        # The user is made while the inner engine starts (lab-user prints its home directory).
        home = ready_user(host, container, spec.user, timeout)
    except BaseException:  # also Ctrl-C: never leave a half-started lab behind
        with signals_held():
            if container is not None:
                remove_lab(host, container.id, run_dir)
            else:
                shutil.rmtree(run_dir, ignore_errors=True)
            close_quietly(watcher)
        raise
    return DockerLab(spec, host, container, run_dir, home, keep=keep, watcher=watcher)
