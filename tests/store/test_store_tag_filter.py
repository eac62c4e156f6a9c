"""A tag filter selects exactly the ratings carrying the tag, whatever its characters
(SQL narrows by the tag's text first; LIKE's wildcards and case must not leak through)."""

from __future__ import annotations

from desk.core.ids import new_id
from desk.core.response import ResponseResult, Status
from desk.core.trial import TrialInput
from desk.store import RatingFilter

TAGS = ["50%", "a_b", 'say "hi"', "back\\slash", "X", "x", "é", "axb", "5000"]
VALUES = {"outcome": "success", "uncertainty": "confident_correct", "constraints": "followed", "quality": 3}


def test_each_tag_selects_exactly_its_ratings(store):
    trial = store.trials.create(TrialInput("tags"))
    by_tag = {}
    for tag in TAGS:
        r = ResponseResult(id=new_id(), trial_id=trial, model="p/m", settings={}, status=Status.OK, text="a")
        store.responses.finish(r)
        store.save_rating(r.id, "ana", {**VALUES, "tags": [tag, "common"]})
        by_tag[tag] = r.id
    for tag in TAGS:
        f = RatingFilter(tags=(tag,))
        assert [r.response_id for r in store.matching_ratings(f)] == [by_tag[tag]], tag
        assert [resp.id for resp, _ in store.rated_responses(f)] == [by_tag[tag]], tag
        assert store.matching_rating_keys(f)[0] == 1, tag
    assert len(store.matching_ratings(RatingFilter(tags=("common",)))) == len(TAGS)
    assert store.matching_ratings(RatingFilter(tags=("X", "common"))) != []
    assert store.matching_ratings(RatingFilter(tags=("X", "x"))) == []  # both: nobody has both
    assert store.matching_ratings(RatingFilter(tags=("%",))) == []
    assert store.matching_ratings(RatingFilter(tags=("_",))) == []
