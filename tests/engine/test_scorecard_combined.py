"""Each rated answer's combined verdict (desk.engine.scorecard_columns.combined) takes its shortcuts
for one and two raters to the very values of the rule: each criterion by majority, a tie to
the most recent rating (the first listed on a tie of times), quality as the raters' mean."""

import random
from statistics import mean

from desk.core.rating import RatingFigures
from desk.engine.scorecard_columns import combined as combined_of
from desk.engine.scorecard_columns import majority as _majority

OUTCOMES = ("success", "partial", "failure", None)
UNCERTAINTY = ("confident_correct", "asked_clarifying", None)
CONSTRAINTS = ("followed", "violated", "na", None)


def _by_the_rule(rs):
    qualities = [x.quality for x in rs if x.quality is not None]
    return (_majority([(x.created_at, x.outcome) for x in rs]),
            _majority([(x.created_at, x.uncertainty) for x in rs]),
            _majority([(x.created_at, x.constraints) for x in rs]),
            mean(qualities) if qualities else None)


def test_combined_verdicts_follow_the_rule_for_any_number_of_raters():
    rng = random.Random(5)
    answers = []
    for k in range(3000):
        raters = rng.choice((1, 1, 2, 2, 3, 4))
        answers.append([RatingFigures(f"r{k}", f"rater{j}", float(rng.choice((1, 2, 2, 3))),  # ties of times
                                      rng.choice(OUTCOMES), rng.choice(UNCERTAINTY), rng.choice(CONSTRAINTS),
                                      rng.choice((1, 2, 3, 4, 5, None)))
                        for j in range(raters)])
    got = [combined_of(rs) for rs in answers]
    for rs, combined in zip(answers, got, strict=True):
        expected = _by_the_rule(rs)
        assert combined == expected and [type(v) for v in combined] == [type(v) for v in expected], rs


def test_two_raters_at_the_same_moment_the_first_listed_counts():
    a = RatingFigures("r", "ana", 5.0, "success", "confident_correct", "followed", 4)
    b = RatingFigures("r", "ben", 5.0, "failure", "asked_clarifying", "violated", 1)
    assert combined_of([a, b]) == ("success", "confident_correct", "followed", 2.5)
    later = b._replace(created_at=6.0)
    assert combined_of([a, later]) == ("failure", "asked_clarifying", "violated", 2.5)
