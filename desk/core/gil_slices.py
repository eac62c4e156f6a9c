"""Big C loops made a slice at a time, so a thread waiting for the GIL gets it between slices.

`list(map(f, xs))`, `dict(zip(ks, vs))` or a tuple of named tuples over a big run's 100,000
answers is one call into C: it never goes back to the interpreter, where the GIL is handed
over, so for all of it (20-110 ms, measured on a run's matrix) a thread waiting for the GIL
waits too, and that is the window's GUI thread while a worker reads (issue 21). Made SLICE
items at a time, each call takes a millisecond or so, and the waiting thread gets its turn
between two of them. The results are the same; the extra cost is one Python loop per slice.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Hashable, Iterable, Iterator, Sequence
from itertools import islice
from typing import Any, TypeVar

SLICE = 2_000  # items made in one call into C: a millisecond or two

H = TypeVar("H", bound=Hashable)
K = TypeVar("K")
V = TypeVar("V")
U = TypeVar("U")


def in_slices(make: Callable[[Sequence[K]], list[U]], found: Sequence[K], size: int | None = None) -> list[U]:
    """make(found), `size` (SLICE) items at a time: for a C loop over a sequence, such as a
    transpose or a map into named tuples (the store's fetch_all reads rows as many at a time)."""
    size = size or SLICE
    if len(found) <= size:
        return make(found)
    made: list[U] = []
    for start in range(0, len(found), size):
        made += make(found[start:start + size])
    return made


def mapped(function: Callable[..., U], *iterables: Iterable[Any]) -> list[U]:
    """list(map(function, *iterables)), SLICE items at a time."""
    sources = [iter(items) for items in iterables]
    made: list[U] = []
    while True:
        before = len(made)
        made += map(function, *(islice(source, SLICE) for source in sources))
        if len(made) - before < SLICE:
            return made


def listed(items: Iterable[U]) -> list[U]:
    """list(items), SLICE items at a time (for an iterator whose every step is a C call)."""
    source: Iterator[U] = iter(items)
    made: list[U] = []
    while True:
        before = len(made)
        made += islice(source, SLICE)
        if len(made) - before < SLICE:
            return made


def zipped_dict(keys: Iterable[K], values: Iterable[V]) -> dict[K, V]:
    """dict(zip(keys, values, strict=True)), SLICE entries at a time (later keys win, as in dict)."""
    pairs = zip(keys, values, strict=True)
    made: dict[K, V] = {}
    while True:
        chunk = list(islice(pairs, SLICE))
        made.update(chunk)
        if len(chunk) < SLICE:
            return made


def counted(items: Sequence[H]) -> Counter[H]:
    """Counter(items), SLICE items at a time."""
    made: Counter[H] = Counter()
    for start in range(0, len(items), SLICE):
        made.update(items[start:start + SLICE])
    return made
