"""Pictures of a lab's image layers and container layers, drawn as SVG from its facts. Pure.

Same facts, same bytes: a deck can embed the figure and it changes only when the lab does.
The look follows the project's hand-drawn figures (img/container-layers.svg).
"""

from __future__ import annotations

from collections.abc import Sequence
from xml.sax.saxutils import escape, quoteattr

from livedeck.facts import Container, Facts, Layer, NotInLab

WIDTH, HEIGHT = 1000, 750
STYLE = """\
  <style>
    text { font-family: NanumSquare, "Noto Sans CJK KR", sans-serif; fill: #1f2933; }
    .id { font-family: NanumGothicCoding, "DejaVu Sans Mono", monospace; }
    .on-dark { fill: #ffffff; }
    .made { fill: #dde6ee; }
    .rw { stroke-width: 3; }
    .ro { fill: #4a6b8a; stroke: #2c4660; stroke-width: 3; }
    .ro.alt { fill: #5c7d9c; }
    .brace { fill: none; stroke: #3e4c59; stroke-width: 4; stroke-linecap: round; }
    .link { stroke: #3e4c59; stroke-width: 4; fill: none; }
    .note { fill: #616e7c; }
  </style>"""
# R/W layer colours (fill, stroke); a container labelled color=<name> gets its colour.
COLOURS = {
    "orange": ("#f08c2e", "#b35f10"),
    "red": ("#d64545", "#9b2c2c"),
    "blue": ("#3b82c4", "#1f5689"),
    "green": ("#3f9142", "#2a6b2d"),
    "purple": ("#8e5cc4", "#643c91"),
    "teal": ("#2f9c95", "#1d6e69"),
}
CONTAINER_NOTE = (
    "Reading finds the topmost copy of a file; writing copies it up",
    "into the container layer. The image layers never change.",
)
IMAGE_NOTE = (
    "Each layer holds only the files its step changed, on top of",
    "the ones below. Every container of the image shares them.",
)
ARROW = """\
  <defs>
    <marker id="arrow" viewBox="0 0 10 10" refX="8" refY="5" markerWidth="5" markerHeight="5" \
orient="auto">
      <path d="M 0 0 L 10 5 L 0 10 z" fill="#3e4c59"/>
    </marker>
  </defs>"""


def container_layers_svg(
    facts: Facts, container: str | None = None, image: str | None = None
) -> str:
    """A container's thin R/W layer on its image's R/O layers; just the image's if no container."""
    box = facts.container(container) if container is not None else None
    if image is not None:
        picture = facts.image(image)
    elif box is not None:
        picture = facts.image(box.image_id)
    else:
        raise NotInLab("name a container or an image to draw; " + _known_images(facts))
    if box is not None and box.image_id != picture.id:
        raise NotInLab(f"container {box.name} runs {facts.image(box.image_id).name}, not {image}")
    title = f"A container: one thin R/W layer on the R/O layers of {picture.name}"
    out = _start(title if box else f"The read-only layers of image {picture.name}")
    top = 100
    if box is not None:
        out.append(_text(40, 58, _fit(f"Container {_who(facts, box)}", 40), 36, weight="bold"))
        about = f"{box.name} · {box.short_id} · from {picture.name}"
        out.append(_text(40, 88, _fit(about, 70), 24, "note"))
        fill, stroke = _colour(facts, box, 0)
        out.append(_rect(40, 106, 680, 84, 10, "rw", fill=fill, stroke=stroke))
        out.append(_text(380, 144, "Container layer (R/W)", 32, "on-dark", "middle", "bold"))
        out.append(_text(380, 176, _dir_label(box, 40), 22, "on-dark id", "middle"))
        out.append(_brace(740, 108, 190))
        out.append(_text(780, 142, "Thin R/W layer", 28, weight="bold"))
        out.append(_text(780, 176, "all changes go here", 24, "note"))
        top = 214
    else:
        out.append(_text(40, 58, f"Image {_fit(picture.name, 40)}", 36, weight="bold"))
        out.append(_text(40, 88, f"{picture.short_id} · {picture.human_size}", 24, "note"))
        top = 112
    bottom = _layer_stack(out, picture.layers, 40, top, 680, 650, made_chars=27)
    out.append(_brace(740, top + 2, bottom - 2))
    middle = (top + bottom) // 2
    out.append(_text(780, middle - 20, "Image layers", 28, weight="bold"))
    out.append(_text(780, middle + 14, "(R/O)", 28, weight="bold"))
    out.append(_text(780, middle + 50, _fit(picture.name, 14), 24, "note id"))
    out.append(
        _text(780, middle + 82, f"{len(picture.layers)} layers, {picture.human_size}", 22, "note")
    )
    for y, line in zip((690, 720), CONTAINER_NOTE if box else IMAGE_NOTE, strict=True):
        out.append(_text(40, y, line, 24, "note"))
    return _end(out, facts)


def sharing_layers_svg(facts: Facts, image: str, containers: Sequence[str] | None = None) -> str:
    """Containers of one image, each with its own R/W layer, on the image's shared R/O layers."""
    picture = facts.image(image)
    boxes = (
        [facts.container(ref) for ref in containers]
        if containers is not None
        else list(facts.containers_of(picture))
    )
    for box in boxes:
        if box.image_id != picture.id:
            raise NotInLab(f"container {box.name} does not run {picture.name}")
    if not boxes:
        raise NotInLab(f"no container runs {picture.name}; start one to show the sharing")
    out = _start(f"{len(boxes)} containers share the R/O layers of {picture.name}")
    out.append(ARROW)
    gap = 30
    width = (920 - gap * (len(boxes) - 1)) / len(boxes)
    scale = min(1.0, width / 260)
    for n, box in enumerate(boxes):
        x = 40 + n * (width + gap)
        centre = x + width / 2
        chars = max(6, int(width / (15 * scale)))
        who = _fit(_who(facts, box), chars - 10)
        out.append(_text(centre, 50, "container ", 28 * scale, anchor="middle", bold=who))
        fill, stroke = _colour(facts, box, n)
        out.append(_rect(x, 70, width, 110, 10, "rw", fill=fill, stroke=stroke))
        out.append(_text(centre, 118, "R/W layer", 30 * scale, "on-dark", "middle", "bold"))
        out.append(_text(centre, 158, _dir_label(box, chars), 24 * scale, "on-dark id", "middle"))
        out.append(f'  <path class="link" d="M {_n(centre)} 184 V 262" marker-end="url(#arrow)"/>')
    out.append(_text(40 + width / 2 + 16, 232, "runs on", 24, "note"))
    out.append(_rect(40, 268, 920, 400, 12, fill="#e4e7eb", stroke="#9aa5b1"))
    out.append(_text(64, 310, "Image layers (R/O), shared:", 30, weight="bold"))
    out.append(_text(936, 310, _fit(picture.name, 24), 28, "id", "end"))
    _layer_stack(out, picture.layers, 64, 326, 872, 660, made_chars=44)
    out.append(_text(40, 706, "Each new container adds only its own R/W layer.", 26, "note"))
    return _end(out, facts)


def _layer_stack(
    out: list[str],
    layers: Sequence[Layer],
    x: int,
    top: int,
    width: int,
    bottom: int,
    made_chars: int,
) -> int:
    """Draw `layers` top (newest) to bottom between `top` and `bottom`; returns the last y."""
    pitch = min(70.0, (bottom - top) / max(1, len(layers)))
    height = pitch - 6
    size = min(28.0, height * 0.62)
    y = float(top)
    for n, layer in enumerate(reversed(layers)):
        base = y + height / 2 + size * 0.35
        out.append(_rect(x, y, width, height, 8, "ro alt" if n % 2 else "ro"))
        out.append(_text(x + 20, base, layer.short_id, size, "on-dark id"))
        if size >= 14:  # else too small to read: the id and size must stay readable
            made = _fit(_made(layer), int(made_chars * 28 / size))
            out.append(_text(x + 20 + size * 8, base, made, size * 0.78, "made"))
        out.append(_text(x + width - 20, base, layer.human_size, size * 0.93, "on-dark", "end"))
        y += pitch
    return round(y - pitch + height)


def _made(layer: Layer) -> str:
    """What made a layer, short: "COPY … /docker-entrypoint.d" for COPY file:<hash> in ..."""
    words = layer.created_by.split(" ")
    if len(words) == 4 and words[0] in ("COPY", "ADD") and words[2] == "in":
        return f"{words[0]} … {words[3]}"
    return layer.created_by


def _who(facts: Facts, box: Container) -> str:
    """A container as the deck names it: its own first label (color=red), else its name."""
    own = sorted(facts.own_labels(box).items())
    return f"{own[0][0]}={own[0][1]}" if own else box.name


def _colour(facts: Facts, box: Container, n: int) -> tuple[str, str]:
    wanted = facts.own_labels(box).get("color", "").lower()
    return COLOURS.get(wanted) or list(COLOURS.values())[n % len(COLOURS)]


def _dir_label(box: Container, chars: int) -> str:
    """The R/W layer's overlay2 directory, as `ls /var/lib/docker/overlay2` shows it, short."""
    if not box.rw_dir:
        return box.short_id
    return f"overlay2/{box.rw_dir[:12]}" if chars >= 21 else box.rw_dir[:12]


def _known_images(facts: Facts) -> str:
    return "images: " + (", ".join(i.name for i in facts.images) or "none")


def _start(title: str) -> list[str]:
    return [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{WIDTH}" height="{HEIGHT}" '
        f'viewBox="0 0 {WIDTH} {HEIGHT}">',
        f"  <title>{escape(title)}</title>",
        "  <!-- Drawn by livedeck.pictures from the lab's own Docker engine; do not edit. -->",
        STYLE,
        f'  <rect width="{WIDTH}" height="{HEIGHT}" fill="#ffffff"/>',
    ]


def _end(out: list[str], facts: Facts) -> str:
    source = f"from the lab: Docker {facts.engine}, {facts.storage_driver}; IDs: diff IDs"
    out.append(_text(960, 742, _fit(source, 90), 16, "note", "end"))
    return "\n".join([*out, "</svg>", ""])


def _text(
    x: float,
    y: float,
    text: str,
    size: float,
    cls: str = "",
    anchor: str = "",
    weight: str = "",
    bold: str = "",
) -> str:
    """A <text> element; `bold` follows `text` in bold."""
    attrs = _attributes(
        x=_n(x), y=_n(y), font_size=_n(size), cls=cls, text_anchor=anchor, font_weight=weight
    )
    tail = f'<tspan font-weight="bold">{escape(bold)}</tspan>' if bold else ""
    return f"  <text {attrs}>{escape(text)}{tail}</text>"


def _rect(
    x: float,
    y: float,
    w: float,
    h: float,
    r: int,
    cls: str = "",
    *,
    fill: str = "",
    stroke: str = "",
) -> str:
    attrs = _attributes(
        x=_n(x), y=_n(y), width=_n(w), height=_n(h), rx=str(r), cls=cls, fill=fill, stroke=stroke
    )
    return f"  <rect {attrs}/>"


def _attributes(**values: str) -> str:
    """XML attributes of the non-empty values; `cls` is `class`, `_` in a name is `-`."""
    return " ".join(
        f"{'class' if name == 'cls' else name.replace('_', '-')}={quoteattr(value)}"
        for name, value in values.items()
        if value
    )


def _brace(x: int, top: int, bottom: int) -> str:
    """A curly brace right of a box, from `top` to `bottom`."""
    half = (bottom - top - 32) / 2
    return (
        f'  <path class="brace" d="M {x - 20} {top} q 16 0 16 16 v {_n(half)} q 0 0 14 0 '
        f'q -14 0 -14 0 v {_n(half)} q 0 16 -16 16"/>'
    )


def _fit(text: str, chars: int) -> str:
    return text if len(text) <= chars else text[: max(1, chars - 1)].rstrip() + "…"


def _n(value: float) -> str:
    """A coordinate as short, stable text: 12, 12.5."""
    return f"{round(value, 1):g}"
