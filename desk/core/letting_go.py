"""Letting go of a big read's rows a slice at a time.

Freeing a container's last reference frees everything in it in one call into C: the
100,000 answers' facts of a big run (a dict of tuples and dataclasses) take 30-40 ms, and
that whole time a worker thread holds the GIL, so the window's GUI thread, waiting for it,
stalls (issue 21). Emptied SLICE entries at a time, each slice is a few milliseconds, and
between two of them a thread waiting for the GIL takes it.
"""

from __future__ import annotations

from typing import Any

SLICE = 2_000  # entries freed in one call: a millisecond or two


def let_go(*held: dict[Any, Any] | list[Any] | set[Any]) -> None:
    """Empty each of `held` (the caller's last reference to what it holds, or what is freed
    here is only moved), SLICE entries at a time."""
    for container in held:
        if len(container) <= SLICE:
            container.clear()
            continue
        entries: list[Any] = list(container.items()) if isinstance(container, dict) else list(container)
        container.clear()  # cheap: `entries` holds them still
        while entries:
            del entries[-SLICE:]
