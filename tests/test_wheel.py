"""The wheel built from the repo: every asset of the package in it, and livedeck working from it.

The installed livedeck comes from the wheel alone (no PYTHONPATH, run outside the repo); its
dependencies come from the shared environment through a .pth file, so no index is needed.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import sysconfig
import time
import urllib.parse
import urllib.request
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PACKAGE = ROOT / "tools" / "livedeck"


def package_files() -> set[str]:
    """Every file git tracks under tools/livedeck, as the wheel names it (livedeck/...)."""
    listed = subprocess.run(
        ["git", "ls-files", "-z", "--", "tools/livedeck"],
        cwd=ROOT,
        capture_output=True,
        check=True,
    ).stdout.decode()
    return {p.removeprefix("tools/") for p in listed.split("\0") if p}


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("wheel")
    # The source tree copied, so the build's egg-info and build/ folders stay out of the repo.
    source = out / "src"
    shutil.copytree(
        ROOT,
        source,
        ignore=shutil.ignore_patterns(
            ".git", ".venv", "node_modules", "build", "__pycache__", "*.egg-info", ".*cache"
        ),
    )
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "-w", out, source],
        check=True,
        capture_output=True,
    )
    (found,) = out.glob("livedeck-*.whl")
    return found


def test_the_wheel_holds_every_file_of_the_package(wheel: Path) -> None:
    with zipfile.ZipFile(wheel) as archive:
        inside = {n for n in archive.namelist() if n.startswith("livedeck/")}
    missing = sorted(package_files() - inside)
    assert not missing, f"not in the wheel: {missing}"
    assert "livedeck/present/present.js" in inside


@pytest.fixture(scope="module")
def installed(wheel: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A fresh venv with the wheel installed; its `livedeck` script."""
    venv = tmp_path_factory.mktemp("venv")
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", venv], check=True)
    site = Path(sysconfig.get_path("purelib", vars={"base": str(venv), "platbase": str(venv)}))
    shared = Path(sysconfig.get_path("purelib"))
    (site / "shared-dependencies.pth").write_text(f"{shared}\n", encoding="utf-8")
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "--python",
            str(venv / "bin" / "python"),
            "install",
            "--no-deps",
            "--no-index",
            str(wheel),
        ],
        check=True,
        capture_output=True,
        env=_environ(),  # without PYTHONPATH, which would make pip see livedeck installed
    )
    return venv / "bin" / "livedeck"


def _environ() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    env["LIVEDECK_MARP_DIR"] = str(ROOT / "tools" / "marp")  # the wheel carries no node_modules
    env["DOCKER_HOST"] = "unix:///nonexistent"  # offline means no engine is touched
    return env


@pytest.fixture
def course(tmp_path: Path) -> Path:
    folder = tmp_path / "course"
    shutil.copytree(ROOT / "slides", folder)  # its decks, records, pictures and themes
    return folder


def test_the_installed_livedeck_comes_from_the_wheel(installed: Path, tmp_path: Path) -> None:
    where = subprocess.run(
        [installed.parent / "python", "-c", "import livedeck; print(livedeck.__file__)"],
        cwd=tmp_path,
        env=_environ(),
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    assert where.startswith(str(installed.parent.parent)), where


@pytest.mark.marp
def test_build_offline_from_the_wheel(installed: Path, course: Path) -> None:
    out = course / "out"
    done = subprocess.run(
        [installed, "build", "--offline", "--out", out, course / "docker-layers.md"],
        cwd=course,
        env=_environ(),
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr
    assert (out / "docker-layers.html").is_file()
    assert (out / "docker-layers.pdf").read_bytes().startswith(b"%PDF")


@pytest.mark.marp
def test_present_offline_from_the_wheel(installed: Path, course: Path) -> None:
    proc = subprocess.Popen(
        [installed, "present", "--offline", course / "docker-layers.md"],
        cwd=course,
        env=_environ(),
        stdin=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert proc.stderr is not None
        url = ""
        deadline = time.monotonic() + 60
        said = []
        while not url and time.monotonic() < deadline:
            line = proc.stderr.readline()
            if not line:
                break
            said.append(line)
            if "http://127.0.0.1:" in line:
                url = line.strip()
        assert url, "".join(said)
        page = urllib.request.urlopen(url, timeout=30).read().decode()
        assert "present.js" in page
        asset = urllib.request.urlopen(
            urllib.parse.urljoin(url, "_livedeck/present.js"), timeout=30
        ).read()
        assert asset == (PACKAGE / "present" / "present.js").read_bytes()
    finally:
        proc.terminate()
        proc.wait(timeout=30)
