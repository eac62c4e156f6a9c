"""Every scorecard figure against values computed by hand on a small fixture store."""

from __future__ import annotations

import math

import pytest

from desk.core.ids import new_id
from desk.core.response import Attempt, ErrorKind, ResponseResult, Status, Usage
from desk.core.trial import TrialInput
from desk.engine.session import Engine, ScoreFilter
from desk.store import open_store

GOOD = {"uncertainty": "confident_correct", "constraints": "followed", "quality": 4}


def wilson(k: int, n: int, z: float = 1.959963984540054) -> tuple[float, float]:
    p = k / n
    centre = (p + z * z / (2 * n)) / (1 + z * z / n)
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / (1 + z * z / n)
    return centre - half, centre + half


@pytest.fixture
def engine(tmp_path):
    store = open_store(tmp_path / "score.db")
    eng = Engine(store)
    yield eng
    store.close()


def add(store, trial_id, model, *, total_ms, cost, status=Status.OK, attempts_cost=()):
    r = ResponseResult(id=new_id(), trial_id=trial_id, model=model, settings={}, status=status,
                       text="answer", total_ms=total_ms, ttft_ms=total_ms / 2, cost_usd=cost,
                       usage=Usage(10, 5))
    if status == Status.ERROR:
        r.error_kind = ErrorKind.SERVER_ERROR
    for n, c in enumerate(attempts_cost, start=1):
        r.attempts.append(Attempt(number=n, started_at=1.0, status=Status.OK, cost_usd=c))
    store.create_response(r)
    store.finish_response(r)
    return r


def test_scorecard_figures_match_hand_computation(engine):
    store = engine.store
    # Model A: 5 answers on 5 trials, rated success x4, failure x1 (one asked to clarify,
    # one fabricated), one violated constraint; model B: 3 answers, one failed request.
    a, b = [], []
    trials = [store.create_trial(TrialInput(f"task {i}")) for i in range(5)]
    a_totals = [100.0, 200.0, 300.0, 400.0, 1000.0]
    for i, t in enumerate(trials):
        a.append(add(store, t, "p/a", total_ms=a_totals[i], cost=0.01 * (i + 1)))
    b.append(add(store, trials[0], "p/b", total_ms=50.0, cost=0.002))
    b.append(add(store, trials[1], "p/b", total_ms=70.0, cost=0.004))
    b.append(add(store, trials[2], "p/b", total_ms=90.0, cost=0.003, status=Status.ERROR))

    rate = store.save_rating
    rate(a[0].id, "ana", {**GOOD, "outcome": "success", "uncertainty": "asked_clarifying", "quality": 5})
    rate(a[1].id, "ana", {**GOOD, "outcome": "success"})
    rate(a[2].id, "ana", {**GOOD, "outcome": "success", "constraints": "violated", "quality": 3})
    rate(a[3].id, "ana", {**GOOD, "outcome": "failure", "uncertainty": "confident_wrong", "quality": 1})
    rate(a[4].id, "ana", {**GOOD, "outcome": "success", "constraints": "na", "quality": 5})
    rate(b[0].id, "ana", {**GOOD, "outcome": "success"})
    rate(b[1].id, "ana", {**GOOD, "outcome": "partial", "uncertainty": "needless_question", "quality": 2})
    rate(b[2].id, "ana", {**GOOD, "outcome": "failure", "quality": 1})
    # Preferences: A beats B on trials 0 and 1, tie on trial 2.
    store.save_preference(a[0].id, b[0].id, "a", "ana")
    store.save_preference(b[1].id, a[1].id, "b", "ana")
    store.save_preference(a[2].id, b[2].id, "tie", "ana")

    scores = {s.model: s for s in engine.scorecard()}
    sa, sb = scores["p/a"], scores["p/b"]

    assert sa.n_rated == 5 and sa.successes == 4
    assert sa.success_rate == pytest.approx(0.8)
    assert sa.success_ci == pytest.approx(wilson(4, 5), abs=1e-9)
    assert sa.clarifying_rate == pytest.approx(1 / 5)
    assert sa.fabrication_rate == pytest.approx(1 / 5)
    # Constraints applied on 4 answers (one was "na"), one violated.
    assert sa.n_constraints == 4 and sa.constraint_violation_rate == pytest.approx(1 / 4)
    assert sa.mean_quality == pytest.approx((5 + 4 + 3 + 1 + 5) / 5)
    # Latency over the 5 ok answers: median 300; p95 by linear interpolation:
    # rank = 0.95 * 4 = 3.8 -> 400 + 0.8 * (1000 - 400) = 880.
    assert sa.median_total_ms == pytest.approx(300.0)
    assert sa.p95_total_ms == pytest.approx(880.0)
    assert sa.p95_total_ci is not None and sa.p95_total_ci[0] <= 880.0 <= sa.p95_total_ci[1] + 1e-9
    # Money: 0.01 + 0.02 + 0.03 + 0.04 + 0.05 = 0.15 over 4 successes.
    assert sa.total_cost_usd == pytest.approx(0.15)
    assert sa.mean_cost_usd == pytest.approx(0.03)
    assert sa.cost_per_success_usd == pytest.approx(0.15 / 4)

    # B: the failed request still cost money, which counts against its one success.
    assert sb.n_rated == 3 and sb.successes == 1
    assert sb.success_ci == pytest.approx(wilson(1, 3), abs=1e-9)
    assert sb.cost_per_success_usd == pytest.approx((0.002 + 0.004 + 0.003) / 1)
    assert sb.median_total_ms == pytest.approx(60.0)  # ok answers only: 50, 70
    assert sb.clarifying_rate == 0 and sb.fabrication_rate == 0

    # Pairwise: A won 2, tied 1 of 3 -> (2 + 0.5) / 3; B 0.5 / 3. Bradley-Terry puts A first.
    assert sa.pairwise_games == 3 and sa.pairwise_win_rate == pytest.approx(2.5 / 3)
    assert sb.pairwise_win_rate == pytest.approx(0.5 / 3)
    assert sa.bt_score > 1 > sb.bt_score
    assert sa.bt_score * sb.bt_score == pytest.approx(1.0)  # normalised: geometric mean 1

    # Too few samples are said, not hidden.
    assert any("too few rated answers (n=3" in w for w in sb.warnings)
    assert not any("too few rated answers" in w for w in sa.warnings)
    assert any("pairwise" in w for w in sa.warnings)


def test_agreement_kappa_for_two_raters_and_alpha_for_three(engine):
    store = engine.store
    trial = store.create_trial(TrialInput("t"))
    rs = [add(store, trial, "p/a", total_ms=100, cost=None) for _ in range(6)]
    ana = ["success", "success", "failure", "failure", "success", "partial"]
    bo = ["success", "failure", "failure", "failure", "success", "partial"]
    for r, x, y in zip(rs, ana, bo, strict=True):
        store.save_rating(r.id, "ana", {**GOOD, "outcome": x})
        store.save_rating(r.id, "bo", {**GOOD, "outcome": y})
    score = engine.scorecard()[0]
    # By hand: observed agreement 5/6; marginals ana (s3, f2, p1), bo (s2, f3, p1):
    # expected = (3*2 + 2*3 + 1*1) / 36 = 13/36; kappa = (5/6 - 13/36) / (1 - 13/36) = 17/23.
    assert score.agreement["raters"] == 2 and score.agreement["n_items"] == 6
    assert score.agreement["outcome"]["cohen_kappa"] == pytest.approx(17 / 23)
    # The majority with a tie takes the most recent rating (bo's, saved second).
    assert score.successes == 2

    for r in rs:
        store.save_rating(r.id, "cy", {**GOOD, "outcome": "success"})
    score = engine.scorecard()[0]
    assert score.agreement["raters"] == 3 and "krippendorff_alpha" in score.agreement["outcome"]
    assert score.cost_unknown == 6 and score.cost_per_success_usd is None


def test_filters_by_rater_tag_and_trial(engine):
    store = engine.store
    t1, t2 = store.create_trial(TrialInput("one")), store.create_trial(TrialInput("two"))
    r1 = add(store, t1, "p/a", total_ms=100, cost=0.01)
    r2 = add(store, t2, "p/a", total_ms=200, cost=0.02)
    store.save_rating(r1.id, "ana", {**GOOD, "outcome": "success", "tags": ["finance"]})
    store.save_rating(r2.id, "bo", {**GOOD, "outcome": "failure"})
    assert engine.scorecard(ScoreFilter(rater="ana"))[0].successes == 1
    assert engine.scorecard(ScoreFilter(rater="ana"))[0].n_rated == 1
    assert engine.scorecard(ScoreFilter(tags=("finance",)))[0].total_cost_usd == pytest.approx(0.01)
    only_t2 = engine.scorecard(ScoreFilter(trial_ids=(t2,)))[0]
    assert only_t2.n_rated == 1 and only_t2.successes == 0 and only_t2.cost_per_success_usd is None


def test_date_range_keeps_answers_rated_in_it_though_stored_before(engine):
    store = engine.store
    t = store.create_trial(TrialInput("q"))
    r = add(store, t, "p/m", total_ms=5.0, cost=0.01)
    store.db.execute("UPDATE responses SET created_at = created_at - 2 * 86400")  # answered 2 days ago
    store.save_rating(r.id, "ann", {**GOOD, "outcome": "success"})
    import time

    scores = engine.scorecard(ScoreFilter(since=time.time() - 3600))
    assert len(scores) == 1 and scores[0].n_rated == 1 and scores[0].successes == 1


def test_load_run_traffic_stays_out_of_the_scorecard(engine):
    store = engine.store
    trial = store.create_trial(TrialInput("task"))
    hand = add(store, trial, "p/a", total_ms=100.0, cost=0.01)
    store.save_rating(hand.id, "ana", {**GOOD, "outcome": "success"})
    before = {s.model: (s.n_answers, s.cost_per_success_usd) for s in engine.scorecard()}

    run_id = store.create_run("load", {}, "spike")
    load_trial = store.create_trial(TrialInput("synthetic"))
    for _ in range(50):  # slow, expensive, unrated: it would swamp p95 and $/success
        r = add(store, load_trial, "p/a", total_ms=9000.0, cost=1.0)
        store.db.execute("UPDATE responses SET run_id = ? WHERE id = ?", (run_id, r.id))
    after = {s.model: (s.n_answers, s.cost_per_success_usd) for s in engine.scorecard()}
    assert after == before == {"p/a": (1, 0.01)}
    # Asked for by trial, the load run's answers are what it is about.
    [scoped] = engine.scorecard(ScoreFilter(trial_ids=(load_trial,)))
    assert scoped.n_answers == 50
