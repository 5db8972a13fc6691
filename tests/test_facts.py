"""Facts read from a real lab's Docker engine match what `docker` itself reports there."""

from __future__ import annotations

import hashlib
import json
import re
import subprocess
import xml.etree.ElementTree as ET
from collections.abc import Iterator, Sequence
from io import StringIO
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import docker
import pytest
from ruamel.yaml import YAML

from livedeck.facts import Facts, Image, NotInLab, collect, from_data, human_size, to_data
from livedeck.render.pictures import container_layers_svg, sharing_layers_svg
from livedeck.run.lab import LabSpec
from livedeck.run.labs import lab_names
from livedeck.run.sandbox import DockerLab, start_sandbox

ROOT = Path(__file__).resolve().parent.parent
LAYER_DB = "/var/lib/docker/image/overlay2/layerdb/sha256"
SVG = "{http://www.w3.org/2000/svg}"


@pytest.fixture(scope="module")
def lab() -> Iterator[DockerLab]:
    """One lab for the module, in the deck's state: nginx pulled, containers red and blue."""
    try:
        docker.from_env().ping()
    except docker.errors.DockerException as error:
        pytest.skip(
            f"no Docker engine reachable ({error}); start one: tools/setup/dockerd.sh start"
        )
    subprocess.run([ROOT / "tools/setup/lab-images.sh"], check=True)
    lab = start_sandbox(LabSpec())
    try:
        as_user(lab, "docker", "pull", "nginx")
        for colour in ("red", "blue"):
            as_user(lab, "docker", "run", "--detach", "--label", f"color={colour}", "nginx")
        yield lab
    finally:
        lab.close()


def as_user(lab: DockerLab, *argv: str) -> str:
    """Run a command as the deck's user in the lab; its output (it must succeed)."""
    status, output = lab.exec_root(["sudo", "-u", lab.spec.user, *argv])
    assert status == 0, f"{argv}: {output}"
    return output


def as_root(lab: DockerLab, *argv: str) -> str:
    status, output = lab.exec_root(list(argv))
    assert status == 0, f"{argv}: {output}"
    return output


def layer_store(lab: DockerLab, diff_ids: Sequence[str]) -> list[tuple[str, int]]:
    """(overlay2 directory, size) of each layer, from the engine's own layer database."""
    chain: list[str] = []
    for diff_id in diff_ids:
        link = f"{chain[-1]} {diff_id}".encode() if chain else None
        chain.append(diff_id if link is None else "sha256:" + hashlib.sha256(link).hexdigest())
    found = []
    for chain_id in chain:
        folder = f"{LAYER_DB}/{chain_id.removeprefix('sha256:')}"
        found.append(
            (as_root(lab, "cat", f"{folder}/cache-id"), int(as_root(lab, "cat", f"{folder}/size")))
        )
    return found


@pytest.mark.docker
def test_nginx_has_the_layers_docker_image_inspect_reports(lab: DockerLab) -> None:
    inspected = lab.docker().api.inspect_image("nginx")["RootFS"]["Layers"]
    nginx = collect(lab.docker()).image("nginx")
    assert len(nginx.layers) == len(inspected) == lab_names().nginx_layers == 7
    assert [layer.diff_id for layer in nginx.layers] == inspected
    assert [layer.short_id for layer in nginx.layers] == [d[7:19] for d in inspected]
    assert nginx.tags == ("nginx:latest",)
    assert nginx.digest.startswith("sha256:")


@pytest.mark.docker
def test_layer_dirs_and_sizes_are_the_engines_bottom_to_top(lab: DockerLab) -> None:
    nginx = collect(lab.docker()).image("nginx")
    store = layer_store(lab, [layer.diff_id for layer in nginx.layers])
    assert [(layer.overlay2_dir, layer.size) for layer in nginx.layers] == store
    assert sum(layer.size or 0 for layer in nginx.layers) == nginx.size
    assert nginx.layers[0].created_by == "Imported from -"  # the base: debootstrap, imported
    listed = as_root(lab, "ls", "/var/lib/docker/overlay2").split()
    assert all(layer.overlay2_dir in listed for layer in nginx.layers)


@pytest.mark.docker
def test_human_size_is_the_size_column_of_docker_images(lab: DockerLab) -> None:
    lines = as_user(lab, "docker", "images").splitlines()
    assert lines[0].split()[-1] == "SIZE"
    facts = collect(lab.docker())
    for line in lines[1:]:
        repository, tag, *_, size = line.split()
        assert facts.image(f"{repository}:{tag}").human_size == size
    assert facts.image("nginx").human_size.endswith("MB")


@pytest.mark.docker
def test_containers_rw_layers_are_overlay2_directories(lab: DockerLab) -> None:
    facts = collect(lab.docker())
    red, blue = facts.container("color=red"), facts.container("color=blue")
    listed = as_root(lab, "ls", "/var/lib/docker/overlay2").split()
    for box in (red, blue):
        assert box.rw_dir in listed
        assert box.init_dir == f"{box.rw_dir}-init"
        assert box.init_dir in listed
        assert (box.image, box.status) == ("nginx", "running")
    assert red.rw_dir != blue.rw_dir
    assert facts.own_labels(red) == {"color": "red"}
    assert facts.containers_of(facts.image("nginx")) == (red, blue)
    shown = as_user(lab, "docker", "ps", "--filter", "label=color=red", "--quiet").strip()
    assert red.short_id == shown
    assert facts.container(red.name) == facts.container(red.short_id) == red


@pytest.mark.docker
def test_docker_commit_makes_an_image_with_one_more_layer(lab: DockerLab) -> None:
    red = collect(lab.docker()).container("color=red")
    as_user(lab, "docker", "commit", red.id, "nginx:my-tag")
    facts = collect(lab.docker())
    nginx, mine = facts.image("nginx"), facts.image("nginx:my-tag")
    assert len(mine.layers) == len(nginx.layers) + 1
    assert mine.layers[:-1] == nginx.layers
    store = layer_store(lab, [layer.diff_id for layer in mine.layers])
    assert [(layer.overlay2_dir, layer.size) for layer in mine.layers] == store
    assert mine.layers[-1].overlay2_dir in as_root(lab, "ls", "/var/lib/docker/overlay2").split()
    assert mine.layers[-1].created_by == "nginx -g daemon off;"  # the container's command


@pytest.mark.docker
def test_config_only_build_steps_make_no_layer(lab: DockerLab) -> None:
    home = f"/home/{lab.spec.user}/steps"
    steps = "FROM nginx\nRUN true\nENV A=b\nCOPY f /f\nEXPOSE 81\n"
    as_user(
        lab,
        "sh",
        "-c",
        f"mkdir -p {home} && echo hi > {home}/f && printf '{steps}' > {home}/Dockerfile",
    )
    as_user(lab, "docker", "build", "--quiet", "--tag", "steps", home)
    facts = collect(lab.docker())
    built = facts.image("steps")
    inspected = lab.docker().api.inspect_image("steps")["RootFS"]["Layers"]
    assert [layer.diff_id for layer in built.layers] == inspected
    assert [(layer.overlay2_dir, layer.size) for layer in built.layers] == layer_store(
        lab, inspected
    )
    assert re.fullmatch(r"COPY file:[0-9a-f]{12} in /f", built.layers[-1].created_by)
    assert built.layers[-1].size == 3


@pytest.mark.docker
def test_facts_round_trip_through_json_and_yaml(lab: DockerLab) -> None:
    facts = collect(lab.docker())
    assert from_data(json.loads(json.dumps(to_data(facts)))) == facts
    yaml = YAML(typ="safe")
    text = StringIO()
    yaml.dump(to_data(facts), text)
    assert from_data(yaml.load(text.getvalue())) == facts


@pytest.mark.docker
def test_the_layer_picture_of_the_labs_nginx_shows_its_real_layers(lab: DockerLab) -> None:
    facts = collect(lab.docker())
    inspected = lab.docker().api.inspect_image("nginx")["RootFS"]["Layers"]
    svg = ET.fromstring(container_layers_svg(facts, "color=red"))
    boxes = [r for r in svg.iter(f"{SVG}rect") if "ro" in r.get("class", "").split()]
    assert len(boxes) == len(inspected)
    ids = [t.text for t in svg.iter(f"{SVG}text") if t.get("class") == "on-dark id"][1:]
    assert ids == [d[7:19] for d in reversed(inspected)]  # drawn top (newest) to bottom
    sharing = sharing_layers_svg(facts, "nginx")
    for box in (facts.container("color=red"), facts.container("color=blue")):
        assert f"overlay2/{(box.rw_dir or '')[:12]}" in sharing


def test_human_size_is_what_docker_prints() -> None:
    sizes = [0, 473, 999, 1000, 1679, 999_499, 999_500, 95_327_057, 142_000_000, 2_500_000_000]
    # Go's %.3g: 999.5 kB rounds to "1e+03kB", as `docker images` really prints it.
    expected = [
        "0B",
        "473B",
        "999B",
        "1kB",
        "1.68kB",
        "999kB",
        "1e+03kB",
        "95.3MB",
        "142MB",
        "2.5GB",
    ]
    assert [human_size(size) for size in sizes] == expected


class FakeImage:
    def __init__(self, attrs: dict[str, Any], history: list[dict[str, Any]]) -> None:
        self.attrs = attrs
        self._history = history

    def history(self) -> list[dict[str, Any]]:
        return self._history


def fake_client(images: list[FakeImage]) -> Any:
    """Just what collect() reads, for histories the lab's engine does not make."""
    return SimpleNamespace(
        images=SimpleNamespace(list=lambda: images),
        containers=SimpleNamespace(list=lambda **_: []),
        version=lambda: {"Version": "27.0.0"},
        info=lambda: {"Driver": "overlay2"},
    )


def fake_image(diff_ids: list[str], history_oldest_first: list[tuple[str, int]]) -> Image:
    attrs = {"Id": "sha256:" + "f" * 64, "RootFS": {"Layers": diff_ids}, "Size": 1}
    history = [{"CreatedBy": by, "Size": size} for by, size in reversed(history_oldest_first)]
    facts: Facts = collect(fake_client([FakeImage(attrs, history)]))
    return facts.images[0]


def test_an_empty_layer_is_told_from_a_config_only_step() -> None:
    image = fake_image(
        ["sha256:" + "a" * 64, "sha256:" + "b" * 64, "sha256:" + "c" * 64],
        [
            ("/bin/sh -c #(nop) ADD file:" + "1" * 64 + " in / ", 5000),
            ("ENV A=b", 0),
            ("RUN /bin/sh -c mkdir -p /app # buildkit", 0),  # a layer, but an empty one
            ("WORKDIR /app", 0),
            ("COPY app /app # buildkit", 12),
            ('CMD ["app"]', 0),
        ],
    )
    made = [(layer.size, layer.created_by) for layer in image.layers]
    assert made == [
        (5000, "ADD file:111111111111 in /"),
        (0, "RUN mkdir -p /app"),
        (12, "COPY app /app"),
    ]
    assert image.layers[0].overlay2_dir is None  # no GraphDriver data


def test_a_history_that_does_not_fit_the_layers_says_nothing() -> None:
    image = fake_image(["sha256:" + "a" * 64], [("RUN a", 1), ("RUN b", 2)])
    assert [(layer.size, layer.human_size, layer.created_by) for layer in image.layers] == [
        (None, "?", "")
    ]


def test_lookup_errors_say_what_the_lab_has() -> None:
    facts = from_data(
        {
            "engine": "20.10",
            "storage_driver": "overlay2",
            "images": [
                {
                    "id": "sha256:" + "7a" * 32,
                    "tags": ["nginx:latest"],
                    "digests": [],
                    "size": 1,
                    "created": "",
                    "labels": {},
                    "layers": [],
                }
            ],
            "containers": [],
        }
    )
    assert facts.image("docker.io/library/nginx").tags == facts.image("7a7a").tags
    with pytest.raises(KeyError, match="nginx:latest"):
        facts.image("redis")
    with pytest.raises(NotInLab, match="no container 'color=red' in the lab; it has: none"):
        facts.container("color=red")
