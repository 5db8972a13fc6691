"""Layer pictures drawn from facts made by hand: one box per layer, well-formed and stable."""

from __future__ import annotations

import xml.etree.ElementTree as ET

import pytest

from livedeck.facts import Container, Facts, Image, Layer, NotInLab, from_data, to_data
from livedeck.render.pictures import container_layers_svg, sharing_layers_svg

SVG = "{http://www.w3.org/2000/svg}"


def layer(n: int, size: int, created_by: str) -> Layer:
    return Layer(f"sha256:{n:x}{'0' * 63}", size, created_by, f"{n:x}{'d' * 63}")


NGINX = Image(
    id="sha256:" + "7a" * 32,
    tags=("nginx:latest",),
    digests=("nginx@sha256:" + "e6" * 32,),
    size=95_322_301,
    created="2026-11-28T05:38:14Z",
    labels={"maintainer": "livedeck lab"},
    layers=(
        layer(1, 74_830_471, "Imported from -"),
        layer(2, 20_491_331, "RUN set -x && apt-get install nginx-light"),
        layer(3, 499, "COPY file:f5f80d4c27e5 in /docker-entrypoint.d"),
    ),
)
OTHER = Image("sha256:" + "0b" * 32, ("busybox:latest",), (), 4_000_000, "", {}, (layer(9, 1, ""),))


def container(n: int, colour: str, image: Image = NGINX) -> Container:
    return Container(
        id=f"{n}" * 64,
        name=f"web_{colour}",
        image=image.tags[0].split(":")[0],
        image_id=image.id,
        labels={**image.labels, "color": colour},
        status="running",
        created=f"2026-11-28T06:0{n}:00Z",
        rw_dir=f"{n}" * 64,
        init_dir=f"{n}" * 64 + "-init",
    )


# newest first, as collect() lists them
FACTS = Facts(
    engine="20.10.24+dfsg1",
    storage_driver="overlay2",
    images=(NGINX, OTHER),
    containers=(container(3, "blue"), container(2, "green", OTHER), container(1, "red")),
)


def parse(svg: str) -> ET.Element:
    return ET.fromstring(svg)


def boxes(svg: str, kind: str) -> list[ET.Element]:
    return [r for r in parse(svg).iter(f"{SVG}rect") if kind in r.get("class", "").split()]


def texts(svg: str) -> list[str]:
    return ["".join(t.itertext()) for t in parse(svg).iter(f"{SVG}text")]


def test_one_box_per_layer_with_its_short_id_and_size_top_down() -> None:
    svg = container_layers_svg(FACTS, "color=red")
    assert len(boxes(svg, "ro")) == 3
    shown = texts(svg)
    ids = [t for t in shown if t in {x.short_id for x in NGINX.layers}]
    assert ids == ["300000000000", "200000000000", "100000000000"]
    assert {"74.8MB", "20.5MB", "499B"} <= set(shown)
    assert "COPY … /docker-entrypoint.d" in shown


def test_a_container_gets_one_rw_box_named_by_its_label() -> None:
    svg = container_layers_svg(FACTS, "color=red")
    assert len(boxes(svg, "rw")) == 1
    shown = texts(svg)
    assert "Container color=red" in shown
    assert "overlay2/111111111111" in shown
    assert "web_red · 111111111111 · from nginx:latest" in shown


def test_no_container_no_rw_box() -> None:
    svg = container_layers_svg(FACTS, image="nginx")
    assert boxes(svg, "rw") == []
    assert len(boxes(svg, "ro")) == 3
    assert "Image nginx:latest" in texts(svg)


def test_same_facts_same_bytes() -> None:
    first = container_layers_svg(FACTS, "color=red")
    assert container_layers_svg(from_data(to_data(FACTS)), "color=red") == first
    assert sharing_layers_svg(FACTS, "nginx") == sharing_layers_svg(FACTS, "nginx")


def test_the_picture_fits_a_fixed_canvas() -> None:
    root = parse(sharing_layers_svg(FACTS, "nginx"))
    assert (root.get("viewBox"), root.get("width"), root.get("height")) == (
        "0 0 1000 750",
        "1000",
        "750",
    )


def test_sharing_has_one_rw_box_per_container_of_the_image() -> None:
    svg = sharing_layers_svg(FACTS, "nginx")
    assert len(boxes(svg, "rw")) == 2  # not the busybox one
    assert len(boxes(svg, "ro")) == 3
    shown = texts(svg)
    assert shown.index("container color=red") < shown.index("container color=blue")  # oldest left
    assert {"overlay2/111111111111", "overlay2/333333333333"} <= set(shown)


def test_sharing_can_name_its_containers() -> None:
    svg = sharing_layers_svg(FACTS, "nginx", ["web_blue"])
    assert len(boxes(svg, "rw")) == 1
    with pytest.raises(NotInLab, match="web_green does not run nginx:latest"):
        sharing_layers_svg(FACTS, "nginx", ["color=green"])


def test_text_is_escaped() -> None:
    odd = Image(
        "sha256:" + "cd" * 32, ("a<b>&c:1",), (), 1, "", {}, (layer(4, 1, "RUN echo '<&>'"),)
    )
    facts = Facts("1", "overlay2", (odd,), ())
    shown = texts(container_layers_svg(facts, image="a<b>&c:1"))
    assert "Image a<b>&c:1" in shown
    assert "RUN echo '<&>'" in shown


def test_unknown_names_say_what_exists() -> None:
    with pytest.raises(KeyError, match=r"web_blue \(color=blue\), web_green \(color=green\)"):
        container_layers_svg(FACTS, "color=purple")
    with pytest.raises(NotInLab, match="nginx:latest, busybox:latest"):
        container_layers_svg(FACTS)
    with pytest.raises(NotInLab, match="no container runs busybox"):
        sharing_layers_svg(Facts("1", "overlay2", (OTHER,), ()), "busybox")
