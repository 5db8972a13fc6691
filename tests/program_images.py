"""Images of programs with prompts of their own, built here from Debian packages (there is no
Docker Hub) and served to the labs of one test module under Docker Hub names.

- `alpine:latest` is NOT Alpine: it is busybox (Debian's `busybox-static`) on an empty image,
  whose `/bin/sh` is busybox ash with alpine's prompt (`/ # `), as a tutorial's
  `docker run -it alpine /bin/sh` shows it.
- `python:3.11` is Debian bookworm with `python3`; it has bash and dash too.
MariaDB comes from the seeded mirror (`mariadb:10.11`, tools/setup/lab-images.sh).
"""

from __future__ import annotations

import hashlib
import subprocess
import tempfile
from dataclasses import replace
from pathlib import Path

from livedeck.images.store import copy_storage
from livedeck.run.labs import host_client, lab_names
from livedeck.verbs.catalog import add_images
from registries import kept, link_or_copy

BUSYBOX = """\
FROM {base} AS build
RUN apt-get update && apt-get install -y --no-install-recommends busybox-static \\
 && rm -rf /var/lib/apt/lists/*
FROM scratch
COPY --from=build /bin/busybox /bin/busybox
RUN ["/bin/busybox", "sh", "-c", "/bin/busybox mkdir -p /usr/bin /sbin /usr/sbin /tmp /root \\
 /etc && /bin/busybox --install -s && echo root:x:0:0:root:/root:/bin/sh > /etc/passwd"]
CMD ["/bin/sh"]
"""
PYTHON = """\
FROM {base}
RUN apt-get update && apt-get install -y --no-install-recommends python3 \\
 && rm -rf /var/lib/apt/lists/*
CMD ["python3"]
"""
# On the host engine, never a Docker Hub name there; the tag changes with the Dockerfile.
TAG = "livedeck-test/{name}:{digest}"


def build(name: str, dockerfile: str) -> str:
    """The host image `name` built from `dockerfile` (once; later calls reuse it): its tag."""
    tag = TAG.format(name=name, digest=hashlib.sha256(dockerfile.encode()).hexdigest()[:12])
    host = host_client()
    if not host.images.list(name=tag):
        with tempfile.TemporaryDirectory() as context:
            (Path(context) / "Dockerfile").write_text(
                dockerfile.format(base=lab_names().base_image), encoding="utf-8"
            )
            subprocess.run(
                ["docker", "build", "--network", "host", "--quiet", "--tag", tag, context],
                check=True,
                capture_output=True,
                env={"DOCKER_BUILDKIT": "0", "PATH": "/usr/bin:/bin"},
            )
    return tag


def serve(tag: str, *names: str, images_dir: Path) -> None:
    """Serve the host image `tag` to labs as `names` (Docker Hub names), through the images
    folder `images_dir`."""
    image_id = host_client().images.get(tag).id
    target = replace(lab_names(), images_dir=images_dir)
    with tempfile.TemporaryDirectory() as scratch:
        saved = Path(scratch) / "image.tar"
        # Saved by ID, the archive holds no name: the names given are the ones served.
        subprocess.run(["docker", "save", "--output", str(saved), image_id], check=True)
        for name in names:
            add_images([name], from_file=saved, names=target)


def serve_program_images() -> None:
    """alpine (busybox) and python (with bash and dash) for the labs of the calling test module.

    Pushed once per machine into an images folder kept beside the lab images (`kept`: pushing
    the python image costs about 3 CPU-s), named after the two images' IDs; a module's own folder
    (LIVEDECK_IMAGES_DIR: the module's own, empty, see registries.py) starts as a copy of its
    snapshot, made as `livedeck images add` copies one (images/store.py).
    """
    busybox, python = build("busybox", BUSYBOX), build("python", PYTHON)

    def fill(images_dir: Path) -> None:
        serve(busybox, "alpine:latest", "busybox:latest", images_dir=images_dir)
        serve(python, "python:3.11", images_dir=images_dir)

    ids = "".join(host_client().images.get(tag).id for tag in (busybox, python))
    snapshot = (kept("test-program-images", ids, fill) / "current").resolve()
    own = lab_names().images_dir
    copy_storage(snapshot, own / snapshot.name, link=link_or_copy)
    (own / "current").symlink_to(snapshot.name)
