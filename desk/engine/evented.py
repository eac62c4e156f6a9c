"""Plain Python events for the window's tab models (in the manner of napari's evented models
or git-cola's cola/models): a model says what changed by calling its listeners, so it runs and
is tested without Qt, and the widget that binds to it is the only thing that draws."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any


class Event:
    """A list of listeners, called in the order they connected, on the caller's thread."""

    def __init__(self) -> None:
        self._listeners: list[Callable[..., Any]] = []

    def connect(self, listener: Callable[..., Any]) -> None:
        self._listeners.append(listener)

    def disconnect(self, listener: Callable[..., Any]) -> None:
        self._listeners.remove(listener)

    def emit(self, *args: Any) -> None:
        for listener in list(self._listeners):
            listener(*args)
