"""A failed answer (an error, a 429, a timeout) is rated by its outcome alone."""

from __future__ import annotations

import pytest

from desk.core.rubric import DEFAULT_RUBRIC
from desk.core.trial import TrialInput
from desk.engine.scorecard import compute_scorecard
from desk.store import Store, StoreError
from tests.store.test_store_ratings import _answer


def test_rubric_asks_a_failed_answer_only_its_outcome() -> None:
    assert [c.key for c in DEFAULT_RUBRIC.asked(failed=True)] == ["outcome", "note", "tags"]
    assert DEFAULT_RUBRIC.validate({"outcome": "failure"}, failed=True) == []
    assert DEFAULT_RUBRIC.validate({"outcome": "failure"}) != []  # an answer is judged on everything
    problems = DEFAULT_RUBRIC.validate({"outcome": "failure", "quality": 1}, failed=True)
    assert problems and "Quality" in problems[0]


def test_failed_answer_stores_its_outcome_and_nothing_made_up(store: Store) -> None:
    trial = store.trials.create(TrialInput("q"))
    failed = _answer(store, trial, "p/broken", failed=True)
    rating = store.ratings.save(failed.id, "Ana", {"outcome": "failure", "note": "429 twice"})
    assert dict(rating.values) == {"outcome": "failure", "note": "429 twice"}
    with pytest.raises(StoreError, match="Quality"):
        store.ratings.save(failed.id, "Ana", {"outcome": "failure", "quality": 1})


def test_scorecard_ignores_made_up_criteria_of_a_failed_answer(store: Store) -> None:
    trial = store.trials.create(TrialInput("q"))
    failed = _answer(store, trial, "p/broken", failed=True)
    # A rating stored before the rule (the 429 pane demanded every criterion).
    store.db.execute("UPDATE responses SET status = 'ok' WHERE id = ?", (failed.id,))
    store.ratings.save(failed.id, "Ana", {"outcome": "failure", "uncertainty": "confident_wrong",
                                         "constraints": "violated", "quality": 1})
    store.db.execute("UPDATE responses SET status = 'error' WHERE id = ?", (failed.id,))
    (score,) = compute_scorecard(store.responses.all(), store.ratings.current())
    assert score.n_rated == 1 and score.success_rate == 0
    assert score.mean_quality is None and score.fabrication_rate == 0 and score.n_constraints == 0
