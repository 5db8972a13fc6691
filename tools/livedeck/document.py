"""Documents: a Markdown file without `marp: true` is a page, not slides. Pure.

Its commands run and its screens are refreshed like a deck's; it is published as one HTML page
(python-markdown), with no slide measuring and no PDF.
"""

from __future__ import annotations

import html

import markdown

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
    body = markdown.markdown(
        "\n".join(lines), extensions=["fenced_code", "tables"], output_format="html"
    )
    return (
        '<!DOCTYPE html>\n<html>\n<head>\n<meta charset="utf-8">\n'
        f"<title>{html.escape(title)}</title>\n<style>{_STYLE}</style>\n</head>\n"
        f"<body>\n{body}\n</body>\n</html>\n"
    )
