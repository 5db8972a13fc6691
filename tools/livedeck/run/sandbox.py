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
import hashlib
import io
import os
import re
import secrets
import select
import shutil
import signal
import socket
import tarfile
import time
import weakref
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any

import docker
import docker.errors
from docker.types import Mount

from livedeck import reap
from livedeck.errors import LabError, RegistryError
from livedeck.images import registry as registry_api
from livedeck.images import store
from livedeck.images.sources import ImageSource, LabRegistry, lab_registries, parse_source
from livedeck.run.engine import shares_files
from livedeck.run.inner import InnerEngine
from livedeck.run.lab import SHELL_ARGV, LabSpec, terminal_env
from livedeck.run.labfiles import put_files, storage_mount
from livedeck.run.labs import (
    SETUP_HINT,
    LabNames,
    docker_errors,
    ensure_network,
    host_client,
    lab_names,
    remove_lab,
)

START_TIMEOUT = 60.0
RUN_DIR = "/run/livedeck"  # inside the lab: the registries' configs, and `ready` once it answers
# Reads until livedeck's end of the connection closes - also when livedeck is killed - and then
# stops the lab (tini passes SIGTERM on; the entrypoint ends). The next livedeck command removes
# what is left (run/labs.py: reap_labs).
WATCH_OWNER = ("sh", "-c", "cat >/dev/null; kill -TERM 1")


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

    def shell(self) -> ExecChannel:
        """Start `bash -i` as spec.user in the user's home under a pty of spec's size."""
        env = {**terminal_env(self.spec), "HOME": self._home, "USER": self.spec.user}
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
            getattr(stream, "_sock", stream), stream, lambda: _hang_up(self._host, exec_id)
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
        return _exec_root(self._host, self._container.id, argv)

    def docker(self) -> Any:
        """A Docker SDK client for the lab's own engine (through exec: run/inner.py)."""
        if self._inner is None:
            with docker_errors("the lab's Docker engine does not answer"):
                self._bridge = InnerEngine(self._host, self._container.id, self._run_dir)
                self._inner = docker.DockerClient(base_url=self._bridge.url)
        return self._inner

    def close(self) -> None:
        """Remove the lab container, its volume, its socket folder; safe to call again."""
        if self._closed:
            return
        self._closed = True
        if self._finalizer is not None:
            self._finalizer.detach()
        with _signals_held():  # a second Ctrl-C must not leave a half-removed lab
            for channel in self._channels:
                channel.close()
            if self._inner is not None:
                with contextlib.suppress(Exception):
                    self._inner.close()
            if self._bridge is not None:
                self._bridge.close()
            problems = remove_lab(self._host, self._container.id, self._run_dir)
            _close_quietly(self._watcher)
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
                        container = _create_container(
                            host,
                            spec,
                            names,
                            source,
                            registries,
                            run_dir,
                            image or names.lab_image,
                            keep=keep,
                        )
                        container.start()
                break
            except LabError as error:
                if attempt == 2 or "network" not in str(error):
                    raise
                if container is not None:
                    remove_lab(host, container.id, None)
                    container = None
        if not keep:
            watcher = _watch_owner(host, container.id)
        # Made while the inner engine starts; lab-user prints the user's home directory.
        home = _lab_user(host, container.id, spec.user)
        _wait_ready(host, container, timeout)
    except BaseException:  # also Ctrl-C: never leave a half-started lab behind
        with _signals_held():
            if container is not None:
                remove_lab(host, container.id, run_dir)
            else:
                shutil.rmtree(run_dir, ignore_errors=True)
            _close_quietly(watcher)
        raise
    return DockerLab(spec, host, container, run_dir, home, keep=keep, watcher=watcher)


def with_packages(host: Any, lab_image: str, packages: Sequence[str]) -> str:
    """The lab image with Debian packages added: built once per lab image and package list
    (its tag is their hash), then reused by every lab that asks for the same list."""
    with docker_errors(f"the lab image {lab_image} is missing"):
        base = host.images.get(lab_image).id
    wanted = " ".join(sorted(packages))
    digest = hashlib.sha256(f"{base} {wanted}".encode()).hexdigest()[:16]
    tag = f"{lab_image.rpartition(':')[0] or lab_image}-packages:{digest}"
    with contextlib.suppress(docker.errors.ImageNotFound):
        host.images.get(tag)
        return tag
    dockerfile = (
        f"FROM {base}\n"
        "RUN apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y"
        f" --no-install-recommends {wanted} && rm -rf /var/lib/apt/lists/*\n"
    )
    try:
        host.images.build(
            fileobj=io.BytesIO(dockerfile.encode()),
            tag=tag,
            network_mode="host",  # the Debian mirror is reachable from builds on the host network
            rm=True,
            forcerm=True,
            labels={"livedeck.lab.packages": wanted},
        )
    except docker.errors.BuildError as error:
        log = [str(item.get("stream", item.get("error", ""))).rstrip() for item in error.build_log]
        tail = [line for line in log if line.strip()][-6:]
        raise LabError(
            f"could not add the packages {wanted} to the lab:\n" + "\n".join(tail),
            hint="livedeck.packages names Debian (bookworm) packages: check their names",
        ) from error
    except docker.errors.DockerException as error:
        raise LabError(f"could not add the packages {wanted} to the lab: {error}") from error
    return tag


def _create_container(
    host: Any,
    spec: LabSpec,
    names: LabNames,
    source: ImageSource,
    registries: Sequence[LabRegistry],
    run_dir: Path,
    image: str,
    *,
    keep: bool,
) -> Any:
    """`docker create` with what a Docker engine inside needs (see ENVIRONMENT.md), then its
    files put in: the registries' configs, and their storage unless the engine shares it."""
    shared = shares_files(host, image)
    for registry in registries:
        if registry.upstream and shared:
            registry.storage.mkdir(parents=True, exist_ok=True)
    api = host.api
    host_config = api.create_host_config(
        cap_add=["ALL"],
        cap_drop=["SYS_RESOURCE"],  # not in this VM's bounding set: --privileged fails
        security_opt=["seccomp=unconfined", "apparmor=unconfined"],
        mounts=[
            # Anonymous: removed with the lab; labelled, so a leftover can be told as a lab's.
            Mount("/var/lib/docker", None, type="volume", labels={names.label: "lab"}),
            Mount("/sys/fs/cgroup", "/sys/fs/cgroup", type="bind"),
            *(storage_mount(r, names, shared=shared) for r in registries),
        ],
        network_mode=names.network,
    )
    # `--security-opt systempaths=unconfined` is the CLI's name for these two (a writable
    # /proc/sys, for the inner engine's sysctls); the engine API knows only the lists.
    host_config["MaskedPaths"] = []
    host_config["ReadonlyPaths"] = []
    created = api.create_container(
        image,
        name=f"livedeck-lab-{secrets.token_hex(4)}",
        hostname=spec.hostname,
        labels={**_labels(names, run_dir, keep=keep), f"{names.label}.images": source.label},
        environment={
            "LAB_DNS": " ".join(_host_name_servers()),
            "LAB_MIRRORS": " ".join(r.address for r in registries),
        },
        host_config=host_config,
    )
    try:
        put_files(host, created["Id"], registries, shared=shared)
    except BaseException:
        remove_lab(host, created["Id"], None)
        raise
    return host.containers.get(created["Id"])


def _labels(names: LabNames, run_dir: Path, *, keep: bool) -> dict[str, str]:
    """What finds a lab again: its label, its folder, and (unless kept) the process it dies with."""
    labels = {names.label: "1", f"{names.label}.run-dir": str(run_dir)}
    if not keep:
        labels[f"{names.label}.owner"] = reap.me().label()
    return labels


def _host_name_servers() -> list[str]:
    """Name servers of the host that inner containers can reach (not loopback ones)."""
    try:
        lines = Path("/etc/resolv.conf").read_text().splitlines()
    except OSError:
        return []
    servers = [line.split()[1] for line in lines if line.startswith("nameserver ")]
    return [server for server in servers if not server.startswith(("127.", "::1"))]


# A side command ends its output with its exit status between two RS bytes: a loaded engine
# sometimes returns an exec's output empty or cut (moby#27289), and a lost answer must never be
# read as "no output". Its stderr goes to stdout so the status comes last.
_SIDE = ["sh", "-c", '"$@" 2>&1; printf "\\036LDEND%d\\036" "$?"', "sh"]
_END = re.compile(r"\x1eLDEND(\d+)\x1e\Z")


def _exec_root(host: Any, container_id: str, argv: Sequence[str]) -> tuple[int, str]:
    """Run argv as root in the lab: its exit status and output. argv must be safe to run
    again: an answer the engine lost is asked again, and never taken for an empty one."""
    for _ in range(3):
        with docker_errors(f"could not run {' '.join(argv)!r} in the lab"):
            exec_id = host.api.exec_create(container_id, [*_SIDE, *argv], user="root")["Id"]
            output = host.api.exec_start(exec_id).decode("utf-8", errors="replace")
        found = _END.search(output)
        if found:
            return int(found.group(1)), output[: found.start()]
        time.sleep(0.2)
    raise LabError(f"the lab's engine lost the output of {' '.join(argv)!r} three times")


def _lab_user(host: Any, container_id: str, user: str) -> str:
    """Make the lab's user (lab-user is idempotent); its home directory."""
    status, output = _exec_root(host, container_id, ["lab-user", user])
    if status != 0 or not output.strip():
        raise LabError(f"could not create the lab user {user!r}: {output.strip()}")
    return output.strip().splitlines()[-1]


def _watch_owner(host: Any, container_id: str) -> Any:
    """Tie the lab's life to this process: the open stdin of an exec (see WATCH_OWNER)."""
    with docker_errors("could not start the lab's owner watch"):
        exec_id = host.api.exec_create(container_id, list(WATCH_OWNER), stdin=True, user="root")
        return host.api.exec_start(exec_id["Id"], socket=True)


def _close_quietly(stream: Any) -> None:
    if stream is not None:
        with contextlib.suppress(Exception):
            getattr(stream, "_sock", stream).close()
        with contextlib.suppress(Exception):
            stream.close()


def _hang_up(host: Any, exec_id: str) -> None:
    """SIGHUP to a shell of the lab, as when its terminal goes away."""
    with contextlib.suppress(Exception):
        shell = host.api.exec_inspect(exec_id)
        pid = int(shell["Pid"])
        # The engine reports host pids: act only if that pid is still this shell on this host.
        cmdline = Path(f"/proc/{pid}/cmdline").read_bytes()
        if shell["Running"] and cmdline == "\0".join(SHELL_ARGV).encode() + b"\0":
            os.kill(pid, signal.SIGHUP)


@contextlib.contextmanager
def _signals_held() -> Iterator[None]:
    """Hold Ctrl-C and termination signals back until the block is done, then deliver them."""
    held = {signal.SIGINT, signal.SIGTERM, signal.SIGHUP}
    previous = signal.pthread_sigmask(signal.SIG_BLOCK, held)
    try:
        yield
    finally:
        signal.pthread_sigmask(signal.SIG_SETMASK, previous)


def _wait_ready(host: Any, container: Any, timeout: float) -> None:
    """Wait for the entrypoint's `ready` file; fail early if the container stops."""
    deadline = time.monotonic() + timeout
    next_check = 0.0
    while not _is_ready(host, container.id):
        now = time.monotonic()
        if now >= next_check:
            container.reload()
            if container.status != "running":
                logs = container.logs(tail=15).decode(errors="replace").strip()
                raise LabError(
                    f"the lab container stopped while starting ({container.status}):\n{logs}",
                    hint="rebuild its image if the log shows a damaged one: "
                    "tools/setup/lab-images.sh --rebuild",
                )
            next_check = now + 0.5
        if now > deadline:
            raise LabError(
                f"the lab's Docker engine and registries did not answer within {timeout:.0f} s",
                hint=f"look at its logs: docker exec {container.name} cat /var/log/dockerd.log",
            )
        time.sleep(0.05)


def _is_ready(host: Any, container_id: str) -> bool:
    try:
        status, _ = _exec_root(host, container_id, ["test", "-e", f"{RUN_DIR}/ready"])
    except LabError:
        return False  # stopped: the caller looks at why
    return status == 0
