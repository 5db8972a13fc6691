"""Course decks on real labs: bare prompts run, course files and slide blocks land in the lab."""

from __future__ import annotations

import os
import secrets
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import docker
import pytest

from livedeck.run.sandbox import start_sandbox
from livedeck.verbs.build import BuildOptions, build

pytestmark = pytest.mark.docker

ROOT = Path(__file__).resolve().parent.parent

COURSE = """\
---
marp: true
livedeck:
  files: {hands_on/ch05: ~/course/ch05}
---

```
$ cat ~/course/ch05/hello.txt
stale output
$ stat -c '%U %n' ~/course ~/course/ch05/hello.txt
```

<!-- livedeck: {file: ~/app/Dockerfile} -->
```dockerfile
FROM nginx
# written from the slide
RUN echo built-from-the-slide > /built.txt
```

```bash
$ docker build -q -t course-app ~/app >/dev/null && docker run --rm course-app cat /built.txt
stale output
$ command -v git wget unzip nano vim file | wc -l
```

{{ last.output }} tools
"""


@pytest.fixture(scope="module")
def host() -> Iterator[docker.DockerClient]:
    client = docker.from_env()
    client.ping()
    yield client
    client.close()


def test_a_course_deck_with_bare_prompts_files_and_a_dockerfile_block(tmp_path: Path) -> None:
    (tmp_path / "hands_on" / "ch05").mkdir(parents=True)
    (tmp_path / "hands_on" / "ch05" / "hello.txt").write_text("hello from ch05\n")
    deck = tmp_path / "course.md"
    deck.write_text(COURSE, encoding="utf-8")
    out = tmp_path / "build"
    build([deck], BuildOptions(out_dir=out, formats=()), start_sandbox)
    markdown = (out / "course.md").read_text(encoding="utf-8")
    assert "stale output" not in markdown
    assert "$ cat ~/course/ch05/hello.txt\nhello from ch05\n" in markdown
    assert "ubuntu /home/ubuntu/course\nubuntu /home/ubuntu/course/ch05/hello.txt\n" in markdown
    assert "cat /built.txt\nbuilt-from-the-slide\n" in markdown
    assert "```dockerfile\nFROM nginx\n# written from the slide\n" in markdown  # as written
    assert "LIVEDECK_EOF" not in markdown
    assert "| wc -l\n6\n```\n\n6 tools" in markdown


def test_a_missing_picture_starts_no_lab(tmp_path: Path, host: docker.DockerClient) -> None:
    deck = tmp_path / "pic.md"
    deck.write_text("---\nmarp: true\n---\n\n```\n$ echo hi\n```\n\n![](./gone.png)\n")
    label = f"livedeck.lab.test-{secrets.token_hex(4)}"
    env = {**os.environ, "PYTHONPATH": str(ROOT / "tools"), "LIVEDECK_LAB_LABEL": label}
    done = subprocess.run(
        [sys.executable, "-m", "livedeck", "build", str(deck), "--out", str(tmp_path / "b")],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 1
    assert f"{deck}:9: picture ./gone.png not found" in done.stderr
    assert "Traceback" not in done.stderr
    assert host.containers.list(all=True, filters={"label": label}) == []


def test_packages_come_in_a_derived_lab_image(tmp_path: Path) -> None:
    deck = tmp_path / "bc.md"
    deck.write_text(
        "---\nmarp: true\nlivedeck:\n  packages: [bc]\n---\n\n```\n$ echo 6*7 | bc\n```\n"
    )
    build([deck], BuildOptions(out_dir=tmp_path / "b", formats=()), start_sandbox)
    assert "$ echo 6*7 | bc\n42\n```" in (tmp_path / "b" / "bc.md").read_text()
