"""Resuming a load run cut short: what it still had to send goes into the same run, on the
run's clock, and the run's figures cover every request."""

from __future__ import annotations

import asyncio

import pytest

from desk.core.load import LoadStep
from desk.core.trial import ModelRef, TrialInput
from desk.engine.errors import EngineError
from desk.engine.load import LoadCancelled, LoadPlan
from desk.engine.policy import RetryPolicy, Timeouts
from tests.engine.conftest import engine_for
from tests.vendor_server import Script

A = ModelRef("openai", "model-a")
T = Timeouts(connect=2, first_token=5, idle=2, total=10)


def plan(**kw) -> LoadPlan:
    base = dict(models=(A,), inputs=(TrialInput("one"), TrialInput("two"), TrialInput("three")),
                steps=(LoadStep(2, 6), LoadStep(4, 20), LoadStep(3, 5)), retry=RetryPolicy(max_retries=0),
                timeouts=T, warmup=False, workers=1)
    base.update(kw)
    return LoadPlan(**base)


async def cut_short(store, p: LoadPlan, after: int):
    """Run `p`, cancelling it once `after` requests of its second step have finished."""
    async with engine_for(store) as engine:
        seen = []

        def progress(outcome, done, planned):
            seen.append(outcome)
            if sum(o.step == 1 for o in seen) == after:
                task.cancel()

        task = asyncio.ensure_future(engine.loads.run(p, progress=progress))
        with pytest.raises(LoadCancelled) as cancelled:
            await task
        return cancelled.value.result


async def resume(store, run_id: str, **kw):
    async with engine_for(store) as engine:
        return await engine.loads.resume(run_id, **kw)


def test_a_cancelled_run_resumes_with_what_it_still_had_to_send(providers, vendor):
    vendor.set_default("model-a", Script(text_pieces=["a", "b"], first_token_delay_ms=30, interval_ms=5))
    first = asyncio.run(cut_short(providers, plan(), after=5))
    assert first.status == "cancelled"
    before = providers.runs.requests(first.run_id)
    ended = [o for o in before if o.status != "interrupted"]
    assert sum(o.step == 0 for o in ended) == 6 and 5 <= sum(o.step == 1 for o in ended) < 20
    sent_before = len(vendor.requests)

    result = asyncio.run(resume(providers, first.run_id))
    assert result.status == "done" and result.run_id == first.run_id
    # exactly what was missing was sent: the rest of step 2 (interrupted ones again) and step 3
    missing = (20 - sum(o.step == 1 for o in ended)) + 5
    assert len(vendor.requests) - sent_before == missing
    after = providers.runs.requests(first.run_id)
    done = [o for o in after if o.status == "ok"]
    assert [sum(o.step == k for o in done) for k in range(3)] == [6, 20, 5]
    assert len({o.seq for o in after}) == len(after)  # one numbering over both parts
    assert {(o.step, o.concurrency) for o in after} == {(0, 2), (1, 4), (2, 3)}
    summary = result.summary
    assert summary["started_at"] == first.summary["started_at"]  # the run's first start, kept
    resumed = [o for o in after if o.seq >= max(b.seq for b in before) + 1]
    assert min(o.start_offset_ms for o in resumed) > max(o.start_offset_ms for o in before)
    assert summary["models"]["openai/model-a"]["ok"] == 31
    assert [s["step"] for s in summary["steps"]] == [0, 1, 2]
    assert summary["steps"][1]["models"]["openai/model-a"]["ok"] == 20
    assert [r["requests"] for r in summary["resumed"]] == [missing]
    assert providers.runs.get(first.run_id).status == "done"

    with pytest.raises(EngineError, match="nothing to resume"):
        asyncio.run(resume(providers, first.run_id))


def test_a_run_resumes_across_worker_processes(providers, vendor):
    vendor.set_default("model-a", Script(text_pieces=["a"], first_token_delay_ms=30))
    first = asyncio.run(cut_short(providers, plan(), after=3))
    result = asyncio.run(resume(providers, first.run_id, workers=2))
    assert result.status == "done"
    done = [o for o in providers.runs.requests(first.run_id) if o.status == "ok"]
    assert [sum(o.step == k for o in done) for k in range(3)] == [6, 20, 5]
    assert all(s["models"]["openai/model-a"]["requests"] >= s["concurrency"] for s in result.summary["steps"])


def test_desk_load_resume_prints_the_whole_runs_report(providers, vendor, tmp_path):
    from tests.cli_helpers import desk

    vendor.set_default("model-a", Script(text_pieces=["a"], first_token_delay_ms=20))
    first = asyncio.run(cut_short(providers, plan(), after=2))
    run = desk("load", "--resume", first.run_id, "--json", db=tmp_path / "engine.db")
    assert run.returncode == 0, run.stderr
    (line,) = run.json_lines()
    assert line["run_id"] == first.run_id and line["ok"] == 31
    assert [s["ok"] for s in line["steps"]] == [6, 20, 5]
    again = desk("load", "--resume", first.run_id, db=tmp_path / "engine.db")
    assert again.returncode == 2 and "nothing to resume" in again.stderr
    assert desk("load", "--prompt", "hi", db=tmp_path / "engine.db").returncode == 2  # no model, no resume
