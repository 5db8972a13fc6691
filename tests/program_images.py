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
from pathlib import Path

from livedeck.run.labs import host_client, lab_names
from livedeck.verbs.catalog import add_images

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


def serve(tag: str, *names: str) -> None:
    """Serve the host image `tag` to labs as `names` (Docker Hub names), through the images
    folder of the environment (LIVEDECK_IMAGES_DIR: the test's own, see registries.py)."""
    image_id = host_client().images.get(tag).id
    with tempfile.TemporaryDirectory() as scratch:
        saved = Path(scratch) / "image.tar"
        # Saved by ID, the archive holds no name: the names given are the ones served.
        subprocess.run(["docker", "save", "--output", str(saved), image_id], check=True)
        for name in names:
            add_images([name], from_file=saved)


def serve_program_images() -> None:
    """alpine (busybox) and python (with bash and dash) for the labs of the calling test module."""
    serve(build("busybox", BUSYBOX), "alpine:latest", "busybox:latest")
    serve(build("python", PYTHON), "python:3.11")
