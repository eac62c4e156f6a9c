"""The scorecard's figures stay what they were when its computation was reorganised for
speed (issue 21): generated mixes of answers and ratings (failed, unfinished, unknown cost,
whole and half quality scores, one to three raters, continued turns, preferences) give
exactly the JSON recorded before, which the previous, per-model-list code computed.
The Bradley-Terry strengths alone are held to 1e-12: they come through numpy's exp and
log, whose vectorised last bits differ between numpy releases and CPUs (numpy 2.4 on a
new machine moved bt_ci by one or two units in the last place).

Regenerate on purpose only: `python -m tests.engine.test_scorecard_same_figures --expected`."""

from __future__ import annotations

import json
import math
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


NUMPY_TRANSCENDENTAL = ("bt_score", "bt_ci")  # exp/log: last bits are numpy's and the CPU's


def _same(got, expected) -> bool:
    """Equal, number for number, within 1e-12 of each other (types kept: 3 is not 3.0)."""
    if isinstance(expected, list):
        return isinstance(got, list) and len(got) == len(expected) and all(map(_same, got, expected))
    if isinstance(expected, float):
        return type(got) is float and math.isclose(got, expected, rel_tol=1e-12, abs_tol=1e-300)
    return type(got) is type(expected) and got == expected


def test_figures_are_the_ones_recorded_before():
    expected = json.loads(EXPECTED.read_text())
    for seed in SEEDS:
        got = _figures(seed)
        assert len(got) == len(expected[str(seed)]), seed
        for mine, before in zip(got, expected[str(seed)], strict=True):
            assert mine.keys() == before.keys(), seed
            for key, value in before.items():
                if key in NUMPY_TRANSCENDENTAL:
                    assert _same(mine[key], value), (seed, mine["model"], key, mine[key], value)
                else:
                    assert mine[key] == value, (seed, mine["model"], key, mine[key], value)


def test_types_are_kept_too():
    # An int mean quality stays an int, a float stays a float: JSON tells 3 from 3.0.
    expected = json.loads(EXPECTED.read_text())
    for seed in SEEDS:
        got = _figures(seed)
        for mine, before in zip(got, expected[str(seed)], strict=True):
            for key, value in before.items():
                if key in NUMPY_TRANSCENDENTAL:
                    assert _same(mine[key], value), (seed, key)
                else:
                    assert json.dumps(mine[key]) == json.dumps(value), (seed, key)


def test_close_is_not_loose():
    # The 1e-12 above still tells any change a computation could make: one part in 1e-11 is not the same.
    assert _same([1.0, 2.0], [1.0, 2.0 * (1 + 2e-16)])
    assert not _same([1.0, 2.0], [1.0, 2.0 * (1 + 1e-11)])
    assert not _same([1, 2.0], [1.0, 2.0])


if __name__ == "__main__" and "--expected" in sys.argv:
    EXPECTED.write_text(json.dumps({str(seed): _figures(seed) for seed in SEEDS}, indent=1) + "\n")
