"""An engine's services are built on first use (desk.core.lazy), from whichever thread
reaches them first: the window's engine is reached from the GUI thread and from its
streaming and load threads (`Engine.elsewhere` reads its runner there). Several threads
asking at the same moment get one service, and one engine's first build does not hold up
another engine's."""

from __future__ import annotations

import threading

import pytest

from desk.engine.session import Engine
from desk.store.db import open_store

THREADS = 8


class HeldStore:
    """The engine's store, but reading its `providers` table (the first step of building the
    provider service) waits at `gate`: a window in which other threads can arrive."""

    def __init__(self, store, gate) -> None:
        self._store, self._gate = store, gate

    def __getattr__(self, name: str):
        if name == "providers":
            self._gate()
        return getattr(self._store, name)


@pytest.fixture
def store(tmp_path):
    s = open_store(tmp_path / "threads.db")
    yield s
    s.close()


def test_threads_reaching_a_service_first_together_get_one(store):
    engine = Engine(store, warm_prices=False)
    arrived, all_in = [], threading.Event()

    def gate() -> None:
        # Without a lock every thread gets here; with one, only the first does, and it
        # waits a moment for others that never come.
        arrived.append(threading.current_thread().name)
        if len(arrived) == THREADS:
            all_in.set()
        all_in.wait(0.3)

    engine.store = HeldStore(store, gate)
    start = threading.Barrier(THREADS)
    seen: list[object] = []

    def first_use() -> None:
        start.wait()
        seen.append(engine.trials)  # trials -> providers -> connections and runner

    threads = [threading.Thread(target=first_use, name=f"t{i}") for i in range(THREADS)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(10)
    assert len(seen) == THREADS
    assert len(arrived) == 1, f"the provider service was built {len(arrived)} times"
    assert len({id(s) for s in seen}) == 1
    assert all(s._targets is engine.providers for s in seen)
    assert engine.loads._targets is engine.providers  # later builds use the one built


def test_one_engines_first_build_does_not_hold_up_anothers(store):
    """functools.cached_property (3.11) locks per attribute for every object: the window's
    engine building its providers held up a thread's own engine building its own."""
    held, release = threading.Event(), threading.Event()

    def hold() -> None:
        held.set()
        release.wait(10)

    slow = Engine(HeldStore(store, hold), warm_prices=False)  # type: ignore[arg-type]
    other = Engine(store, warm_prices=False)
    built = threading.Event()
    first = threading.Thread(target=lambda: slow.providers)
    second = threading.Thread(target=lambda: (other.providers, built.set()))
    first.start()
    try:
        assert held.wait(10)
        second.start()
        assert built.wait(5), "the second engine waited for the first engine's build"
    finally:
        release.set()
        first.join(10)
        second.join(10)
    assert slow.providers is not other.providers
