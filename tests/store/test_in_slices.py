"""A C loop over a big read's rows runs a slice at a time (desk.core.gil_slices.in_slices), so a
thread waiting for the GIL (the window's GUI thread) gets it between slices: the same rows
as in one call, and the scorecard's rating rows are made so."""

from __future__ import annotations

import desk.core.gil_slices as gil_slices
import desk.store.ratings as ratings_module
from desk.core.constraint_reading import rating_figures
from desk.core.gil_slices import in_slices
from desk.core.ids import new_id
from desk.core.response import ResponseResult, Status
from desk.core.trial import TrialInput


def test_in_slices_is_one_call_a_slice_at_a_time():
    sizes: list[int] = []

    def make(rows):
        sizes.append(len(rows))
        return [n * 2 for n in rows]
    for n in (0, 1, 4, 5, 6, 11):
        sizes.clear()
        assert in_slices(make, list(range(n)), 5) == [i * 2 for i in range(n)]
        assert max(sizes, default=0) <= 5 and sum(sizes) == n


def test_the_scorecards_rating_rows_are_made_a_slice_at_a_time(store, monkeypatch):
    trial = store.trials.create(TrialInput("slices"))
    for k in range(7):
        r = ResponseResult(id=new_id(), trial_id=trial, model=f"p/m{k % 2}", settings={}, status=Status.OK, text="a")
        store.responses.finish(r)
        store.ratings.save(r.id, "ana", {"outcome": "success", "quality": k % 5 + 1,
                                         "uncertainty": "confident_correct", "constraints": "followed"})
    expected = [rating_figures(r) for r in store.ratings.matching()]
    made: list[int] = []
    whole = ratings_module._figure_rows

    def counted(rows):
        made.append(len(rows))
        return whole(rows)
    monkeypatch.setattr(gil_slices, "SLICE", 3)
    monkeypatch.setattr(ratings_module, "_figure_rows", counted)
    assert store.ratings.figures() == expected
    assert made == [3, 3, 1]
