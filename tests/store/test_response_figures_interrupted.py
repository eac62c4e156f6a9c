"""An interrupted answer failed when nothing of it arrived: the scorecard's read of the
answers (ResponseTable.figures, from its covering index, m018) reads the text of those
answers alone, whether it reads the whole scope or answers by id (a tag filter)."""

from __future__ import annotations

from desk.core.rating import RatingFilter
from desk.core.response import ResponseResult, Status
from desk.core.trial import TrialInput


def _answers(store):
    trial = store.trials.create(TrialInput("task"))
    texts = {"blank": (Status.INTERRUPTED, " \n\u2003"), "some": (Status.INTERRUPTED, "half an answ"),
             "ok": (Status.OK, ""), "error": (Status.ERROR, "partial text"), "none": (Status.INTERRUPTED, "")}
    for name, (status, text) in texts.items():
        store.responses.finish(ResponseResult(id=name, trial_id=trial, model="p/m", settings={}, status=status,
                                              text=text, total_ms=10.0, cost_usd=0.5))
    return {"blank": True, "some": False, "ok": False, "error": True, "none": True}


def test_interrupted_answers_fail_when_nothing_arrived(store):
    expected = _answers(store)
    for figures in (store.responses.figures(RatingFilter()), store.responses.figures(ids=list(expected)[::-1])):
        assert {f.id: f.failed for f in figures} == expected
        assert [f.id for f in figures] == list(expected)  # in the order they were stored, either way
        assert {f.id: f.status for f in figures}["some"] is Status.INTERRUPTED


def test_a_scoped_read_judges_the_interrupted_answers_in_its_scope(store):
    _answers(store)
    other = store.trials.create(TrialInput("another task"))
    store.responses.finish(ResponseResult(id="elsewhere", trial_id=other, model="p/m", settings={},
                                          status=Status.INTERRUPTED, text=""))
    figures = store.responses.figures(RatingFilter(trial_ids=(other,)))
    assert [(f.id, f.failed) for f in figures] == [("elsewhere", True)]
