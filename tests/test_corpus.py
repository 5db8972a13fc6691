"""The bad-input corpus: every deck of tests/corpus/ built by a real `python -m livedeck build`.

Each case is one file: a deck, then a card (a last `<!-- corpus ... -->` comment, cut off
before the deck is written, so line numbers in the card are the file's) saying what to simulate
and what a user must see:

    exit: 1                        the exit code (README: 1 deck, 2 usage, 3 environment)
    stderr: ["{deck}:4: ..."]      fragments of stderr; {deck} and {record} are their paths
    matches: ['regex', ...]        exit 0: what build/CASE.md must hold (re.search)
    lab: docker                    the Docker lab (default: --lab local, no Docker)
    format: html                   --format (default: none)
    args: [--offline]              more options
    encoding: latin-1              how the deck is written (default: utf-8; utf-8-sig: a BOM)
    newline: "\r\n"                 the line ends the deck is written with (default: \n)
    env: {NAME: value}             more environment
    record_from: DECK TEXT         build this earlier version of the deck first: its real record
    record: TEXT                   the record beside the deck, as these bytes (Latin-1)
    out: full | read-only          build/ on a full disk, or one nobody may write to

Every case, whatever its exit code: no Python traceback, and nothing left behind - no lab
(a container with the case's own LIVEDECK_LAB_LABEL), no process (one carrying the case's
marker in its environment, after a grace of a few seconds for children told to end by
PR_SET_PDEATHSIG), no temporary folder (the case's own TMPDIR stays empty, and no
/tmp/livedeck-*-PID.* of the build's pid). A case that fails also says `hint:`, and leaves
build/ (seeded with a previous real build's files, renamed to the case's outputs) and slides/
(the deck and its record) byte for byte as they were.

How the disk cases are simulated, honestly for root: `full` runs the build under
`prlimit --fsize` (64 KiB), so every write past that raises EFBIG as a full disk raises ENOSPC;
`read-only` makes build/ immutable with `chattr +i` (chmod 555 does not stop root; as another
user it is chmod 555).
"""

from __future__ import annotations

import hashlib
import os
import re
import secrets
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from ruamel.yaml import YAML

import forks
from namespaces import free_subnet

ROOT = Path(__file__).resolve().parent.parent
CORPUS = Path(__file__).parent / "corpus"
PICTURE = Path(__file__).parent / "decks" / "pic.png"
CARD = "\n<!-- corpus\n"
MARKER = "LIVEDECK_CORPUS_CASE"
FULL_DISK_BYTES = 64 * 1024
GRACE = 5.0  # seconds a child told to end by PR_SET_PDEATHSIG may take
WORKERS = 4  # most cases wait (timeouts, a lab starting): more than the 2 cores


@dataclass(frozen=True)
class Case:
    """One file of the corpus: the deck as written, and its card."""

    name: str
    deck: str
    card: dict[str, Any]

    @property
    def lab(self) -> str:
        return str(self.card.get("lab", "local"))

    @property
    def format(self) -> str:
        return str(self.card.get("format", "none"))


@dataclass
class Outcome:
    """What a case's build did and left."""

    code: int
    stderr: str
    deck: str
    record: str
    built: str = ""  # build/CASE.md after an exit 0
    build_before: dict[str, str] = field(default_factory=dict)
    build_after: dict[str, str] = field(default_factory=dict)
    slides_before: dict[str, str] = field(default_factory=dict)
    slides_after: dict[str, str] = field(default_factory=dict)
    labs: list[str] = field(default_factory=list)
    processes: list[str] = field(default_factory=list)
    temporary: list[str] = field(default_factory=list)
    skipped: str = ""


def load_case(path: Path) -> Case:
    text = path.read_text(encoding="utf-8")
    start = text.rfind(CARD)
    assert start >= 0 and text.rstrip().endswith("-->"), f"{path}: no corpus card at its end"
    card = YAML(typ="safe", pure=True).load(text[start + len(CARD) : text.rstrip().rfind("-->")])
    return Case(path.stem, text[: start + 1], card)


CASES = [load_case(path) for path in sorted(CORPUS.glob("*.md"))]


def _marks(case: Case) -> list[pytest.MarkDecorator]:
    marks = [pytest.mark.docker] if case.lab == "docker" else []
    if case.format != "none":
        marks.append(pytest.mark.marp)
    return marks


def test_the_corpus_covers_enough_cases() -> None:
    assert len(CASES) >= 28
    assert {c.card["exit"] for c in CASES} == {0, 1, 2, 3}
    for case in CASES:  # a deck's fault names its line; the others name what is missing
        fragments = case.card.get("stderr", [])
        if case.card["exit"] == 1:
            assert any(re.match(r"\{(deck|record)\}:\d+: ", f) for f in fragments), case.name
        elif case.card["exit"] != 0:
            assert fragments, case.name
        else:
            assert case.card["matches"], case.name


@pytest.mark.parametrize("case", [pytest.param(c, id=c.name, marks=_marks(c)) for c in CASES])
def test_corpus_case(case: Case, outcomes: dict[str, Future[Outcome]]) -> None:
    found = outcomes[case.name].result()
    if found.skipped:
        pytest.skip(found.skipped)
    assert "Traceback" not in found.stderr, found.stderr
    assert found.code == case.card["exit"], found.stderr
    for fragment in case.card.get("stderr", []):
        assert fragment.format(deck=found.deck, record=found.record) in found.stderr
    if found.code != 0:
        assert "hint:" in found.stderr, found.stderr
        assert found.build_after == found.build_before, "build/ changed"
        assert found.slides_after == found.slides_before, "the deck or its record changed"
    else:
        for pattern in case.card["matches"]:
            assert re.search(pattern, found.built), pattern
    assert found.labs == [], "a lab was left behind"
    assert found.processes == [], "a process was left behind"
    assert found.temporary == [], "a temporary folder was left behind"


@pytest.fixture(scope="module")
def outcomes(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[dict[str, Future[Outcome]]]:
    """Every selected case, run side by side (a case's lab has a label of its own)."""
    chosen = {
        item.callspec.params["case"].name: item.callspec.params["case"]
        for item in request.session.items
        if item.module is sys.modules[__name__] and hasattr(item, "callspec")
    }
    rendering = any(case.format != "none" for case in chosen.values())
    seed = _previous_build(tmp_path_factory.mktemp("seed"), rendering)
    namespace = _lab_namespace() if any(c.lab == "docker" for c in chosen.values()) else {}
    root = tmp_path_factory.mktemp("corpus")
    # Read here, once: pytest sets and unsets PYTEST_CURRENT_TEST as tests go on, and a case's
    # thread copying os.environ meanwhile failed with a KeyError.
    environ = {**os.environ, **namespace}
    with ThreadPoolExecutor(WORKERS) as pool:
        # The Docker lab's cases first: they take the longest.
        order = sorted(chosen.values(), key=lambda c: (c.lab != "docker", c.name))
        yield {c.name: pool.submit(run_case, c, root / c.name, seed, environ) for c in order}
    if namespace:
        _remove_network(namespace["LIVEDECK_LAB_NETWORK"])


def run_case(case: Case, root: Path, seed: Path, environ: dict[str, str]) -> Outcome:
    """Build the case's deck in a folder of its own; see what it said and what it left."""
    temporary = Path(tempfile.mkdtemp(prefix="ldcorpus-", dir="/tmp"))  # short: marp's sockets
    try:
        return _run_case(case, root, seed, environ, temporary)
    finally:
        shutil.rmtree(temporary, ignore_errors=True)


def _run_case(
    case: Case, root: Path, seed: Path, environ: dict[str, str], temporary: Path
) -> Outcome:
    slides, build = root / "slides", root / "build"
    slides.mkdir(parents=True)
    deck = Path("slides") / f"{case.name}.md"  # as given on the command line (cwd: root)
    record = deck.with_suffix(".record.yaml")
    label = f"livedeck.lab.corpus-{secrets.token_hex(3)}-{case.name}"
    token = secrets.token_hex(8)
    env = {
        **environ,
        **case.card.get("env", {}),
        "PYTHONPATH": str(ROOT / "tools"),
        "TMPDIR": str(temporary),
        "LIVEDECK_LAB_LABEL": label,
        MARKER: token,
    }
    if "record_from" in case.card:
        (root / deck).write_text(case.card["record_from"], encoding="utf-8")
        _livedeck(["build", str(deck), "--lab", "local", "--format", "none"], root, env, check=True)
        shutil.rmtree(build)
    (root / deck).write_text(
        case.deck, encoding=case.card.get("encoding", "utf-8"), newline=case.card.get("newline")
    )
    if "record" in case.card:
        (root / record).write_bytes(case.card["record"].encode("latin-1"))
    _seed(seed, build, case.name)
    argv = ["build", str(deck), "--lab", case.lab, "--format", case.format]
    argv += case.card.get("args", [])
    argv += ["--images", "mirror"] if case.lab == "docker" and "--images" not in argv else []
    outcome = Outcome(0, "", str(deck), str(record))
    outcome.build_before, outcome.slides_before = _hashes(build), _hashes(slides)
    prefix: list[str] = []
    out = case.card.get("out")
    if out == "full":
        prefix = ["prlimit", f"--fsize={FULL_DISK_BYTES}"]
    elif out == "read-only" and not _make_read_only(build):
        outcome.skipped = "chattr +i does not work here, and root ignores chmod 555"
        return outcome
    try:
        done = _livedeck(argv, root, env, prefix=prefix)
    finally:
        if out == "read-only":
            _make_writable(build)
    outcome.code, outcome.stderr = done.returncode, done.stderr
    outcome.build_after, outcome.slides_after = _hashes(build), _hashes(slides)
    if done.returncode == 0:
        outcome.built = (build / f"{case.name}.md").read_text(encoding="utf-8")
    outcome.processes = _processes_marked(token)
    outcome.temporary = [str(p) for p in temporary.iterdir()]
    outcome.temporary += [str(p) for p in Path("/tmp").glob(f"livedeck-*-{done.pid}.*")]
    outcome.labs = _labs_labelled(label) if case.lab == "docker" else []
    return outcome


@dataclass(frozen=True)
class Done:
    pid: int
    returncode: int
    stderr: str


def _livedeck(
    argv: list[str],
    cwd: Path,
    env: dict[str, str],
    *,
    prefix: list[str] | None = None,
    check: bool = False,
) -> Done:
    command = [*(prefix or []), sys.executable, "-m", "livedeck", *argv]
    if not prefix:
        done = forks.livedeck(*argv, cwd=cwd, env=env, errors="replace")
        if check and done.returncode != 0:
            raise AssertionError(f"{command} failed:\n{done.stderr}")
        return Done(done.pid, done.returncode, done.stderr)
    with subprocess.Popen(
        command,
        cwd=cwd,
        env=env,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
        errors="replace",
    ) as proc:
        _, stderr = proc.communicate(timeout=300)
    if check and proc.returncode != 0:
        raise AssertionError(f"{command} failed:\n{stderr}")
    return Done(proc.pid, proc.returncode, stderr)


def _previous_build(root: Path, rendering: bool) -> Path:
    """A real build of a small deck with a picture: what each case's build/ starts from."""
    (root / "slides" / "img").mkdir(parents=True)
    shutil.copy(PICTURE, root / "slides" / "img" / "pic.png")
    (root / "slides" / "previous.md").write_text(
        "---\nmarp: true\n---\n\n# Previous\n\n```bash\nme@box:~$ echo previous\n```\n\n"
        "![w:100](./img/pic.png)\n",
        encoding="utf-8",
    )
    env = {**os.environ, "PYTHONPATH": str(ROOT / "tools")}
    formats = "html" if rendering else "none"
    argv = ["build", "slides/previous.md", "--lab", "local", "--format", formats]
    _livedeck(argv, root, env, check=True)
    return root / "build"


def _seed(seed: Path, build: Path, name: str) -> None:
    """The previous build's files, its deck's outputs renamed to the case's."""
    for source in seed.rglob("*"):
        if source.is_file():
            relative = source.relative_to(seed)
            if relative.stem == "previous":
                relative = relative.with_stem(name)
            (build / relative).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, build / relative)


def _hashes(folder: Path) -> dict[str, str]:
    """Every file and folder under `folder` (hidden ones too) -> its SHA-256 ("dir": folders)."""
    found = {}
    for path in sorted(folder.rglob("*")):
        key = str(path.relative_to(folder))
        found[key] = "dir" if path.is_dir() else hashlib.sha256(path.read_bytes()).hexdigest()
    return found


def _make_read_only(folder: Path) -> bool:
    if os.geteuid() != 0:
        folder.chmod(0o555)
        return True
    done = subprocess.run(["chattr", "+i", str(folder)], capture_output=True, check=False)
    return done.returncode == 0


def _make_writable(folder: Path) -> None:
    if os.geteuid() == 0:
        subprocess.run(["chattr", "-i", str(folder)], capture_output=True, check=False)
    folder.chmod(0o755)


def _processes_marked(token: str) -> list[str]:
    """Processes whose environment carries the case's marker, once the grace has passed."""
    needle = f"{MARKER}={token}".encode()
    deadline = time.monotonic() + GRACE
    while True:
        found = []
        for entry in Path("/proc").iterdir():
            if not entry.name.isdigit():
                continue
            try:
                if needle in (entry / "environ").read_bytes().split(b"\0"):
                    found.append((entry / "cmdline").read_bytes().replace(b"\0", b" ").decode())
            except OSError:
                continue
        if not found or time.monotonic() > deadline:
            return found
        time.sleep(0.2)


def _lab_namespace() -> dict[str, str]:
    """A network and subnet of the module's own for the Docker lab's cases."""
    tag = secrets.token_hex(3)
    return {
        "LIVEDECK_LAB_NETWORK": f"ldcorpus-{tag}",
        "LIVEDECK_LAB_SUBNET": free_subnet(218)[0],
    }


def _labs_labelled(label: str) -> list[str]:
    """Containers with the case's label; removed (after being counted) if any."""
    import docker

    host = docker.from_env()
    try:
        found = host.containers.list(all=True, filters={"label": label})
        for container in found:
            container.remove(v=True, force=True)
        return [container.name for container in found]
    finally:
        host.close()


def _remove_network(name: str) -> None:
    import docker

    host = docker.from_env()
    try:
        for network in host.networks.list(names=[name]):
            if network.name == name:
                network.remove()
    finally:
        host.close()
