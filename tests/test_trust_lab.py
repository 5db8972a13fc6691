"""What the lab keeps from the host: no host ports, no host socket, no path a deck names."""

from __future__ import annotations

import socket
import subprocess
import time
from collections.abc import Iterator

import docker
import pytest

from livedeck.run.labs import lab_names
from livedeck.run.sandbox import DockerLab, start_sandbox

pytestmark = pytest.mark.docker

PORT = 18080


@pytest.fixture(scope="module")
def host(lab_namespace: dict[str, str]) -> Iterator[docker.DockerClient]:
    client = docker.from_env()
    client.ping()
    yield client
    client.close()


@pytest.fixture(scope="module")
def lab(host: docker.DockerClient) -> Iterator[DockerLab]:
    lab = start_sandbox()
    yield lab
    lab.close()


def _host_addresses() -> list[str]:
    """The host's own IPv4 addresses other than loopback and the labs' bridge."""
    out = subprocess.run(["ip", "-4", "-o", "addr"], capture_output=True, text=True).stdout
    addresses = [line.split()[3].split("/")[0] for line in out.splitlines()]
    return [a for a in addresses if not a.startswith(("127.", "10.219."))]


def _connects(address: str, port: int) -> bool:
    with socket.socket() as probe:
        probe.settimeout(2)
        return probe.connect_ex((address, port)) == 0


def test_a_port_a_deck_publishes_stays_inside_its_lab(
    host: docker.DockerClient, lab: DockerLab
) -> None:
    status, output = lab.exec_root(
        ["sh", "-c", f"docker pull -q nginx && docker run -d -p {PORT}:80 nginx"]
    )
    assert status == 0, output
    # nginx answers a moment after `docker run -d` returns.
    curl = ["curl", "-fs", "--retry", "20", "--retry-all-errors", "--retry-delay", "1"]
    status, page = lab.exec_root([*curl, f"http://127.0.0.1:{PORT}/"])
    assert status == 0 and "nginx" in page  # reachable inside the lab
    container = host.containers.get(lab.name)
    assert container.attrs["HostConfig"]["PortBindings"] in (None, {})
    assert not container.attrs["NetworkSettings"]["Ports"]
    assert not container.attrs["HostConfig"]["PublishAllPorts"]
    addresses = _host_addresses()
    assert addresses
    for address in addresses:
        assert not _connects(address, PORT), f"{address}:{PORT} answers on the host"


def test_another_lab_cannot_reach_it(host: docker.DockerClient, lab: DockerLab) -> None:
    status, output = lab.exec_root(
        [
            "sh",
            "-c",
            f"docker ps -q --filter publish={PORT} | grep -q . || "
            f"(docker pull -q nginx && docker run -d -p {PORT}:80 nginx)",
        ]
    )
    assert status == 0, output
    address = host.containers.get(lab.name).attrs["NetworkSettings"]["Networks"][
        lab_names().network
    ]["IPAddress"]
    # Open on the lab's own address (this host reaches it over the labs' bridge) ...
    assert any(_connects(address, PORT) or time.sleep(0.2) for _ in range(25))
    other = start_sandbox()
    try:  # ... but not from a lab beside it
        status, _ = other.exec_root(["curl", "-fs", "--max-time", "3", f"http://{address}:{PORT}/"])
        assert status != 0, "one lab reached a port of another"
    finally:
        other.close()


def test_the_lab_mounts_no_host_socket_and_no_deck_path(
    host: docker.DockerClient, lab: DockerLab
) -> None:
    names = lab_names()
    mounts = host.containers.get(lab.name).attrs["Mounts"]
    by_target = {m["Destination"]: m for m in mounts}
    mirror = "/var/lib/livedeck-registries/mirror"  # the seeded mirror's storage, read-only
    # The lab's own files go in through the engine's API: no folder of this machine but the
    # mirror's storage (read-only, where the engine sees this machine's files).
    assert set(by_target) == {"/var/lib/docker", "/sys/fs/cgroup", mirror}
    assert by_target[mirror]["Source"] == str(names.registry_dir.resolve())
    assert not by_target[mirror]["RW"]
    assert not any("docker.sock" in m.get("Source", "") for m in mounts)
    # The inner engine's socket is the lab's own, not the host's.
    status, inner = lab.exec_root(["docker", "info", "--format", "{{.Name}}"])
    assert status == 0 and inner.strip() == lab.spec.hostname
