"""Labs on the host's Docker engine: their shared names, finding, removing and listing them."""

from __future__ import annotations

import contextlib
import os
import shutil
import time
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any

import docker
import docker.errors
from docker.types import IPAMConfig, IPAMPool

from livedeck.errors import LabError
from livedeck.reap import Owner, is_dead, me
from livedeck.run import engine
from livedeck.run.engine import ENGINE_HINT

NETWORK_TRIES = 8  # about 5 s in all
SETUP_HINT = "build the lab images with: tools/setup/lab-images.sh"


@dataclass(frozen=True)
class LabNames:
    """Image tags, paths and labels shared with tools/setup/lab-images.sh (lab_assets/lab.env)."""

    base_image: str
    lab_image: str
    nginx_image: str
    nginx_layers: int
    registry_dir: Path
    images_dir: Path  # `livedeck images add` snapshots
    hub_cache: Path
    proxy_cache: Path
    cache_dir: Path  # lab-images.sh's cache: debootstrap tarball, build stamps
    label: str
    network: str
    subnet: str
    data: str  # "disk" or "memory": where a lab's engine keeps its Docker data


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
        images_dir=Path(values["IMAGES_DIR"]),
        hub_cache=Path(values["HUB_CACHE"]),
        proxy_cache=Path(values["PROXY_CACHE"]),
        cache_dir=Path(values["CACHE_DIR"]),
        label=values["LAB_LABEL"],
        network=values["LAB_NETWORK"],
        subnet=values["LAB_SUBNET"],
        data=values["LAB_DATA"],
    )


def remove_leftover_labs() -> int:
    """Remove every lab container (running or not) with its volume and folder; how many."""
    names = lab_names()
    host = host_client()
    removed = 0
    with docker_errors("could not list the labs"):
        containers = host.containers.list(all=True, filters={"label": names.label})
    for container in containers:
        run_dir = container.labels.get(f"{names.label}.run-dir")
        problems = remove_lab(host, container.id, Path(run_dir) if run_dir else None)
        if problems:
            raise LabError(f"could not remove lab {container.name}: {'; '.join(problems)}")
        removed += 1
    return removed


@dataclass(frozen=True)
class DeadLab:
    """A lab removed because the livedeck process that started it is gone."""

    name: str
    owner: int  # its pid


def reap_labs(timeout: int = 10) -> list[DeadLab]:
    """Remove the labs whose owner died (kill -9, a crash): one `docker ps`, quiet if none.

    Labs of live owners, labs kept on purpose (`livedeck lab up`) and labs of another machine
    or container are left alone; so is an engine that does not answer. With no lab at all, an
    idle labs' network (its owner died before its lab was made) goes too.
    """
    names = lab_names()
    owner_key = f"{names.label}.owner"
    try:
        host: Any = engine.connect(timeout=timeout)
        containers = host.containers.list(all=True, filters={"label": names.label})
    except (LabError, docker.errors.DockerException, OSError):
        return []
    removed = []
    try:
        for container in containers:
            owner = Owner.parse(container.labels.get(owner_key, ""))
            if owner is None or not is_dead(owner):
                continue
            run_dir = container.labels.get(f"{names.label}.run-dir")
            if not remove_lab(host, container.id, Path(run_dir) if run_dir else None):
                removed.append(DeadLab(container.name, owner.pid))
        if not containers:
            _remove_idle_network(host)
    finally:
        host.close()
    return removed


def lab_status() -> list[str]:
    """Human-readable lines: the engine, the images, the registry storage, the running labs."""
    names = lab_names()
    try:
        host = host_client()
    except LabError as error:
        return [f"Docker engine: {error} ({error.hint})"]
    reach = engine.reach()
    info = host.info()
    lines = [
        f"Docker engine: {host.version().get('Version', '?')} on {info.get('Name', '?')},"
        f" reached at {reach.url} through {reach.how}",
        "files: " + _files_line(host, names),
    ]
    images = [names.base_image, names.lab_image, f"{names.nginx_image}:{names.nginx_layers}"]
    for image in images:
        try:
            found = host.images.get(image)
            lines.append(f"image {image}: {found.short_id.removeprefix('sha256:')}")
        except docker.errors.ImageNotFound:
            lines.append(f"image {image}: missing ({SETUP_HINT})")
    lines.append(f"registry {names.registry_dir}: {_registry_nginx(host, names)}")
    lines.extend(_image_lines(names))
    labs = host.containers.list(all=True, filters={"label": names.label})
    lines.append(f"labs: {len(labs)}" + (" (remove with: livedeck lab down)" if labs else ""))
    for lab in labs:
        images = lab.labels.get(f"{names.label}.images", "mirror")
        lines.append(
            f"  {lab.name}: {lab.status}, host name {lab.attrs['Config']['Hostname']},"
            f" images {images}"
        )
    return lines


def shares_files(host: Any, names: LabNames) -> bool:
    """Whether the engine sees livedeck's folders (engine.shares_files), its probe labelled as
    this process's lab: swept like one should the process die before removing it."""
    labels = {names.label: "probe", f"{names.label}.owner": me().label()}
    return engine.shares_files(host, names.lab_image, labels)


def _files_line(host: Any, names: LabNames) -> str:
    """Whether labs bind livedeck's folders or copy them in (run/engine.py: shares_files)."""
    try:
        shared = shares_files(host, names)
    except docker.errors.DockerException:
        return f"unknown until the lab image {names.lab_image} is built ({SETUP_HINT})"
    if shared:
        return "the engine sees livedeck's folders: labs bind-mount registry storage"
    # A unix socket whose engine does not see our files: a host's socket mounted into our
    # container (a CI container job), or a forwarded one.
    return (
        "the engine does not see livedeck's folders (a remote engine, or a host's socket"
        " mounted into livedeck's container): labs get their files copied in"
    )


def _image_lines(names: LabNames) -> list[str]:
    """Where labs get images by default here, and what `livedeck images add` put in their mirror."""
    from livedeck.images import sources, store

    try:
        choice = sources.choose(None, os.environ, sources.hub_answers)
        default = f"{choice.source.label} ({choice.why})"
    except ValueError as error:
        default = f"invalid {sources.ENV}: {error}"
    with store.reading(names.images_dir) as snapshot:
        added = len(store.catalog(snapshot)) if snapshot is not None else 0
    return [
        f"images: {default}; choose with --images or {sources.ENV} (mirror, hub or a URL)",
        f"images added: {added} in {names.images_dir} (livedeck images list)",
        f"hub cache: {names.hub_cache}",
    ]


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


def host_client() -> Any:
    """The engine labs run on (DOCKER_HOST: local, a mounted socket, ssh:// or tcp://)."""
    return engine.connect()


@contextlib.contextmanager
def docker_errors(what: str) -> Iterator[None]:
    """Turn the SDK's exceptions into a LabError that says what to do next."""
    try:
        yield
    except docker.errors.ImageNotFound as error:
        raise LabError(f"{what}: {error.explanation}", hint=SETUP_HINT) from error
    except docker.errors.APIError as error:
        raise LabError(f"{what}: {error.explanation or error}") from error
    except (docker.errors.DockerException, OSError) as error:
        raise LabError(f"{what}: {error}", hint=ENGINE_HINT) from error


def ensure_network(host: Any, names: LabNames) -> None:
    """The labs' own network, so the inner engine can keep Docker's default 172.17.0.0/16.

    Labs start and close side by side: another one may be creating the network, or removing it
    as idle, at this very moment; a few tries see it through.
    """
    with docker_errors(f"could not create the network {names.network}"):
        for attempt in range(NETWORK_TRIES):
            if _networks_named(host, names.network):
                return
            try:
                host.networks.create(
                    names.network,
                    driver="bridge",
                    ipam=IPAMConfig(pool_configs=[IPAMPool(subnet=names.subnet)]),
                    # One lab cannot reach another's ports: concurrent decks stay apart.
                    options={"com.docker.network.bridge.enable_icc": "false"},
                    labels={names.label: "network"},
                )
                return
            except docker.errors.APIError:
                if _networks_named(host, names.network):  # made by a lab starting beside us
                    return
                if attempt == NETWORK_TRIES - 1:
                    raise
                time.sleep(0.2 * (attempt + 1))  # one being removed as idle: let it go


def remove_lab(host: Any, container_id: str, run_dir: Path | None) -> list[str]:
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
        for network in _networks_named(host, name):
            network.reload()
            if not network.attrs.get("Containers"):
                network.remove()


def _networks_named(host: Any, name: str) -> list[Any]:
    """Networks named exactly `name` (the engine's name filter also matches `name-other`)."""
    return [n for n in host.networks.list(names=[name]) if n.name == name]
