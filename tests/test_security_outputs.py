"""Attacks through what commands print: output is text wherever livedeck puts it (a slide's code
block, a document's page, the refresh summary a pull request shows), never live Markdown or
HTML. Real builds and refreshes on this machine's shell (`--lab local`).

The summary is read as GitHub would (CommonMark, markdown-it-py): the pixel, link and HTML a
screen prints must stay inside code.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from markdown_it import MarkdownIt

import forks
from security import ROOT

# What a hostile program prints: a fence that would end the code block, then live Markdown.
HOSTILE = [
    "```",
    "````",
    "![pixel](http://evil.example/p.png)",
    "[approve](http://evil.example/ok)",
    "<script>alert(1)</script>",
    "<img src=x onerror=alert(1)>",
    "`` ` ``",
    "x` ![pixel](http://evil.example/p2.png) `y",
]


def live(html: str) -> None:
    """Assert no hostile line became a live picture, link or tag in `html`."""
    assert 'src="http://evil' not in html and 'href="http://evil' not in html
    assert "<script>" not in html and "<img src=x" not in html


def livedeck(*args: str, cwd: Path) -> forks.Ran:
    environ = {**os.environ, "PYTHONPATH": str(ROOT / "tools")}
    environ.pop("CI", None)
    return forks.livedeck(*args, cwd=cwd, env=environ)


def printing(folder: Path, lines: list[str]) -> Path:
    """A file whose `cat` prints `lines`."""
    story = folder / "story.txt"
    story.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return story


@pytest.mark.parametrize("line", HOSTILE)
def test_a_document_shows_output_as_text(line: str, tmp_path: Path) -> None:
    story = printing(tmp_path, ["before", line, "after"])
    deck = tmp_path / "doc.md"
    deck.write_text(
        f"# A page\n\n```bash\nme@box:~$ cat {story}\n```\n\nIn prose: {{{{ last.output | code }}}}"
        "\n\nAs Markdown: {{ last.output }}\n\n[click](javascript:alert(1))\n",
        encoding="utf-8",
    )
    done = livedeck("build", "--lab", "local", "--format", "html", str(deck), cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    page = (tmp_path / "build" / "doc.html").read_text(encoding="utf-8")
    body = page.split("<body>", 1)[1]
    code, markdown = body.split("As Markdown:", 1)
    live(code)
    # Output a template puts into prose as it is, is Markdown (the author's choice), but its
    # HTML is still text, and no address runs script.
    assert "<script>" not in markdown and "<img src=x" not in markdown
    assert 'href="javascript:' not in body


@pytest.mark.parametrize("line", HOSTILE)
def test_a_slide_keeps_output_in_its_code_block(line: str, tmp_path: Path) -> None:
    story = printing(tmp_path, ["before", line, "after"])
    deck = tmp_path / "slides.md"
    deck.write_text(
        f"---\nmarp: true\n---\n\n# A slide\n\n```bash\nme@box:~$ cat {story}\n```\n",
        encoding="utf-8",
    )
    done = livedeck("build", "--lab", "local", "--format", "none", str(deck), cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    html = MarkdownIt("commonmark").render((tmp_path / "build" / "slides.md").read_text())
    code = html.split("<pre><code", 1)[1].split("</code></pre>", 1)[0]
    assert "after" in code  # the whole screen is in one code block
    live(html.replace(code, ""))
    assert "<img" not in html and "<a " not in html


@pytest.mark.marp
def test_the_refresh_summary_keeps_screens_and_commands_in_code(tmp_path: Path) -> None:
    story = printing(tmp_path, ["a: Pull complete"])
    deck = tmp_path / "slides" / "layers.md"
    deck.parent.mkdir()
    deck.write_text(
        f"---\nmarp: true\n---\n\n# Layers\n\n```bash\nme@box:~$ cat {story} # ` ![c](http://evil.example/c.png) `\n```\n",
        encoding="utf-8",
    )
    done = livedeck("build", "--lab", "local", "--format", "none", str(deck), cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    printing(tmp_path, ["a: Pull complete", *HOSTILE])
    summary = tmp_path / "refresh.md"
    done = livedeck(
        "refresh",
        str(deck),
        "--all",
        "--lab",
        "local",
        "--images",
        "mirror",
        "-q",
        "--summary",
        str(summary),
        cwd=tmp_path,
    )
    assert done.returncode == 0, done.stderr
    text = summary.read_text(encoding="utf-8")
    assert "evil.example" in text  # the change is summarised...
    live(MarkdownIt("commonmark").enable("table").render(text))  # ...as text
