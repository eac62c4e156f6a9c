"""A tag filter selects exactly the ratings carrying the tag, whatever its characters
(SQL narrows by the tag's text first; LIKE's wildcards and case must not leak through)."""

from __future__ import annotations

from desk.core.ids import new_id
from desk.core.rating import RatingFilter
from desk.core.response import ResponseResult, Status
from desk.core.trial import TrialInput

TAGS = ["50%", "a_b", 'say "hi"', "back\\slash", "X", "x", "é", "axb", "5000"]
VALUES = {"outcome": "success", "uncertainty": "confident_correct", "constraints": "followed", "quality": 3}


def test_each_tag_selects_exactly_its_ratings(store):
    trial = store.trials.create(TrialInput("tags"))
    by_tag = {}
    for tag in TAGS:
        r = ResponseResult(id=new_id(), trial_id=trial, model="p/m", settings={}, status=Status.OK, text="a")
        store.responses.finish(r)
        store.ratings.save(r.id, "ana", {**VALUES, "tags": [tag, "common"]})
        by_tag[tag] = r.id
    for tag in TAGS:
        f = RatingFilter(tags=(tag,))
        assert [r.response_id for r in store.ratings.matching(f)] == [by_tag[tag]], tag
        assert [resp.id for resp, _ in store.ratings.rated_responses(f)] == [by_tag[tag]], tag
        assert store.ratings.matching_keys(f)[0] == 1, tag
    assert len(store.ratings.matching(RatingFilter(tags=("common",)))) == len(TAGS)
    assert store.ratings.matching(RatingFilter(tags=("X", "common"))) != []
    assert store.ratings.matching(RatingFilter(tags=("X", "x"))) == []  # both: nobody has both
    assert store.ratings.matching(RatingFilter(tags=("%",))) == []
    assert store.ratings.matching(RatingFilter(tags=("_",))) == []
