"""Load runs: N requests at concurrency C (or a ramp of steps) against one or more models.

What this measures is what users ask vendors about: p95 under a concurrency spike,
throttling, retries, fallbacks, and cost per successful task. desk must not be the
bottleneck, so the hot path stays lean: connections are opened before each step (their
set-up stays out of TTFT), nothing is written to SQLite on the event loop (a writer
thread stores requests in batches), and an event-loop lag monitor reports whether the
client itself was keeping up. This module holds the plan and that machinery; the run's life
(targets, warm-up, one step after another, the stored summary) is
desk.engine.services.load.LoadService's.

A request's `request_ttft_ms` and `total_ms` here run from the moment the request started to the
first token / end of the answer that finally came back, *including* retries, Retry-After
waits and fallbacks: what a user of the vendor would have experienced. Every individual
HTTP attempt keeps its own timing, request id and rate-limit headers in the responses and
attempts tables; in memory each request carries one `AttemptMark` per attempt (when it
was sent, its status, the remaining requests / tokens the vendor reported), from which
the summary's `throttling` says where the first 429 came: at what concurrency and at
what request rate (desk.core.load.throttling).
"""

from __future__ import annotations

import asyncio
import itertools
import queue
import threading
import time
from collections.abc import Awaitable, Callable, Iterator, Sequence
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass, field
from time import perf_counter
from typing import Any, Protocol, TypeVar

from desk.core import clock
from desk.core.load import AttemptMark, LoadStep, RequestOutcome, knee, remaining, run_figures, throttling
from desk.core.pricing import add_costs
from desk.core.response import ResponseResult, Status
from desk.core.statistics import percentile
from desk.core.trial import GenerationSettings, ModelRef, TrialInput, trial_size_problem
from desk.engine.aio import run
from desk.engine.open_files import make_room_for
from desk.engine.policy import RetryPolicy, Timeouts
from desk.engine.ports.runs import RunConnection
from desk.engine.ports.targets import Targets
from desk.engine.pricing import wait_for_preload
from desk.engine.runner import NullSink, Runner, Target
from desk.providers.connections import Connections
from desk.providers.proxies import proxied
from desk.providers.transport import WireTiming
from desk.providers.volley import Volley

L = TypeVar("L")  # what runs loads on the load thread (desk.engine.services.load.LoadService)
LAG_WARN_MS = 10.0  # above this p99, the client's own delays could distort the figures


@dataclass(frozen=True)
class LoadPlan:
    models: tuple[ModelRef, ...]
    inputs: tuple[TrialInput, ...]
    steps: tuple[LoadStep, ...]
    settings: GenerationSettings = field(default_factory=GenerationSettings)
    retry: RetryPolicy = field(default_factory=RetryPolicy)
    timeouts: Timeouts = field(default_factory=Timeouts)
    fallback: tuple[ModelRef, ...] = ()
    p95_budget_ms: float | None = None
    stream: bool = True
    warmup: bool = True
    source: str = ""  # what the inputs came from (a prompt, a dataset path), for the record
    workers: int = 0  # worker processes sharing the streams; 0: by the plan's width and the cores
    cluster: str = ""  # a Ray cluster's address (ray://HOST:PORT or auto): the workers run there as actors

    def __post_init__(self) -> None:
        if not self.models:
            raise ValueError("choose at least one model")
        if not self.inputs:
            raise ValueError("a load run needs a prompt or a dataset with at least one row")
        for n, trial in enumerate(self.inputs, start=1):
            problem = trial_size_problem(trial)
            if problem:
                raise ValueError(problem if len(self.inputs) == 1 else f"prompt {n}: {problem}")
        if not self.steps:
            raise ValueError("a load run needs at least one step")
        if self.workers < 0:
            raise ValueError("workers must be 0 (automatic) or more")

    def spec(self) -> dict[str, Any]:
        """What is stored with the run so it can be understood (and repeated) later."""
        return {
            "models": [str(m) for m in self.models],
            "fallback": [str(m) for m in self.fallback],
            "steps": [{"concurrency": s.concurrency, "requests": s.requests, "duration_s": s.duration_s}
                      for s in self.steps],
            "inputs": len(self.inputs),
            "source": self.source,
            "settings": self.settings.as_dict(),
            "retry": {"max_retries": self.retry.max_retries, "base_delay": self.retry.base_delay,
                      "max_delay": self.retry.max_delay, "max_retry_after": self.retry.max_retry_after,
                      "honour_retry_after": self.retry.honour_retry_after},
            "timeouts": {"connect": self.timeouts.connect, "first_token": self.timeouts.first_token,
                         "idle": self.timeouts.idle, "total": self.timeouts.total},
            "p95_budget_ms": self.p95_budget_ms,
            "stream": self.stream,
            "warmup": self.warmup,
            "workers": self.workers,
            **({"cluster": self.cluster} if self.cluster else {}),
        }


def planned_requests(plan: LoadPlan) -> int:
    """Requests the plan sends in all (0: some step goes by time, so nobody knows)."""
    if any(s.requests is None for s in plan.steps):
        return 0
    return sum(s.requests or 0 for s in plan.steps) * len(plan.models)


@dataclass
class LoadResult:
    run_id: str
    status: str  # done | cancelled | failed (the store refused its requests: see summary["not_stored"])
    summary: dict[str, Any]
    outcomes: list[RequestOutcome]


Progress = Callable[[RequestOutcome, int, int], None]  # outcome, done so far, planned (0: by time)


@dataclass(frozen=True)
class Tallied:
    """How far a run across worker processes or Ray actors is, from the counts they send
    every LIVE_EVERY_S of a step (their finished requests themselves come later in batches)."""

    step: int  # the latest step a finished request belonged to (0-based)
    concurrency: int  # that step's
    done: int  # requests finished so far in every worker (interrupted ones not counted)
    errors: int  # of those, the ones that did not answer
    planned: int  # 0: the steps go by time


Tally = Callable[[Tallied], None]


class LagMonitor:
    """Measures how late the event loop wakes a 10 ms sleeper: desk's own delay."""

    def __init__(self) -> None:
        self.lags: list[float] = []
        self._since: float | None = None  # measuring only while requests are in flight
        self._task: asyncio.Task[None] | None = None

    @property
    def active(self) -> bool:
        return self._since is not None

    @active.setter
    def active(self, on: bool) -> None:
        self._since = perf_counter() if on else None

    async def _watch(self) -> None:
        while True:
            t0 = perf_counter()
            await asyncio.sleep(0.01)
            if self._since is not None and t0 >= self._since:  # a sleep begun before is not counted
                self.lags.append(max(0.0, (perf_counter() - t0 - 0.01) * 1000))

    def start(self) -> None:
        self._task = asyncio.ensure_future(self._watch())

    async def stop(self) -> dict[str, Any]:
        if self._task is not None:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)
        p99 = percentile(self.lags, 99)
        return {
            "p50_ms": percentile(self.lags, 50),
            "p99_ms": p99,
            "max_ms": max(self.lags) if self.lags else None,
            "samples": len(self.lags),
            "warning": (f"desk's event loop lagged {p99:.1f} ms at p99: figures below that scale may be "
                        "the client's, not the vendor's") if p99 is not None and p99 > LAG_WARN_MS else None,
        }


class HeldRequests(Protocol):
    """Where a run's finished requests go: the store's writer thread (RequestWriter) in the
    process that stores, the pipe to that process in a worker (desk.engine.load_workers)."""

    error: BaseException | None

    def put(self, outcome: RequestOutcome, calls: list[tuple[int, ResponseResult]]) -> None: ...

    def flush(self) -> None: ...


class RequestWriter(threading.Thread):
    """Stores finished requests from its own connection, off the event loop.

    Requests are held in memory while a step runs and handed over between steps: on two
    cores a thread busy writing SQLite holds the GIL often enough to delay the event loop
    by milliseconds, which would land in the very latencies being measured. A long
    duration-based step is still flushed every `FLUSH_EVERY_S`.
    """

    FLUSH_EVERY_S = 30.0

    def __init__(self, open_store: Callable[[], RunConnection], run_id: str) -> None:
        super().__init__(name="desk-load-writer", daemon=True)
        self._open = open_store
        self._run_id = run_id
        self._queue: queue.Queue[tuple[RequestOutcome, list[tuple[int, ResponseResult]]] | None] = queue.Queue()
        self._held: list[tuple[RequestOutcome, list[tuple[int, ResponseResult]]]] = []
        self._last_flush = time.monotonic()
        self.error: BaseException | None = None
        self.stored = 0  # requests whose batch was committed

    def put(self, outcome: RequestOutcome, calls: list[tuple[int, ResponseResult]]) -> None:
        self._held.append((outcome, calls))
        if time.monotonic() - self._last_flush > self.FLUSH_EVERY_S:
            self.flush()

    def flush(self) -> None:
        """Hand what is held to the thread (called between steps)."""
        for item in self._held:
            self._queue.put(item)
        self._held = []
        self._last_flush = time.monotonic()

    def close(self) -> None:
        self.flush()
        self._queue.put(None)
        self.join()

    def run(self) -> None:
        store = self._open()
        try:
            done = False
            while not done:
                batch = [self._queue.get()]
                deadline = time.monotonic() + 0.3
                while len(batch) < 500 and (left := deadline - time.monotonic()) > 0:
                    try:
                        batch.append(self._queue.get(timeout=left))
                    except queue.Empty:
                        break
                if None in batch:
                    done = True
                items = [b for b in batch if b is not None]
                if items:
                    store.runs.save_batch(self._run_id, [o for o, _ in items],
                                         [c for _, calls in items for c in calls])
                    self.stored += len(items)
        except BaseException as exc:
            self.error = exc  # the run reads it: a dead writer fails the run, never "done"
        finally:
            store.close()


class LoadNotStored(RuntimeError):
    """Raised after a run whose requests the store refused: the run is stored as failed,
    saying how many requests were lost and why; carries what was measured."""

    def __init__(self, result: LoadResult) -> None:
        s = result.summary
        super().__init__(f"{s['not_stored']} of {len(result.outcomes)} requests could not be stored and are "
                         f"lost ({s['store_error']}); run {result.run_id} is marked failed")
        self.result = result


class LoadCancelled(asyncio.CancelledError):
    """Raised after a cancelled run has been stored; carries what was measured."""

    def __init__(self, result: LoadResult) -> None:
        super().__init__("load run cancelled")
        self.result = result


@dataclass
class RunContext:
    runner: Runner
    chains: dict[str, list[Target]]
    plan: LoadPlan
    trial_ids: list[str]
    seqs: Iterator[int]
    t_run: float
    writer: HeldRequests
    lag: LagMonitor
    outcomes: list[RequestOutcome]
    progress: Progress | None
    planned: int
    t_end: float | None = None  # when the last step ended, if workers' shutdown came after it
    tally: Tally | None = None  # counts from worker processes while their steps run


@dataclass
class StepState:
    index: int
    step: LoadStep
    t_step: float  # the step's instant: its first wave is written then (see `arm` and `fire`)
    n_models: int
    burst_end: float | None = None  # when the first wave was written
    outcomes: list[RequestOutcome] = field(default_factory=list)
    volley: Volley | None = None

    @property
    def first_wave(self) -> int:
        """Each model's requests sent at the step's instant: one per stream."""
        return self.step.concurrency if self.step.requests is None else min(self.step.requests,
                                                                             self.step.concurrency)

    @property
    def burst_size(self) -> int:
        return self.first_wave * self.n_models


async def arm(ctx: RunContext, state: StepState, held: bool = True) -> asyncio.Future[Any]:
    """Start the step: its first wave made ready to write (each request's result, request
    and connection), held at the transport until `fire`; returns the step's work, once armed
    (or over: every request of the wave failed before the transport). Not `held` (a client
    whose transport is not desk's): each request is sent as soon as it is ready, as before."""
    state.volley = volley = Volley(state.burst_size) if held else None
    work = asyncio.ensure_future(asyncio.gather(*(model_load(ctx, state, str(m)) for m in ctx.plan.models)))
    if volley is None:
        return work
    armed: asyncio.Future[Any] = asyncio.ensure_future(volley.armed())
    try:
        await asyncio.wait([work, armed], return_when=asyncio.FIRST_COMPLETED)
    except asyncio.CancelledError:  # its requests were never sent: none is stored (_one_request)
        work.cancel()
        await asyncio.gather(work, return_exceptions=True)
        raise
    finally:
        armed.cancel()
    return work


def fire(ctx: RunContext, state: StepState) -> None:
    """Write the step's first wave in one pass, each request stamped at its own write; from
    here on the loop must keep up, and its lag is measured."""
    if state.volley is not None:
        state.volley.fire()
    state.burst_end = perf_counter()
    ctx.lag.active = True


async def ready(targets: Targets, base: Runner, plan: LoadPlan) -> tuple[Runner, dict[str, list[Target]]]:
    """A runner with the plan's policy (and `base`'s pricer and known keys) and each model's
    chain of targets (itself, then its fallbacks), with the price catalogue loaded."""
    await targets.prepare([r.provider for r in (*plan.models, *plan.fallback)])
    await asyncio.to_thread(wait_for_preload)
    runner = Runner(pricer=base.pricer, timeouts=plan.timeouts, retry=plan.retry, stream=plan.stream,
                    known_keys=base.known_keys, reuse_requests=True, quiet_reads=True)
    chains = {
        str(m): [targets.target(r, plan.settings) for r in (m, *(f for f in plan.fallback if f != m))]
        for m in plan.models
    }
    # each model's price read now, off the loop: its requests are then priced from memory
    await asyncio.to_thread(runner.pricer.hold,
                            [(targets.target(ref).config, ref.model) for ref in (*plan.models, *plan.fallback)])
    return runner, chains


async def warm_up(ctx: RunContext) -> None:
    """Code paths and one connection per model, outside the figures (when the plan says so)."""
    if ctx.plan.warmup:
        runner = ctx.runner
        await asyncio.gather(*(runner.run_response(chain[0], ctx.plan.inputs[0],
                                                   runner.new_result(ctx.trial_ids[0], chain[0]), NullSink())
                               for chain in ctx.chains.values()), return_exceptions=True)


async def prewarm(targets: Targets, connections: Connections, plan: LoadPlan, concurrency: int) -> None:
    """Open a step's connections ahead of it so connect cost stays out of TTFT."""
    make_room_for(concurrency * len((*plan.models, *plan.fallback)))
    # Per server, not per model: two models behind one address stream 2 x `concurrency` at
    # once over its pool. A fallback is asked only after its model's request has ended, so
    # it needs no more than one step's width of its own.
    wanted: dict[str, int] = {}
    for ref in (*plan.models, *plan.fallback):
        try:
            base_url = targets.target(ref).provider.base_url
        except Exception:  # an unknown model shows up as failed requests
            continue
        if ref in plan.models:
            wanted[base_url] = wanted.get(base_url, 0) + concurrency
        else:
            wanted[base_url] = max(wanted.get(base_url, 0), concurrency)
    opened = 0
    for base_url, count in wanted.items():
        try:
            opened += await connections.prewarm(base_url, count)  # every stream's, however wide
        except Exception:  # an unreachable server shows up as failed requests
            pass
    # A server accepts new connections at its own pace after the handshake; let it settle
    # so that its backlog is not measured as the first requests' latency.
    await asyncio.sleep(min(2.0, 0.05 + 0.001 * opened))


async def model_load(ctx: RunContext, state: StepState, model: str) -> None:
    """One model's share of a step: `concurrency` workers, each sending one request after
    another; the first of each is the step's first wave (held for its volley, if it has one)."""
    step = state.step
    sent = itertools.count()
    wave = state.first_wave

    async def worker() -> None:
        while True:
            n = next(sent)
            if n >= wave and ((step.requests is not None and n >= step.requests) or
                              (step.duration_s and perf_counter() >= state.t_step + step.duration_s)):
                return
            await _one_request(ctx, ctx.chains[model], next(ctx.seqs), state.index, step.concurrency, record,
                               state.volley if n < wave else None)

    def record(outcome: RequestOutcome) -> None:
        # Called even when the request was cancelled mid-flight: it is stored, so it counts.
        state.outcomes.append(outcome)
        ctx.outcomes.append(outcome)
        if ctx.progress is not None and outcome.status != "interrupted":
            ctx.progress(outcome, len(ctx.outcomes), ctx.planned)

    await asyncio.gather(*(worker() for _ in range(step.concurrency)))


async def _one_request(ctx: RunContext, chain: Sequence[Target], seq: int, step: int, concurrency: int,
                       record: Callable[[RequestOutcome], None], volley: Volley | None = None) -> RequestOutcome:
    """One request of a load run, its fallbacks after it; with `volley`, its first attempt
    is written when the volley fires, and the request's clock starts at that write."""
    runner, plan = ctx.runner, ctx.plan
    index = seq % len(plan.inputs)
    trial, trial_id = plan.inputs[index], ctx.trial_ids[index]
    t0 = perf_counter()
    outcome = RequestOutcome(model=str(chain[0].ref), step=step, concurrency=concurrency, seq=seq,
                             start_offset_ms=0.0, status="error", input_index=index)
    calls: list[ResponseResult] = []
    first = WireTiming(volley=volley)
    sent = True
    try:
        for target in chain:
            result = runner.new_result(trial_id, target)
            calls.append(result)
            if first.volley is not None and proxied(target.provider.base_url):
                # It goes through httpx's proxy transport, never reaching desk's to be held: it
                # waits for the fire instead, then is sent as usual (its clock starts then).
                await first.volley.wait(first)
            await runner.run_response(target, trial, result, NullSink(), None if len(calls) > 1 else first)
            if volley is not None:
                volley.let_go(first)  # if it ended before reaching the transport (a fallback is not held)
            if result.status == Status.OK:
                break
    except asyncio.CancelledError:
        sent = volley is None or volley.fired  # stopped before its step's instant: never sent, not stored
        raise
    finally:
        end = perf_counter()
        if volley is not None:
            volley.let_go(first)
            t0 = first.started if first.started is not None else t0  # its own write
        if sent:  # on the run's clock as the run names it (a worker hears it after arming)
            _settle(outcome, calls, t0, end, ctx.t_run, ctx.writer, record)
    return outcome


def _settle(outcome: RequestOutcome, calls: list[ResponseResult], t0: float, end: float, t_run: float,
            writer: HeldRequests, record: Callable[[RequestOutcome], None]) -> None:
    """A finished (or interrupted) request's figures, from its start `t0`, handed to the writer."""
    outcome.start_offset_ms = round((t0 - t_run) * 1000, 3)
    final = calls[-1]
    outcome.status = final.status.value
    outcome.error_kind = final.error_kind.value if final.status != Status.OK and final.error_kind else None
    outcome.answered_by = final.model if final.status == Status.OK else None
    outcome.total_ms = round((end - t0) * 1000, 3)
    if final.chunk_times:
        outcome.request_ttft_ms = round((final.chunk_times[0] - t0) * 1000, 3)
        times = final.chunk_times
        outcome.itl_ms = [round((b - a) * 1000, 3) for a, b in itertools.pairwise(times)]
    outcome.attempts = sum(len(c.attempts) for c in calls)
    outcome.retries = sum(c.retries for c in calls)
    outcome.rate_limited = sum(1 for c in calls for a in c.attempts if a.http_status == 429)
    outcome.retry_wait_ms = round(sum(c.retry_wait_ms for c in calls), 3)
    outcome.input_tokens = final.usage.input_tokens
    outcome.output_tokens = final.usage.output_tokens
    # An unpriced model that used tokens (a primary with no price before a priced
    # fallback) makes the request's cost unknown, not the fallback's cost alone.
    unknown = any(a.cost_usd is None and (a.usage.reported or a.status == Status.OK)
                  for c in calls for a in c.attempts)
    outcome.cost_usd = None if unknown else add_costs([a.cost_usd for c in calls for a in c.attempts])
    outcome.response_ids = [c.id for c in calls]
    outcome.text = final.text
    outcome.marks = _marks(calls, clock.wall(t_run))
    writer.put(outcome, [(outcome.seq, c) for c in calls])
    record(outcome)


def _marks(calls: Sequence[ResponseResult], run_wall: float) -> list[AttemptMark]:
    """Every HTTP request of a load-run request, on the run's clock, with what the
    vendor's rate-limit headers said was left."""
    marks = []
    for c in calls:
        for a in c.attempts:
            left_requests, left_tokens = remaining(a.ratelimit)
            marks.append(AttemptMark(
                c.model, round(a.started_at - run_wall, 6),
                None if a.ended_at is None else round(a.ended_at - run_wall, 6),
                a.http_status, left_requests, left_tokens,
            ))
    return marks


def run_summary(plan: LoadPlan, outcomes: list[RequestOutcome], steps: list[dict[str, Any]], wall_s: float,
             lag_report: dict[str, Any]) -> dict[str, Any]:
    models: dict[str, Any] = {}
    for m in plan.models:
        mine = [o for o in outcomes if o.model == str(m)]
        figures = run_figures(mine, wall_s, steps, str(m))
        if plan.p95_budget_ms is not None:
            figures["knee_concurrency"] = knee(
                [(s["concurrency"], s["models"][str(m)]) for s in steps], plan.p95_budget_ms
            )
        # The first 429 from this model (a fallback's 429s show under the run's `throttling`).
        figures["throttling"] = throttling(outcomes, str(m))
        models[str(m)] = figures
    return {"wall_s": wall_s, "models": models, "steps": steps, "event_loop_lag": lag_report,
            "p95_budget_ms": plan.p95_budget_ms, "throttling": throttling(outcomes)}


def run_load_in_thread(open_loads: Callable[[], AbstractAsyncContextManager[L]],
                       use: Callable[[L], Awaitable[LoadResult]], *,
                       done: Callable[[LoadResult | None, BaseException | None], None] | None = None) -> Callable[[], None]:
    """`use(loads)` (a run, a resumed run) on its own thread and event loop (uvloop where
    available), with the `loads` that `open_loads()` opens there (its own store connection
    and HTTP client), so a window stays responsive. Returns `cancel()`; `done` (and the
    progress `use` passes on) are called on that thread."""
    state: dict[str, Any] = {}
    ready = threading.Event()

    async def main() -> LoadResult:
        state["task"] = asyncio.current_task()
        state["loop"] = asyncio.get_running_loop()
        ready.set()
        async with open_loads() as loads:
            return await use(loads)

    def body() -> None:
        result: LoadResult | None = None
        error: BaseException | None = None
        try:
            result = run(main())
        except LoadCancelled as exc:
            result = exc.result
        except LoadNotStored as exc:  # what was measured is shown, with what was lost
            result, error = exc.result, exc
        except BaseException as exc:
            error = exc
        finally:
            ready.set()
            if done is not None:
                done(result, error)

    thread = threading.Thread(target=body, name="desk-load", daemon=True)
    thread.start()

    def cancel() -> None:
        ready.wait(5)
        loop, task = state.get("loop"), state.get("task")
        if loop is not None and task is not None and not loop.is_closed():
            loop.call_soon_threadsafe(task.cancel)

    return cancel
