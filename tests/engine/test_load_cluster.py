"""Load runs on a Ray cluster (`desk load --cluster`): a local cluster of two CPUs (the head
and its worker processes, started by `ray.init`) against the loopback vendor. Every request
is sent and stored once by this process, on the head's clock, with the figures a run on one
machine gives; counts of finished requests come while a step runs; a worker killed mid-run
loses no stored request, and the run names those it lost in flight."""

from __future__ import annotations

import asyncio
import threading
import time

import pytest

from desk.core.load import LoadStep
from desk.core.trial import ModelRef, TrialInput
from desk.engine.load import LoadPlan
from desk.engine.policy import RetryPolicy, Timeouts
from tests.engine.conftest import PATIENT, answer_then_stall, engine_for, held
from tests.timing import SLACK_MS
from tests.vendor_server import Script

ray = pytest.importorskip("ray")  # the desk[cluster] extra

A = ModelRef("openai", "model-a")
T = Timeouts(connect=2, first_token=5, idle=2, total=10)


@pytest.fixture(scope="module", autouse=True)
def cluster():
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False, configure_logging=False)
    yield
    ray.shutdown()


def plan(**kw) -> LoadPlan:
    base = dict(models=(A,), inputs=(TrialInput("one"), TrialInput("two"), TrialInput("three")),
                steps=(LoadStep(4, 10), LoadStep(6, 9)), retry=RetryPolicy(max_retries=0), timeouts=T,
                warmup=False, workers=2, cluster="auto")
    base.update(kw)
    return LoadPlan(**base)


def run(store, p: LoadPlan, progress=None):
    async def go():
        async with engine_for(store) as engine:
            return await engine.loads.run(p, progress=progress)

    return asyncio.run(go())


def test_a_cluster_run_stores_every_request_once_on_the_heads_clock(providers, vendor):
    vendor.set_default("model-a", Script(text_pieces=["a", "b", "c"], first_token_delay_ms=40, interval_ms=5))
    t0 = time.time()
    result = run(providers, plan())
    assert result.status == "done", result.summary
    assert len(vendor.requests) == 19  # each request sent exactly once, across both actors
    figures = result.summary["models"]["openai/model-a"]
    assert (figures["requests"], figures["ok"], figures["errors"]) == (19, 19, {})
    assert 40 <= figures["ttft_ms"]["p50"] <= 40 + SLACK_MS  # measured in the actors, on their clocks
    assert all(s["workers"] == 2 for s in result.summary["steps"])

    stored = providers.runs.requests(result.run_id)
    assert sorted(o.seq for o in stored) == list(range(19))
    assert len({o.response_ids[0] for o in stored}) == 19  # every record arrived once
    assert {(o.step, o.concurrency) for o in stored} == {(0, 4), (1, 6)}
    for o in stored:
        assert 0 <= o.start_offset_ms <= result.summary["wall_s"] * 1000

    cluster = result.summary["cluster"]
    assert cluster["address"] == "auto" and len(cluster["workers"]) == 2
    for worker in cluster["workers"]:
        # one machine: the true offset is 0, so the estimate is within its uncertainty (and small)
        assert abs(worker["offset_ms"]) <= worker["uncertainty_ms"] + 1.0
        assert 0 <= worker["uncertainty_ms"] < 250 and worker["node"]
    # the stored attempts are on the head's clock, inside the run
    attempts = [a for o in stored for a in providers.responses.get(o.response_ids[0]).attempts]
    assert all(t0 <= a.started_at <= time.time() for a in attempts)


def test_figures_match_a_run_on_one_machine(providers, vendor):
    vendor.set_default("model-a", Script(text_pieces=["a", "b", "c", "d"], first_token_delay_ms=60, interval_ms=10))
    here = run(providers, plan(cluster="", workers=1))
    there = run(providers, plan())
    for result in (here, there):
        assert result.status == "done"
    a, b = here.summary["models"]["openai/model-a"], there.summary["models"]["openai/model-a"]
    assert (a["requests"], a["ok"]) == (b["requests"], b["ok"]) == (19, 19)
    for figure in ("ttft_ms", "total_ms"):
        for pct in ("p50", "p95"):
            assert abs(a[figure][pct] - b[figure][pct]) <= SLACK_MS, (figure, pct, a[figure], b[figure])


@pytest.mark.slow
def test_a_worker_killed_mid_run_loses_no_stored_request_and_the_run_names_what_it_lost(providers, vendor):
    # Step 0's 8 requests and 6 of step 1's are answered; every later request stalls at the
    # vendor, so once those 14 are back every stream (two per worker) has a request under way.
    answer_then_stall(vendor, 8 + 6, ["model-a"], Script(text_pieces=["a"]))
    killed = threading.Event()
    earlier = set(ray.util.list_named_actors())  # actors of earlier runs may still be on their way out

    def kill_one(outcome, done, planned):
        # The take that brought the 14th answer also counted the requests each stream started
        # after its last answer (a stream starts its next one in the same turn of its loop):
        # worker 1 then has exactly its two streams' requests in flight. Kill it, wait until
        # it is gone (its calls fail), then let worker 0's stalled requests answer.
        if done == 8 + 6 and not killed.is_set():
            killed.set()
            (name,) = [n for n in ray.util.list_named_actors()
                       if n not in earlier and n.startswith("desk-load-") and n.endswith("-1")]
            actor = ray.get_actor(name)
            ray.kill(actor)
            with pytest.raises(ray.exceptions.RayActorError):
                while True:
                    ray.get(actor.clock.remote(0.0), timeout=30)
            vendor.set_default("model-a", Script(text_pieces=["a"]))
            vendor.unstall()

    p = plan(steps=(LoadStep(4, 8), LoadStep(4, 120)), timeouts=PATIENT)
    result = run(providers, p, progress=kill_one)
    assert killed.is_set()
    assert result.status == "failed"
    (lost,) = result.summary["workers_lost"]
    assert lost.startswith("worker 1")
    stored = providers.runs.requests(result.run_id)
    assert len({o.response_ids[0] for o in stored}) == len(stored) == len(result.outcomes)
    assert sum(1 for o in stored if o.step == 0) == 8  # the step stored before the kill is whole
    (gone,) = result.summary["cluster"]["lost_in_flight"]
    assert gone["worker"] == 1 and gone["step"] == 1
    assert gone["requests"] == 2 and gone["inputs"]  # its two streams' requests under way when it was killed
    # what the worker had started and never handed over, plus what it never sent, is the rest
    assert len(stored) + gone["requests"] + gone["not_sent"] == 128

    # and the run resumes on the cluster with exactly what it lost
    sent = len(vendor.requests)

    async def resume():
        async with engine_for(providers) as engine:
            return await engine.loads.resume(result.run_id)

    resumed = asyncio.run(resume())
    assert resumed.status == "done"
    assert len(vendor.requests) - sent == 128 - len(stored)
    done = [o for o in providers.runs.requests(result.run_id) if o.status == "ok"]
    assert [sum(o.step == k for o in done) for k in range(2)] == [8, 120]
    assert len(resumed.summary["cluster"]["workers"]) == 2
    (part,) = resumed.summary["resumed"]  # what the first part lost stays on record
    assert part["before"]["cluster"]["lost_in_flight"] == [gone]


@pytest.mark.slow
def test_a_cancelled_cluster_run_stores_what_its_workers_had_in_flight(providers, vendor):
    from desk.engine.load import LoadCancelled

    # One answer, then every request stalls: at the cancel the four streams' requests are all
    # held at the vendor (none stored and not yet sent, none on its way there).
    answer_then_stall(vendor, 1, ["model-a"], Script(text_pieces=["a"]))
    p = plan(steps=(LoadStep(4, None, 30.0),), timeouts=PATIENT)

    async def go():
        async with engine_for(providers) as engine:
            measured = asyncio.Event()
            task = asyncio.ensure_future(engine.loads.run(p, progress=lambda *_: measured.set()))
            await held(vendor, 5)
            await asyncio.wait_for(measured.wait(), 30)
            task.cancel()
            return await task

    with pytest.raises(LoadCancelled) as cancelled:
        asyncio.run(go())
    result = cancelled.value.result
    assert result.status == "cancelled" and result.summary["wall_s"] < 20
    stored = providers.runs.requests(result.run_id)
    assert len(stored) == len(result.outcomes) == len(vendor.requests) == 5  # every request sent is stored once
    assert sum(o.status == "interrupted" for o in stored) == 4  # the four streams' requests under way


def test_a_cluster_run_sends_counts_while_a_step_runs(providers, vendor):
    """A terminal's progress line moves during a step, from the actors' counts (as worker
    processes send them), before any finished request is taken from them."""
    from desk.engine.load import LoadCancelled

    # Each actor's one stream gets one answer, then its next request stalls: the step cannot
    # end, and only counts can say that two requests finished.
    answer_then_stall(vendor, 2, ["model-a"], Script(text_pieces=["a"]))
    p = plan(steps=(LoadStep(2, None, 30.0),), timeouts=PATIENT)
    counts = []

    async def go():
        async with engine_for(providers) as engine:
            two = asyncio.Event()

            def tally(now):
                counts.append(now)
                if now.done == 2:
                    two.set()

            task = asyncio.ensure_future(engine.loads.run(p, tally=tally))
            await held(vendor, 4)  # both answers are in the actors' trays; both streams wait
            await asyncio.wait_for(two.wait(), 30)
            task.cancel()
            return await task

    with pytest.raises(LoadCancelled):
        asyncio.run(go())
    last = counts[-1]
    assert (last.step, last.concurrency, last.done, last.errors, last.planned) == (0, 2, 2, 0, 0)
