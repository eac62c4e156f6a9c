"""A big read's rows are let go a slice at a time (desk.core.letting_go), so freeing them
never holds the GIL in one long call: every container ends empty, and each slice frees no
more than SLICE entries' objects."""

from __future__ import annotations

import weakref

import desk.core.letting_go as letting_go
from desk.core.letting_go import let_go


class Fact:
    pass


def test_every_container_is_emptied_a_slice_at_a_time(monkeypatch):
    monkeypatch.setattr(letting_go, "SLICE", 3)
    facts = [Fact() for _ in range(10)]
    alive = [weakref.ref(f) for f in facts]
    freed_per_slice: list[int] = []
    entries_del = list.__delitem__

    class Watched(list):
        def __delitem__(self, index):
            before = sum(r() is not None for r in alive)
            entries_del(self, index)
            freed_per_slice.append(before - sum(r() is not None for r in alive))
    by_key = {n: f for n, f in enumerate(facts)}
    as_set = set(facts[:2])
    listed = Watched(facts)  # emptied in place
    del facts
    monkeypatch.setattr(letting_go, "list", Watched, raising=False)  # the lists a dict or set is held by
    let_go(listed, as_set, by_key)  # the dict holds their last references
    assert listed == [] and as_set == set() and by_key == {}
    assert all(r() is None for r in alive)
    # The list's slices free nothing (the dict still holds them), nor do the dict's keys';
    # its values' free 3 at a time.
    assert freed_per_slice == [0, 0, 0, 0, 0, 0, 0, 0, 3, 3, 3, 1]
