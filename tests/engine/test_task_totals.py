"""A task's cost and latency include all its turns (issue 16): the scorecard's latency is
per task (the turns of a conversation summed, the turns another continued not counted
apart), its cost per successful task counts every turn even when a rater filter scopes it
to the rated last turn, and run versus run sums a case's turns. Hand-computed from the
stored answers' own times and costs, against the loopback vendor."""

from __future__ import annotations

import asyncio
import json

import pytest

from desk.core.pricing import Price
from desk.core.rating import RatingFilter
from desk.core.statistics import percentile
from desk.core.trial import TrialInput
from tests.engine.conftest import MODELS, engine_for, ref
from tests.vendor_server import Script

MODEL = MODELS["openai"]
SUCCESS = {"outcome": "success", "uncertainty": "confident_correct", "constraints": "na", "quality": 4}


def test_scorecard_latency_and_cost_per_success_are_per_task(providers, vendor):
    providers.prices.set("openai", MODEL, Price(1.0, 2.0))  # $ per million tokens
    vendor.enqueue(MODEL, Script(text_pieces=["Which quarter?"], first_token_delay_ms=120),
                   Script(text_pieces=["Q3 grew 4%."], first_token_delay_ms=60),
                   Script(text_pieces=["Fine."], first_token_delay_ms=150))

    async def go():
        async with engine_for(providers) as engine:
            asked = (await engine.trials.run(TrialInput("How did sales do?"), [ref("openai")])).responses[0]
            told = await engine.conversations.reply(asked.id, "The third.")
            single = (await engine.trials.run(TrialInput("Say fine."), [ref("openai")])).responses[0]
            return asked, told, single

    asked, told, single = asyncio.run(go())
    for r in (told, single):  # the question itself is never rated
        providers.ratings.save(r.id, "ann", SUCCESS)

    async def score():
        async with engine_for(providers) as engine:
            return engine.ratings.scorecard(), engine.ratings.scorecard(RatingFilter(rater="ann"))

    for s in asyncio.run(score()):
        (s,) = s
        tasks = sorted([asked.total_ms + told.total_ms, single.total_ms])
        assert s.median_total_ms == pytest.approx((tasks[0] + tasks[1]) / 2)
        assert s.p95_total_ms == pytest.approx(percentile(tasks, 95))
        every_turn = asked.cost_usd + told.cost_usd + single.cost_usd
        assert asked.cost_usd > 0 and s.total_cost_usd == pytest.approx(every_turn)
        assert s.cost_per_success_usd == pytest.approx(every_turn / 2)  # two tasks, both succeeded


def test_run_versus_run_sums_the_turns_of_a_case(providers, vendor, tmp_path):
    providers.prices.set("openai", MODEL, Price(1.0, 2.0))
    path = tmp_path / "clar.jsonl"
    path.write_text(json.dumps({"id": "asks", "prompt": "Which region sold most?", "expect": "clarify",
                                "clarification": "By revenue."}) + "\n", encoding="utf-8")

    async def go():
        async with engine_for(providers) as engine:
            engine.suites.import_suite(path, "clar")
            runs = []
            for delay in (40, 90):
                vendor.enqueue(MODEL, Script(text_pieces=["Do you mean by revenue or by units?"]),
                               Script(text_pieces=["North."], first_token_delay_ms=delay))
                result = await engine.suites.run("clar", [ref("openai")])
                turns = sorted(result.responses, key=lambda x: x.turn)
                assert [x.turn for x in turns] == [1, 2]
                engine.ratings.save_rating(turns[-1].response.id, SUCCESS, rater="ann")
                runs.append((result.run_id, [x.response for x in turns]))
            return runs, engine.suites.compare_runs(runs[0][0], runs[1][0])

    runs, comparison = asyncio.run(go())
    (m,) = comparison.models
    measures = {x.name: x for x in m.measures}
    (_, (a1, a2)), (_, (b1, b2)) = runs
    assert measures["total_p95"].value_a == pytest.approx(a1.total_ms + a2.total_ms)
    assert measures["total_p95"].value_b == pytest.approx(b1.total_ms + b2.total_ms)
    assert measures["cost_per_success"].value_a == pytest.approx(a1.cost_usd + a2.cost_usd)
    assert measures["cost_per_success"].value_b == pytest.approx(b1.cost_usd + b2.cost_usd)
    assert measures["ttft_p50"].value_a == pytest.approx(a2.ttft_ms)  # the counted answer's own
