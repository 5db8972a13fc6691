"""The lab's container: made (with its packages), entered as root, watched, and ready."""

from __future__ import annotations

import contextlib
import hashlib
import io
import os
import re
import secrets
import signal
import time
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import docker
import docker.errors
from docker.types import Mount

from livedeck import reap
from livedeck.errors import LabError
from livedeck.images.sources import ImageSource, LabRegistry
from livedeck.run.lab import SHELL_ARGV, LabSpec
from livedeck.run.labfiles import put_files, storage_mount
from livedeck.run.labs import (
    LabNames,
    docker_errors,
    remove_lab,
    shares_files,
)

RUN_DIR = "/run/livedeck"  # inside the lab: the registries' configs, and `ready` once it answers
# Reads until livedeck's end of the connection closes - also when livedeck is killed - and then
# stops the lab (tini passes SIGTERM on; the entrypoint ends). The next livedeck command removes
# what is left (run/labs.py: reap_labs).
WATCH_OWNER = ("sh", "-c", "cat >/dev/null; kill -TERM 1")


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


def create_container(
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
    shared = shares_files(host, names)
    for registry in registries:
        if registry.upstream and shared:
            registry.storage.mkdir(parents=True, exist_ok=True)
    api = host.api
    host_config = api.create_host_config(
        cap_add=["ALL"],
        cap_drop=["SYS_RESOURCE"],  # not in this VM's bounding set: --privileged fails
        security_opt=["seccomp=unconfined", "apparmor=unconfined"],
        mounts=[
            _data_mount(spec, names),
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


def _data_mount(spec: LabSpec, names: LabNames) -> Mount:
    """Where the lab's engine keeps its Docker data (lab.env: LAB_DATA)."""
    if names.data not in ("disk", "memory"):
        raise LabError(
            f"LIVEDECK_LAB_DATA={names.data!r}: a lab keeps its Docker data on disk or in memory",
            hint="set it to disk (the default) or memory",
        )
    if names.data == "memory" and not spec.keep_data and not spec.snapshot:
        # Kept states are volumes copied disk to disk (run/states.py): those labs use disk.
        return Mount("/var/lib/docker", None, type="tmpfs")
    # Anonymous and labelled (a leftover can be told as a lab's): removed with the lab; a
    # named one (spec.keep_data, made beforehand) outlives it.
    return Mount(
        "/var/lib/docker",
        spec.keep_data,
        type="volume",
        labels=None if spec.keep_data else {names.label: "lab"},
    )


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


# A side command's output comes between two marks: one before it, and its exit status after
# it, each between two RS bytes. A loaded engine sometimes returns an exec's output empty or cut
# (moby#27289), at its end or at its beginning, and a lost answer must never be read as "no
# output" or as a shorter one (a process table missing its first lines). Its stderr goes to
# stdout so the status comes last.
_SIDE = ["sh", "-c", 'printf "\\036LDBEGIN\\036"; "$@" 2>&1; printf "\\036LDEND%d\\036" "$?"', "sh"]
_ANSWER = re.compile(r"\A\x1eLDBEGIN\x1e(.*)\x1eLDEND(\d+)\x1e\Z", re.DOTALL)


def exec_root(host: Any, container_id: str, argv: Sequence[str]) -> tuple[int, str]:
    """Run argv as root in the lab: its exit status and output. argv must be safe to run
    again: an answer the engine lost is asked again, and never taken for an empty one."""
    for _ in range(3):
        with docker_errors(f"could not run {' '.join(argv)!r} in the lab"):
            exec_id = host.api.exec_create(container_id, [*_SIDE, *argv], user="root")["Id"]
            output = host.api.exec_start(exec_id).decode("utf-8", errors="replace")
        found = _ANSWER.match(output)
        if found:
            return int(found.group(2)), found.group(1)
        time.sleep(0.2)
    raise LabError(f"the lab's engine lost the output of {' '.join(argv)!r} three times")


def watch_owner(host: Any, container_id: str) -> Any:
    """Tie the lab's life to this process: the open stdin of an exec (see WATCH_OWNER)."""
    with docker_errors("could not start the lab's owner watch"):
        exec_id = host.api.exec_create(container_id, list(WATCH_OWNER), stdin=True, user="root")
        return host.api.exec_start(exec_id["Id"], socket=True)


def close_quietly(stream: Any) -> None:
    if stream is not None:
        with contextlib.suppress(Exception):
            getattr(stream, "_sock", stream).close()
        with contextlib.suppress(Exception):
            stream.close()


def hang_up(host: Any, exec_id: str) -> None:
    """SIGHUP to a shell of the lab, as when its terminal goes away."""
    with contextlib.suppress(Exception):
        shell = host.api.exec_inspect(exec_id)
        pid = int(shell["Pid"])
        # The engine reports host pids: act only if that pid is still this shell on this host.
        cmdline = Path(f"/proc/{pid}/cmdline").read_bytes()
        if shell["Running"] and cmdline == "\0".join(SHELL_ARGV).encode() + b"\0":
            os.kill(pid, signal.SIGHUP)


@contextlib.contextmanager
def signals_held() -> Iterator[None]:
    """Hold Ctrl-C and termination signals back until the block is done, then deliver them."""
    held = {signal.SIGINT, signal.SIGTERM, signal.SIGHUP}
    previous = signal.pthread_sigmask(signal.SIG_BLOCK, held)
    try:
        yield
    finally:
        signal.pthread_sigmask(signal.SIG_SETMASK, previous)


# One look for the entrypoint's `ready` file waits in the lab up to this long: an exec costs the
# engine a process start, so a lab is not asked every 50 ms from here.
READY_LOOK_SECONDS = 5.0
# The exit status of a look that made the user but saw no `ready` file (lab-user's own failures
# are useradd's, getent's and cut's: 1 to 14).
_NOT_READY = 90


def ready_user(host: Any, container: Any, user: str, timeout: float) -> str:
    """Make the lab's user (lab-user is idempotent) and wait for the entrypoint's `ready` file,
    in one exec a look (each costs the engine a process start, 0.09 CPU-s on a slow machine);
    the user's home directory. Fails early if the container stops."""
    deadline = time.monotonic() + timeout
    while True:
        looks = max(1, round(min(deadline - time.monotonic(), READY_LOOK_SECONDS) / 0.05))
        look = (
            f'lab-user "$1" || exit; i=0; while [ $i -lt {looks} ]; do'
            f" [ -e {RUN_DIR}/ready ] && exit 0; sleep 0.05; i=$((i+1)); done; exit {_NOT_READY}"
        )
        try:
            status, output = exec_root(host, container.id, ["sh", "-c", look, "sh", user])
        except LabError:
            status, output = _NOT_READY, ""  # stopped: looked at below
        if status == 0 and output.strip():
            return output.strip().splitlines()[-1]
        if status != _NOT_READY:
            said = output.strip() or "(it printed nothing)"
            raise LabError(f"could not create the lab user {user!r}: exit status {status}: {said}")
        container.reload()
        if container.status != "running":
            logs = container.logs(tail=15).decode(errors="replace").strip()
            raise LabError(
                f"the lab container stopped while starting ({container.status}):\n{logs}",
                hint="rebuild its image if the log shows a damaged one: "
                "tools/setup/lab-images.sh --rebuild",
            )
        if time.monotonic() >= deadline:
            raise LabError(
                f"the lab's Docker engine and registries did not answer within {timeout:.0f} s",
                hint=f"look at its logs: docker exec {container.name} cat /var/log/dockerd.log",
            )
