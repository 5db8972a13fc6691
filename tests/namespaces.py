"""Names of the test run's own on the shared Docker engine: labels, networks, subnets, temp.

Tests run side by side (pytest-xdist workers, or another livedeck on the machine): whatever a
test compares before and after must be its own, and two networks must never ask for one subnet.
"""

from __future__ import annotations

import os
import random
import secrets
from pathlib import Path

import docker


def worker() -> int:
    """This pytest-xdist worker's number (0 without xdist)."""
    name = os.environ.get("PYTEST_XDIST_WORKER", "gw0")
    return int(name.removeprefix("gw") or 0)


def free_subnet(second: int) -> tuple[str, str]:
    """A /24 under 10.SECOND/16 that no network of the engine holds: (subnet, gateway).

    Each worker draws from a range of third octets of its own (40 wide), so two workers never
    race for one subnet; within a worker, tests run one at a time.
    """
    host = docker.from_env()
    try:
        used = {
            config.get("Subnet")
            for network in host.networks.list()
            for config in (network.attrs.get("IPAM") or {}).get("Config") or []
        }
    finally:
        host.close()
    start = (worker() * 40) % 240
    thirds = list(range(start, start + 40))
    random.shuffle(thirds)
    for third in thirds:
        subnet = f"10.{second}.{third}.0/24"
        if subnet not in used:
            return subnet, f"10.{second}.{third}.1"
    raise RuntimeError(f"no free /24 left in 10.{second}.{start}-{start + 39}")


def worker_environment() -> dict[str, str]:
    """Labs, a network and a temporary folder of this worker's own, for the whole run: a
    test that lists "the labs" or "the temporary folders" sees only its worker's, and a sweep
    by another process never takes what this worker's livedeck left on purpose."""
    tag = f"w{worker()}{secrets.token_hex(2)}"
    subnet, _ = free_subnet(217)  # first: it fails where no engine answers
    from livedeck.run.labs import lab_names
    from registries import plain_registry  # it needs free_subnet

    mirror = {}
    seeded = lab_names().registry_dir
    if (seeded / "docker").is_dir():  # lab-images.sh ran: the labs' mirror serves it unpacked
        mirror = {"LIVEDECK_REGISTRY_DIR": str(plain_registry(seeded))}
    temp = Path(f"/tmp/ldt-{tag}")  # short: marp-cli and Chromium make sockets in it
    temp.mkdir(mode=0o700)  # last: the fixture removes it once it has it
    return {
        **mirror,
        "LIVEDECK_LAB_LABEL": f"livedeck.lab.test-{tag}",
        "LIVEDECK_LAB_NETWORK": f"ldtest-{tag}",
        "LIVEDECK_LAB_SUBNET": subnet,
        # Labs keep their Docker data in memory (a pull costs half the CPU on this 2-core
        # machine); test_sandbox.py and test_flagship.py use disk, the default.
        "LIVEDECK_LAB_DATA": "memory",
        "TMPDIR": str(temp),
    }


def remove_labs(label: str, network: str) -> None:
    """Remove the containers labelled `label` (with their volumes) and the network `network`."""
    host = docker.from_env()
    try:
        for container in host.containers.list(all=True, filters={"label": label}):
            container.remove(v=True, force=True)
        for found in host.networks.list(names=[network]):
            if found.name == network:
                found.remove()
    finally:
        host.close()
