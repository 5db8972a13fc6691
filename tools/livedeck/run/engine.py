"""The Docker engine labs run on, however livedeck reaches it, and what its file system shares.

DOCKER_HOST picks the engine as for the docker CLI: unset (the local socket, which may be a
host's socket mounted into livedeck's own container), `unix://`, `tcp://` (TLS from
DOCKER_TLS_VERIFY and DOCKER_CERT_PATH) or `ssh://user@host[:port]`. For ssh, livedeck forwards
a socket of its own to the engine's socket with the system `ssh` (keys, agent and
~/.ssh/config apply), so exec sessions are plain sockets as with a local engine.

The engine may not see livedeck's files (a remote engine, or a host's socket in a container):
`shares_files` asks it, once per process, whether a folder of livedeck's is the same folder on
its side, and labs copy their files in through the API where it is not.
"""

from __future__ import annotations

import atexit
import contextlib
import io
import os
import secrets
import shutil
import subprocess
import tarfile
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import docker
import docker.errors
from docker.transport.basehttpadapter import BaseHTTPAdapter
from docker.types import Mount

from livedeck import reap
from livedeck.errors import LabError

ENGINE_HINT = "no Docker engine reachable: run tools/setup/dockerd.sh start"
REMOTE_SOCKET_ENV = "LIVEDECK_REMOTE_SOCKET"  # the engine's socket on an ssh host
REMOTE_SOCKET = "/var/run/docker.sock"
TUNNEL_TIMEOUT = 20.0


@dataclass(frozen=True)
class Reach:
    """How livedeck reaches its Docker engine, for `livedeck lab status` and messages."""

    url: str  # DOCKER_HOST as given, or the default socket
    how: str  # local socket, ssh, tcp with TLS, ...


def reach(environ: dict[str, str] | None = None) -> Reach:
    """Where DOCKER_HOST points, in words (pure)."""
    env = os.environ if environ is None else environ
    url = env.get("DOCKER_HOST", "") or "unix:///var/run/docker.sock"
    scheme = urlsplit(url).scheme
    if scheme == "ssh":
        how = "ssh (a socket forwarded with the system ssh)"
    elif scheme in ("tcp", "https"):
        how = "tcp with TLS" if env.get("DOCKER_TLS_VERIFY") else "tcp without TLS"
    else:
        how = "a unix socket"
    return Reach(url, how)


def connect(timeout: int = 60) -> Any:
    """A Docker SDK client for the engine DOCKER_HOST names; LabError if it cannot be reached."""
    where = reach()
    try:
        if urlsplit(where.url).scheme == "ssh":
            return client(f"unix://{_tunnel(where.url)}", timeout)
        return one_pool(docker.from_env(timeout=timeout))
    except docker.errors.DockerException as error:
        raise LabError(
            f"cannot reach the Docker engine at {where.url} ({where.how}): {error}",
            hint=ENGINE_HINT,
        ) from error


def client(base_url: str, timeout: int = 60) -> Any:
    """A Docker SDK client for the engine at base_url, with one connection pool (one_pool)."""
    return one_pool(docker.DockerClient(base_url=base_url, timeout=timeout))


def one_pool(sdk: Any) -> Any:
    """The client, its socket adapters keeping one pool of connections instead of one per URL.

    docker-py's unix and ssh adapters key their pools by the whole URL, path and query
    included, so each endpoint asked opens a connection of its own. To a lab's engine a
    connection is an exec of `docker system dial-stdio` (run/inner.py), about 0.13 CPU-s of
    the machine's; a lab used to open ten. The pool's URL is not used to connect: the
    adapter's socket or ssh host is.
    """
    for adapter in sdk.api.adapters.values():
        if isinstance(adapter, BaseHTTPAdapter) and hasattr(adapter, "pools"):
            # The pool of the client's version probe becomes the one (urllib3's container of
            # pools has keys() but cannot be iterated).
            with adapter.pools.lock:
                made = [adapter.pools[url] for url in adapter.pools.keys()]  # noqa: SIM118
                if made:
                    adapter.pools[_POOL] = made[0]
            adapter.get_connection = _pooled(adapter.get_connection)  # type: ignore[method-assign]
    return sdk


def _pooled(get: Callable[[str, Any], Any]) -> Callable[..., Any]:
    def get_connection(url: str, proxies: Any = None) -> Any:
        return get(_POOL, proxies)

    return get_connection


_POOL = "http+docker://localhost"
_tunnels: dict[str, Path] = {}


def _tunnel(url: str) -> Path:
    """A local socket forwarded to the ssh host's engine socket; one per process and host."""
    if url in _tunnels:
        return _tunnels[url]
    parts = urlsplit(url)
    if not parts.hostname:
        raise LabError(f"DOCKER_HOST {url} names no host", hint="DOCKER_HOST=ssh://user@host")
    folder = reap.owned_tempdir("livedeck-lab-ssh-")
    local = folder / "docker.sock"
    remote = os.environ.get(REMOTE_SOCKET_ENV, REMOTE_SOCKET)
    argv = ["ssh", "-nNT", "-o", "BatchMode=yes", "-o", "ExitOnForwardFailure=yes"]
    argv += ["-o", "StreamLocalBindUnlink=yes", "-L", f"{local}:{remote}"]
    if parts.port:
        argv += ["-p", str(parts.port)]
    if parts.username:
        argv += ["-l", parts.username]
    argv += ["--", parts.hostname]
    if shutil.which("ssh") is None:
        raise LabError(
            f"DOCKER_HOST is {url}, and ssh is not installed", hint="apt-get install openssh-client"
        )
    log = folder / "ssh.log"
    with log.open("wb") as output:
        process = subprocess.Popen(
            argv,
            stdin=subprocess.DEVNULL,
            stdout=output,
            stderr=output,
            preexec_fn=reap.die_with_parent,  # a killed livedeck leaves no tunnel behind
        )
    deadline = time.monotonic() + TUNNEL_TIMEOUT
    while not local.exists():
        if process.poll() is not None or time.monotonic() > deadline:
            process.kill()
            process.wait()
            said = log.read_text(errors="replace").strip()[-400:]
            shutil.rmtree(folder, ignore_errors=True)
            raise LabError(
                f"could not forward the Docker engine of {parts.hostname} with ssh: {said}",
                hint="check that `ssh HOST docker info` works without a password",
            )
        time.sleep(0.05)
    atexit.register(_close_tunnel, process, folder)
    _tunnels[url] = local
    return local


def _close_tunnel(process: subprocess.Popen[bytes], folder: Path) -> None:
    with contextlib.suppress(OSError):
        process.terminate()
        process.wait(5)
    shutil.rmtree(folder, ignore_errors=True)


_shared: dict[str, bool] = {}


def shares_files(host: Any, image: str, labels: Mapping[str, str]) -> bool:
    """Whether the engine sees livedeck's temporary folder as livedeck does (then bind mounts of
    livedeck's folders work): a file with a random name is looked for through a bind mount of
    a container that is created, read and removed, never started. Asked once per process.
    `labels` are a lab's: a probe whose process was killed in between is swept like a lab."""
    key = str(host.api.base_url)
    if key not in _shared:
        _shared[key] = _probe(host, image, labels)
    return _shared[key]


def _probe(host: Any, image: str, labels: Mapping[str, str]) -> bool:
    folder = reap.owned_tempdir("livedeck-lab-probe-")
    name = f"probe-{secrets.token_hex(8)}"
    (folder / name).write_text("livedeck\n")
    container: Any = None
    try:
        # A Mount, not a `-v` bind: the engine then refuses a missing folder instead of making it.
        mount = Mount("/probe", str(folder), type="bind", read_only=True)
        config = host.api.create_host_config(mounts=[mount])
        container = host.api.create_container(
            image, command=["true"], host_config=config, labels=dict(labels)
        )
        stream, _ = host.api.get_archive(container["Id"], f"/probe/{name}")
        data = b"".join(stream)
        with tarfile.open(fileobj=io.BytesIO(data)) as tar:
            member = tar.extractfile(name)
            return member is not None and member.read() == b"livedeck\n"
    except docker.errors.ImageNotFound:
        raise  # no answer without the image: the caller says what to build
    except (docker.errors.DockerException, tarfile.TarError, KeyError, OSError):
        return False  # "bind source path does not exist", or not our file: not shared
    finally:
        if container is not None:
            with contextlib.suppress(docker.errors.DockerException):
                host.api.remove_container(container["Id"], v=True, force=True)
        shutil.rmtree(folder, ignore_errors=True)
