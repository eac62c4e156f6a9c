"""An answer one person rated takes that rating's values straight (issue 21: combining one
rating per answer was a third of reading a 100,000-answer run back): its facts are what
combining gives, for every value a rating can hold; a judge's or the automatic check's
single rating still goes by its own rules."""

from __future__ import annotations

import itertools

import pytest

from desk.core.rating import RatingCell
from desk.core.suite import AUTO_RATER
from desk.engine.run_compare import answer_facts
from desk.store.suites import CellFigures

ANSWER = CellFigures("case", 0, "m/a", "ok", "r1", None, 120.0, 900.0, 0.002, "m-2026", "fp_1")
OUTCOMES = ("success", "partial", "failure", "", None)
UNCERTAINTIES = ("asked_clarifying", "confident_wrong", "stated_uncertainty", "", None)
CONSTRAINTS = ("followed", "violated", "na", "", None)


@pytest.mark.parametrize("rater", ["ana", "judge:m/z", AUTO_RATER])
@pytest.mark.parametrize("failed", [False, True])
def test_one_rating_gives_what_combining_it_gives(rater, failed):
    for outcome, uncertainty, constraints in itertools.product(OUTCOMES, UNCERTAINTIES, CONSTRAINTS):
        one = RatingCell("r1", rater, 5.0, outcome, uncertainty, constraints, 3, "")
        # Twice the same rating is combined (the majority of two alike is their value): the
        # path every answer several raters rated takes.
        combined = answer_facts(ANSWER, [one, one._replace(created_at=4.0)], failed=failed)
        assert answer_facts(ANSWER, [one], failed=failed) == combined, (outcome, uncertainty, constraints)


def test_a_persons_single_rating_names_people_as_every_verdicts_source():
    facts = answer_facts(ANSWER, [RatingCell("r1", "ana", 5.0, "success", "confident_wrong", "violated", 4, "")],
                         failed=False)
    assert (facts.success, facts.violated, facts.uncertainty) == (True, True, "confident_wrong")
    assert (facts.success_source, facts.violated_source, facts.uncertainty_source) == ("people", "people", "people")
    assert (facts.ttft_ms, facts.total_ms, facts.cost_usd) == (120.0, 900.0, 0.002)
