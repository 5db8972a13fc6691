"""Plain, immutable data: what a deck's templates may be handed. Pure.

A template is code from whoever wrote the deck. It reads results and lab facts; it must never
change anything livedeck holds (a dict it could `update` with a path and text was once enough to
write any file on the host). So everything a template sees is built from immutable values only:
strings, numbers, tuples, FrozenMap and frozen dataclasses. `require_plain` checks that, and the
template context runs it on every value before a template sees it.
"""

from __future__ import annotations

import dataclasses
from collections.abc import (
    Callable,
    Hashable,
    ItemsView,
    Iterable,
    Iterator,
    KeysView,
    Mapping,
    ValuesView,
)
from typing import TypeGuard, TypeVar

K = TypeVar("K", bound=Hashable)
V = TypeVar("V")

LEAVES = (str, int, float, bool, type(None))
_VIEWS = (KeysView, ValuesView, ItemsView)


class FrozenMap(Mapping[K, V]):
    """A read-only mapping: `get`, `items`, `keys`, `values`, `[key]`; no method changes it."""

    __slots__ = ("_items",)
    _items: dict[K, V]

    def __init__(self, items: Mapping[K, V] | Iterable[tuple[K, V]] = ()) -> None:
        object.__setattr__(self, "_items", dict(items))

    def __setattr__(self, name: str, value: object) -> None:
        raise AttributeError(f"a FrozenMap cannot change ({name})")

    def __getitem__(self, key: K) -> V:
        return self._items[key]

    def __iter__(self) -> Iterator[K]:
        return iter(self._items)

    def __len__(self) -> int:
        return len(self._items)

    def __hash__(self) -> int:
        return hash(frozenset(self._items.items()))

    def __repr__(self) -> str:
        return repr(self._items)

    def __reduce__(self) -> tuple[Callable[..., FrozenMap[K, V]], tuple[dict[K, V]]]:
        return (FrozenMap, (dict(self._items),))


def frozen_map(items: Mapping[K, V] | None) -> FrozenMap[K, V]:
    """`items` as a FrozenMap (itself if it is one)."""
    if isinstance(items, FrozenMap):
        return items
    return FrozenMap(items or {})


class NotPlain(TypeError):
    """A value handed to templates that a template could change: a defect of livedeck."""


def is_frozen_dataclass(value: object) -> bool:
    """An instance of a dataclass declared frozen=True."""
    params = getattr(type(value), "__dataclass_params__", None)
    frozen = bool(getattr(params, "frozen", False))
    return dataclasses.is_dataclass(value) and not isinstance(value, type) and frozen


def _is_sequence(item: object) -> TypeGuard[Iterable[object]]:
    """A tuple or frozenset, or a read-only view of a FrozenMap's keys, values or items."""
    if type(item) in (tuple, frozenset):
        return True
    return isinstance(item, _VIEWS) and isinstance(getattr(item, "_mapping", None), FrozenMap)


def require_plain(value: object, where: str = "context") -> None:
    """Raise NotPlain unless `value` is made of immutable plain data only, all the way down.

    Fields whose names start with `_` are livedeck's own: the sandbox never lets a template
    read them (jinja2's sandbox refuses every `_` attribute), so they are not walked.
    """
    seen: set[int] = set()
    todo: list[tuple[object, str]] = [(value, where)]
    while todo:
        item, path = todo.pop()
        if isinstance(item, LEAVES) or id(item) in seen:
            continue
        seen.add(id(item))
        if _is_sequence(item):
            todo.extend((v, f"{path}[{n}]") for n, v in enumerate(item))
        elif isinstance(item, FrozenMap):
            todo.extend((k, f"{path} key") for k in item)
            todo.extend((v, f"{path}[{k!r}]") for k, v in item.items())
        elif is_frozen_dataclass(item):
            for field in dataclasses.fields(item):  # type: ignore[arg-type]
                if not field.name.startswith("_"):
                    todo.append((getattr(item, field.name), f"{path}.{field.name}"))
        else:
            raise NotPlain(f"{path} is a {type(item).__name__}, which a template could change")
