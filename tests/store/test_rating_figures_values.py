"""The scorecard's rating rows hold each choice as the rubric's own string (one object per
value, read as its index in the rubric) and any other stored value as it is (issue 21)."""

from __future__ import annotations

from desk.core.ids import new_id
from desk.core.rating import RatingFilter
from desk.core.response import ResponseResult, Status
from desk.core.rubric import CONSTRAINTS, OUTCOMES, UNCERTAINTY
from desk.core.trial import TrialInput


def test_choices_are_the_rubrics_strings_and_other_values_pass_through(store):
    trial = store.trials.create(TrialInput("values"))
    ids = []
    for k in range(3):
        r = ResponseResult(id=f"r{k}", trial_id=trial, model="p/m", settings={}, status=Status.OK, text="a")
        store.responses.finish(r)
        ids.append(r.id)
    store.ratings.save(ids[0], "ana", {"outcome": "partial", "uncertainty": "confident_wrong",
                                       "constraints": "na", "quality": 2})
    rubric = store.rubrics.default().id
    for response_id, outcome, uncertainty, constraints in ((ids[1], "custom-outcome", "", None),
                                                          (ids[2], "", "my_kind", "Followed")):
        store.db.conn.execute(
            "INSERT INTO ratings (id, response_id, rater, rubric_id, created_at, outcome, uncertainty, constraints) "
            "VALUES (?, ?, 'ben', ?, 1.0, ?, ?, ?)", (new_id(), response_id, rubric, outcome, uncertainty, constraints))
    found = {f.response_id: f for f in store.ratings.figures(RatingFilter())}
    assert (found["r0"].outcome, found["r0"].uncertainty, found["r0"].constraints) == ("partial", "confident_wrong", "na")
    assert found["r0"].outcome is OUTCOMES[1] and found["r0"].uncertainty is UNCERTAINTY[4]
    assert found["r0"].constraints is CONSTRAINTS[2]
    assert (found["r1"].outcome, found["r1"].uncertainty, found["r1"].constraints) == ("custom-outcome", None, None)
    assert (found["r2"].outcome, found["r2"].uncertainty, found["r2"].constraints) == (None, "my_kind", "Followed")
    assert store.ratings.figures(RatingFilter(tags=("nothing",))) == []
