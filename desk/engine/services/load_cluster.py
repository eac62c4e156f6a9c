"""A load run across the machines of a Ray cluster (`desk load --cluster ray://HOST:PORT`
or `auto`): the same workers as `--workers`, as Ray actors (desk.engine.services.load_actor).
Ray places them and carries the calls; desk measures, and this process alone writes the
store, as in a run on one machine.

Ray is imported here only, and only when a cluster run starts: desk without the
`desk[cluster]` extra never loads it.

The run: connect, start one actor per worker (spread over the nodes), estimate each
one's clock offset (desk.core.clock_offset), then per step: pre-open connections, name
the step's start on every worker's own clock, and take finished requests in batches
every `TAKE_EVERY_S` until every worker's share has ended (for a terminal's progress line,
counts of them every LIVE_EVERY_S in between, as worker processes send them). A worker
that dies (its node lost, the actor killed) loses only the requests it had not handed
over: they are named in the run's summary (`lost_in_flight`), the stored ones stay, and
the run goes on with the others (it is stored as failed).
"""

from __future__ import annotations

import asyncio
import importlib
import logging
import time
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from types import ModuleType
from typing import Any

from desk.core import clock
from desk.core.clock_offset import PROBES, ClockOffset, estimate_offset, shift_result
from desk.core.load_split import split_step
from desk.engine.errors import EngineError
from desk.engine.load import RunContext
from desk.engine.ports.targets import Targets
from desk.engine.services.load_actor import ActorJob, LoadActor
from desk.engine.services.load_workers import LIVE_EVERY_S, Item, step_summary, store_items, tallies
from desk.store.db import open_store

INSTALL_HINT = "pip install 'desk[cluster]'"
START_AHEAD_S = 0.5  # a step's start is named this far ahead: every worker hears of it before
TAKE_EVERY_S = 2.0  # how often finished requests are taken from the workers during a step
LIVE_TAKE_EVERY_S = 0.5  # as often, for a window drawing the run as it goes
STOP_WAIT_S = 15.0


def import_ray() -> ModuleType:
    try:
        return importlib.import_module("ray")
    except ImportError:
        raise EngineError(f"a load run on a cluster needs Ray, which is not installed: {INSTALL_HINT}") from None


def connect(address: str) -> int:
    """Join the Ray cluster at `address` (`ray://HOST:PORT`, or `auto`: the one this machine
    belongs to) unless already joined; returns its CPUs."""
    ray = import_ray()
    if not ray.is_initialized():
        try:
            ray.init(address=address, log_to_driver=False, logging_level=logging.WARNING)
        except (ConnectionError, RuntimeError, ValueError) as exc:
            raise EngineError(f"cannot join the Ray cluster at {address}: {exc}") from None
    return max(1, int(ray.cluster_resources().get("CPU", 1)))


def shipped(targets: Targets, ctx: RunContext, store_path: str) -> tuple[list[Any], dict[str, str], list[Any]]:
    """What a worker on another machine reads from the store: the plan's providers, their
    keys (resolved here, sent in the actor's arguments, never written anywhere) and the
    user's prices."""
    plan = ctx.plan
    providers = {ref.provider: targets.target(ref).provider for ref in (*plan.models, *plan.fallback)}
    keys = {name: p.api_key for name, p in providers.items() if p.api_key}
    store = open_store(store_path)
    try:
        prices = store.prices.all()
    finally:
        store.close()
    return [p.config for p in providers.values()], keys, prices


@dataclass
class Worker:
    index: int
    actor: Any
    node: str = ""
    offset: ClockOffset | None = None
    alive: bool = True
    issued: int = 0  # requests it had started at its last hand-over
    received: set[int] = field(default_factory=set)  # its numbers of the requests handed over
    lost_at_step: int | None = None


async def _call(ref: Any, timeout: float | None = None) -> Any:
    # `future()` serves a local driver and Ray Client alike.
    return await asyncio.wait_for(asyncio.wrap_future(ref.future()), timeout)


async def _offset(worker: Worker) -> ClockOffset:
    probes = []
    for _ in range(PROBES):
        sent, tw = await _call(worker.actor.clock.remote(time.time()))
        probes.append((sent, tw, time.time()))
    return estimate_offset(probes)


class ClusterRun:
    """The actors of one run and what came back from them."""

    def __init__(self, ray: ModuleType, ctx: RunContext, jobs: list[ActorJob], take_every_s: float,
                 tally: Callable[[int, tuple[Any, ...]], None] | None = None) -> None:
        remote = ray.remote(num_cpus=1, max_restarts=0)(LoadActor)
        self.ray = ray
        self.ctx = ctx
        self.take_every_s = take_every_s
        self.tally = tally  # gets each worker's ("tally", ...) between takes (see load_workers.tallies)
        name = f"desk-load-{uuid.uuid4().hex[:8]}-{{}}"  # a run's actors, found by name in `ray list actors`
        self.workers = [Worker(job.index, remote.options(name=name.format(job.index), scheduling_strategy="SPREAD")
                               .remote(job)) for job in jobs]
        self.items: list[Item] = []
        self.lost: dict[int, str] = {}
        self.lags: list[float] = []

    def live(self) -> list[Worker]:
        return [w for w in self.workers if w.alive]

    def _lose(self, worker: Worker, step: int | None, exc: BaseException) -> None:
        worker.alive = False
        worker.lost_at_step = step
        where = f" on {worker.node}" if worker.node else ""
        self.lost[worker.index] = f"worker {worker.index}{where}: {type(exc).__name__}: {str(exc).splitlines()[0]}"

    async def each(self, method: str, *args: Any, step: int | None = None,
                   timeout: float | None = None) -> dict[int, Any]:
        """Call `method` on every live worker; a worker that fails is lost. Its answers by worker."""
        workers = self.live()
        answers = await asyncio.gather(*(_call(getattr(w.actor, method).remote(*args), timeout) for w in workers),
                                       return_exceptions=True)
        said = {}
        for worker, answer in zip(workers, answers, strict=True):
            if isinstance(answer, BaseException):
                if isinstance(answer, asyncio.CancelledError):
                    raise answer
                self._lose(worker, step, answer)
            else:
                said[worker.index] = answer
        return said

    def receive(self, worker: Worker, items: list[Item], issued: int) -> None:
        """A batch from `worker`: onto the head's clock, counted once, kept for the step's summary."""
        worker.issued = max(worker.issued, issued)
        assert worker.offset is not None
        for outcome, calls in items:
            if outcome.seq in worker.received:
                continue  # never store a request twice
            worker.received.add(outcome.seq)
            for _, result in calls:
                shift_result(result, -worker.offset.offset_s)
            outcome.concurrency = self.ctx.plan.steps[outcome.step].concurrency
            self.ctx.outcomes.append(outcome)
            self.items.append((outcome, calls))
            if self.ctx.progress is not None and outcome.status != "interrupted":
                self.ctx.progress(outcome, len(self.ctx.outcomes), self.ctx.planned)

    async def take(self, step: int) -> None:
        by_index = {w.index: w for w in self.workers}
        for index, (items, issued) in (await self.each("take", step=step)).items():
            self.receive(by_index[index], items, issued)

    async def step(self, index: int, run_wall: float) -> dict[str, Any]:
        """Step `index` on every live worker; its summary."""
        await self.each("prewarm", index, step=index)
        start_wall = time.time() + START_AHEAD_S
        going = {w.index: asyncio.ensure_future(_call(w.actor.go.remote(
            index, start_wall + w.offset.offset_s, run_wall + w.offset.offset_s)))
            for w in self.live() if w.offset is not None}
        reports: dict[int, tuple[Any, ...]] = {}
        tick = min(LIVE_EVERY_S, self.take_every_s) if self.tally is not None else self.take_every_s
        taken = time.monotonic()
        try:
            while going:
                done, _ = await asyncio.wait(going.values(), timeout=tick)
                for worker_index, task in list(going.items()):
                    if task not in done:
                        continue
                    del going[worker_index]
                    worker = self.workers[worker_index]
                    if task.exception() is not None:
                        if worker.alive:
                            self._lose(worker, index, task.exception() or RuntimeError())
                        continue
                    report, shift = task.result(), -(worker.offset.offset_s if worker.offset else 0.0)
                    reports[worker.index] = ("step_done", {
                        "end": report["end"] + shift,
                        "burst_end": None if report.get("burst_end") is None else report["burst_end"] + shift})
                if done or time.monotonic() - taken >= self.take_every_s - tick / 2:
                    await self.take(index)
                    taken = time.monotonic()
                elif self.tally is not None:
                    for worker_index, said in (await self.each("tally", step=index)).items():
                        self.tally(worker_index, said)
        except asyncio.CancelledError:
            await self.each("stop", timeout=STOP_WAIT_S)  # each records its requests in flight as interrupted
            await asyncio.gather(*going.values(), return_exceptions=True)
            await self.take(index)
            raise
        summary = step_summary(self.ctx, index, self.items, reports, start_wall)
        return summary

    def in_flight(self) -> list[dict[str, Any]]:
        """What each lost worker had started or was to send and never handed over."""
        plan, count = self.ctx.plan, len(self.workers)
        lost = []
        for w in self.workers:
            if w.alive:
                continue
            started = [w.index + n * count for n in range(w.issued)]
            missing = [seq for seq in started if seq not in w.received]
            planned = _planned(plan.steps, count, w.index, len(plan.models))
            lost.append({
                "worker": w.index, "node": w.node, "step": w.lost_at_step,
                "requests": len(missing),  # started, as of its last hand-over, and never reported
                "inputs": sorted({seq % len(plan.inputs) for seq in missing}),
                "not_sent": None if planned is None else max(0, planned - len(started)),
            })
        return lost

    async def close(self) -> None:
        try:
            for lags in (await self.each("finish", timeout=STOP_WAIT_S)).values():
                self.lags.extend(lags)
        finally:  # cancelled again meanwhile: the actors still go, none is left on the cluster
            for worker in self.workers:
                try:
                    self.ray.kill(worker.actor)
                except Exception:  # already gone with its node
                    pass


def _planned(steps: Sequence[Any], count: int, index: int, models: int) -> int | None:
    """Requests worker `index` is to send over the run (None: some step goes by time)."""
    shares = [split_step(s, count)[index] for s in steps]
    if any(s is not None and s.requests is None for s in shares):
        return None
    return sum(s.requests or 0 for s in shares if s is not None) * models


async def steps_on_cluster(ctx: RunContext, steps: list[dict[str, Any]], cluster: dict[str, Any], targets: Targets,
                           store_path: str, live: bool = False) -> list[str]:
    """Run the plan's steps on Ray actors (see the module's docstring); each finished step's
    summary goes to `steps`, the cluster's part of the run's summary to `cluster` (each
    worker's node and clock offset, what lost workers had in flight). `live`: requests are
    taken every LIVE_TAKE_EVERY_S, for progress drawn as it goes. Returns why any worker
    was lost."""
    ray = import_ray()
    plan = ctx.plan
    providers, keys, prices = shipped(targets, ctx, store_path)
    jobs = [ActorJob(plan, i, plan.workers, ctx.trial_ids, providers, keys, prices) for i in range(plan.workers)]
    counts = tallies(ctx) if ctx.tally is not None and not live else None  # `live`: the requests come as often
    run = ClusterRun(ray, ctx, jobs, LIVE_TAKE_EVERY_S if live else TAKE_EVERY_S, counts)
    try:
        for index, node in (await run.each("start")).items():
            run.workers[index].node = node
        for worker in run.live():
            worker.offset = await _offset(worker)
        run_wall = time.time()
        ctx.t_run = clock.perf(run_wall)
        for index in range(len(plan.steps)):
            if ctx.writer.error is not None or not run.live():
                break
            steps.append(await run.step(index, run_wall))
    finally:
        ctx.t_end = clock.now()
        try:
            await run.close()
        finally:  # what came back is stored even if a second cancel cuts the goodbyes short
            ctx.lag.lags.extend(run.lags)
            store_items(ctx, run.items)
            cluster.update(_described(run, plan.cluster))
    return [run.lost[i] for i in sorted(run.lost)]


def _described(run: ClusterRun, address: str) -> dict[str, Any]:
    """The cluster's part of a run's summary (shown in the run's details)."""
    described: dict[str, Any] = {
        "address": address,
        "workers": [{"worker": w.index, "node": w.node, **(w.offset.as_dict() if w.offset else {})}
                    for w in run.workers],
        "clock": f"offset = worker's wall clock - desk's, from the quickest of {PROBES} round trips "
                 "(uncertainty: half its round trip)",
    }
    lost = run.in_flight()
    if lost:
        described["lost_in_flight"] = lost
    return described
