"""Agreement before trust (issue 14): Cohen's kappa, its bootstrap interval and the
confusion matrix match hand-computed values and scikit-learn; the calibration rule; and
the report pairs each judge with the first person who rated an answer, never with desk's
own checks."""

from __future__ import annotations

import random

import pytest

from desk.core.judge_agreement import (
    MIN_SHARED,
    agreement_report,
    confusion_matrix,
    criterion_agreement,
    kappa_interval,
)
from desk.core.rating import Rating
from desk.core.rubric import DEFAULT_RUBRIC
from desk.core.statistics import cohen_kappa

# 50 answers: person yes & judge yes 20, yes/no 5, no/yes 10, no/no 15.
PERSON = ["yes"] * 25 + ["no"] * 25
JUDGE = ["yes"] * 20 + ["no"] * 5 + ["yes"] * 10 + ["no"] * 15


def test_kappa_and_confusion_by_hand():
    # p_o = 35/50 = 0.7; p_e = 25/50 * 30/50 + 25/50 * 20/50 = 0.5; kappa = 0.2 / 0.5 = 0.4
    assert cohen_kappa(PERSON, JUDGE) == pytest.approx(0.4, abs=1e-12)
    assert confusion_matrix(PERSON, JUDGE, ("no", "yes")) == ((15, 10), (5, 20))
    row = criterion_agreement("judge:p/j", "outcome", PERSON, JUDGE, ([], []), threshold=0.6)
    assert (row.n, row.agreement, row.labels) == (50, 0.7, ("no", "yes"))
    assert row.kappa_low < 0.4 < row.kappa_high
    assert not row.calibrated  # kappa 0.4: its lower bound is far below 0.6


def test_kappa_matches_scikit_learn():
    sklearn = pytest.importorskip("sklearn.metrics")
    rng = random.Random(7)
    labels = ["success", "partial", "failure"]
    for _ in range(20):
        a = [rng.choice(labels) for _ in range(60)]
        b = [x if rng.random() < 0.6 else rng.choice(labels) for x in a]
        assert cohen_kappa(a, b) == pytest.approx(sklearn.cohen_kappa_score(a, b), abs=1e-12)
        ours = confusion_matrix(a, b, sorted(labels))
        assert [list(r) for r in ours] == sklearn.confusion_matrix(a, b, labels=sorted(labels)).tolist()


def test_the_bootstrap_interval_resamples_answers_reproducibly():
    first = kappa_interval(PERSON, JUDGE, seed=3)
    assert first == kappa_interval(PERSON, JUDGE, seed=3)
    # By hand: each resample's kappa, from the same draws of answer indices.
    import numpy as np

    from desk.core.statistics import _resample_rows, percentile
    pairs = list(zip(PERSON, JUDGE, strict=True))
    kappas = []
    for rows in _resample_rows(np.random.default_rng(3), len(pairs), 2000):
        for row in rows:
            k = cohen_kappa([pairs[i][0] for i in row], [pairs[i][1] for i in row])
            if k is not None:
                kappas.append(k)
    assert first == (pytest.approx(percentile(kappas, 2.5)), pytest.approx(percentile(kappas, 97.5)))
    assert kappa_interval(["a", "b"] * 20, ["a", "b"] * 20) == (1.0, 1.0)


@pytest.mark.parametrize(("n", "threshold", "calibrated"), [
    (MIN_SHARED - 1, 0.6, False),  # perfect agreement, but too few shared answers
    (MIN_SHARED, 0.6, True),
    (MIN_SHARED, 1.01, False),  # a lower bound of 1.0 is below a threshold above it
])
def test_calibrated_only_with_enough_answers_and_a_high_lower_bound(n, threshold, calibrated):
    values = ["yes", "no"] * n
    row = criterion_agreement("judge:p/j", "outcome", values[:n], values[:n], ([], []), threshold=threshold)
    assert row.calibrated is calibrated


def _rating(rid: str, rater: str, at: float, **values) -> Rating:
    base = {"outcome": "success", "uncertainty": "confident_correct", "constraints": "na", "quality": 3}
    return Rating(f"{rid}-{rater}", rid, rater, "rubric", at, {**base, **values})


def test_the_report_pairs_the_judge_with_the_first_person_and_shows_peoples_kappa():
    ratings = []
    for i in range(40):
        person = "success" if i % 2 else "failure"
        ratings.append(_rating(f"a{i}", "alice", 1.0, outcome=person))
        ratings.append(_rating(f"a{i}", "judge:p/j", 3.0, outcome=person if i < 36 else "partial"))
        ratings.append(_rating(f"a{i}", "auto", 0.5, outcome="failure"))  # desk's checks: never a person
        if i < 10:
            ratings.append(_rating(f"a{i}", "bob", 2.0, outcome="success"))
    report = agreement_report(ratings, DEFAULT_RUBRIC)
    outcome = next(r for r in report.rows if r.criterion == "outcome")
    assert (outcome.judge, outcome.n, outcome.agreement) == ("judge:p/j", 40, 0.9)
    assert outcome.human_n == 10
    alice = ["success" if i % 2 else "failure" for i in range(10)]
    assert outcome.human_kappa == cohen_kappa(alice, ["success"] * 10)
    assert [r.criterion for r in report.rows] == ["outcome", "uncertainty", "constraints", "quality"]
    assert report.as_json()["criteria"][0]["confusion"] == [list(r) for r in outcome.confusion]
