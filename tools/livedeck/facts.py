"""What a lab's Docker engine holds: images, their layers, containers; read through the SDK.

Only `collect` talks to an engine. The lookups a template uses (`facts.image("nginx")`,
`facts.container("color=red")`) and the plain data of a record kept in git are pure.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Mapping, Sequence
from typing import Any

from livedeck.errors import LivedeckError
from livedeck.frozen import FrozenMap, frozen_map

DECIMAL_UNITS = ("B", "kB", "MB", "GB", "TB", "PB", "EB", "ZB", "YB")
CREATED_BY_MAX = 100
# Dockerfile steps that only change an image's config: their history entries make no layer.
CONFIG_ONLY = re.compile(
    r"(ARG|CMD|ENTRYPOINT|ENV|EXPOSE|HEALTHCHECK|LABEL|MAINTAINER|ONBUILD|SHELL|STOPSIGNAL|USER"
    r"|VOLUME|WORKDIR)\b"
)
HEX = re.compile(r"[0-9a-f]{4,64}")
Made = tuple[int | None, str]  # a layer's size and the history line that made it


class NotInLab(LivedeckError, KeyError):
    """A template asked for an image or container the lab does not have."""


def human_size(size: int) -> str:
    """A size as `docker images` prints it ("95.3MB"): go-units HumanSizeWithPrecision(size, 3)."""
    value, unit = float(size), 0
    while value >= 1000.0 and unit < len(DECIMAL_UNITS) - 1:
        value, unit = value / 1000.0, unit + 1
    return f"{value:.3g}{DECIMAL_UNITS[unit]}"


@dataclasses.dataclass(frozen=True)
class Layer:
    """One read-only layer of an image: its content digest, size and what made it."""

    diff_id: str  # "sha256:<64 hex>", as `docker image inspect` lists under RootFS.Layers
    size: int | None  # bytes; None if the image's history does not say
    created_by: str  # the history line that made it, shortened ("RUN apt-get ...")
    overlay2_dir: str | None  # its directory under /var/lib/docker/overlay2 (the cache id)

    @property
    def short_id(self) -> str:
        """The first 12 hex digits of the diff id."""
        return self.diff_id.removeprefix("sha256:")[:12]

    @property
    def human_size(self) -> str:
        """The size as `docker history` prints it, or "?" if unknown."""
        return "?" if self.size is None else human_size(self.size)


@dataclasses.dataclass(frozen=True)
class Image:
    """An image of the lab: names, id, size and its layers bottom to top."""

    id: str  # "sha256:<64 hex>"
    tags: tuple[str, ...]  # RepoTags, e.g. ("nginx:latest",)
    digests: tuple[str, ...]  # RepoDigests, e.g. ("nginx@sha256:...",)
    size: int  # bytes
    created: str  # RFC 3339, as the engine reports it
    labels: Mapping[str, str]
    layers: tuple[Layer, ...]  # bottom (base) first, top last

    def __post_init__(self) -> None:
        # Templates read facts: every field is immutable, whatever the caller handed in.
        object.__setattr__(self, "tags", tuple(self.tags))
        object.__setattr__(self, "digests", tuple(self.digests))
        object.__setattr__(self, "labels", frozen_map(self.labels))
        object.__setattr__(self, "layers", tuple(self.layers))

    @property
    def short_id(self) -> str:
        """The IMAGE ID column of `docker images`."""
        return self.id.removeprefix("sha256:")[:12]

    @property
    def human_size(self) -> str:
        """The SIZE column of `docker images` ("95.3MB")."""
        return human_size(self.size)

    @property
    def digest(self) -> str:
        """The registry digest ("sha256:...") it was pulled by, or "" for a local image."""
        return self.digests[0].partition("@")[2] if self.digests else ""

    @property
    def name(self) -> str:
        """Its first tag, or its short id when it has none."""
        return self.tags[0] if self.tags else self.short_id


@dataclasses.dataclass(frozen=True)
class Container:
    """A container of the lab and the read-write layer it writes to."""

    id: str  # 64 hex
    name: str  # without the leading "/"
    image: str  # the image as given to `docker run` (the IMAGE column of `docker ps`)
    image_id: str  # "sha256:..." of the image it runs
    labels: Mapping[str, str]  # its own and the ones it inherits from the image
    status: str  # "running", "exited", "created", ...
    created: str
    rw_dir: str | None  # the overlay2 directory of its R/W layer (UpperDir's)
    init_dir: str | None  # the `<rw_dir>-init` layer Docker puts under it (hostname, resolv.conf)

    def __post_init__(self) -> None:
        object.__setattr__(self, "labels", frozen_map(self.labels))

    @property
    def short_id(self) -> str:
        """The CONTAINER ID column of `docker ps`."""
        return self.id[:12]


@dataclasses.dataclass(frozen=True)
class Facts:
    """A lab's Docker engine at one moment."""

    engine: str  # engine version, e.g. "20.10.24+dfsg1"
    storage_driver: str  # e.g. "overlay2"
    images: tuple[Image, ...]
    containers: tuple[Container, ...]  # newest first, as `docker ps -a` lists them

    def __post_init__(self) -> None:
        object.__setattr__(self, "images", tuple(self.images))
        object.__setattr__(self, "containers", tuple(self.containers))

    def image(self, ref: str) -> Image:
        """An image by name[:tag] ("nginx" means nginx:latest), name@digest or id prefix."""
        wanted = _normal_ref(ref)
        for image in self.images:
            names = {_normal_ref(tag) for tag in image.tags + image.digests}
            if wanted in names:
                return image
        hexid = ref.removeprefix("sha256:")
        found = [i for i in self.images if HEX.fullmatch(hexid) and i.id[7:].startswith(hexid)]
        if len(found) == 1:
            return found[0]
        known = ", ".join(i.name for i in (found or self.images)) or "none"
        what = "is ambiguous, it may be" if found else "is not in the lab; it has"
        raise NotInLab(f"image {ref!r} {what}: {known}")

    def container(self, ref: str) -> Container:
        """A container by label ("color=red"), name, or id prefix."""
        if "=" in ref:
            key, _, value = ref.partition("=")
            found = [c for c in self.containers if c.labels.get(key) == value]
        else:
            found = [c for c in self.containers if c.name == ref.removeprefix("/")]
            if not found and HEX.fullmatch(ref):
                found = [c for c in self.containers if c.id.startswith(ref)]
        if len(found) == 1:
            return found[0]
        if found:
            names = ", ".join(c.name for c in found)
            raise NotInLab(f"{len(found)} containers match {ref!r} ({names}); name one of them")
        known = ", ".join(self._describe(c) for c in self.containers) or "none"
        raise NotInLab(f"no container {ref!r} in the lab; it has: {known}")

    def containers_of(self, image: Image) -> tuple[Container, ...]:
        """The containers that run `image`, oldest first (`containers` is newest first)."""
        return tuple(c for c in reversed(self.containers) if c.image_id == image.id)

    def own_labels(self, container: Container) -> FrozenMap[str, str]:
        """The labels given to the container itself, not inherited from its image."""
        found = [i for i in self.images if i.id == container.image_id]
        inherited = found[0].labels if found else FrozenMap[str, str]()
        return FrozenMap((k, v) for k, v in container.labels.items() if inherited.get(k) != v)

    def _describe(self, container: Container) -> str:
        own = ", ".join(f"{k}={v}" for k, v in sorted(self.own_labels(container).items()))
        return f"{container.name} ({own})" if own else container.name


def collect(client: Any) -> Facts:
    """Read the images, layers and containers of the engine a Docker SDK client talks to."""
    images = tuple(_image(image.attrs, image.history()) for image in client.images.list())
    listed = client.containers.list(all=True, ignore_removed=True)  # inspected, with GraphDriver
    containers = tuple(_container(container.attrs) for container in listed)
    engine, driver = client.version().get("Version", ""), client.info().get("Driver", "")
    return Facts(str(engine), str(driver), images, containers)


def _image(attrs: Mapping[str, Any], history: Sequence[Mapping[str, Any]]) -> Image:
    diff_ids = list((attrs.get("RootFS") or {}).get("Layers") or [])
    made = _layer_history(len(diff_ids), list(reversed(history)))  # the API lists newest first
    dirs = _image_dirs(attrs.get("GraphDriver") or {}, len(diff_ids))
    layers = tuple(
        Layer(diff_id=d, size=size, created_by=by, overlay2_dir=dir_)
        for d, (size, by), dir_ in zip(diff_ids, made, dirs, strict=True)
    )
    return Image(
        id=attrs["Id"],
        tags=tuple(attrs.get("RepoTags") or ()),
        digests=tuple(attrs.get("RepoDigests") or ()),
        size=int(attrs.get("Size") or 0),
        created=str(attrs.get("Created", "")),
        labels=dict((attrs.get("Config") or {}).get("Labels") or {}),
        layers=layers,
    )


def _layer_history(count: int, oldest_first: list[Mapping[str, Any]]) -> list[Made]:
    """Size and history line of each of `count` layers, bottom first.

    The engine's history holds one entry per Dockerfile step; only the steps that made a layer
    have a size, and they are in layer order. An empty layer (size 0) is told from a config-only
    step by its instruction.
    """
    sized = [i for i, h in enumerate(oldest_first) if int(h.get("Size") or 0) > 0]
    if len(sized) < count:
        spare = [i for i in range(len(oldest_first)) if i not in sized]
        spare.sort(key=lambda i: (bool(CONFIG_ONLY.match(_created_by(oldest_first[i]))), i))
        sized = sorted(sized + spare[: count - len(sized)])
    if len(sized) != count:  # a history that does not describe the layers: say nothing
        return [(None, "")] * count
    return [(int(oldest_first[i].get("Size") or 0), _created_by(oldest_first[i])) for i in sized]


def _created_by(entry: Mapping[str, Any]) -> str:
    """A history line as a Dockerfile step: "RUN ...", "COPY file:1a2b3c4d5e6f in /"."""
    text = " ".join(str(entry.get("CreatedBy") or "").split())
    text = text.removesuffix(" # buildkit")
    text = re.sub(r"^/bin/sh -c #\(nop\) ", "", text)  # the classic builder's config-only steps
    text = re.sub(r"^/bin/sh -c ", "RUN ", text)
    text = re.sub(r"^RUN (\|\d+ (?:\S+ )*?)?/bin/sh -c ", r"RUN \1", text)  # buildkit
    text = re.sub(r"\b(file|dir|multi):([0-9a-f]{12})[0-9a-f]{52}\b", r"\1:\2", text)
    if not text:
        text = " ".join(str(entry.get("Comment") or "").split())
    return text if len(text) <= CREATED_BY_MAX else text[: CREATED_BY_MAX - 1] + "…"


def _image_dirs(graph_driver: Mapping[str, Any], count: int) -> list[str | None]:
    """The overlay2 directory of each layer, bottom first: reversed LowerDir, then UpperDir."""
    data = graph_driver.get("Data") or {}
    if graph_driver.get("Name") != "overlay2" or "UpperDir" not in data:
        return [None] * count
    lower = [_dir_name(p) for p in str(data.get("LowerDir") or "").split(":") if p]
    dirs: list[str | None] = [*reversed(lower), _dir_name(data["UpperDir"])]
    return dirs if len(dirs) == count else [None] * count


def _container(attrs: Mapping[str, Any]) -> Container:
    config = attrs.get("Config") or {}
    graph = attrs.get("GraphDriver") or {}
    data = graph.get("Data") or {}
    rw_dir = init_dir = None
    if graph.get("Name") == "overlay2" and "UpperDir" in data:
        rw_dir = _dir_name(data["UpperDir"])
        lowest = str(data.get("LowerDir") or "").split(":")[0]
        init_dir = _dir_name(lowest) if _dir_name(lowest) == f"{rw_dir}-init" else None
    return Container(
        id=attrs["Id"],
        name=str(attrs.get("Name", "")).removeprefix("/"),
        image=str(config.get("Image", "")),
        image_id=str(attrs.get("Image", "")),
        labels=dict(config.get("Labels") or {}),
        status=str((attrs.get("State") or {}).get("Status", "")),
        created=str(attrs.get("Created", "")),
        rw_dir=rw_dir,
        init_dir=init_dir,
    )


def _dir_name(path: str) -> str:
    """The <dir> of /var/lib/docker/overlay2/<dir>/diff."""
    return path.rstrip("/").removesuffix("/diff").rsplit("/", 1)[-1]


def _normal_ref(ref: str) -> str:
    """A reference as the engine tags images: nginx, docker.io/library/nginx -> nginx:latest."""
    for prefix in ("docker.io/library/", "docker.io/", "index.docker.io/library/"):
        ref = ref.removeprefix(prefix)
    if "@" not in ref and ":" not in ref.rsplit("/", 1)[-1]:
        ref += ":latest"
    return ref


def to_data(facts: Facts) -> dict[str, Any]:
    """Facts as plain dicts, lists, strings and numbers (for JSON or YAML)."""
    return dict(_plain(dataclasses.asdict(facts)))


def _plain(value: Any) -> Any:
    if isinstance(value, Mapping):
        return {key: _plain(item) for key, item in value.items()}
    return [_plain(item) for item in value] if isinstance(value, tuple | list) else value


def from_data(data: Mapping[str, Any]) -> Facts:
    """Facts back from what to_data made."""
    images = tuple(
        Image(
            **{
                **i,
                "tags": tuple(i["tags"]),
                "digests": tuple(i["digests"]),
                "labels": dict(i["labels"]),
                "layers": tuple(Layer(**layer) for layer in i["layers"]),
            }
        )
        for i in data["images"]
    )
    containers = tuple(Container(**{**c, "labels": dict(c["labels"])}) for c in data["containers"])
    return Facts(data["engine"], data["storage_driver"], images, containers)
