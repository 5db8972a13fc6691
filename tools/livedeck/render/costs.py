"""The cost of one operator, call or filter in a template, estimated before it runs. Pure.

The layer of limits.py that sees single C calls (`'x' * 10**10`, `'x'.center(10**10)`). What
holds for every value: a list, tuple or dict a template writes, a call's or a filter's result
and an operator's result has at most SIZE items and characters, a nested value counted each
time it is referred to. What is estimated before a call, a list of what is known to be costly:
integer parameters (widths, counts), `%` and `.format` widths, `*`, `**`, `+`, replace, join
and sum of sequences.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Callable, Iterable, Mapping
from itertools import chain
from typing import Any

from jinja2 import nodes
from jinja2.compiler import CodeGenerator, Frame
from jinja2.runtime import Context, Undefined
from jinja2.sandbox import ImmutableSandboxedEnvironment, SandboxedFormatter
from markupsafe import EscapeFormatter, Markup

from livedeck.render.limits import INT_BITS, SIZE, too_big

_PERCENT = re.compile(r"%(?:\([^)]*\))?[#0 +-]*(\*|\d+)?(?:\.(\*|\d+))?")
_DIGITS = re.compile(r"\d+")
_ARITHMETIC = frozenset({"*", "**", "%", "+", "-", "/", "//"})
_SEQUENCES = (str, bytes, list, tuple)
_SCALARS = (int, float, complex, type(None))


class _Displays(CodeGenerator):
    """Jinja's code generator, with every list, tuple and dict a template writes checked."""

    def visit_List(self, node: nodes.List, frame: Frame) -> None:
        self.write("environment.bounded_display(")
        super().visit_List(node, frame)
        self.write(")")

    def visit_Tuple(self, node: nodes.Tuple, frame: Frame) -> None:
        if node.ctx != "load":  # `{% for a, b in ... %}`: names to assign, not a value
            super().visit_Tuple(node, frame)
            return
        self.write("environment.bounded_display(")
        super().visit_Tuple(node, frame)
        self.write(")")

    def visit_Dict(self, node: nodes.Dict, frame: Frame) -> None:
        self.write("environment.bounded_display(")
        super().visit_Dict(node, frame)
        self.write(")")


class BoundedSandbox(ImmutableSandboxedEnvironment):
    """jinja2's immutable sandbox, with the cost of operators, calls and filters estimated."""

    intercepted_binops = _ARITHMETIC
    code_generator_class = _Displays

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.filters = {name: _bounded_filter(name, f) for name, f in self.filters.items()}

    def call_binop(self, context: Context, operator: str, left: Any, right: Any) -> Any:
        """`left operator right`, refused when its result or its work would be too big."""
        _check_binop(operator, left, right)
        return super().call_binop(context, operator, left, right)

    def bounded_display(self, value: Any) -> Any:
        """A list, tuple or dict a template writes (`[x, x, x]`), refused when too big."""
        _check_size("a list", _size(value, SIZE + 1))
        return value

    def call(__self, __context: Context, __obj: Any, *args: Any, **kwargs: Any) -> Any:
        """A call from a template, refused when a width or count in it is too big."""
        if not getattr(__obj, "_livedeck_format", False):
            _check_parameters(args, kwargs)
        owner = getattr(__obj, "__self__", None)
        if isinstance(owner, (str, bytes)):
            args = _check_method(owner, getattr(__obj, "__name__", ""), args)
        return _checked_result(
            getattr(__obj, "__name__", "a call"), super().call(__context, __obj, *args, **kwargs)
        )

    def wrap_str_format(self, value: Any) -> Callable[..., str] | None:
        """`str.format` and `format_map` as jinja2 sandboxes them, every field's width and
        precision checked once known (a width may come from an argument: `'{:{}}'`)."""
        if super().wrap_str_format(value) is None:  # not a str's format method
            return None
        text = value.__self__
        formatter = (
            _EscapeFormatter(self, escape=text.escape)
            if isinstance(text, Markup)
            else _Formatter(self)
        )
        is_map = value.__name__ == "format_map"

        def checked(*args: Any, **kwargs: Any) -> str:
            if is_map:
                if kwargs or len(args) != 1:
                    raise TypeError("format_map() takes exactly one argument")
                kwargs, args = args[0], ()
            made: str = type(text)(formatter.vformat(text, args, kwargs))
            return made

        checked._livedeck_format = True  # type: ignore[attr-defined]
        return checked


class _Formatter(SandboxedFormatter):
    def vformat(self, format_string: str, args: Any, kwargs: Any) -> str:
        self.total = len(format_string)  # what the fields may add, all of them together
        made: str = super().vformat(format_string, args, kwargs)
        return made

    def format_field(self, value: Any, format_spec: str) -> Any:
        self.total += sum(int(digits) for digits in _DIGITS.findall(format_spec))
        _check_size("`format`", self.total)
        return super().format_field(value, format_spec)


class _EscapeFormatter(_Formatter, EscapeFormatter):
    pass


def _bounded_filter(name: str, function: Callable[..., Any]) -> Callable[..., Any]:
    # Filters get the environment or context first when they ask for it (jinja's pass_*).
    passed = 1 if getattr(function, "jinja_pass_arg", None) is not None else 0

    @functools.wraps(function)
    def bounded(*args: Any, **kwargs: Any) -> Any:
        if len(args) <= passed:
            return _checked_result(f"|{name}", function(*args, **kwargs))
        head, value, parameters = args[:passed], args[passed], args[passed + 1 :]
        if name == "format":  # its parameters are the values to format
            if isinstance(value, str):
                _check_percent(value, parameters or tuple(kwargs.values()))
        elif name not in ("default", "d"):  # a default is a value, not a width
            _check_parameters(parameters, kwargs)
        if name == "replace" and isinstance(value, (str, bytes)):
            _check_method(value, name, parameters)
        elif name == "join":
            value = _materialised(value)
            _check_join(parameters[0] if parameters else kwargs.get("d", ""), value)
        elif name == "sum":
            value = _materialised(value)
            start = parameters[1] if len(parameters) > 1 else kwargs.get("start", 0)
            if isinstance(start, _SEQUENCES) and isinstance(value, _SEQUENCES):
                # Adding sequences copies the sum so far at every item: quadratic, in C.
                _check_size("`sum`", len(value) * (_size(value, SIZE + 1) + len(start)))
        return _checked_result(f"|{name}", function(*head, value, *parameters, **kwargs))

    return bounded


def _checked_result(name: str, value: Any) -> Any:
    # What a call made flows on into other calls and operators: bounded here, every estimate
    # before a later one holds (`dict.fromkeys(range(9999), big).values()|list` refers to
    # `big` 9999 times: a join, a comparison or |tojson of it would walk all of them, in C).
    if isinstance(value, int):
        _check_bits(name, value.bit_length())  # `(1).from_bytes(...)`: no operator made it
    else:
        _check_size(f"`{name}`", _size(value, SIZE + 1))
    return value


def _check_binop(operator: str, left: Any, right: Any) -> None:
    if operator == "%" and isinstance(left, str):
        _check_percent(left, right if isinstance(right, tuple) else (right,))
        return
    ints = [v for v in (left, right) if isinstance(v, int)]
    for value in ints:
        if value.bit_length() > INT_BITS:
            raise too_big(f"a number in `{operator}`", value.bit_length(), INT_BITS, "bits")
    if operator == "*" and len(ints) == 1:
        count, other = (left, right) if isinstance(left, int) else (right, left)
        if isinstance(other, _SEQUENCES):
            _check_size(f"`{operator}`", _size(other, SIZE + 1) * max(count, 0))
    elif operator == "*" and len(ints) == 2:
        _check_bits(operator, left.bit_length() + right.bit_length())
    elif operator == "**" and len(ints) == 2 and right > 0 and abs(left) > 1:
        _check_bits(operator, left.bit_length() * right)
    elif operator == "+" and isinstance(left, _SEQUENCES) and isinstance(right, _SEQUENCES):
        _check_size(f"`{operator}`", _size(left, SIZE + 1) + _size(right, SIZE + 1))


def _check_method(owner: str | bytes, name: str, args: tuple[Any, ...]) -> tuple[Any, ...]:
    if name == "replace" and len(args) >= 2:
        old, new = args[0], args[1]
        if isinstance(old, type(owner)) and isinstance(new, type(owner)):
            count = owner.count(old) if old else len(owner) + 1  # type: ignore[arg-type]
            if len(args) > 2 and isinstance(args[2], int) and args[2] >= 0:
                count = min(count, args[2])
            _check_size("`replace`", len(owner) + count * max(len(new) - len(old), 0))
    elif name == "translate" and args and isinstance(owner, str):
        table = args[0]
        if isinstance(table, Mapping):  # each character may become a whole string
            longest = max((len(v) for v in table.values() if isinstance(v, str)), default=1)
            _check_size("`translate`", len(owner) * max(longest, 1))
    elif name == "expandtabs" and args and isinstance(args[0], int):
        tabs = owner.count("\t") if isinstance(owner, str) else owner.count(b"\t")
        _check_size("`expandtabs`", len(owner) + tabs * max(args[0], 0))
    elif name == "join" and args:
        items = _materialised(args[0])
        _check_join(owner, items)
        return (items, *args[1:])
    return args


def _materialised(items: Any) -> Any:
    if isinstance(items, (str, bytes, list, tuple)) or not isinstance(items, Iterable):
        return items
    out = []
    for item in items:  # a generator: counted as it comes, so it cannot run away first
        out.append(item)
        if len(out) > SIZE:
            raise too_big("a sequence", len(out), SIZE, "items")
    return out


def _check_join(separator: Any, items: Any) -> None:
    if isinstance(items, _SEQUENCES) and isinstance(separator, (str, bytes)):
        count = len(items)
        _check_size("a join", len(separator) * max(count - 1, 0) + _size(items, SIZE + 1))


def _check_parameters(args: Iterable[Any], kwargs: dict[str, Any]) -> None:
    for value in (*args, *kwargs.values()):
        if isinstance(value, int) and not isinstance(value, bool) and abs(value) > SIZE:
            raise too_big("a width or count", abs(value), SIZE, "")


def _check_percent(text: str, args: Iterable[Any]) -> None:
    # Every field may be as wide as its width and precision: all of them together count.
    total, star = len(text), False
    for match in _PERCENT.finditer(text):
        for group in match.groups():
            star = star or group == "*"
            if group and group.isdigit():
                total += int(group)
    if star:
        _check_parameters(args, {})
        total += sum(abs(a) for a in args if isinstance(a, int))
    _check_size("`%`", total)


def _size(value: Any, budget: int) -> int:
    """Characters and items in `value`, nested collections included (each time one is referred
    to: `[L, L]` counts L twice, as comparing or printing it would), counted up to `budget`."""
    if isinstance(value, (str, bytes, range)):
        return len(value)
    if isinstance(value, (Undefined, *_SCALARS)) or not _is_collection(value):
        return 1
    total = len(value)
    items = chain(value.keys(), value.values()) if isinstance(value, Mapping) else iter(value)
    for item in items:
        if total > budget:
            break
        if isinstance(item, (str, bytes)):
            total += len(item)
        elif isinstance(item, int):  # its digits, once printed (a list of one big int, 9999 times)
            total += item.bit_length() * 3 // 10
        elif isinstance(item, (list, tuple, dict)) or (
            not isinstance(item, _SCALARS) and _is_collection(item)
        ):
            total += _size(item, budget - total)
    return total


def _is_collection(value: Any) -> bool:
    # What isinstance(value, Collection) says, without the ABC's Python-level check: it runs
    # on every call's result, under the trace.
    kind = type(value)
    return hasattr(kind, "__len__") and hasattr(kind, "__iter__")


def _check_size(what: str, size: int) -> None:
    if size > SIZE:
        raise too_big(f"the result of {what}", size, SIZE, "characters or items")


def _check_bits(what: str, bits: int) -> None:
    if bits > INT_BITS:
        raise too_big(f"the result of `{what}`", bits, INT_BITS, "bits")
