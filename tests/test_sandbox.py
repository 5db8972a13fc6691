"""The embedded lab on a real Docker engine: what a deck's commands see, and what is left after."""

from __future__ import annotations

import re
import secrets
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import docker
import pyte
import pytest

from livedeck.errors import LabError
from livedeck.run.lab import Channel, LabSpec
from livedeck.run.labs import lab_names, lab_status, shares_files
from livedeck.run.sandbox import DockerLab, start_sandbox
from registries import six_layer_registry

ROOT = Path(__file__).resolve().parent.parent
# An image of "the user's own" on the host engine, named for this test process: suites of
# two checkouts share the engine.
KEEP = f"livedeck-test/keep-{secrets.token_hex(4)}"
SPEC = LabSpec(hostname="ip-10-0-1-14", user="ubuntu", columns=200, rows=50)
DONE = re.compile(rb"@@done (\d+)@@")

# Labs keep their Docker data in memory, as the suite's do (tests/namespaces.py), but where a
# test is about the default: on disk, in a volume that must go with the lab.
pytestmark = [pytest.mark.docker]


@pytest.fixture(scope="module")
def host() -> Iterator[docker.DockerClient]:
    """The host engine, with the lab images built (lab-images.sh is quick when they exist)."""
    try:
        client = docker.from_env()
        client.ping()
    except docker.errors.DockerException as error:
        pytest.skip(
            f"no Docker engine reachable ({error}); start one: tools/setup/dockerd.sh start"
        )
    subprocess.run([ROOT / "tools/setup/lab-images.sh"], check=True)
    yield client
    client.close()


@pytest.fixture(scope="module")
def lab(host: docker.DockerClient) -> Iterator[DockerLab]:
    """One lab shared by the tests that only look around in it."""
    lab = start_sandbox(SPEC)
    yield lab
    lab.close()


def run(channel: Channel, command: str, timeout: float = 60) -> tuple[int, bytes]:
    """Type a command into the shell; its exit status and the raw terminal bytes it printed."""
    channel.send(f'{command}; echo "@@done $?""@@"\n'.encode())
    data = b""
    deadline = time.monotonic() + timeout
    while not DONE.search(data):
        assert time.monotonic() < deadline, f"{command!r} did not finish: {data[-500:]!r}"
        data += channel.recv(1.0)
    found = DONE.search(data)
    assert found is not None
    return int(found.group(1)), data[: found.start()]


def screen(data: bytes) -> list[str]:
    """What a person sees on a terminal of the lab's width: the non-blank lines."""
    terminal = pyte.Screen(200, 500)
    pyte.ByteStream(terminal).feed(data)
    return [line.rstrip() for line in terminal.display if line.strip()]


def quiet_shell(lab: DockerLab) -> Channel:
    """A shell of the lab that shows only what commands print: no echo, no prompt."""
    channel = lab.shell()
    run(channel, "stty -echo; PS1=''")
    return channel


@pytest.fixture(scope="module")
def shell(lab: DockerLab) -> Iterator[Channel]:
    channel = quiet_shell(lab)
    yield channel
    channel.close()


def test_shell_is_the_decks_user_on_the_decks_host(shell: Channel) -> None:
    assert screen(run(shell, "hostname")[1]) == [SPEC.hostname]
    assert screen(run(shell, "whoami")[1]) == ["ubuntu"]
    assert screen(run(shell, "pwd")[1]) == ["/home/ubuntu"]


def test_terminal_has_the_specs_size(shell: Channel) -> None:
    assert screen(run(shell, "stty size")[1]) == [f"{SPEC.rows} {SPEC.columns}"]


def test_docker_data_needs_sudo(shell: Channel) -> None:
    status, output = run(shell, "ls /var/lib/docker/overlay2")
    assert status != 0
    assert "Permission denied" in screen(output)[0]
    status, output = run(shell, "sudo ls -al /var/lib/docker/overlay2")
    assert status == 0
    assert screen(output)[0].startswith("total ")


def test_inner_engine_uses_overlay2(shell: Channel) -> None:
    status, output = run(shell, "docker info")
    assert status == 0
    assert "Storage Driver: overlay2" in [line.strip() for line in screen(output)]


def test_docker_pull_prints_what_docker_hub_prints(shell: Channel) -> None:
    status, output = run(shell, "docker pull nginx")
    lines = screen(output)
    assert status == 0
    complete = [line for line in lines if line.endswith(": Pull complete")]
    assert len(complete) == lab_names().nginx_layers == 7
    assert [re.sub(r"[0-9a-f]{12}: Pull complete", "ID: Pull complete", x) for x in lines] == [
        "Using default tag: latest",
        "latest: Pulling from library/nginx",
        *["ID: Pull complete"] * 7,
        lines[9],
        "Status: Downloaded newer image for nginx:latest",
        "docker.io/library/nginx:latest",
    ]
    assert re.fullmatch(r"Digest: sha256:[0-9a-f]{64}", lines[9])
    assert not any("Waiting" in line or "Downloading" in line for line in lines)


def test_nginx_keeps_running_detached(shell: Channel) -> None:
    status, _ = run(shell, "docker run --detach --name web nginx")
    assert status == 0
    time.sleep(1)
    lines = screen(run(shell, "docker ps")[1])
    assert len(lines) == 2
    assert '"/docker-entrypoint.…"' in lines[1]
    assert "Up " in lines[1]
    assert "80/tcp" in lines[1]
    assert lines[1].endswith(" web")


def test_exec_root_and_inner_client(lab: DockerLab) -> None:
    assert lab.exec_root(["id", "-un"]) == (0, "root\n")
    assert lab.exec_root(["sh", "-c", "echo oops >&2; exit 3"]) == (3, "oops\n")
    assert lab.docker().info()["Driver"] == "overlay2"


def test_closing_a_shell_hangs_up_its_command(lab: DockerLab) -> None:
    channel = quiet_shell(lab)
    channel.send(b"sleep 1234\n")
    time.sleep(0.5)
    assert "sleep 1234" in lab.exec_root(["ps", "-eo", "args"])[1]
    channel.close()
    time.sleep(0.5)
    assert "sleep 1234" not in lab.exec_root(["ps", "-eo", "args"])[1]
    with pytest.raises(EOFError):
        channel.recv(0.1)


def test_lab_data_in_memory_when_asked_and_on_disk_by_default(
    host: docker.DockerClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    def backing(lab: DockerLab) -> tuple[str, list[str]]:
        info = lab.exec_root(["docker", "info", "--format", "{{json .DriverStatus}}"])[1]
        mounts = host.containers.get(lab.name).attrs["Mounts"]
        return info, [m["Type"] for m in mounts if m["Destination"] == "/var/lib/docker"]

    monkeypatch.delenv("LIVEDECK_LAB_DATA")  # livedeck's default
    on_disk = start_sandbox(SPEC)
    try:
        info, kinds = backing(on_disk)
        assert '"tmpfs"' not in info and kinds == ["volume"]
    finally:
        on_disk.close()
    monkeypatch.setenv("LIVEDECK_LAB_DATA", "memory")
    in_memory = start_sandbox(SPEC)
    try:
        info, kinds = backing(in_memory)
        assert '"tmpfs"' in info and kinds == ["tmpfs"]
    finally:
        in_memory.close()
    monkeypatch.setenv("LIVEDECK_LAB_DATA", "ram")
    with pytest.raises(LabError, match="LIVEDECK_LAB_DATA='ram'"):
        start_sandbox(SPEC)


def test_lab_status_lists_the_running_lab(lab: DockerLab) -> None:
    lines = lab_status()
    assert any(lab.name in line and "running" in line for line in lines)
    assert not any("missing" in line for line in lines)


def test_a_deck_cannot_touch_the_host_and_close_leaves_nothing(
    host: docker.DockerClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("LIVEDECK_LAB_DATA")  # livedeck's default: data in a volume
    names = lab_names()
    host.images.get(names.base_image).tag(KEEP, "1")
    lab = start_sandbox(LabSpec(hostname="lab-2", user="student"))
    container = host.containers.get(lab.name)
    volumes = [m["Name"] for m in container.attrs["Mounts"] if m["Type"] == "volume"]
    # The inner engine's /var/lib/docker; and the mirror's copy where the engine does not see
    # livedeck's folders (run/labfiles.py). Both go with the lab (checked below).
    assert len(volumes) == (1 if shares_files(host, names) else 2)
    try:
        channel = quiet_shell(lab)
        assert screen(run(channel, "whoami; hostname; pwd")[1]) == [
            "student",
            "lab-2",
            "/home/student",
        ]
        assert run(channel, "docker pull -q nginx && docker run -d nginx")[0] == 0
        run(channel, "docker rm --force $(docker ps -aq)")
        assert run(channel, "docker rmi --force $(docker images -aq)")[0] == 0
        assert screen(run(channel, "docker images -aq | wc -l")[1]) == ["0"]
    finally:
        lab.close()
    lab.close()  # a second close does nothing
    assert host.images.get(f"{KEEP}:1").id == host.images.get(names.base_image).id
    with pytest.raises(docker.errors.NotFound):
        host.containers.get(container.id)
    for volume in volumes:
        with pytest.raises(docker.errors.NotFound):
            host.volumes.get(volume)
    assert list(Path("/sys/fs/cgroup").glob(f"*/docker/{container.id}")) == []
    host.images.remove(f"{KEEP}:1")


def test_mirror_can_serve_the_six_layer_nginx(host: docker.DockerClient) -> None:
    lab = start_sandbox(SPEC, registry_dir=six_layer_registry())
    try:
        status, output = run(quiet_shell(lab), "docker pull nginx")
    finally:
        lab.close()
    assert status == 0
    assert sum(line.endswith(": Pull complete") for line in screen(output)) == 6


def test_missing_image_says_how_to_build_it(
    host: docker.DockerClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    labs_before = host.containers.list(all=True, filters={"label": lab_names().label})
    monkeypatch.setenv("LIVEDECK_LAB_IMAGE", "livedeck-test/no-such-lab:0")
    with pytest.raises(LabError) as raised:
        start_sandbox(SPEC)
    assert "lab-images.sh" in raised.value.hint
    assert host.containers.list(all=True, filters={"label": lab_names().label}) == labs_before
