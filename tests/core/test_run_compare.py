"""Run versus run statistics (desk.core.run_compare): the exact McNemar p-value, the paired
rates and the served-model column, on constructed answers."""

from __future__ import annotations

import itertools
import math
import random

import pytest

from desk.core.run_compare import AnswerFacts, compare_runs, mcnemar_exact


def _exact_reference(b: int, c: int) -> float:
    n = b + c
    return 1.0 if n == 0 else min(1.0, 2 * sum(math.comb(n, k) for k in range(min(b, c) + 1)) / 2**n)


def test_mcnemar_exact_known_values():
    assert mcnemar_exact(0, 0) == 1.0
    assert mcnemar_exact(1, 6) == pytest.approx(0.125)  # 2 * (1 + 7) / 2^7
    assert mcnemar_exact(0, 10) == pytest.approx(2 / 1024)
    assert mcnemar_exact(5, 5) == 1.0


def test_mcnemar_exact_matches_statsmodels():
    mcnemar = pytest.importorskip("statsmodels.stats.contingency_tables").mcnemar
    for b, c in itertools.product(range(0, 13), range(0, 13)):
        table = [[7, b], [c, 3]]  # the concordant cells do not enter the exact test
        expected = mcnemar(table, exact=True).pvalue
        assert mcnemar_exact(b, c) == pytest.approx(expected, rel=1e-12, abs=1e-15), (b, c)
        assert _exact_reference(b, c) == pytest.approx(expected, rel=1e-12, abs=1e-15)


def _facts(success: bool | None, fp: str = "fp_a", ttft: float = 100.0, violated: bool | None = None,
           source: str | None = None) -> AnswerFacts:
    return AnswerFacts(success=success, violated=violated, violated_source=source, ttft_ms=ttft,
                       served_model="gpt-x", system_fingerprint=fp)


def test_a_changed_fingerprint_and_fewer_successes_are_both_reported():
    a = {((f"c{i}", 0), "oa/gpt-x"): _facts(True, ttft=100 + i) for i in range(10)}
    b = {((f"c{i}", 0), "oa/gpt-x"): _facts(i >= 8, fp="fp_b", ttft=300 + i) for i in range(10)}
    a[(("only-in-a", 0), "oa/gpt-x")] = _facts(True)
    result = compare_runs("A", "B", a, b)
    (m,) = result.models
    success = m.rates[0]
    assert (success.n, success.rate_a, success.rate_b) == (10, 1.0, 0.2)
    assert success.diff == pytest.approx(-0.8)
    assert (success.only_a, success.only_b) == (8, 0)
    assert success.p_value == pytest.approx(2 / 256)
    assert success.sources == ("people",)
    assert m.served_changed == "gpt-x (fp_a) → gpt-x (fp_b)"
    assert m.ttft_p50[0] < 200 < m.ttft_p50[1]
    assert result.left_out == 1 and "1 answer(s)" in result.warnings[0]
    assert result.as_json()["models"][0]["served_changed"] == m.served_changed


def test_nothing_changed_says_nothing_changed():
    a = {((f"c{i}", s), "m"): _facts(i % 2 == 0, violated=i % 3 == 0, source="auto")
         for i in range(6) for s in range(2)}
    (m,) = compare_runs("A", "B", a, dict(a)).models
    assert m.served_changed is None
    assert all(r.diff == 0 and r.p_value == 1.0 for r in m.rates if r.n)
    assert not m.flagged
    assert m.rates[1].name == "constraint_violated" and m.rates[1].sources == ("auto",)


def test_answers_without_a_verdict_are_left_out_of_the_rate_not_counted_as_failures():
    a = {(("c1", 0), "m"): _facts(True), (("c2", 0), "m"): _facts(None)}
    b = {(("c1", 0), "m"): _facts(True), (("c2", 0), "m"): _facts(False)}
    (m,) = compare_runs("A", "B", a, b).models
    assert m.rates[0].n == 1 and m.rates[0].rate_b == 1.0
    assert m.pairs == 2


def test_two_runs_of_an_unchanged_model_are_rarely_significant():
    """20 seeded pairs of runs where nothing changed (each answer succeeds with the same
    chance in both runs): McNemar's p is under 0.05 in at most 1 of them."""
    significant = 0
    for seed in range(20):
        rng = random.Random(seed)
        a = {((f"c{i}", 0), "m"): _facts(rng.random() < 0.7) for i in range(60)}
        b = {key: _facts(rng.random() < 0.7) for key in a}
        (m,) = compare_runs("A", "B", a, b).models
        significant += m.rates[0].p_value < 0.05
    assert significant <= 1
