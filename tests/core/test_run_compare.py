"""Run versus run statistics (desk.core.run_compare): the exact McNemar p-value, the paired
rates and the served-model column, on constructed answers."""

from __future__ import annotations

import itertools
import math
import random
from dataclasses import replace

import pytest

from desk.core.run_compare import AnswerFacts, compare_runs, holm, mcnemar_exact


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


def _judged(uncertainty: str, success: bool = True, ttft: float = 100.0, total: float = 500.0,
            cost: float | None = 0.01) -> AnswerFacts:
    return AnswerFacts(success=success, uncertainty=uncertainty, ttft_ms=ttft, total_ms=total, cost_usd=cost,
                       served_model="m", system_fingerprint="fp")


def _figure(m, name):
    return next(f for f in (*m.rates, *m.measures) if f.name == name)


def test_the_uncertainty_rates_come_from_people_with_mcnemar_and_holm():
    """Run A asked the needed question on all 10 cases; run B made something up on 10 of 10
    instead. Both rates move by 100 points with p = 2/2^10; Holm multiplies by the number of
    figures tested and both are still flagged worse; the unchanged refusal rate is not."""
    a = {((f"c{i}", 0), "m"): _judged("asked_clarifying") for i in range(10)}
    b = {key: _judged("confident_wrong") for key in a}
    (m,) = compare_runs("A", "B", a, b).models
    clarifying, refusal, fabricated = (_figure(m, n) for n in ("asked_clarifying", "needless_refusal", "fabricated"))
    assert (clarifying.n, clarifying.rate_a, clarifying.rate_b, clarifying.diff) == (10, 1.0, 0.0, -1.0)
    assert (clarifying.only_a, clarifying.only_b) == (10, 0)
    assert clarifying.p_value == pytest.approx(2 / 1024) and fabricated.p_value == pytest.approx(2 / 1024)
    assert fabricated.diff == 1.0 and clarifying.sources == fabricated.sources == ("people",)
    assert (refusal.diff, refusal.p_value, refusal.flag) == (0.0, 1.0, None)
    assert clarifying.flag == fabricated.flag == "worse"
    # 8 figures have a difference to test: constraint_violated is unjudged (n = 0, left out of Holm)
    tested = [f for f in (*m.rates, *m.measures) if f.p_holm is not None]
    assert len(tested) == 8 and _figure(m, "constraint_violated").p_holm is None
    assert clarifying.p_holm == pytest.approx(min(1.0, 8 * 2 / 1024))  # smallest p: Holm's first step
    assert {f.name for f in m.flagged} == {"asked_clarifying", "fabricated"}


def test_an_unrated_uncertainty_is_left_out_not_counted_as_no():
    a = {(("c1", 0), "m"): _judged("asked_clarifying"), (("c2", 0), "m"): AnswerFacts(success=True)}
    b = {(("c1", 0), "m"): _judged("asked_clarifying"), (("c2", 0), "m"): _judged("needless_refusal")}
    (m,) = compare_runs("A", "B", a, b).models
    assert _figure(m, "asked_clarifying").n == 1 and _figure(m, "needless_refusal").rate_b == 0.0


def test_holm_matches_statsmodels():
    multipletests = pytest.importorskip("statsmodels.stats.multitest").multipletests
    rng = random.Random(3)
    for size in (1, 2, 5, 9):
        for _ in range(20):
            p = [rng.choice([rng.random(), rng.random() / 50, 1.0]) for _ in range(size)]
            assert holm(p) == pytest.approx(list(multipletests(p, method="holm")[1]), abs=1e-12)


def test_a_slower_run_gets_the_shift_as_its_interval_and_is_flagged_worse():
    """Every answer of run B is 200 ms slower to start and 1 s slower to finish: each paired
    resample moves by exactly that, so the interval is the shift itself; only swapping none
    or all of the 12 pairs moves the p95 as far (2 of 4096 swaps, about 1 of the 2000
    permutations), so p is a few / (2000 + 1)."""
    a = {((f"c{i}", 0), "m"): _judged("confident_correct", ttft=100 + 10 * i, total=900 + 30 * i) for i in range(12)}
    b = {key: replace(f, ttft_ms=f.ttft_ms + 200, total_ms=f.total_ms + 1000) for key, f in a.items()}
    (m,) = compare_runs("A", "B", a, b).models
    p50, p95, total = (_figure(m, n) for n in ("ttft_p50", "ttft_p95", "total_p95"))
    assert (p50.value_a, p50.value_b, p50.diff) == pytest.approx((155.0, 355.0, 200.0))
    assert p50.interval == pytest.approx((200.0, 200.0)) and total.interval == pytest.approx((1000.0, 1000.0))
    assert p95.n == 12 and p95.p_value <= 5 / 2001
    assert p50.flag == p95.flag == total.flag == "worse"
    assert _figure(m, "success").flag is None and _figure(m, "cost_per_success").flag is None
    # and the other way round it is better
    (back,) = compare_runs("B", "A", b, a).models
    assert _figure(back, "ttft_p50").flag == "better"


def test_the_bootstrap_is_seeded_and_resamples_pairs():
    rng = random.Random(7)
    a = {((f"c{i}", 0), "m"): _judged("confident_correct", ttft=rng.uniform(50, 500)) for i in range(30)}
    b = {key: replace(f, ttft_ms=rng.uniform(50, 500)) for key, f in a.items()}
    once, again = (compare_runs("A", "B", a, b).models[0] for _ in range(2))
    assert _figure(once, "ttft_p95").interval == _figure(again, "ttft_p95").interval
    other = compare_runs("A", "B", a, b, seed=1).models[0]
    assert _figure(other, "ttft_p95").interval != _figure(once, "ttft_p95").interval
    lo, hi = _figure(once, "ttft_p50").interval
    assert lo < _figure(once, "ttft_p50").diff < hi


def test_cost_per_success_doubles_when_half_the_tasks_fail():
    """The same cost per answer, half the successes: cost per successful task goes from
    $0.01 to $0.02. A run with no success has no finite cost per success (None, and an
    unbounded interval, null in JSON)."""
    a = {((f"c{i}", 0), "m"): _judged("confident_correct", cost=0.01) for i in range(10)}
    b = {key: replace(f, success=int(key[0][0][1:]) % 2 == 0) for key, f in a.items()}
    (m,) = compare_runs("A", "B", a, b).models
    cost = _figure(m, "cost_per_success")
    assert (cost.n, cost.value_a, cost.value_b, cost.diff) == pytest.approx((10, 0.01, 0.02, 0.01))
    assert cost.interval[0] <= 0.01 <= cost.interval[1]
    nothing = {key: replace(f, success=False) for key, f in a.items()}
    (m,) = compare_runs("A", "B", a, nothing).models
    cost = _figure(m, "cost_per_success")
    assert cost.value_b is None and cost.diff is None and cost.interval == (math.inf, math.inf)
    assert cost.as_json()["interval"] == [None, None] and cost.flag == "worse"
    unknown = {key: replace(f, cost_usd=None) for key, f in a.items()}
    assert _figure(compare_runs("A", "B", a, unknown).models[0], "cost_per_success").n == 0


def test_alpha_decides_the_flag():
    """Success drops on 7 of 20 cases (p = 2/2^7 = 0.0156, the only figure tested): flagged
    at 0.05, not at 0.01."""
    a = {((f"c{i}", 0), "m"): AnswerFacts(success=True) for i in range(20)}
    b = {key: AnswerFacts(success=int(key[0][0][1:]) >= 7) for key in a}
    at_05 = _figure(compare_runs("A", "B", a, b).models[0], "success")
    at_01 = _figure(compare_runs("A", "B", a, b, alpha=0.01).models[0], "success")
    assert at_05.p_holm == pytest.approx(2 / 128) and at_05.flag == "worse"
    assert at_01.p_holm == pytest.approx(2 / 128) and at_01.flag is None
    with pytest.raises(ValueError):
        compare_runs("A", "B", a, b, alpha=1.5)


def test_two_unchanged_runs_flag_no_figure_in_19_of_20_repetitions():
    """Every figure (rates, latencies, cost) drawn from the same distributions in both runs:
    after Holm at alpha 0.05, at most 1 of 20 seeded repetitions flags anything."""
    kinds = ("asked_clarifying", "needless_refusal", "confident_wrong", "confident_correct")
    flagged = 0
    for seed in range(20):
        rng = random.Random(seed)

        def answer(rng=rng) -> AnswerFacts:
            return AnswerFacts(success=rng.random() < 0.7, violated=rng.random() < 0.2, violated_source="auto",
                               uncertainty=rng.choice(kinds), ttft_ms=rng.lognormvariate(5, 0.5),
                               total_ms=rng.lognormvariate(7, 0.5), cost_usd=rng.uniform(0.001, 0.01))

        a = {((f"c{i}", 0), "m"): answer() for i in range(60)}
        b = {key: answer() for key in a}
        (m,) = compare_runs("A", "B", a, b, seed=seed).models
        flagged += bool(m.flagged)
    assert flagged <= 1


def test_a_run_that_stopped_succeeding_is_worse_on_cost_and_the_reverse_better():
    a = {((f"c{i}", 0), "m"): _judged("confident_correct", cost=0.01) for i in range(12)}
    b = {key: replace(f, success=False) for key, f in a.items()}
    worse = _figure(compare_runs("A", "B", a, b).models[0], "cost_per_success")
    better = _figure(compare_runs("B", "A", b, a).models[0], "cost_per_success")
    assert (worse.diff, worse.flag) == (None, "worse") and (better.value_a, better.flag) == (None, "better")
    assert better.interval == (-math.inf, -math.inf)


def test_a_few_pairs_of_unchanged_latencies_flag_nothing_in_38_of_40_repetitions():
    """A weekly suite of 8 cases: the latencies of both runs from one distribution. The p95
    of 8 values is nearly their maximum, where a bootstrap's own p-value flagged one
    repetition in seven; the paired permutation p keeps to alpha."""
    flagged = 0
    for seed in range(40):
        rng = random.Random(seed)

        def answer(rng=rng) -> AnswerFacts:
            return AnswerFacts(ttft_ms=rng.uniform(20, 200), total_ms=rng.uniform(100, 900))

        a = {((f"c{i}", 0), "m"): answer() for i in range(8)}
        b = {key: answer() for key in a}
        (m,) = compare_runs("A", "B", a, b, seed=seed).models
        flagged += bool(m.flagged)
    assert flagged <= 2


def test_the_latency_p_value_is_the_exact_permutation_one_on_a_shift():
    """Every one of 10 pairs 300 ms slower: only swapping none or all of the pairs moves the
    median as far, so p is about 2 / 2**10 (exactly that over all 1024 swaps)."""
    a = {((f"c{i}", 0), "m"): AnswerFacts(ttft_ms=100.0 + 7 * i) for i in range(10)}
    b = {key: replace(f, ttft_ms=f.ttft_ms + 300) for key, f in a.items()}
    p50 = _figure(compare_runs("A", "B", a, b, n_resamples=20000).models[0], "ttft_p50")
    assert p50.p_value == pytest.approx(2 / 2**10, abs=0.001)
