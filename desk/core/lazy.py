"""An attribute built on first use, once per object even when two threads ask at once (an
engine's services, a store's tables).

`functools.cached_property` has no lock since Python 3.12: two threads reading an engine's
service for the first time at the same moment (the window's GUI thread and its streaming
or load thread both reach the window's engine) could each build one, and one of them would
then work with a copy the engine no longer holds. On 3.11 its lock is one per attribute
for all objects of the class, so one engine's first build held up every other engine's.
Here each object has its own re-entrant lock (a service's build reads the services it
needs, on the same thread); once built, the value sits in the object's `__dict__` and is
read from there without the lock, as cached_property's is.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Generic, TypeVar, cast, overload

T = TypeVar("T")

LOCK = "_build_lock"  # each owner sets it in __init__: `self._build_lock = threading.RLock()`


class built_once(Generic[T]):  # a decorator, named like the cached_property it replaces
    """Like functools.cached_property, but built under the object's own lock."""

    def __init__(self, build: Callable[[Any], T]) -> None:
        self._build = build
        self._name = build.__name__
        self.__doc__ = build.__doc__

    def __set_name__(self, owner: type, name: str) -> None:
        self._name = name

    @overload
    def __get__(self, instance: None, owner: type | None = None) -> built_once[T]: ...

    @overload
    def __get__(self, instance: object, owner: type | None = None) -> T: ...

    def __get__(self, instance: object | None, owner: type | None = None) -> T | built_once[T]:
        if instance is None:
            return self
        values = instance.__dict__
        with getattr(instance, LOCK):
            if self._name in values:  # built by another thread while this one waited
                return cast("T", values[self._name])
            value = self._build(instance)
            values[self._name] = value
            return value
