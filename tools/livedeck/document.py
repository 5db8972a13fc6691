"""Documents: a Markdown file without `marp: true` is a page, not slides. Pure.

Its commands run and its screens are refreshed like a deck's; it is published as one HTML page
(python-markdown), with no slide measuring and no PDF.

A document holds text livedeck did not write: command output (in a fence, or put into prose by a
template) and a colleague's prose. Like a Marp slide, its page shows HTML tags as text and
never runs them: python-markdown's raw HTML is switched off, HTML comments (notes, directives)
are dropped, and a link or picture may not use a `javascript:` (or other script) address.
"""

from __future__ import annotations

import html
import re
import xml.etree.ElementTree as etree

import markdown
from markdown.preprocessors import Preprocessor
from markdown.treeprocessors import Treeprocessor

_STYLE = """
body { max-width: 52rem; margin: 2rem auto; padding: 0 1rem; color: #27343a;
       font: 16px/1.6 "NanumSquare", "Noto Sans CJK KR", sans-serif; }
pre { background: #f4f6f7; padding: .8rem 1rem; overflow-x: auto; line-height: 1.35; }
code { font-family: "D2Coding", "Noto Sans Mono CJK KR", monospace; font-size: .9em; }
table { border-collapse: collapse; } th, td { border: 1px solid #ccd; padding: .2rem .6rem; }
img { max-width: 100%; }
"""


def document_html(text: str, title: str) -> str:
    """A rendered document's Markdown (front matter and all) as one standalone HTML page."""
    lines = text.split("\n")
    if lines and lines[0].rstrip() == "---":
        end = next((i for i in range(1, len(lines)) if lines[i].rstrip() == "---"), 0)
        lines = lines[end + 1 :]
    body = _markdown().convert("\n".join(lines))
    return (
        '<!DOCTYPE html>\n<html>\n<head>\n<meta charset="utf-8">\n'
        f"<title>{html.escape(title)}</title>\n<style>{_STYLE}</style>\n</head>\n"
        f"<body>\n{body}\n</body>\n</html>\n"
    )


_COMMENT = re.compile(r"<!--.*?-->", re.DOTALL)
# Addresses a browser runs as script (or as a page of the author's choice): never in a document.
_UNSAFE_URL = re.compile(r"^\s*(?:javascript|vbscript|data|file)\s*:", re.IGNORECASE)


class _NoComments(Preprocessor):
    """Drop HTML comments from the text; fences are stashed away by then, and keep theirs."""

    def run(self, lines: list[str]) -> list[str]:
        return _COMMENT.sub("", "\n".join(lines)).split("\n")


class _SafeUrls(Treeprocessor):
    """Drop every href/src whose address would run script or read a local file."""

    def run(self, root: etree.Element) -> None:
        for element in root.iter():
            for name in ("href", "src"):
                value = element.get(name)
                if value is not None and _UNSAFE_URL.match(html.unescape(value)):
                    element.set(name, "")


def _markdown() -> markdown.Markdown:
    """python-markdown for documents: fences and tables; HTML in the text is shown, not run."""
    md = markdown.Markdown(extensions=["fenced_code", "tables"], output_format="html")
    md.preprocessors.deregister("html_block")
    md.preprocessors.register(_NoComments(md), "no_comments", 20)  # after fenced_code (25)
    md.inlinePatterns.deregister("html")
    md.treeprocessors.register(_SafeUrls(md), "safe_urls", 0)
    return md
