"""Load runs as a use case: run a plan (measured on the event loop, stored from a thread of
its own), read stored runs back, and export a run's requests off the caller's thread.

The measuring machinery (the lag monitor, the request writer, one model's workers) lives in
desk.engine.load; this service owns the run's life: resolving targets, the warm-up, one
step after another with connections opened before each, and the stored summary."""

from __future__ import annotations

import asyncio
import gc
import itertools
import os
import threading
from collections.abc import Callable
from contextlib import AbstractAsyncContextManager
from dataclasses import replace
from time import perf_counter
from typing import Any, Protocol

from desk.core import clock
from desk.core.load import RequestOutcome, summarize
from desk.core.load_split import default_workers
from desk.core.trial import TrialInput
from desk.engine.errors import EngineError
from desk.engine.load import (
    LagMonitor,
    LoadCancelled,
    LoadNotStored,
    LoadPlan,
    LoadResult,
    Progress,
    RequestWriter,
    RunContext,
    StepState,
    Tally,
    arm,
    fire,
    planned_requests,
    prewarm,
    ready,
    run_load_in_thread,
    run_summary,
    warm_up,
)
from desk.engine.policy import RetryPolicy, Timeouts
from desk.engine.ports.runs import RunConnection, Runs
from desk.engine.ports.targets import Targets
from desk.engine.runner import Runner
from desk.engine.services import load_cluster
from desk.engine.services.load_resume import (
    ResumedWriter,
    ResumePoint,
    merged_steps,
    resume_point,
    stored_policy,
)
from desk.engine.services.load_workers import steps_across
from desk.providers.connections import Connections
from desk.store.runs import RunInfo


class OnOwnThread(Protocol):
    """Opens, on the calling thread, a load service of its own (store connection, HTTP client
    with these timeouts and retries) and closes it after."""

    def __call__(self, timeouts: Timeouts, retry: RetryPolicy) -> AbstractAsyncContextManager[LoadService]: ...


class LoadService:
    """Load runs: `run` a plan, `load` a stored one, export its requests; `runs` is the
    runs table for plain reads (`runs.list(kind, limit)`, `runs.get(run_id)`)."""

    def __init__(self, runs: Runs, targets: Targets, runner: Runner, connections: Connections, *,
                 create_trial: Callable[[TrialInput], str], own_connection: Callable[[], RunConnection],
                 elsewhere: OnOwnThread, store_path: str = "",
                 get_trial: Callable[[str], TrialInput | None] = lambda trial_id: None) -> None:
        self.runs = runs
        self._targets = targets
        self._runner = runner  # its pricer and known keys; each run gets a runner with the plan's policy
        self._connections = connections
        self._create_trial = create_trial
        self._own_connection = own_connection
        self._elsewhere = elsewhere
        self._store_path = store_path  # what worker processes open (read only: the parent alone writes)
        self._get_trial = get_trial  # a stored trial's input, for resuming a run

    async def run(self, plan: LoadPlan, *, progress: Progress | None = None,
                  name: str | None = None, live: bool = False, tally: Tally | None = None) -> LoadResult:
        """Run the plan, store and summarise it. Raises LoadCancelled (carrying what was
        measured) when cancelled, LoadNotStored when the store refused the requests.
        `live`: `progress` is drawn as it comes, so worker processes report during a step too;
        `tally`: worker processes (a cluster's actors) send counts only during a step (a
        terminal's progress line)."""
        return await self._run(plan, progress, name, None, live, tally)

    async def resume(self, run_id: str, *, progress: Progress | None = None, workers: int | None = None,
                     cluster: str | None = None, live: bool = False, tally: Tally | None = None) -> LoadResult:
        """Send what run `run_id` still had to send, into it (desk.engine.services.load_resume),
        with `workers` / on `cluster` when given, else as it was sent; EngineError when there
        is nothing to resume. Raises as `run` does."""
        info = self.runs.get(run_id)
        if info is None:
            raise EngineError(f"no run {run_id!r} (desk runs lists them)")
        stored = self.runs.requests(run_id)
        first = None
        if not (info.summary or {}).get("started_at"):  # desk died mid-run: from its first request
            sent = [r.started_at for r in self.runs.responses(run_id) if r.started_at is not None]
            offset = min((o.start_offset_ms for o in stored), default=0.0) / 1000
            first = min(sent) - offset if sent else None
        point = resume_point(info, stored, self._get_trial, workers=workers, cluster=cluster, first_wall=first)
        return await self._run(point.rest, progress, None, point, live, tally)

    async def _run(self, plan: LoadPlan, progress: Progress | None, name: str | None,
                   point: ResumePoint | None, live: bool, tally: Tally | None = None) -> LoadResult:
        on_main_thread = threading.current_thread() is threading.main_thread()
        # Joined first, so a cluster out of reach stores nothing. It blocks briefly: a window runs
        # loads on a thread of their own, and Ray sets its signal handlers only from the main thread.
        cores = load_cluster.connect(plan.cluster) if plan.cluster else os.cpu_count()
        runner, chains = await ready(self._targets, self._runner, plan)
        workers = plan.workers or default_workers(plan.steps, len(plan.models), cores)
        plan = replace(plan, workers=workers)  # stored as run, so the record says how it was sent
        if point is None:
            trial_ids = [self._create_trial(t) for t in plan.inputs]
            run_id = self.runs.create("load", {**plan.spec(), "trial_ids": trial_ids}, name)
            writer = RequestWriter(self._own_connection, run_id)
        else:
            trial_ids, run_id = point.trial_ids, point.run_id
            writer = ResumedWriter(self._own_connection, point)
        writer.start()
        ctx = RunContext(runner, chains, plan, trial_ids, itertools.count(point.first_seq if point else 0),
                         perf_counter(), writer, LagMonitor(), [], progress, planned_requests(plan), tally=tally)
        if isinstance(writer, ResumedWriter):
            writer.ctx = ctx
        steps: list[dict[str, Any]] = []
        status = "done"
        lost: list[str] = []
        cluster: dict[str, Any] = {}  # the cluster's workers, their clocks, what they lost
        try:  # a cancel during the warm-up still finishes the run (stored as cancelled, writer closed)
            if plan.cluster:
                lost = await load_cluster.steps_on_cluster(ctx, steps, cluster, self._targets, self._store_path,
                                                           live)
            elif workers > 1:
                lost = await steps_across(ctx, steps, self._store_path, workers, live)
            else:
                await self._steps(ctx, steps, on_main_thread)
        except asyncio.CancelledError:
            status = "cancelled"
        finally:
            if on_main_thread:
                gc.unfreeze()
            lag_report = await ctx.lag.stop()
            wall_total = (ctx.t_end or perf_counter()) - ctx.t_run
            writer.close()
        if point is None:
            summary = run_summary(plan, ctx.outcomes, steps, wall_total, lag_report)
        else:  # figured again over every request of the run, earlier ones included
            every = point.earlier + ctx.outcomes
            summary = run_summary(point.plan, every, merged_steps(point, every, steps),
                                  (point.earlier_summary.get("wall_s") or 0.0) + wall_total, lag_report)
            earlier = point.earlier_summary  # what the part before said about its workers stays with the run
            summary["resumed"] = [*earlier.get("resumed", []), {
                "requests": len(ctx.outcomes),
                "before": {k: earlier[k] for k in ("workers_lost", "cluster", "not_stored") if k in earlier}}]
        if cluster:
            summary["cluster"] = cluster
        if lost:  # a worker process died: its requests in flight were never reported
            status = "failed"
            summary["workers_lost"] = lost
        return self._finish(ctx, writer, run_id, status, summary, point.started_at if point else None)

    def run_in_thread(self, plan: LoadPlan, *, progress: Progress | None = None,
                      done: Callable[[LoadResult | None, BaseException | None], None] | None = None,
                      name: str | None = None) -> Callable[[], None]:
        """`run` on a thread and event loop of its own, with a store connection and HTTP
        client of its own there (the plan's policy), so a window stays responsive; its
        progress comes as requests finish, in every process. Returns `cancel()`; `progress`
        and `done` are called on that thread."""
        return run_load_in_thread(lambda: self._elsewhere(plan.timeouts, plan.retry),
                                  lambda loads: loads.run(plan, progress=progress, name=name, live=True), done=done)

    def resume_in_thread(self, run_id: str, *, progress: Progress | None = None,
                         done: Callable[[LoadResult | None, BaseException | None], None] | None = None,
                         workers: int | None = None, cluster: str | None = None) -> Callable[[], None]:
        """`resume` as `run_in_thread` runs a plan (with the stored run's policy); an
        EngineError (nothing to resume) comes to `done`."""
        info = self.runs.get(run_id)
        timeouts, retry = stored_policy(info.spec) if info is not None and {"timeouts", "retry"} <= info.spec.keys() else (
            Timeouts(), RetryPolicy())
        return run_load_in_thread(lambda: self._elsewhere(timeouts, retry),
                                  lambda loads: loads.resume(run_id, progress=progress, workers=workers,
                                                             cluster=cluster, live=True), done=done)

    async def _steps(self, ctx: RunContext, steps: list[dict[str, Any]], on_main_thread: bool) -> None:
        """The warm-up, then each step in turn; a summary of each finished step goes to `steps`."""
        plan = ctx.plan
        await warm_up(ctx)
        ctx.t_run = perf_counter()
        ctx.lag.start()
        for step_index, step in enumerate(plan.steps):
            if ctx.writer.error is not None:
                break  # nothing more can be stored: sending more would only be paid for and lost
            await prewarm(self._targets, self._connections, plan, step.concurrency)
            state = StepState(step_index, step, perf_counter(), len(plan.models))
            work = await arm(ctx, state, self._connections.own)  # the first wave made ready; the step's instant is then
            # A full garbage collection over everything alive can stall the loop for tens of
            # milliseconds mid-step; collect now and freeze the survivors so that during the
            # step the collector only looks at what the step itself allocates. Only on the
            # main thread: on a worker thread (the window's load runs) the caller owns the
            # collector, because a collection there could free Qt objects off their thread.
            if on_main_thread:
                gc.collect()
                gc.freeze()
            state.t_step = perf_counter()
            fire(ctx, state)
            await work
            wall = perf_counter() - state.t_step
            ctx.lag.active = False
            ctx.writer.flush()
            steps.append({
                "step": step_index,
                "concurrency": step.concurrency,
                "wall_s": wall,
                "send_burst_ms": round((state.burst_end - state.t_step) * 1000, 3) if state.burst_end else None,
                "models": {str(m): summarize([o for o in state.outcomes if o.model == str(m)], wall)
                           for m in plan.models},
            })

    def _finish(self, ctx: RunContext, writer: RequestWriter, run_id: str, status: str,
                summary: dict[str, Any], started_at: float | None) -> LoadResult:
        """Store the run's status and summary; raise for a run cancelled or not stored."""
        # The instant every request's offset counts from, so the stored attempts come back on
        # exactly the run's clock (anchoring on each request's first send drifts on a busy loop);
        # a resumed run keeps its first start.
        summary["started_at"] = round(clock.wall(ctx.t_run) if started_at is None else started_at, 6)
        if writer.error is not None:
            status = "failed"
            summary["not_stored"] = len(ctx.outcomes) - writer.stored
            summary["store_error"] = f"{type(writer.error).__name__}: {writer.error}"
        self.runs.finish(run_id, status, summary)
        result = LoadResult(run_id, status, summary, ctx.outcomes)
        if writer.error is not None:
            raise LoadNotStored(result) from writer.error
        if status == "cancelled":
            raise LoadCancelled(result)
        return result

    def load(self, run_id: str) -> tuple[RunInfo, list[RequestOutcome]] | None:
        """A stored run and its requests (in start order), or None if it is gone."""
        info = self.runs.get(run_id)
        if info is None:
            return None
        return info, self.runs.requests(run_id)


__all__ = ["LoadService", "OnOwnThread"]
