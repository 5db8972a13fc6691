"""Lab states a later deck starts from (`after:`): taken at the end of a deck's run, kept under
a key that changes with every deck of the chain, and put into a new lab.

A state is the lab's /var/lib/docker (images, containers, volumes, networks) in a volume of the
host engine (run/states.py), the lab user's home kept as a tar on
this machine, and the containers that were running, which are started again in the new lab.
A changed deck gives every state after it a new key: the old states are never used again, and
the next take of that deck removes them.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import tempfile
import time
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import docker.errors

from livedeck.errors import LabError
from livedeck.images.sources import MIRROR, Choice
from livedeck.run import states
from livedeck.run.lab import Lab
from livedeck.run.labs import docker_errors, host_client, lab_names

ENV = "LIVEDECK_SNAPSHOTS"  # where homes and meta files are kept (~/.cache/livedeck/snapshots)
VOLUME = "livedeck-state"  # volumes are named livedeck-state-DECKID-KEY


def snapshot_dir(environ: Mapping[str, str] = os.environ) -> Path:
    """The folder of kept lab states (their homes and what was running)."""
    override = environ.get(ENV)
    return Path(override) if override else Path.home() / ".cache" / "livedeck" / "snapshots"


@dataclass(frozen=True)
class State:
    """A kept lab state: a volume of Docker data, a home, the containers that were running."""

    deck: str  # the deck it is the end of (its id: a hash of its path)
    key: str  # changes with the deck, every deck before it and the lab image
    folder: Path

    @property
    def volume(self) -> str:
        return f"{VOLUME}-{self.deck}-{self.key}"

    @property
    def meta(self) -> Path:
        return self.folder / f"{self.deck}-{self.key}.json"

    @property
    def home(self) -> Path:
        return self.folder / f"{self.deck}-{self.key}.tar"


def state_for(deck: Path, key: str, folder: Path | None = None) -> State:
    """Where the state of `deck` under `key` is (or would be) kept."""
    deck_id = hashlib.sha256(str(deck.absolute()).encode()).hexdigest()[:12]
    return State(deck_id, key, folder or snapshot_dir())


def lab_salt(images: Choice | None) -> str:
    """What a kept state depends on besides the decks: the lab image and the image source."""
    label = (images or Choice(MIRROR, "default", False)).source.label
    host = host_client()
    try:
        with docker_errors("the lab image is missing"):
            image = host.images.get(lab_names().lab_image).id
    finally:
        host.close()
    return f"{image} {label}"


def kept(state: State) -> bool:
    """Whether the state was taken completely (its meta file is written last) and its volume
    is still on the engine."""
    if not state.meta.is_file():
        return False
    host = host_client()
    try:
        host.volumes.get(state.volume)
        return True
    except docker.errors.NotFound:
        return False
    finally:
        host.close()


def prepare(state: State) -> None:
    """Before the lab of a deck whose end is kept starts: an empty volume for its Docker data
    (the lab is started with LabSpec.keep_data); older states of the same deck (other keys:
    it or an earlier deck changed) are removed."""
    state.folder.mkdir(parents=True, exist_ok=True)
    state.meta.unlink(missing_ok=True)  # incomplete until commit()
    host = host_client()
    try:
        _forget_others(host, state)
        states.new_volume(host, state.volume, {f"{lab_names().label}.state": state.deck})
    finally:
        host.close()


def take(lab: Lab, user: str, state: State) -> dict[str, Any]:
    """At the end of a deck's run, on a lab started with the state's volume: the user's home
    and the running containers; what commit() writes once the deck succeeded."""
    name, inner = getattr(lab, "name", None), lab.docker()
    if name is None or inner is None:
        raise LabError(
            "a deck other decks start from (`after:`) runs on the Docker lab only",
            hint="build it with --lab docker",
        )
    with docker_errors("could not list the lab's running containers"):
        running = [c.id for c in inner.containers.list()]
    home = _home(lab, user)
    host = host_client()
    try:
        archive = states.save_folder(host, name, home)
    finally:
        host.close()
    _write(state.home, archive)
    return {"running": running, "home": home, "user": user}


def commit(state: State, meta: dict[str, Any]) -> None:
    """Complete a state once the deck it is the end of succeeded."""
    _write(state.meta, json.dumps(meta).encode())


def start_from(state: State, lab: Lab) -> None:
    """In a lab started with the state's Docker data: its home back, its containers running."""
    name, inner = getattr(lab, "name", None), lab.docker()
    if name is None or inner is None:
        raise LabError("a deck with `after:` runs on the Docker lab only", hint="--lab docker")
    meta = json.loads(state.meta.read_text(encoding="utf-8"))
    home = str(meta["home"])
    host = host_client()
    try:
        states.load_folder(host, name, home.rsplit("/", 1)[0] or "/", state.home.read_bytes())
    finally:
        host.close()
    for container in meta["running"]:
        with docker_errors(f"could not start again container {container[:12]}"):
            try:
                inner.containers.get(container).start()
            except docker.errors.NotFound as error:
                raise LabError(f"the kept lab state lacks container {container[:12]}") from error


def forget(state: State) -> None:
    """Remove a state (its volume and files)."""
    host = host_client()
    try:
        with contextlib.suppress(docker.errors.NotFound):
            host.volumes.get(state.volume).remove(force=True)
    finally:
        host.close()
    for path in (state.meta, state.home):
        path.unlink(missing_ok=True)


def _forget_others(host: Any, state: State) -> None:
    label = f"{lab_names().label}.state={state.deck}"
    with docker_errors("could not list the kept lab states"):
        for volume in host.volumes.list(filters={"label": label}):
            if volume.name != state.volume:
                with contextlib.suppress(docker.errors.APIError):
                    volume.remove(force=True)
    for path in state.folder.glob(f"{state.deck}-*"):
        if path not in (state.meta, state.home):
            path.unlink(missing_ok=True)


def _home(lab: Lab, user: str) -> str:
    """The user's home in the lab (`getent`); a loaded engine may return an exec's output
    empty although the process printed it, so an empty answer is asked again."""
    for _ in range(5):
        status, output = lab.exec_root(["getent", "passwd", user])
        fields = output.strip().split(":")
        if status == 0 and len(fields) >= 6 and fields[5].startswith("/"):
            return fields[5]
        time.sleep(0.2)
    raise LabError(f"the lab did not say where {user!r}'s home directory is")


def _write(target: Path, data: bytes) -> None:
    with _atomic(target) as out:
        out.write(data)


@contextlib.contextmanager
def _atomic(target: Path) -> Iterator[Any]:
    handle, temporary = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.")
    try:
        with os.fdopen(handle, "wb") as out:
            yield out
        os.replace(temporary, target)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
