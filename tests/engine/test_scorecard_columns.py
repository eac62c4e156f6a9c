"""The scorecard's columns (desk.engine.scorecard_columns) group answers and ratings as a
plain loop over them would: the same rows, in the same order, for any mix of answers rated
once, several times, or listed twice."""

import random
from collections import defaultdict

from desk.core.rating import RatingFigures
from desk.core.response import ResponseFigures, Status
from desk.engine.scorecard_columns import RatedAnswers, by_model, combined


def _store(seed):
    rng = random.Random(seed)
    answers = [ResponseFigures(f"r{k}", "t", rng.choice(("m/b", "m/a", "m/c")), rng.choice(list(Status)),
                               rng.choice((None, 1.5, 20.0)), rng.choice((None, 0.0, 0.25)), rng.random() < 0.2)
               for k in range(400)]
    ratings = []
    for k in range(600):
        rating = RatingFigures(f"r{rng.randrange(450)}", rng.choice(("ana", "ben", "cy")),  # some out of scope
                               float(rng.choice((1, 2, 3))), rng.choice(("success", "failure", None)),
                               rng.choice(("asked_clarifying", None)), rng.choice(("followed", "violated", None)),
                               rng.choice((1, 2, 5, 2.5, None)))
        ratings.append(rating)
        if k % 50 == 0:
            ratings.append(rating)  # the very same row listed twice
    rng.shuffle(ratings)
    return answers, ratings


def test_answers_and_ratings_group_as_a_plain_loop_groups_them():
    for seed in range(5):
        answers, ratings = _store(seed)
        grouped = defaultdict(list)
        for a in answers:
            grouped[a.model].append(a)
        columns = by_model(answers)
        assert list(columns) == sorted(grouped)
        for model, rows in grouped.items():
            got = columns[model]
            assert got.ids == [a.id for a in rows] and got.statuses == [a.status for a in rows]
            assert got.totals_ms == [a.total_ms for a in rows] and got.costs == [a.cost_usd for a in rows]
            assert got.failed == [a.failed for a in rows]

        per_answer = defaultdict(list)
        for rating in ratings:
            per_answer[rating.response_id].append(rating)
        model_of = {a.id: a.model for a in answers}
        rated = RatedAnswers(ratings, model_of)
        assert {i: row[3:7] for i, row in rated.row.items()} == {i: combined(rs) for i, rs in per_answer.items()}
        assert rated.several == {i: rs for i, rs in per_answer.items() if len(rs) > 1}
        for model in grouped:
            several = [rated.several[a.id] for a in grouped[model] if a.id in rated.several]
            expected = sorted({r.rater for a in grouped[model] for r in per_answer.get(a.id, [])})
            assert rated.raters(model, several) == expected
