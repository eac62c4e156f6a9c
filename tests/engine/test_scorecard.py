"""Every scorecard figure against values computed by hand on a small fixture store."""

from __future__ import annotations

import asyncio
import json
import math
import threading

import pytest

import desk.engine.services.ratings as session
from desk.cli import main as cli_main
from desk.core.ids import new_id
from desk.core.rating import RatingFilter
from desk.core.response import Attempt, ErrorKind, ResponseResult, Status, Usage
from desk.core.statistics import bootstrap_ratio_interval
from desk.core.trial import TrialInput
from desk.engine.jobs import Job, JobCancelled
from desk.engine.scorecard import compute_scorecard
from desk.engine.session import Engine
from desk.store import open_store

GOOD = {"uncertainty": "confident_correct", "constraints": "followed", "quality": 4}


def wilson(k: float, n: int, z: float = 1.959963984540054) -> tuple[float, float]:
    p = k / n
    centre = (p + z * z / (2 * n)) / (1 + z * z / n)
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / (1 + z * z / n)
    return centre - half, centre + half


def two_item_bt(points: float, games: int, prior: float = 0.5) -> tuple[float, float]:
    """Bradley–Terry strengths of A and B when they only played each other, by hand.

    With geometric mean 1, p_A = e^t and p_B = e^-t. The penalised log-likelihood (see
    desk.core.statistics.bradley_terry) is w·log σ(2t) + l·log σ(-2t) + prior·[log σ(t) + log σ(-t)]
    with w = A's points and l = games - w; its derivative gives the score equation
        2w·σ(-2t) - 2l·σ(2t) = prior·tanh(t/2),
    whose left side falls and right side rises in t: one root, found by bisection.
    """
    w, lost = points, games - points

    def f(t: float) -> float:
        return 2 * w / (1 + math.exp(2 * t)) - 2 * lost / (1 + math.exp(-2 * t)) - prior * math.tanh(t / 2)

    lo, hi = -20.0, 20.0
    for _ in range(200):
        mid = (lo + hi) / 2
        lo, hi = (mid, hi) if f(mid) > 0 else (lo, mid)
    return math.exp(lo), math.exp(-lo)


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
    store.responses.create(r)
    store.responses.finish(r)
    return r


def test_scorecard_figures_match_hand_computation(engine):
    store = engine.store
    # Model A: 5 answers on 5 trials, rated success x4, failure x1 (one asked to clarify,
    # one fabricated), one violated constraint; model B: 3 answers, one failed request.
    a, b = [], []
    trials = [store.trials.create(TrialInput(f"task {i}")) for i in range(5)]
    a_totals = [100.0, 200.0, 300.0, 400.0, 1000.0]
    for i, t in enumerate(trials):
        a.append(add(store, t, "p/a", total_ms=a_totals[i], cost=0.01 * (i + 1)))
    b.append(add(store, trials[0], "p/b", total_ms=50.0, cost=0.002))
    b.append(add(store, trials[1], "p/b", total_ms=70.0, cost=0.004))
    b.append(add(store, trials[2], "p/b", total_ms=90.0, cost=0.003, status=Status.ERROR))

    rate = store.ratings.save
    rate(a[0].id, "ana", {**GOOD, "outcome": "success", "uncertainty": "asked_clarifying", "quality": 5})
    rate(a[1].id, "ana", {**GOOD, "outcome": "success"})
    rate(a[2].id, "ana", {**GOOD, "outcome": "success", "constraints": "violated", "quality": 3})
    rate(a[3].id, "ana", {**GOOD, "outcome": "failure", "uncertainty": "confident_wrong", "quality": 1})
    rate(a[4].id, "ana", {**GOOD, "outcome": "success", "constraints": "na", "quality": 5})
    rate(b[0].id, "ana", {**GOOD, "outcome": "success"})
    rate(b[1].id, "ana", {**GOOD, "outcome": "partial", "uncertainty": "needless_question", "quality": 2})
    rate(b[2].id, "ana", {"outcome": "failure"})  # a failed request: rated by its outcome alone
    # Preferences: A beats B on trials 0 and 1, tie on trial 2.
    store.ratings.save_preference(a[0].id, b[0].id, "a", "ana")
    store.ratings.save_preference(b[1].id, a[1].id, "b", "ana")
    store.ratings.save_preference(a[2].id, b[2].id, "tie", "ana")

    scores = {s.model: s for s in engine.ratings.scorecard()}
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
    # Its interval resamples the five answers, each with its cost and success (1 1 1 0 1).
    costs = [0.01, 0.02, 0.03, 0.04, 0.05]
    assert sa.cost_per_success_ci == pytest.approx(bootstrap_ratio_interval(costs, [1, 1, 1, 0, 1]))
    lo, hi = sa.cost_per_success_ci
    # Bounds: 5 cheapest answers all successes -> 0.01; at most one success -> up to 0.25.
    assert 0.01 <= lo < 0.15 / 4 < hi <= 0.25

    # B: the failed request still cost money, which counts against its one success.
    assert sb.n_rated == 3 and sb.successes == 1
    assert sb.success_ci == pytest.approx(wilson(1, 3), abs=1e-9)
    assert sb.cost_per_success_usd == pytest.approx((0.002 + 0.004 + 0.003) / 1)
    # One success in three answers: (2/3)^3 = 30% of resamples have none, far above the
    # 2.5% tail, so the upper end is unbounded rather than a made-up number.
    assert sb.cost_per_success_ci[1] == math.inf and sb.cost_per_success_ci[0] <= 0.009
    assert sb.median_total_ms == pytest.approx(60.0)  # ok answers only: 50, 70
    assert sb.clarifying_rate == 0 and sb.fabrication_rate == 0

    # Pairwise: A won 2, tied 1 of 3 -> (2 + 0.5) / 3; B 0.5 / 3. Bradley-Terry puts A first.
    assert sa.pairwise_games == 3 and sa.pairwise_win_rate == pytest.approx(2.5 / 3)
    assert sb.pairwise_win_rate == pytest.approx(0.5 / 3)
    # Wilson on the points, ties counted as half a win (the rule in desk.engine.scorecard).
    assert sa.pairwise_win_ci == pytest.approx(wilson(2.5, 3), abs=1e-12)
    assert sb.pairwise_win_ci == pytest.approx(wilson(0.5, 3), abs=1e-12)
    assert sa.bt_score > 1 > sb.bt_score
    assert sa.bt_score * sb.bt_score == pytest.approx(1.0)  # normalised: geometric mean 1
    # The strengths themselves, from the two-item score equation (2.5 of 3 points).
    assert (sa.bt_score, sb.bt_score) == pytest.approx(two_item_bt(2.5, 3), rel=1e-7)
    assert sa.bt_ci[0] <= sa.bt_score <= sa.bt_ci[1] and sb.bt_ci[0] <= sb.bt_score <= sb.bt_ci[1]
    card = sa.as_json()
    assert card["pairwise_win_ci"] == pytest.approx(list(wilson(2.5, 3)))
    assert card["cost_per_success_ci"] == pytest.approx(list(sa.cost_per_success_ci))
    assert sb.as_json()["cost_per_success_ci"][1] is None  # JSON has no infinity

    # Too few samples are said, not hidden.
    assert any("too few rated answers (n=3" in w for w in sb.warnings)
    assert not any("too few rated answers" in w for w in sa.warnings)
    assert any("pairwise" in w for w in sa.warnings)


def test_agreement_kappa_for_two_raters_and_alpha_for_three(engine):
    store = engine.store
    trial = store.trials.create(TrialInput("t"))
    rs = [add(store, trial, "p/a", total_ms=100, cost=None) for _ in range(6)]
    ana = ["success", "success", "failure", "failure", "success", "partial"]
    bo = ["success", "failure", "failure", "failure", "success", "partial"]
    for r, x, y in zip(rs, ana, bo, strict=True):
        store.ratings.save(r.id, "ana", {**GOOD, "outcome": x})
        store.ratings.save(r.id, "bo", {**GOOD, "outcome": y})
    score = engine.ratings.scorecard()[0]
    # By hand: observed agreement 5/6; marginals ana (s3, f2, p1), bo (s2, f3, p1):
    # expected = (3*2 + 2*3 + 1*1) / 36 = 13/36; kappa = (5/6 - 13/36) / (1 - 13/36) = 17/23.
    assert score.agreement["raters"] == 2 and score.agreement["n_items"] == 6
    assert score.agreement["outcome"]["cohen_kappa"] == pytest.approx(17 / 23)
    # The majority with a tie takes the most recent rating (bo's, saved second).
    assert score.successes == 2

    for r in rs:
        store.ratings.save(r.id, "cy", {**GOOD, "outcome": "success"})
    score = engine.ratings.scorecard()[0]
    assert score.agreement["raters"] == 3 and "krippendorff_alpha" in score.agreement["outcome"]
    assert score.cost_unknown == 6 and score.cost_per_success_usd is None


def test_filters_by_rater_tag_and_trial(engine):
    store = engine.store
    t1, t2 = store.trials.create(TrialInput("one")), store.trials.create(TrialInput("two"))
    r1 = add(store, t1, "p/a", total_ms=100, cost=0.01)
    r2 = add(store, t2, "p/a", total_ms=200, cost=0.02)
    store.ratings.save(r1.id, "ana", {**GOOD, "outcome": "success", "tags": ["finance"]})
    store.ratings.save(r2.id, "bo", {**GOOD, "outcome": "failure"})
    assert engine.ratings.scorecard(RatingFilter(rater="ana"))[0].successes == 1
    assert engine.ratings.scorecard(RatingFilter(rater="ana"))[0].n_rated == 1
    assert engine.ratings.scorecard(RatingFilter(tags=("finance",)))[0].total_cost_usd == pytest.approx(0.01)
    only_t2 = engine.ratings.scorecard(RatingFilter(trial_ids=(t2,)))[0]
    assert only_t2.n_rated == 1 and only_t2.successes == 0 and only_t2.cost_per_success_usd is None


def test_date_range_keeps_answers_rated_in_it_though_stored_before(engine):
    store = engine.store
    t = store.trials.create(TrialInput("q"))
    r = add(store, t, "p/m", total_ms=5.0, cost=0.01)
    store.db.execute("UPDATE responses SET created_at = created_at - 2 * 86400")  # answered 2 days ago
    store.ratings.save(r.id, "ann", {**GOOD, "outcome": "success"})
    import time

    scores = engine.ratings.scorecard(RatingFilter(since=time.time() - 3600))
    assert len(scores) == 1 and scores[0].n_rated == 1 and scores[0].successes == 1


def test_load_run_traffic_stays_out_of_the_scorecard(engine):
    store = engine.store
    trial = store.trials.create(TrialInput("task"))
    hand = add(store, trial, "p/a", total_ms=100.0, cost=0.01)
    store.ratings.save(hand.id, "ana", {**GOOD, "outcome": "success"})
    before = {s.model: (s.n_answers, s.cost_per_success_usd) for s in engine.ratings.scorecard()}

    run_id = store.runs.create("load", {}, "spike")
    load_trial = store.trials.create(TrialInput("synthetic"))
    for _ in range(50):  # slow, expensive, unrated: it would swamp p95 and $/success
        r = add(store, load_trial, "p/a", total_ms=9000.0, cost=1.0)
        store.db.execute("UPDATE responses SET run_id = ? WHERE id = ?", (run_id, r.id))
    after = {s.model: (s.n_answers, s.cost_per_success_usd) for s in engine.ratings.scorecard()}
    assert after == before == {"p/a": (1, 0.01)}
    # Asked for by trial, the load run's answers are what it is about.
    [scoped] = engine.ratings.scorecard(RatingFilter(trial_ids=(load_trial,)))
    assert scoped.n_answers == 50


def test_bradley_terry_strengths_by_hand(engine):
    store = engine.store
    trials = [store.trials.create(TrialInput(f"t{i}")) for i in range(4)]
    a = [add(store, t, "p/a", total_ms=10.0, cost=0.01) for t in trials]
    b = [add(store, t, "p/b", total_ms=10.0, cost=0.01) for t in trials]
    for i, winner in enumerate(["a", "a", "a", "b"]):  # A won 3 of 4
        store.ratings.save_preference(a[i].id, b[i].id, winner, "ana")
    sa, sb = engine.ratings.scorecard()
    p_a, p_b = two_item_bt(3, 4)
    assert (sa.bt_score, sb.bt_score) == pytest.approx((p_a, p_b), rel=1e-7)
    # The prior's pull: the plain MLE would be p_A / p_B = 3; shrunk toward 1, it is less.
    assert 1 < sa.bt_score / sb.bt_score < 3 and p_a == pytest.approx(1.66301, abs=1e-5)
    assert sa.pairwise_win_rate == 0.75 and sa.pairwise_win_ci == pytest.approx(wilson(3, 4), abs=1e-12)
    # Each of four answers cost 0.01 and none was rated: no success, no cost per success.
    assert sa.cost_per_success_usd is None and sa.cost_per_success_ci is None


# Krippendorff (2011), example C (also in tests/core/test_statistics.py): 4 raters, 12
# answers, missing ratings; published nominal alpha 0.743. Values 1-5 become uncertainty keys.
N = None
RELIABILITY_DATA = [
    [1, 1, N, 1], [2, 2, 3, 2], [3, 3, 3, 3], [3, 3, 3, 3], [2, 2, 2, 2], [1, 2, 3, 4],
    [4, 4, 4, 4], [1, 1, 2, 1], [2, 2, 2, 2], [N, 5, 5, 5], [N, N, 1, 1], [N, 3, N, N],
]
KEYS = {1: "asked_clarifying", 2: "stated_uncertainty", 3: "confident_correct", 4: "partial_with_caveats",
        5: "confident_wrong"}


def test_krippendorff_alpha_in_the_scorecard_matches_the_published_example(engine):
    store = engine.store
    trial = store.trials.create(TrialInput("t"))
    for row in RELIABILITY_DATA:
        r = add(store, trial, "p/a", total_ms=10.0, cost=0.01)
        for rater, value in zip(("ana", "bo", "cy", "di"), row, strict=True):
            if value is not None:
                store.ratings.save(r.id, rater, {**GOOD, "outcome": "success", "uncertainty": KEYS[value]})
    [score] = engine.ratings.scorecard()
    # The last answer has one rating: not shared, so 11 items.
    assert score.agreement["raters"] == 4 and score.agreement["n_items"] == 11
    assert score.agreement["uncertainty"]["krippendorff_alpha"] == pytest.approx(0.743, abs=5e-4)
    # Everyone said "success" throughout: expected disagreement is 0, alpha undefined, not 1.
    assert score.agreement["outcome"]["krippendorff_alpha"] is None


def test_scorecard_json_from_the_cli_has_the_new_intervals(engine, capsys):
    store = engine.store
    trials = [store.trials.create(TrialInput(f"t{i}")) for i in range(2)]
    a = [add(store, t, "p/a", total_ms=10.0, cost=0.02) for t in trials]
    b = [add(store, t, "p/b", total_ms=10.0, cost=0.01) for t in trials]
    for r in a + b:
        store.ratings.save(r.id, "ana", {**GOOD, "outcome": "success"})
    store.ratings.save_preference(a[0].id, b[0].id, "a", "ana")
    store.ratings.save_preference(a[1].id, b[1].id, "tie", "ana")
    assert cli_main(["scorecard", "--json", "--db", str(store.path)]) == 0
    x, y = json.loads(capsys.readouterr().out)
    assert x["pairwise_win_ci"] == pytest.approx(list(wilson(1.5, 2)), abs=1e-12)
    assert y["pairwise_win_ci"] == pytest.approx(list(wilson(0.5, 2)), abs=1e-12)
    assert x["cost_per_success_usd"] == pytest.approx(0.02) and x["cost_per_success_ci"] == pytest.approx([0.02, 0.02])
    assert cli_main(["scorecard", "--db", str(store.path)]) == 0
    table = capsys.readouterr().out
    assert "$0.020000 ($0.020000-$0.020000)" in table and "75% (" in table


def test_scorecard_in_background_uses_its_own_connection_and_can_be_cancelled(engine, monkeypatch):
    store = engine.store
    trial = store.trials.create(TrialInput("t"))
    store.ratings.save(add(store, trial, "p/a", total_ms=10.0, cost=0.01).id, "ana", {**GOOD, "outcome": "success"})
    seen = []
    real = session.compute_scorecard

    def spy(*args, **kwargs):
        seen.append(threading.get_ident())
        return real(*args, **kwargs)

    monkeypatch.setattr(session, "compute_scorecard", spy)
    job = Job("scorecard")
    scores = asyncio.run(engine.ratings.scorecard_in_background(job, RatingFilter()))
    assert [s.as_json() for s in scores] == [s.as_json() for s in engine.ratings.scorecard()]
    assert seen[0] != threading.get_ident()  # a worker thread (SQLite would refuse our connection there)
    assert job.snapshot() == (1, 2, "p/a")  # reported its steps: strengths, then each model

    job = Job("scorecard")
    job.cancel()
    with pytest.raises(JobCancelled):
        asyncio.run(engine.ratings.scorecard_in_background(job, RatingFilter()))


def test_compute_scorecard_reports_steps_and_stops_when_told():
    steps = []
    assert compute_scorecard([], [], progress=lambda *step: steps.append(step)) == []
    assert steps == [(0, 1, "pairwise strengths")]

    def stop(done, total, detail):
        if done == 1:
            raise JobCancelled("stop")

    r = ResponseResult(id="r1", trial_id="t", model="p/a", settings={}, status=Status.OK, total_ms=1.0)
    with pytest.raises(JobCancelled):
        compute_scorecard([r], [], progress=stop)
