"""Plain-callback events and notices for the tabs' Qt-free models (desk.engine.*_tab).

In the manner of napari's evented models: a model owns `Event`s, the widget connects to
them, and nothing here knows about Qt; callbacks run on the thread that changed the state.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, NamedTuple


class Event:
    """A list of plain callbacks: `connect(fn)`, then `emit(*args)` calls each in turn."""

    def __init__(self) -> None:
        self._callbacks: list[Callable[..., None]] = []

    def connect(self, callback: Callable[..., None]) -> None:
        self._callbacks.append(callback)

    def disconnect(self, callback: Callable[..., None]) -> None:
        self._callbacks.remove(callback)

    def emit(self, *args: Any) -> None:
        for callback in list(self._callbacks):
            callback(*args)


class Notice(NamedTuple):
    """What a tab says in its message line: a sentence, and whether it is a problem."""

    text: str
    error: bool = False
