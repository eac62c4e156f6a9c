"""The scorecard's read of the answers keeps the order they were stored in (created_at,
then rowid), whether or not two share an instant: it sorts by rowid only when some do (issue 21)."""

from __future__ import annotations

from desk.core.rating import RatingFilter
from desk.core.response import ResponseResult, Status
from desk.core.trial import TrialInput


def _store_answers(store, names: list[str]) -> None:
    trial = store.trials.create(TrialInput("order"))
    for name in names:
        store.responses.finish(ResponseResult(id=name, trial_id=trial, model="p/m", settings={}, status=Status.OK,
                                              text="a", total_ms=1.0, cost_usd=0.1))


def test_answers_stored_at_one_instant_come_in_the_order_they_were_stored(store):
    _store_answers(store, ["d", "b", "c", "a"])
    store.db.conn.execute("UPDATE responses SET created_at = 5.0 WHERE id IN ('b', 'c', 'a')")
    store.db.conn.execute("UPDATE responses SET created_at = 1.0 WHERE id = 'd'")
    assert [f.id for f in store.responses.figures(RatingFilter())] == ["d", "b", "c", "a"]
    assert [f.id for f in store.responses.figures(RatingFilter(), load_runs=False)] == ["d", "b", "c", "a"]


def test_answers_at_distinct_instants_come_by_time(store):
    _store_answers(store, ["d", "b", "c", "a"])
    for k, name in enumerate(["a", "c", "b", "d"]):
        store.db.conn.execute("UPDATE responses SET created_at = ? WHERE id = ?", (float(k), name))
    assert [f.id for f in store.responses.figures(RatingFilter())] == ["a", "c", "b", "d"]


def test_answers_by_id_come_once_each_in_stored_order_however_many_ids(store):
    names = [f"r{k:04d}" for k in range(1200)] + ["r\u00e9sum\u00e9", 'q"uote']
    _store_answers(store, names)
    asked = [*names[::-1], "absent", names[3], names[3]]  # any order, an unknown id, one id thrice
    assert [f.id for f in store.responses.figures(ids=asked)] == names
