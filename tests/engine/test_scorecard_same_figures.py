"""The scorecard's figures stay what they were when its computation was reorganised for
speed (issue 21): generated mixes of answers and ratings (failed, unfinished, unknown cost,
whole and half quality scores, one to three raters, continued turns, preferences) give
exactly the JSON recorded before, which the previous, per-model-list code computed.

Regenerate on purpose only: `python -m tests.engine.test_scorecard_same_figures --expected`."""

from __future__ import annotations

import json
import random
import sys
from pathlib import Path

from desk.core.rating import PreferenceFigures, RatingFigures
from desk.core.response import ResponseFigures, Status
from desk.engine.scorecard import compute_scorecard

EXPECTED = Path(__file__).with_name("scorecard_same_figures.json")
SEEDS = range(6)


def _mix(seed: int):
    rng = random.Random(seed)
    models = [f"m/{c}" for c in "dacb"[: 2 + seed % 3]]
    n = rng.choice((40, 300, 900))
    answers = []
    for k in range(n):
        status = rng.choice((Status.OK,) * 8 + (Status.ERROR, Status.INTERRUPTED, Status.STREAMING))
        total = None if rng.random() < 0.05 else (rng.choice((300, 1200)) if rng.random() < 0.1 else
                                                   rng.lognormvariate(7, 0.6))
        cost = None if rng.random() < 0.04 else rng.choice((0.0, rng.random() / 100, 1e-6 * rng.randint(1, 900)))
        answers.append(ResponseFigures(f"r{k:05d}", f"t{k // 3}", rng.choice(models), status, total, cost,
                                       status == Status.ERROR or (status == Status.INTERRUPTED and rng.random() < .5)))
    ratings = []
    for a in answers:
        if rng.random() < 0.15:
            continue  # unrated
        people = ("ana", "ben", "cy") if seed < 4 else ("ana", "ben")  # two raters: Cohen's kappa
        raters = rng.sample(people, min(len(people), rng.choice((1, 1, 1, 2, 2, 3))))
        for rater in raters:
            ratings.append(RatingFigures(
                a.id, rater, float(rng.randint(1, 4)),
                rng.choice(("success", "success", "partial", "failure", None)),
                rng.choice(("confident_correct", "stated_uncertainty", "asked_clarifying", "confident_wrong", None)),
                rng.choice(("followed", "violated", "na", None)),
                3 if seed == 5 else rng.choice((1, 2, 3, 4, 5, 2.5, None))))  # seed 5: a whole mean, an int
    ratings.append(RatingFigures("elsewhere", "dan", 1.0, "success"))  # an answer out of scope
    rng.shuffle(ratings)
    preferences = []
    for _ in range(n // 4):
        a, b = rng.sample(answers, 2)
        preferences.append(PreferenceFigures(a.id, b.id, rng.choice(("a", "b", "tie", "both_bad"))))
    continued = {a.id for a in answers if rng.random() < 0.1} if seed % 2 else set()
    return answers, ratings, preferences, continued


def _figures(seed: int) -> list[dict]:
    answers, ratings, preferences, continued = _mix(seed)
    scores = compute_scorecard(answers, ratings, preferences, seed=seed, n_resamples=300, continued=continued)
    return json.loads(json.dumps([s.as_json() for s in scores]))


def test_figures_are_the_ones_recorded_before():
    expected = json.loads(EXPECTED.read_text())
    for seed in SEEDS:
        assert _figures(seed) == expected[str(seed)], seed


def test_types_are_kept_too():
    # An int mean quality stays an int, a float stays a float: JSON tells 3 from 3.0.
    expected = json.loads(EXPECTED.read_text())
    for seed in SEEDS:
        assert json.dumps(_figures(seed)) == json.dumps(expected[str(seed)]), seed


if __name__ == "__main__" and "--expected" in sys.argv:
    EXPECTED.write_text(json.dumps({str(seed): _figures(seed) for seed in SEEDS}, indent=1) + "\n")
