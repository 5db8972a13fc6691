"""The flagship built on Docker engines livedeck does not share files with.

1. livedeck inside a container that has only the host's Docker socket mounted (a GitHub
   container job, a GitLab or Jenkins agent): its folders do not exist on the engine's host, and
   127.0.0.1 is its own.
2. DOCKER_HOST=ssh://root@ENGINE: an engine in another container, reached with the system ssh.

Both build slides/docker-layers.md with --strict (Markdown and record: the lab's part; marp is
tested elsewhere) and must leave no container, volume or network behind on the engine.
"""

from __future__ import annotations

import io
import os
import re
import subprocess
import sys
import tarfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import docker
import pytest
from docker.types import Mount

from livedeck.images.store import V2
from livedeck.run.labs import lab_names
from registries import linked_blobs

ROOT = Path(__file__).resolve().parent.parent
FLAGSHIP = ROOT / "slides" / "docker-layers.md"
SITE = Path(docker.__file__).resolve().parent.parent  # the packages livedeck runs with
# livedeck's run-time dependencies and theirs (pyproject.toml), not the dev tools beside them.
RUNTIME = {
    "jinja2", "markupsafe", "docker", "requests", "urllib3", "certifi", "charset_normalizer",
    "idna", "watchdog", "ruamel", "_ruamel_yaml", "pyte", "wcwidth", "markdown", "pypdf",
}  # fmt: skip
PYTHON_IMAGE = "livedeck-test/engines-python:1"
ENGINE_IMAGE = "livedeck-test/engines-sshd:1"

pytestmark = [pytest.mark.docker, pytest.mark.slow]

PYTHON_DOCKERFILE = """\
FROM livedeck/debian:bookworm
RUN apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends \
      python3 && rm -rf /var/lib/apt/lists/*
"""

# An engine on another machine: Debian's Docker engine and OpenSSH server, root logs in by key.
ENGINE_DOCKERFILE = """\
FROM livedeck/debian:bookworm
RUN apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends \
      docker.io openssh-server iptables tini && rm -rf /var/lib/apt/lists/* \
 && mkdir -p /run/sshd /root/.ssh && chmod 700 /root/.ssh \
 && printf '#!/bin/sh\\ndockerd --bip 172.31.0.1/16 >/var/log/dockerd.log 2>&1 &\\nexec /usr/sbin/sshd -D -e\\n' \
      >/usr/local/sbin/engine && chmod +x /usr/local/sbin/engine
VOLUME /var/lib/docker
ENTRYPOINT ["/usr/bin/tini", "--", "/usr/local/sbin/engine"]
"""


@pytest.fixture(scope="module")
def host() -> Iterator[Any]:
    client = docker.from_env()
    subprocess.run([ROOT / "tools/setup/lab-images.sh"], check=True)
    yield client
    client.close()


def _image(host: Any, tag: str, dockerfile: str) -> str:
    try:
        host.images.get(tag)
    except docker.errors.ImageNotFound:
        host.images.build(
            fileobj=io.BytesIO(dockerfile.encode()), tag=tag, network_mode="host", rm=True
        )
    return tag


def _leftovers(host: Any, names: dict[str, str], volumes_before: set[str]) -> list[str]:
    """Labs of this test's namespace, its network, and volumes no container uses that were not
    there before (the engine is shared: other tests' resources come and go meanwhile)."""
    labs = host.containers.list(all=True, filters={"label": names["LIVEDECK_LAB_LABEL"]})
    networks = [n for n in host.networks.list() if n.name == names["LIVEDECK_LAB_NETWORK"]]
    # A lab's volumes: anonymous ones, and the pull-through cache's, named after the network.
    volumes = {
        v.name
        for v in host.volumes.list(filters={"dangling": True})
        if re.fullmatch(r"[0-9a-f]{64}", v.name) or v.name.startswith(names["LIVEDECK_LAB_NETWORK"])
    } - volumes_before
    return [c.name for c in labs] + [n.name for n in networks] + sorted(volumes)


def _no_leftovers(host: Any, names: dict[str, str], volumes_before: set[str]) -> None:
    """Another test's volume may dangle for a moment while it is removed; ours would stay."""
    for _ in range(30):
        left = _leftovers(host, names, volumes_before)
        if not left:
            return
        time.sleep(0.5)
    pytest.fail(f"left behind: {left}")


def _dangling(host: Any) -> set[str]:
    return {v.name for v in host.volumes.list(filters={"dangling": True})}


def _tar(entries: dict[str, Path], keep: Callable[[str], bool] = lambda name: True) -> bytes:
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w") as tar:
        for name, path in entries.items():
            tar.add(path, arcname=name, filter=lambda i: _no_caches(i) if keep(i.name) else None)
    return buffer.getvalue()


def _nginx_only(storage: Path, arcname: str) -> Callable[[str], bool]:
    """For a tar of the seeded mirror's storage under `arcname`: keeps what serves nginx (its
    repository and the blobs it links to), leaves out the other images (mariadb: two thirds of
    the storage's bytes, which the flagship never pulls)."""
    linked = linked_blobs(storage)
    assert linked, f"the seeded mirror {storage} serves no nginx"
    repositories, blobs = f"{arcname}/{V2}/repositories/", f"{arcname}/{V2}/blobs/sha256/"

    def keep(name: str) -> bool:
        if name.startswith(repositories):
            repository = name.removeprefix(repositories)
            return repository == "library" or f"{repository}/".startswith("library/nginx/")
        if name.startswith(blobs):  # blobs/sha256/0b/0b73...
            parts = name.removeprefix(blobs).split("/")
            return len(parts) < 2 or parts[1] in linked
        return True

    return keep


def _no_caches(info: tarfile.TarInfo) -> tarfile.TarInfo | None:
    parts = info.name.split("/")
    if parts[:2] == ["opt", "site"] or parts[:3] == ["opt", "livedeck", "site"]:
        top = parts[3].split(".")[0].split("-")[0].lower() if len(parts) > 3 else ""
        if top and top not in RUNTIME:
            return None
    skip = "__pycache__" in info.name or "node_modules" in info.name
    return None if skip else info


def _run(container: Any, argv: list[str], env: dict[str, str]) -> tuple[int, str]:
    code, output = container.exec_run(argv, environment=env, workdir="/work")
    return code, output.decode(errors="replace")


def test_inside_a_container_with_the_host_socket(
    host: Any, lab_namespace: dict[str, str], tmp_path: Path
) -> None:
    image = _image(host, PYTHON_IMAGE, PYTHON_DOCKERFILE)
    names = lab_names()
    before = _dangling(host)
    container = host.containers.create(
        image,
        ["sleep", "infinity"],
        mounts=[Mount("/var/run/docker.sock", "/var/run/docker.sock", type="bind")],
        environment=lab_namespace,
    )
    try:
        # livedeck, the packages it runs with, the deck and the seeded mirror: all in livedeck's
        # container only, at the paths livedeck uses by default.
        container.put_archive(
            "/",
            _tar(
                {
                    "opt/livedeck/tools/livedeck": ROOT / "tools/livedeck",
                    "opt/livedeck/site": SITE,
                    "work/slides/docker-layers.md": FLAGSHIP,
                    "work/slides/themes": FLAGSHIP.parent / "themes",
                    "var/lib/livedeck/registry": names.registry_dir,
                },
                keep=_nginx_only(names.registry_dir, "var/lib/livedeck/registry"),
            ),
        )
        container.start()
        env = {"PYTHONPATH": "/opt/livedeck/tools:/opt/livedeck/site", **lab_namespace}
        code, status = _run(container, ["python3", "-m", "livedeck", "lab", "status"], env)
        assert code == 0, status
        assert "reached at unix:///var/run/docker.sock through a unix socket" in status
        assert "labs get their files copied in" in status
        argv = ["python3", "-m", "livedeck", "build", "slides/docker-layers.md"]
        code, output = _run(container, [*argv, "--format", "none", "--strict", "-q"], env)
        assert code == 0, output
        assert "bind source path does not exist" not in output
        code, record = _run(container, ["cat", "slides/docker-layers.record.yaml"], env)
        assert code == 0 and "nginx" in record, record
    finally:
        container.remove(v=True, force=True)
    _no_leftovers(host, lab_namespace, before)


def _engine_storage(host: Any, lab_image: str) -> tuple[str, bool]:
    """The other engine's /var/lib/docker: a volume kept on the host from one test run to the
    next, holding the lab image once loaded (half a gigabyte: `docker save | docker load` cost
    the machine about 20 CPU-s a run). It is named after the lab image (its id), so a new one gets
    a new volume, and the volumes of older ones are removed. Volumes in use (another run's
    engine) stay; a run that finds this one in use gets a volume of its own (True: remove it
    after)."""
    name = f"livedeck-test-remote-engine-{lab_image[7:19]}"
    in_use = {
        mount.get("Name")
        for container in host.containers.list(all=True, filters={"label": "livedeck.test"})
        for mount in container.attrs.get("Mounts", ())
    }
    for volume in host.volumes.list(filters={"label": "livedeck.test=remote-engine"}):
        if volume.name != name and volume.name not in in_use:
            volume.remove(force=True)
    if name in in_use:
        return str(host.volumes.create(labels={"livedeck.test": "remote-engine-once"}).name), True
    try:
        return str(host.volumes.get(name).name), False
    except docker.errors.NotFound:
        return str(host.volumes.create(name, labels={"livedeck.test": "remote-engine"}).name), False


@pytest.fixture(scope="module")
def remote_engine(host: Any, tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, str]]:
    """An engine in another container, the lab image loaded into it; the env reaching it by ssh."""
    image = _image(host, ENGINE_IMAGE, ENGINE_DOCKERFILE)
    home = tmp_path_factory.mktemp("home")
    ssh = home / ".ssh"
    ssh.mkdir(mode=0o700)
    key = ssh / "id_ed25519"
    subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", key], check=True)
    tag = lab_names().lab_image
    lab_image = host.images.get(tag).id
    storage, once = _engine_storage(host, lab_image)
    engine = host.containers.create(
        image,
        cap_add=["ALL"],
        cap_drop=["SYS_RESOURCE"],
        security_opt=["seccomp=unconfined", "apparmor=unconfined"],
        mounts=[
            Mount("/sys/fs/cgroup", "/sys/fs/cgroup", type="bind"),
            Mount("/var/lib/docker", storage, type="volume"),
        ],
        labels={"livedeck.test": "remote-engine"},
    )
    try:
        public = (ssh / "id_ed25519.pub").read_bytes()
        info = tarfile.TarInfo("root/.ssh/authorized_keys")
        info.size, info.mode = len(public), 0o600
        buffer = io.BytesIO()
        with tarfile.open(fileobj=buffer, mode="w") as tar:
            tar.addfile(info, io.BytesIO(public))
        engine.put_archive("/", buffer.getvalue())
        engine.start()
        engine.reload()
        address = engine.attrs["NetworkSettings"]["IPAddress"]
        (ssh / "config").write_text(
            f"Host {address}\n  IdentityFile {key}\n  StrictHostKeyChecking no\n"
            "  UserKnownHostsFile /dev/null\n  LogLevel ERROR\n"
        )
        # ssh reads the passwd entry's ~/.ssh, not $HOME's: a wrapper first on PATH passes the
        # test's own config to every ssh that docker and livedeck start.
        bin_dir = home / "bin"
        bin_dir.mkdir()
        wrapper = bin_dir / "ssh"
        wrapper.write_text(f'#!/bin/sh\nexec /usr/bin/ssh -F {ssh / "config"} "$@"\n')
        wrapper.chmod(0o755)
        env = {
            **os.environ,
            "PATH": f"{bin_dir}:{os.environ['PATH']}",
            "DOCKER_HOST": f"ssh://root@{address}",
        }
        for _ in range(100):
            if subprocess.run(["docker", "info"], env=env, capture_output=True).returncode == 0:
                break
            time.sleep(0.3)
        else:
            pytest.fail("the engine over ssh did not answer")
        inspect = ["docker", "image", "inspect", "--format", "{{.Id}}", tag]
        held = subprocess.run(inspect, env=env, capture_output=True, text=True, check=False)
        if held.stdout.strip() != lab_image:
            # Loaded by exec, not over ssh: the same image, without encrypting half a gigabyte.
            save = subprocess.Popen(["docker", "save", tag], stdout=subprocess.PIPE)
            load = ["docker", "exec", "-i", engine.id, "docker", "load", "-q"]
            subprocess.run(load, stdin=save.stdout, check=True, stdout=subprocess.DEVNULL)
            assert save.wait() == 0
        yield env
    finally:
        engine.remove(v=True, force=True)
        if once:
            host.volumes.get(storage).remove(force=True)


def test_a_remote_engine_over_ssh(
    remote_engine: dict[str, str], lab_namespace: dict[str, str], tmp_path: Path
) -> None:
    slides = tmp_path / "slides"
    slides.mkdir()
    (slides / FLAGSHIP.name).write_bytes(FLAGSHIP.read_bytes())
    env = {**remote_engine, **lab_namespace, "PYTHONPATH": str(ROOT / "tools")}

    def docker_ls(kind: str) -> set[str]:
        listed = subprocess.run(
            ["docker", kind, "ls", "-aq" if kind == "container" else "-q"],
            env=env,
            capture_output=True,
            text=True,
            check=True,
        )
        return set(listed.stdout.split())

    before = {kind: docker_ls(kind) for kind in ("container", "volume", "network")}
    livedeck = [sys.executable, "-m", "livedeck"]
    status = subprocess.run(
        [*livedeck, "lab", "status"], env=env, capture_output=True, text=True, check=False
    )
    assert status.returncode == 0, status.stdout + status.stderr
    assert f"reached at {env['DOCKER_HOST']} through ssh" in status.stdout
    assert "labs get their files copied in" in status.stdout
    built = subprocess.run(
        [*livedeck, "build", str(slides / FLAGSHIP.name), "--format", "none", "--strict", "-q"],
        env=env,
        capture_output=True,
        text=True,
        check=False,
        cwd=tmp_path,
    )
    assert built.returncode == 0, built.stdout + built.stderr
    assert "bind source path" not in built.stderr
    assert (slides / "docker-layers.record.yaml").is_file()
    after = {kind: docker_ls(kind) for kind in ("container", "volume", "network")}
    assert after == before, "the build left containers, volumes or networks on the engine"
