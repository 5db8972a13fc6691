"""Jinja2 in decks, next to shell and Go templates that must pass through untouched. Pure."""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import jinja2
from jinja2 import meta

from livedeck.errors import DeckError
from livedeck.fences import code_span
from livedeck.frozen import is_frozen_dataclass
from livedeck.render.costs import BoundedSandbox
from livedeck.render.limits import guarded, template_line

# `{{ ... }}` that is a Go template (docker --format): it reads `.Field`, `$var`, or calls a
# function with arguments (`json .`, `index .Labels "k"`), or is a bare `end`/`else`.
_GO_TEMPLATE = re.compile(
    r"""\{\{-?\s*(?:[.$]|(?:end|else)\s*-?\}\}|[A-Za-z_]\w*\s+[.$"(])""",
)
_SHELL_HASH = re.compile(r"\$\{#")  # ${#ARRAY[@]}: length in bash, a comment start in Jinja
_TAGS = re.compile(r"\{\{|\{%|\{#")


class ReadOnlySandbox(BoundedSandbox):
    """jinja2's sandbox, with no method that changes a list, dict or set (the immutable one), and
    no attribute at all of a livedeck object that is not frozen data: the context holds only
    frozen data (frozen.require_plain), and should a mutable one slip in, a template still
    cannot read, let alone change it. What a template may cost is bounded (costs, limits)."""

    def is_safe_attribute(self, obj: Any, attr: str, value: Any) -> bool:
        """Whether a template may read `obj.attr` (jinja2 asks for every attribute and method)."""
        if not super().is_safe_attribute(obj, attr, value):
            return False
        module = type(obj).__module__ or ""
        if module == "livedeck" or module.startswith("livedeck."):
            return is_frozen_dataclass(obj) or type(obj).__name__ == "FrozenMap"
        return True


# Sandboxed: a deck's template reads results and lab facts, and cannot reach Python's
# internals (`''.__class__.__mro__`, `lipsum.__globals__`) to run code on the author's machine,
# nor change anything livedeck holds (`x.update(...)`, `x.append(...)`).
_ENV = ReadOnlySandbox(
    undefined=jinja2.StrictUndefined,
    autoescape=False,
    keep_trailing_newline=True,
)
# `{{ last.output | code }}`: output in prose as inline code, which no screen text can leave.
_ENV.filters["code"] = lambda value: code_span(str(value))


def protect(text: str) -> str:
    """Wrap shell and Go template syntax in `{% raw %}` so Jinja leaves it as it is."""
    if not _TAGS.search(text):
        return text
    spans: list[tuple[int, int]] = []
    for start, end in _spans(text, "{{", "}}"):
        if _GO_TEMPLATE.match(text, start, end):
            spans.append((start, end))
    for match in _SHELL_HASH.finditer(text):
        spans.append((match.start(), match.end()))
    if not spans:
        return text
    out, last = [], 0
    for start, end in sorted(spans):
        if start < last:
            continue
        out += [text[last:start], "{% raw %}", text[start:end], "{% endraw %}"]
        last = end
    out.append(text[last:])
    return "".join(out)


def has_template(text: str) -> bool:
    """Whether `text` holds Jinja syntax (after shell and Go templates are set aside)."""
    text = protect(text)
    kept, last = [], 0
    for start, end in _spans(text, "{% raw %}", "{% endraw %}"):
        kept.append(text[last:start])
        last = end
    kept.append(text[last:])
    return any(_TAGS.search(part) for part in kept)


def _spans(text: str, opening: str, closing: str) -> Iterator[tuple[int, int]]:
    """Where `opening ... closing` pairs are (the shortest, left to right), in linear time: a
    regex `opening.*?closing` retries from every opening, quadratic in a deck of `{{` alone."""
    start = text.find(opening)
    while start != -1:
        end = text.find(closing, start + len(opening))
        if end == -1:
            return  # no later opening has a closing either
        yield start, end + len(closing)
        start = text.find(opening, end + len(closing))


def names_used(text: str, path: Path, line: int) -> set[str]:
    """The context names a template reads (to know which lab facts to collect, and when)."""
    if not has_template(text):
        return set()
    try:
        return set(meta.find_undeclared_variables(_ENV.parse(protect(text))))
    except jinja2.TemplateSyntaxError as error:
        raise _syntax_error(error, path, line) from error
    except RecursionError as error:  # `{{ {{{{{{...` nests past Python's stack
        raise DeckError(
            path, line, "template nests too deeply to read", hint="write fewer nested brackets"
        ) from error


def render_template(text: str, context: Mapping[str, Any], path: Path, line: int) -> str:
    """Render `text` (which starts at deck line `line`); errors point at the deck's line."""
    if not has_template(text):
        return text
    name = f"{path}:{line}"
    try:
        template = _ENV.from_string(protect(text))
        template.name = template.filename = name
        with guarded(path, line, name) as render:
            return render.output(template, context)
    except jinja2.TemplateSyntaxError as error:
        raise _syntax_error(error, path, line) from error
    except DeckError:
        raise
    except Exception as error:  # undefined names, bad filters, errors in helpers
        where = line + template_line(error, name) - 1
        raise DeckError(
            path,
            where,
            f"template error: {_describe(error)}",
            hint="names you can use: "
            + ", ".join(sorted(k for k in context if not k.startswith("_"))),
        ) from error


def evaluate(expression: str, context: Mapping[str, Any], path: Path, line: int) -> Any:
    """Evaluate a Jinja expression (an assertion) at deck line `line`."""
    try:
        compiled = _ENV.compile_expression(expression, undefined_to_none=False)
        with guarded(path, line, expression):
            value = compiled(**context)
        if isinstance(value, jinja2.Undefined):  # an undefined name, or a refused attribute
            value._fail_with_undefined_error()
        return value
    except jinja2.TemplateSyntaxError as error:
        raise DeckError(
            path, line, f"assertion is not a valid expression: {error.message}"
        ) from error
    except DeckError:
        raise
    except Exception as error:
        raise DeckError(path, line, f"assertion {expression!r}: {_describe(error)}") from error


def _syntax_error(error: jinja2.TemplateSyntaxError, path: Path, line: int) -> DeckError:
    return DeckError(
        path,
        line + (error.lineno or 1) - 1,
        f"template syntax error: {error.message}",
        hint="to show `{{` as it is, write {{ '{{' }} or wrap it in {% raw %}...{% endraw %}",
    )


def _describe(error: BaseException) -> str:
    if isinstance(error, jinja2.UndefinedError):
        return f"{error.message} (an undefined name is an error, never an empty string)"
    return str(error) or type(error).__name__
