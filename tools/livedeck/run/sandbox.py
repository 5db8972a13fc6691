"""The embedded lab: a Docker-in-Docker container on the host engine that plays the deck's host.

The lab container runs Debian's Docker engine (overlay2) and a read-only registry mirror that
serves the nginx tools/setup/lab-images.sh built, so `docker pull nginx` prints what Docker Hub
would. Nothing a deck does inside reaches the host engine's images or containers.
"""

from __future__ import annotations

import contextlib
import os
import secrets
import select
import shutil
import signal
import socket
import tempfile
import time
import weakref
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any

import docker
import docker.errors
from docker.types import IPAMConfig, IPAMPool, Mount

from livedeck.errors import LabError
from livedeck.run.lab import SHELL_ARGV, LabSpec, terminal_env

START_TIMEOUT = 60.0
RUN_DIR = "/run/livedeck"  # inside the lab: the inner engine's socket for us, and `ready`
SETUP_HINT = "build the lab images with: tools/setup/lab-images.sh"
ENGINE_HINT = "no Docker engine reachable: run tools/setup/dockerd.sh start"


@dataclass(frozen=True)
class LabNames:
    """Image tags, paths and labels shared with tools/setup/lab-images.sh (lab_assets/lab.env)."""

    base_image: str
    lab_image: str
    nginx_image: str
    nginx_layers: int
    registry_dir: Path
    label: str
    network: str
    subnet: str


def lab_names(environ: Mapping[str, str] = os.environ) -> LabNames:
    """Read lab.env; LIVEDECK_<NAME> in the environment overrides <NAME>, as in the script."""
    text = resources.files("livedeck").joinpath("lab_assets/lab.env").read_text(encoding="utf-8")
    values: dict[str, str] = {}
    for line in text.splitlines():
        if line.strip() and not line.startswith("#"):
            key, _, value = line.partition("=")
            values[key] = environ.get(f"LIVEDECK_{key}", value)
    return LabNames(
        base_image=values["BASE_IMAGE"],
        lab_image=values["LAB_IMAGE"],
        nginx_image=values["NGINX_IMAGE"],
        nginx_layers=int(values["NGINX_LAYERS"]),
        registry_dir=Path(values["REGISTRY_DIR"]),
        label=values["LAB_LABEL"],
        network=values["LAB_NETWORK"],
        subnet=values["LAB_SUBNET"],
    )


class DockerLab:
    """A lab container: the deck's host name and user, its own Docker engine and registry mirror."""

    def __init__(
        self, spec: LabSpec, host: Any, container: Any, run_dir: Path, home: str, *, keep: bool
    ) -> None:
        self.spec = spec
        self.name: str = container.name
        self._host = host
        self._container = container
        self._run_dir = run_dir
        self._home = home
        self._inner: Any = None
        self._channels: list[ExecChannel] = []
        self._closed = False
        # A lab nobody closes is removed when the object is lost or Python exits; a kept one
        # (`livedeck lab up`) stays until `livedeck lab down`.
        self._finalizer = (
            None if keep else weakref.finalize(self, _remove_lab, host, container.id, run_dir)
        )

    def shell(self) -> ExecChannel:
        """Start `bash -i` as spec.user in the user's home under a pty of spec's size."""
        env = {**terminal_env(self.spec), "HOME": self._home, "USER": self.spec.user}
        with _docker_errors("could not start a shell in the lab"):
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

    def exec_root(self, argv: Sequence[str]) -> tuple[int, str]:
        """Run a side command as root in the lab; its exit code and output (stdout + stderr)."""
        return _exec_root(self._host, self._container.id, argv)

    def docker(self) -> Any:
        """A Docker SDK client for the lab's own engine (through the bind-mounted socket)."""
        if self._inner is None:
            with _docker_errors("the lab's Docker engine does not answer"):
                self._inner = docker.DockerClient(base_url=f"unix://{self._run_dir}/docker.sock")
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
            problems = _remove_lab(self._host, self._container.id, self._run_dir)
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
    registry = (registry_dir or names.registry_dir).resolve()
    if not (registry / "docker").is_dir():
        raise LabError(f"the lab's registry storage {registry} holds no images", hint=SETUP_HINT)
    host = _host_client()
    run_dir = Path(tempfile.mkdtemp(prefix="livedeck-lab-"))
    container: Any = None
    try:
        for attempt in (1, 2):  # a lab closing in parallel may remove the idle network
            _ensure_network(host, names)
            try:
                with _docker_errors("could not start the lab container"):
                    container = _create_container(host, spec, names, registry, run_dir)
                    container.start()
                break
            except LabError as error:
                if attempt == 2 or "network" not in str(error):
                    raise
                if container is not None:
                    _remove_lab(host, container.id, None)
                    container = None
        # Made while the inner engine starts; lab-user prints the user's home directory.
        status, output = _exec_root(host, container.id, ["lab-user", spec.user])
        if status != 0:
            raise LabError(f"could not create the lab user {spec.user!r}: {output.strip()}")
        home = output.strip().splitlines()[-1]
        _wait_ready(container, run_dir, timeout)
    except BaseException:  # also Ctrl-C: never leave a half-started lab behind
        with _signals_held():
            if container is not None:
                _remove_lab(host, container.id, run_dir)
            else:
                shutil.rmtree(run_dir, ignore_errors=True)
        raise
    return DockerLab(spec, host, container, run_dir, home, keep=keep)


def _create_container(
    host: Any, spec: LabSpec, names: LabNames, registry: Path, run_dir: Path
) -> Any:
    """`docker create` with what a Docker engine inside needs (see ENVIRONMENT.md)."""
    api = host.api
    host_config = api.create_host_config(
        cap_add=["ALL"],
        cap_drop=["SYS_RESOURCE"],  # not in this VM's bounding set: --privileged fails
        security_opt=["seccomp=unconfined", "apparmor=unconfined"],
        mounts=[
            Mount("/var/lib/docker", None, type="volume"),  # anonymous: removed with the lab
            Mount("/sys/fs/cgroup", "/sys/fs/cgroup", type="bind"),
            Mount(RUN_DIR, str(run_dir), type="bind"),
            Mount("/var/lib/registry", str(registry), type="bind", read_only=True),
        ],
        network_mode=names.network,
    )
    # `--security-opt systempaths=unconfined` is the CLI's name for these two (a writable
    # /proc/sys, for the inner engine's sysctls); the engine API knows only the lists.
    host_config["MaskedPaths"] = []
    host_config["ReadonlyPaths"] = []
    created = api.create_container(
        names.lab_image,
        name=f"livedeck-lab-{secrets.token_hex(4)}",
        hostname=spec.hostname,
        labels={names.label: "1", f"{names.label}.run-dir": str(run_dir)},
        environment={"LAB_DNS": " ".join(_host_name_servers())},
        host_config=host_config,
    )
    return host.containers.get(created["Id"])


def remove_leftover_labs() -> int:
    """Remove every lab container (running or not) with its volume and folder; how many."""
    names = lab_names()
    host = _host_client()
    removed = 0
    with _docker_errors("could not list the labs"):
        containers = host.containers.list(all=True, filters={"label": names.label})
    for container in containers:
        run_dir = container.labels.get(f"{names.label}.run-dir")
        problems = _remove_lab(host, container.id, Path(run_dir) if run_dir else None)
        if problems:
            raise LabError(f"could not remove lab {container.name}: {'; '.join(problems)}")
        removed += 1
    return removed


def lab_status() -> list[str]:
    """Human-readable lines: the engine, the images, the registry storage, the running labs."""
    names = lab_names()
    try:
        host = _host_client()
    except LabError as error:
        return [f"Docker engine: {error} ({error.hint})"]
    lines = [f"Docker engine: {host.version().get('Version', '?')}"]
    images = [names.base_image, names.lab_image, f"{names.nginx_image}:{names.nginx_layers}"]
    for image in images:
        try:
            found = host.images.get(image)
            lines.append(f"image {image}: {found.short_id.removeprefix('sha256:')}")
        except docker.errors.ImageNotFound:
            lines.append(f"image {image}: missing ({SETUP_HINT})")
    lines.append(f"registry {names.registry_dir}: {_registry_nginx(host, names)}")
    labs = host.containers.list(all=True, filters={"label": names.label})
    lines.append(f"labs: {len(labs)}" + (" (remove with: livedeck lab down)" if labs else ""))
    for lab in labs:
        lines.append(f"  {lab.name}: {lab.status}, host name {lab.attrs['Config']['Hostname']}")
    return lines


def _registry_nginx(host: Any, names: LabNames) -> str:
    """Which nginx the registry storage serves, from the stamp lab-images.sh leaves there."""
    stamp = names.registry_dir / "livedeck-nginx.id"
    if not stamp.is_file():
        return f"no nginx ({SETUP_HINT})"
    pushed = stamp.read_text().strip()
    for layers in (7, 6):
        with contextlib.suppress(docker.errors.ImageNotFound):
            if host.images.get(f"{names.nginx_image}:{layers}").id == pushed:
                return f"nginx:latest with {layers} layers"
    return f"nginx:latest from image {pushed[7:19]}, no longer on the host"


def _host_client() -> Any:
    try:
        return docker.from_env()
    except docker.errors.DockerException as error:
        raise LabError(
            f"cannot reach the host's Docker engine: {error}", hint=ENGINE_HINT
        ) from error


@contextlib.contextmanager
def _docker_errors(what: str) -> Iterator[None]:
    """Turn the SDK's exceptions into a LabError that says what to do next."""
    try:
        yield
    except docker.errors.ImageNotFound as error:
        raise LabError(f"{what}: {error.explanation}", hint=SETUP_HINT) from error
    except docker.errors.APIError as error:
        raise LabError(f"{what}: {error.explanation or error}") from error
    except (docker.errors.DockerException, OSError) as error:
        raise LabError(f"{what}: {error}", hint=ENGINE_HINT) from error


def _ensure_network(host: Any, names: LabNames) -> None:
    """The labs' own network, so the inner engine can keep Docker's default 172.17.0.0/16."""
    with _docker_errors(f"could not create the network {names.network}"):
        if host.networks.list(names=[names.network]):
            return
        try:
            host.networks.create(
                names.network,
                driver="bridge",
                ipam=IPAMConfig(pool_configs=[IPAMPool(subnet=names.subnet)]),
                labels={names.label: "network"},
            )
        except docker.errors.APIError:
            if not host.networks.list(names=[names.network]):  # not just a lab starting in parallel
                raise


def _host_name_servers() -> list[str]:
    """Name servers of the host that inner containers can reach (not loopback ones)."""
    try:
        lines = Path("/etc/resolv.conf").read_text().splitlines()
    except OSError:
        return []
    servers = [line.split()[1] for line in lines if line.startswith("nameserver ")]
    return [server for server in servers if not server.startswith(("127.", "::1"))]


def _exec_root(host: Any, container_id: str, argv: Sequence[str]) -> tuple[int, str]:
    with _docker_errors(f"could not run {' '.join(argv)!r} in the lab"):
        exec_id = host.api.exec_create(container_id, list(argv), user="root")["Id"]
        output: bytes = host.api.exec_start(exec_id)
        code = host.api.exec_inspect(exec_id)["ExitCode"]
        for _ in range(50):  # the exit code may lag the end of the output by a moment
            if code is not None:
                break
            time.sleep(0.01)
            code = host.api.exec_inspect(exec_id)["ExitCode"]
    return (-1 if code is None else int(code)), output.decode("utf-8", errors="replace")


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


def _wait_ready(container: Any, run_dir: Path, timeout: float) -> None:
    """Wait for the entrypoint's `ready` file; fail early if the container stops."""
    deadline = time.monotonic() + timeout
    next_check = 0.0
    while not (run_dir / "ready").exists():
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
                f"the lab's Docker engine and registry did not answer within {timeout:.0f} s",
                hint=f"look at its logs: docker exec {container.name} cat /var/log/dockerd.log",
            )
        time.sleep(0.02)


def _remove_lab(host: Any, container_id: str, run_dir: Path | None) -> list[str]:
    """Force-remove a lab container with its anonymous volume, then its host folder and cgroups.

    Returns what could not be removed; raises nothing, so it is safe on an error path.
    """
    problems: list[str] = []
    try:
        host.api.remove_container(container_id, v=True, force=True)
    except docker.errors.NotFound:
        pass
    except docker.errors.DockerException as error:
        problems.append(f"container {container_id[:12]}: {error}")
    _remove_idle_network(host)
    if run_dir is not None:
        shutil.rmtree(run_dir, ignore_errors=True)
        if run_dir.exists():
            problems.append(f"folder {run_dir}")
    # The inner engine nests its cgroups in the lab's (see lab-entrypoint), and runc removes
    # them with it; this only catches what a killed engine may have left behind.
    for leftover in Path("/sys/fs/cgroup").glob(f"*/docker/{container_id}"):
        for cgroup in sorted(leftover.glob("**/"), key=lambda p: len(p.parts), reverse=True):
            with contextlib.suppress(OSError):
                cgroup.rmdir()
    return problems


def _remove_idle_network(host: Any) -> None:
    """Remove the labs' network once no lab uses it: a build leaves nothing on the host."""
    name = lab_names().network
    with contextlib.suppress(docker.errors.DockerException):
        for network in host.networks.list(names=[name]):
            network.reload()
            if not network.attrs.get("Containers"):
                network.remove()
