"""Run versus run on the loopback vendor, repeated (issue 15): two real suite runs whose
model behaves the same (each answer succeeds with one chance, its first token after a delay
drawn from one distribution) are compared by the real suite compare service (Holm at alpha
0.05 over every figure: success, the uncertainty rates, TTFT p50/p95, total p95), 20 times
with 20 seeds; at most one comparison flags any figure. The same pipeline flags a model whose
success rate fell from 0.9 to 0.3 in at least 19 of 20 seeds, so the first test cannot pass
by a compare that never flags; and each success p-value is statsmodels' exact McNemar on the
table of the same answers.

The model's behaviour is random but seeded per request: the test draws every answer's
script from random.Random(seed) and queues them on the vendor. A person (the test) reads
each stored answer and rates it a success when it says the task is done."""

from __future__ import annotations

import asyncio
import json
import random
from importlib.util import find_spec

import pytest

from desk.core.run_compare import RunComparison
from desk.engine.session import Engine
from desk.store.db import Store
from tests.engine.conftest import MODELS, engine_for, ref
from tests.vendor_server import Script, VendorServer

CASES = 40  # 0.9 -> 0.3: ~25 discordant pairs one way, ~1 the other; p far under alpha after Holm
SEEDS = 20
DONE, FAILED = "Done: the task is complete.", "Sorry, I could not do that."


def _scripts(rng: random.Random, success_rate: float) -> list[Script]:
    """One run's answers: each a success with `success_rate`, its first token after 2 ms plus
    an exponential wait of mean 15 ms (capped at 150). The long tail is the point: a p95 of
    40 such draws varies by tens of ms from run to run, as real latencies do, so a few ms of
    the shared machine's own noise cannot decide it. Drawn from 2-20 ms, the p95 sat pinned
    near 20 ms and a busy CI machine's few ms flagged 3 of 20 unchanged pairs."""
    return [Script(text_pieces=[DONE if rng.random() < success_rate else FAILED],
                   first_token_delay_ms=min(2 + rng.expovariate(1 / 15), 150), fingerprint="fp_same")
            for _ in range(CASES)]


async def _run_and_rate(engine: Engine, store: Store) -> str:
    result = await engine.suites.run("weekly", [ref("openai")], concurrency=2, max_turns=1)
    assert result.ok == CASES
    for answer in result.responses:
        outcome = "success" if answer.response.text == DONE else "failure"
        store.ratings.save(answer.response.id, "ann", {"outcome": outcome, "uncertainty": "confident_correct",
                                                      "constraints": "na", "quality": 3})
    return result.run_id


def _compare_seeded_pairs(providers: Store, vendor: VendorServer, tmp_path, rate_a: float,
                          rate_b: float) -> list[RunComparison]:
    """20 pairs of runs, A's answers drawn with `rate_a`, B's with `rate_b`; B runs after A,
    each run taking its own answers, so that a seed decides every answer's script. What the
    machine adds to each latency (a few ms, more when it is busy) then moves a figure only
    as far as the drawn latencies' own spread allows, which the long tail makes wide."""
    path = tmp_path / "weekly.jsonl"
    path.write_text("".join(json.dumps({"id": f"case-{i:02}", "prompt": f"Task {i}"}) + "\n" for i in range(CASES)))
    model = MODELS["openai"]

    async def go() -> list[RunComparison]:
        async with engine_for(providers) as engine:
            engine.suites.import_suite(path, "weekly")
            vendor.enqueue(model, *_scripts(random.Random(-1), rate_a))  # warm-up, not compared
            await _run_and_rate(engine, providers)
            out = []
            for seed in range(SEEDS):
                rng = random.Random(seed)
                vendor.enqueue(model, *_scripts(rng, rate_a))
                run_a = await _run_and_rate(engine, providers)
                vendor.enqueue(model, *_scripts(rng, rate_b))
                run_b = await _run_and_rate(engine, providers)
                assert vendor.pending() == 0
                out.append(engine.suites.compare_runs(run_a, run_b))
            return out

    return asyncio.run(go())


def _check_success_p_against_statsmodels(comparison: RunComparison) -> None:
    if find_spec("statsmodels") is None:  # a test-only dependency (the `test` extra)
        return
    from statsmodels.stats.contingency_tables import mcnemar

    (m,) = comparison.models
    success = m.rates[0]
    assert success.name == "success" and success.n == CASES
    both = round(success.rate_a * CASES) - success.only_a
    neither = CASES - both - success.only_a - success.only_b
    table = [[both, success.only_a], [success.only_b, neither]]
    assert success.p_value == pytest.approx(mcnemar(table, exact=True).pvalue, rel=1e-12, abs=1e-15)


def test_two_unchanged_loopback_runs_flag_no_figure_in_19_of_20_seeds(providers, vendor, tmp_path):
    comparisons = _compare_seeded_pairs(providers, vendor, tmp_path, 0.7, 0.7)
    flagged = [(seed, [f"{f.name} {f.flag} p_holm={f.p_holm:.3g}" for f in c.models[0].flagged])
               for seed, c in enumerate(comparisons) if c.models[0].flagged]
    for c in comparisons:
        (m,) = c.models
        assert m.pairs == CASES and m.served_changed is None
        # the latencies were compared too, not left out
        assert all(f.n == CASES for f in m.measures if f.name != "cost_per_success")
        _check_success_p_against_statsmodels(c)
    assert len(flagged) <= 1, flagged


def test_a_success_rate_that_fell_from_0_9_to_0_3_is_flagged_worse_in_19_of_20_seeds(providers, vendor, tmp_path):
    comparisons = _compare_seeded_pairs(providers, vendor, tmp_path, 0.9, 0.3)
    worse = 0
    for c in comparisons:
        (m,) = c.models
        worse += m.rates[0].flag == "worse"
        _check_success_p_against_statsmodels(c)
    assert worse >= 19, [(f.name, f.flag, f.diff, f.p_holm) for c in comparisons for f in c.models[0].rates[:1]]
