"""publish: real marp-cli and Chromium (marked `marp`), and pure-logic tests with a fake marp."""

from __future__ import annotations

import contextlib
import os
import re
import shutil
import subprocess
import tempfile
import time
import zipfile
from collections.abc import Mapping, Sequence
from pathlib import Path

import pytest

from livedeck.errors import PublishError, ToolMissing
from livedeck.publish import check_decks, publish
from livedeck.publish.marp import REPO_ROOT, MarpRun, marp_messages, run_marp
from livedeck.publish.warm import WarmMarp
from marps import Lent

PICTURE = REPO_ROOT / "img" / "container-layers.jpeg"

DECK_A = """\
---
marp: true
paginate: true
---

# Deck A

first slide

---

## A picture

![h:350](./img/container-layers.jpeg)

---

## Third slide
"""

DECK_B = """\
---
marp: true
---

# Deck B

한국어도 나옵니다

---

## Second slide of B
"""

# A slide far larger than Chromium can print: marp-cli fails the whole PDF batch with
# "Printing failed" and names no file.
HUGE_THEME = """\
/* @theme huge */
@import 'default';
section { width: 100000px; height: 100000px; }
"""

BROKEN_DECK = """\
---
marp: true
theme: huge
---

# Too big to print
"""


class CountingRunner:
    """The real runner, counting the marp calls."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, ...]] = []

    def __call__(self, argv: Sequence[str], *, env: Mapping[str, str], timeout: float) -> MarpRun:
        self.calls.append(tuple(argv))
        return run_marp(argv, env=env, timeout=timeout)


def stage(root: Path, decks: Mapping[str, str], *, picture: bool = True) -> list[Path]:
    """Write decks into root as the render stage does, with img/ beside them."""
    root.mkdir(parents=True, exist_ok=True)
    if picture:
        (root / "img").mkdir()
        shutil.copy(PICTURE, root / "img" / PICTURE.name)
    paths = []
    for name, text in decks.items():
        path = root / name
        path.write_text(text, encoding="utf-8")
        paths.append(path)
    return paths


def pdf_pages(pdf: Path) -> int:
    info = subprocess.run(["pdfinfo", str(pdf)], capture_output=True, text=True, check=True)
    match = re.search(r"^Pages:\s+(\d+)", info.stdout, re.MULTILINE)
    assert match, info.stdout
    return int(match.group(1))


def pdf_images(pdf: Path) -> list[list[str]]:
    """Rows of `pdfimages -list`: page, num, type, width, height, ..."""
    listing = subprocess.run(["pdfimages", "-list", str(pdf)], capture_output=True, text=True)
    return [line.split() for line in listing.stdout.splitlines()[2:]]


def marp_tmp_dirs() -> set[str]:
    return {p.name for p in Path(tempfile.gettempdir()).glob("marp-cli-*")} | {
        p.name for p in Path("/tmp").glob("marp-cli-*")
    }


def snapshot(directory: Path) -> dict[str, tuple[bytes, int]]:
    return {p.name: (p.read_bytes(), p.stat().st_mtime_ns) for p in sorted(directory.iterdir())}


@pytest.mark.marp
def test_two_decks_become_html_and_pdf_with_one_marp_call_per_format(tmp_path: Path) -> None:
    decks = stage(tmp_path / "stage", {"a.md": DECK_A, "b.md": DECK_B})
    out = tmp_path / "out"
    runner = CountingRunner()
    before = marp_tmp_dirs()

    outputs = publish(decks, out, ("html", "pdf"), runner=runner)

    assert outputs == [out / "a.html", out / "b.html", out / "a.pdf", out / "b.pdf"]
    assert sorted(p.name for p in out.iterdir()) == ["a.html", "a.pdf", "b.html", "b.pdf"]
    assert len(runner.calls) == 2
    assert sum("--pdf" in call for call in runner.calls) == 1
    assert pdf_pages(out / "a.pdf") == 3
    assert pdf_pages(out / "b.pdf") == 2
    html = (out / "b.html").read_text(encoding="utf-8")
    assert "한국어도 나옵니다" in html
    assert marp_tmp_dirs() - before == set()


@pytest.mark.marp
def test_pptx_is_a_powerpoint_zip_with_one_slide_per_page(tmp_path: Path, warm_marp: Lent) -> None:
    decks = stage(tmp_path / "stage", {"b.md": DECK_B})
    out = tmp_path / "out"

    assert publish(decks, out, ("pptx",), runner=warm_marp.run) == [out / "b.pptx"]

    with zipfile.ZipFile(out / "b.pptx") as pptx:
        names = pptx.namelist()
    assert "ppt/presentation.xml" in names
    assert len([n for n in names if re.fullmatch(r"ppt/slides/slide\d+\.xml", n)]) == 2


@pytest.mark.marp
def test_a_picture_referenced_relatively_is_in_the_pdf(tmp_path: Path, warm_marp: Lent) -> None:
    decks = stage(tmp_path / "stage", {"a.md": DECK_A})
    out = tmp_path / "out"

    publish(decks, out, ("pdf",), runner=warm_marp.run)

    images = pdf_images(out / "a.pdf")
    # On page 2, at the JPEG's own size (1000x750).
    assert [(row[0], row[3], row[4]) for row in images] == [("2", "1000", "750")]
    assert (out / "a.pdf").stat().st_size > PICTURE.stat().st_size


@pytest.mark.marp
def test_a_broken_deck_is_named_and_out_dir_stays_as_it_was(
    tmp_path: Path, warm_marp: Lent
) -> None:
    staged = tmp_path / "stage"
    decks = stage(staged, {"a.md": DECK_A, "broken.md": BROKEN_DECK, "b.md": DECK_B})
    (staged / "huge.css").write_text(HUGE_THEME)
    out = tmp_path / "out"
    out.mkdir()
    for name in ("a.html", "a.pdf", "broken.pdf", "b.pdf"):
        (out / name).write_bytes(f"previous {name}".encode())
        os.utime(out / name, ns=(1_600_000_000_000_000_000, 1_600_000_000_000_000_000))
    previous = snapshot(out)
    before = marp_tmp_dirs()

    with pytest.raises(PublishError) as caught:
        publish(decks, out, runner=warm_marp.run)

    message = str(caught.value)
    assert message.startswith(f"{staged / 'broken.md'}: ")
    assert "Printing failed" in message  # the tail of marp's log
    assert snapshot(out) == previous  # same files, bytes and mtimes; no staging dir left
    assert marp_tmp_dirs() - before == set()


@pytest.mark.marp
@pytest.mark.parametrize("warm", [False, True], ids=["marp-cli", "build's warm marp-cli"])
def test_a_missing_picture_fails_instead_of_a_pdf_without_it(
    tmp_path: Path, warm_marp: Lent, warm: bool
) -> None:
    """Named in both: marp-cli's API (build's node) writes the line that names the picture only
    when DEBUG says so before it loads (tools/marp/warm.mjs)."""
    deck = stage(tmp_path / "stage", {"a.md": DECK_A.replace("container-layers", "nope")})

    with pytest.raises(PublishError, match=r"a\.md: pictures could not be put .*img/nope\.jpeg"):
        publish(deck, tmp_path / "out", ("pdf",), runner=warm_marp.run if warm else run_marp)

    assert list((tmp_path / "out").iterdir()) == []


@pytest.mark.marp
def test_after_a_failed_pdf_the_warm_marp_cli_still_measures(tmp_path: Path) -> None:
    """marp-cli makes PDFs in build's node in tabs of the browser the measuring tab is in; when
    one of three decks failed ("Printing failed"), a tab of theirs stayed in front, and the next
    measurement waited for a frame that a tab behind never draws: until the protocol's timeout
    (180 s), then "Chromium could not measure the slides" (`watch`, the suite's lent marp)."""
    staged = tmp_path / "stage"
    failing = stage(staged, {"a.md": DECK_A, "broken.md": BROKEN_DECK, "b.md": DECK_B})
    (staged / "huge.css").write_text(HUGE_THEME)
    decks = stage(tmp_path / "next", {"a.md": DECK_A})
    with WarmMarp(timeout=30) as marp:
        with pytest.raises(PublishError, match="Printing failed"):
            publish(failing, tmp_path / "out", runner=marp.run)
        started = time.monotonic()
        assert [len(boxes) for boxes in marp.measure(decks).values()] == [3]
        assert time.monotonic() - started < 20


@pytest.mark.marp
@pytest.mark.parametrize("warm", [False, True], ids=["marp-cli", "build's warm marp-cli"])
def test_a_hanging_deck_is_stopped_and_named(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, warm: bool
) -> None:
    """A picture that never loads (a FIFO) hangs marp after its own error: publish stops it,
    whether marp-cli runs as a program or in build's node (WarmMarp.run)."""
    staged = tmp_path / "stage"
    (deck,) = stage(staged, {"hang.md": DECK_A.replace("container-layers.jpeg", "fifo.png")})
    os.mkfifo(staged / "img" / "fifo.png")
    temp = Path(tempfile.mkdtemp(prefix="ld-test-", dir="/tmp"))  # holds publish's scratch
    monkeypatch.setattr(tempfile, "tempdir", str(temp))
    try:
        with (
            WarmMarp() if warm else contextlib.nullcontext() as marp,
            pytest.raises(
                PublishError, match=r"hang\.md: marp-cli did not finish the PDF within 3 s"
            ),
        ):
            runner = run_marp if marp is None else marp.run
            publish([deck], tmp_path / "out", ("pdf",), timeout=3, runner=runner)

        # Neither marp nor Chromium goes on running (killed, they may take a moment to be
        # gone from the process table on a loaded machine), and the scratch directory is gone.
        deadline = time.monotonic() + 5
        while (
            running := [c for c in command_lines() if str(temp) in c or str(staged) in c]
        ) and time.monotonic() < deadline:
            time.sleep(0.2)
        assert running == []
        assert list(temp.iterdir()) == []
    finally:
        shutil.rmtree(temp)


def test_a_stopped_marp_takes_its_browser_along_even_when_it_dies_first(tmp_path: Path) -> None:
    """Chromium runs in a session of its own; a marp that ignores SIGTERM and is killed leaves
    it orphaned. Whatever the call started goes with it, wherever it ran off to."""
    fake = tmp_path / "marp"
    fake.write_text(
        "#!/bin/sh\n"
        "setsid sleep 301 &\n"  # the browser: its own session, as puppeteer starts Chromium
        "trap '' TERM\n"  # a marp too busy to hear SIGTERM
        "sleep 302\n"
    )
    fake.chmod(0o755)
    started = time.monotonic()
    run = run_marp([str(fake)], env=os.environ, timeout=1)
    assert run.returncode is None
    assert time.monotonic() - started < 30
    deadline = time.monotonic() + 5
    while (
        left := [c for c in command_lines() if c.startswith(("sleep 301", "sleep 302"))]
    ) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert left == []


def command_lines() -> list[str]:
    lines = []
    for cmdline in Path("/proc").glob("[0-9]*/cmdline"):
        with contextlib.suppress(OSError):
            lines.append(cmdline.read_bytes().replace(b"\0", b" ").decode(errors="replace"))
    return lines


# Pure logic, with a fake runner: no Node, no browser.


class FakeMarp:
    """Plays marp-cli: writes the outputs it is asked for, and fails for decks named `bad`."""

    def __init__(self) -> None:
        self.calls: list[tuple[list[str], dict[str, str]]] = []

    def __call__(self, argv: Sequence[str], *, env: Mapping[str, str], timeout: float) -> MarpRun:
        args = list(argv)
        self.calls.append((args, dict(env)))
        suffix = ".pdf" if "--pdf" in args else ".html"
        out = Path(args[args.index("-o") + 1])
        if "--input-dir" in args:
            decks = sorted(Path(args[args.index("--input-dir") + 1]).glob("*.md"))
            targets = {deck: out / (deck.stem + suffix) for deck in decks}
        else:
            deck = Path(args[-1])
            decks, targets = [deck], {deck: out}
        if any(deck.stem == "bad" for deck in decks):
            return MarpRun(tuple(args), 1, "[ ERROR ] Failed converting Markdown. (boom)\n")
        for target in targets.values():
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_text("made")
        return MarpRun(tuple(args), 0, "")


@pytest.fixture
def fake_env(tmp_path: Path) -> dict[str, str]:
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    for name in ("marp", "node", "chromium"):
        (bin_dir / name).write_text("#!/bin/sh\nexit 1\n")
        (bin_dir / name).chmod(0o755)
    return {"PATH": str(bin_dir), "LIVEDECK_MARP": str(bin_dir / "marp")}


def test_command_lines_one_call_per_format(tmp_path: Path, fake_env: dict[str, str]) -> None:
    decks = stage(tmp_path / "stage", {"a.md": "# a", "b.md": "# b"}, picture=False)
    out = tmp_path / "out"
    marp = FakeMarp()

    outputs = publish(decks, out, ("html", "pdf"), runner=marp, env=fake_env)

    assert [p.name for p in outputs] == ["a.html", "b.html", "a.pdf", "b.pdf"]
    assert sorted(p.name for p in out.iterdir()) == ["a.html", "a.pdf", "b.html", "b.pdf"]
    (html, _), (pdf, pdf_env) = marp.calls
    for argv in (html, pdf):
        assert argv[0] == fake_env["LIVEDECK_MARP"]
        assert {"--no-stdin", "--no-config-file", "--allow-local-files"} <= set(argv)
        assert "--html" not in argv
        assert argv[argv.index("--input-dir") + 1] == str(tmp_path / "stage")
        staging = Path(argv[argv.index("-o") + 1])
        assert staging.parent.parent == out and staging.parent.name.startswith(".publish-")
    assert "--pdf" not in html
    assert "--pdf" in pdf and pdf[pdf.index("--browser") + 1] == "chrome"
    assert pdf_env["CHROME_PATH"] == str(tmp_path / "bin" / "chromium")
    scratch = Path(pdf_env["TMPDIR"])
    assert pdf_env["HOME"] == str(scratch) and scratch.name.startswith("livedeck-marp-")
    assert not scratch.exists()


def test_a_failed_batch_is_blamed_on_its_deck(tmp_path: Path, fake_env: dict[str, str]) -> None:
    decks = stage(tmp_path / "stage", {"a.md": "# a", "bad.md": "# b"}, picture=False)
    out = tmp_path / "out"
    out.mkdir()
    (out / "a.html").write_text("previous")
    marp = FakeMarp()

    with pytest.raises(PublishError) as caught:
        publish(decks, out, ("html",), runner=marp, env=fake_env)

    assert str(caught.value).splitlines()[0] == (
        f"{tmp_path / 'stage' / 'bad.md'}: marp-cli could not make the HTML (exit status 1)"
    )
    assert "    | [ ERROR ] Failed converting Markdown. (boom)" in str(caught.value)
    # The batch, then deck by deck until the bad one; each alone is converted by file name.
    assert [call[0][-1] for call in marp.calls[1:]] == [str(d) for d in decks]
    assert all("--" in call[0] for call in marp.calls[1:])
    assert [p.name for p in out.iterdir()] == ["a.html"]
    assert (out / "a.html").read_text() == "previous"


def test_missing_tools_say_what_to_run(tmp_path: Path, fake_env: dict[str, str]) -> None:
    decks = stage(tmp_path / "stage", {"a.md": "# a"}, picture=False)
    no_marp = {**fake_env, "LIVEDECK_MARP": str(tmp_path / "nowhere" / "marp")}
    with pytest.raises(ToolMissing, match=r"run tools/setup/publish-deps\.sh"):
        publish(decks, tmp_path / "out", runner=FakeMarp(), env=no_marp)
    no_chromium = {**fake_env, "PATH": str(tmp_path)}
    (tmp_path / "node").write_text("")
    (tmp_path / "node").chmod(0o755)
    with pytest.raises(ToolMissing, match="apt-get install chromium"):
        publish(decks, tmp_path / "out", runner=FakeMarp(), env=no_chromium)
    bad_chrome = {**fake_env, "CHROME_PATH": str(tmp_path / "no-such-browser")}
    with pytest.raises(ToolMissing, match="CHROME_PATH"):
        publish(decks, tmp_path / "out", ("pdf",), runner=FakeMarp(), env=bad_chrome)
    assert not (tmp_path / "out").exists()


def test_decks_must_be_alone_in_one_directory(tmp_path: Path) -> None:
    one, two = stage(tmp_path / "x", {"one.md": "# 1", "two.md": "# 2"}, picture=False)
    (tmp_path / "x" / "notes").mkdir()
    (tmp_path / "x" / "notes" / "README.md").write_text("not a deck")
    with pytest.raises(ValueError, match=r"not being published: notes/README\.md"):
        check_decks([one, two])
    check_decks([one])  # one deck is converted by file name: neighbours do not matter
    (other,) = stage(tmp_path / "y", {"three.md": "# 3"}, picture=False)
    with pytest.raises(ValueError, match="one directory"):
        check_decks([one, other])


def test_marp_messages_drop_debug_noise() -> None:
    log = (
        "[  INFO ] Converting 1 markdown...\n"
        "2026-01-01T00:00:00.000Z marp-cli CLIError: Edge browser could not be found.\n"
        "    at edge (manager.js:18:6650) {\n"
        "  errorCode: 2\n"
        "}\n"
        "[ ERROR ] Failed converting Markdown. (Protocol error (Page.printToPDF):\n"
        "          Printing failed)\n"
    )
    assert marp_messages(log) == [
        "[  INFO ] Converting 1 markdown...",
        "[ ERROR ] Failed converting Markdown. (Protocol error (Page.printToPDF):",
        "          Printing failed)",
    ]
