"""The 1–5 quality score gets an ordinal and an interval agreement figure in the scorecard."""

from __future__ import annotations

import pytest

from desk.core.trial import TrialInput
from desk.engine.session import Engine
from desk.store import open_store

from .test_scorecard import GOOD, add


@pytest.fixture
def engine(tmp_path):
    e = Engine(open_store(tmp_path / "d.db"))
    yield e
    e.store.close()


def test_quality_agreement_ordinal_and_interval(engine):
    store = engine.store
    trial = store.trials.create(TrialInput("t"))
    # Krippendorff's (2011) four-observer example, values 1–5, as quality scores.
    data = [[1, 1, None, 1], [2, 2, 3, 2], [3, 3, 3, 3], [3, 3, 3, 3], [2, 2, 2, 2], [1, 2, 3, 4],
            [4, 4, 4, 4], [1, 1, 2, 1], [2, 2, 2, 2], [None, 5, 5, 5], [None, None, 1, 1]]
    for scores in data:
        r = add(store, trial, "p/a", total_ms=100, cost=None)
        for rater, score in zip(("ana", "bo", "cy", "di"), scores, strict=True):
            if score is not None:
                store.ratings.save(r.id, rater, {**GOOD, "outcome": "success", "quality": score})
    quality = engine.ratings.scorecard()[0].agreement["quality"]
    assert quality["krippendorff_alpha_ordinal"] == pytest.approx(0.815, abs=5e-4)
    assert quality["krippendorff_alpha_interval"] == pytest.approx(0.849, abs=5e-4)


def test_two_raters_get_a_quality_alpha_too(engine):
    store = engine.store
    trial = store.trials.create(TrialInput("t"))
    for a, b in [(5, 5), (4, 4), (1, 1), (4, 5)]:
        r = add(store, trial, "p/a", total_ms=100, cost=None)
        store.ratings.save(r.id, "ana", {**GOOD, "outcome": "success", "quality": a})
        store.ratings.save(r.id, "bo", {**GOOD, "outcome": "success", "quality": b})
    agreement = engine.ratings.scorecard()[0].agreement
    assert "cohen_kappa" in agreement["outcome"]
    # Interval by hand: alpha = 1 - (n - 1) * sum o_ck (c-k)^2 / sum n_c n_k (c-k)^2 with n = 8;
    # the one 4–5 unit gives o_45 = o_54 = 1, so the top is 2; n_1 = 2, n_4 = 3, n_5 = 3, so
    # the bottom is 2 * (2*3*9 + 2*3*16 + 3*3*1) = 318.
    assert agreement["quality"]["krippendorff_alpha_interval"] == pytest.approx(1 - 7 * 2 / 318)

