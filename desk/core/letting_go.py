"""Letting go of a big read's rows a slice at a time.

Freeing a container's last reference frees everything in it in one call into C: the
100,000 answers' facts of a big run (a dict of tuples and dataclasses) take 30-40 ms, and
that whole time a worker thread holds the GIL, so the window's GUI thread, waiting for it,
stalls (issue 21). Emptied SLICE entries at a time, each slice is a few milliseconds, and
between two of them a thread waiting for the GIL takes it.
"""

from __future__ import annotations

from typing import Any

from desk.core.gil_slices import SLICE  # entries freed in one call: a millisecond or two


def let_go(*held: dict[Any, Any] | list[Any] | set[Any]) -> None:
    """Empty each of `held` (the caller's last reference to what it holds, or what is freed
    here is only moved), SLICE entries at a time."""
    for container in held:
        if len(container) <= SLICE:
            container.clear()
        elif isinstance(container, list):
            while container:
                del container[-SLICE:]  # in place: no copy made
        else:
            # Lists of pointers hold the entries (no tuple made per entry: a dict's items()
            # would double the cost), the container is emptied at once, freeing nothing yet,
            # then the lists a slice at a time.
            entries = [list(container), list(container.values())] if isinstance(container, dict) else [list(container)]
            container.clear()
            for part in entries:
                while part:
                    del part[-SLICE:]
