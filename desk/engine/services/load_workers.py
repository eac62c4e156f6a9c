"""A load run across worker processes: each sends its share of every step from an event
loop, HTTP client and pre-opened connections of its own; the parent plans, starts every
step on all of them at one instant, collects their finished requests and stores them
(one writer, the parent's RequestWriter).

Timing: processes on one machine share the wall clock, so the parent names instants in
unix seconds (the run's start, each step's start) and each worker turns them into its own
`perf_counter` (desk.core.clock.perf); every duration a worker reports was measured on its
own `perf_counter`, every instant (an attempt's started_at) is on the shared wall clock,
so stored requests, their offsets in the run and the server-log join read as they do for
a run in one process.

The conversation, two one-way pipes per worker (pickled tuples):
    worker -> parent  ("ready",) after its warm-up; ("prewarmed",); ("outcomes", [(outcome,
                      calls), ...]); ("tally", step, done, errors) at most every `tally_every_s`
                      of a step when asked; ("step_done", {"burst_end": wall | None, "end": wall});
                      ("done", lag samples); ("failed", reason)
    parent -> worker  ("prewarm", step); ("go", step, start_wall, run_wall); ("stop",); ("end",)
"""

from __future__ import annotations

import asyncio
import gc
import itertools
import multiprocessing
import signal
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from multiprocessing.connection import Connection
from time import perf_counter
from typing import Any, Protocol

from desk.core import clock
from desk.core.load import LoadStep, RequestOutcome, summarize
from desk.core.load_split import split_step
from desk.core.response import ResponseResult
from desk.engine.load import (
    HeldRequests,
    LagMonitor,
    LoadPlan,
    RunContext,
    StepState,
    Tallied,
    arm,
    fire,
    prewarm,
    ready,
    warm_up,
)
from desk.engine.pricing import Pricer, preload_catalog
from desk.engine.runner import Runner
from desk.engine.services.providers import ProviderService
from desk.providers.connections import Connections
from desk.store.db import open_store

START_AHEAD_S = 0.05  # a step's start instant is this far ahead, so every worker is waiting for it
STOP_WAIT_S = 15.0  # how long a cancelled or finished run waits for its workers' last reports
# A window drawing the run as it goes gets each worker's finished requests this often during a
# step (pickling them costs the worker's loop a little), not only at the step's end.
LIVE_EVERY_S = 0.5

Item = tuple[RequestOutcome, list[tuple[int, ResponseResult]]]


@dataclass(frozen=True)
class WorkerJob:
    store_path: str  # opened to read providers, keys and prices; a worker writes nothing to it
    plan: LoadPlan
    index: int
    count: int
    trial_ids: list[str]
    report_every_s: float = 30.0  # how long finished requests may wait in the worker during a step
    tally_every_s: float = 0.0  # how often to send counts of finished requests during a step (0: never)


# --- in the worker process ------------------------------------------------------------------


class Courier:
    """A worker's HeldRequests: finished requests are held while a step runs (pickling and
    writing them would delay the loop being measured) and sent to the parent between steps,
    or every `every_s` of a step (30 s; LIVE_EVERY_S when a window draws the run as it goes).
    With `tally_every_s`, a count of them goes every that often instead: a few bytes, where
    pickling the requests themselves would cost the loop being measured."""

    def __init__(self, conn: Connection, every_s: float = 30.0, tally_every_s: float = 0.0) -> None:
        self._conn = conn
        self._every_s = every_s
        self._held: list[Item] = []
        self._last = time.monotonic()
        self._tally_every_s = tally_every_s
        self._tallied = self._last
        self._done = self._errors = 0  # the run's, in this worker
        self.error: BaseException | None = None

    def put(self, outcome: RequestOutcome, calls: list[tuple[int, ResponseResult]]) -> None:
        self._held.append((outcome, calls))
        now = time.monotonic()
        if now - self._last > self._every_s:
            self.flush()
        if self._tally_every_s and outcome.status != "interrupted":
            self._done += 1
            self._errors += outcome.status != "ok"
            if now - self._tallied >= self._tally_every_s:
                self._tallied = now
                self.send(("tally", outcome.step, self._done, self._errors))

    def flush(self) -> None:
        if self._held:
            self.send(("outcomes", self._held))
        self._held = []
        self._last = time.monotonic()

    def send(self, message: tuple[Any, ...]) -> None:
        self._conn.send(message)


def worker_main(orders: Connection, reports: Connection, job: WorkerJob) -> None:
    """The worker process's entry point (spawned: it imports desk afresh). Two one-way pipes:
    the event loop watches `orders` (and makes it non-blocking), `reports` stays blocking so
    a large batch of requests is written whole."""
    from desk.engine.aio import run

    # Ctrl-C in a terminal reaches the whole process group: the parent alone decides, and
    # stops its workers so that their requests in flight are still reported and stored.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    try:
        run(_serve(orders, reports, job))
    except BaseException as exc:  # the parent records why this worker's share is missing
        try:
            reports.send(("failed", f"worker {job.index}: {type(exc).__name__}: {exc}"))
        except OSError:
            pass
    finally:
        orders.close()
        reports.close()


async def _serve(orders: Connection, reports: Connection, job: WorkerJob) -> None:
    plan = job.plan
    inbox: asyncio.Queue[tuple[Any, ...]] = asyncio.Queue()
    loop = asyncio.get_running_loop()

    def hear() -> None:
        try:
            inbox.put_nowait(orders.recv())
        except (EOFError, OSError):  # the parent is gone: nobody would store what is measured
            loop.remove_reader(orders.fileno())
            inbox.put_nowait(("stop",))

    loop.add_reader(orders.fileno(), hear)
    armed: Armed | None = None
    store = open_store(job.store_path)
    connections = Connections(connect_timeout=plan.timeouts.connect)
    try:
        preload_catalog()
        pricer = Pricer(store.prices.get)
        targets = ProviderService(store.providers, store.prices, connections.client, pricer)
        runner, chains = await ready(targets, Runner(pricer=pricer, known_keys=targets.known_keys), plan)
        courier = Courier(reports, job.report_every_s, job.tally_every_s)
        ctx = RunContext(runner, chains, plan, job.trial_ids, itertools.count(job.index, job.count), 0.0,
                         courier, LagMonitor(), [], None, 0)
        await warm_up(ctx)
        ctx.lag.start()
        courier.send(("ready",))
        while (message := await inbox.get())[0] not in ("end", "stop"):
            share = split_step(plan.steps[message[1]], job.count)[job.index]
            if message[0] == "prewarm":  # the step's connections opened, its first wave armed
                if share is not None:
                    await prewarm(targets, connections, plan, share.concurrency)
                    armed = await arm_share(ctx, share, message[1])
                courier.send(("prewarmed",))
            else:
                _, index, start_wall, run_wall = message
                went_on = await step_share(ctx, courier, inbox, share, index, start_wall, run_wall, armed)
                armed = None
                if not went_on:
                    break
        lags = ctx.lag.lags
        await ctx.lag.stop()
        courier.send(("done", lags))
    finally:
        if armed is not None:  # stopped between a step's arming and its start: nothing was sent
            armed[1].cancel()
            await asyncio.gather(armed[1], return_exceptions=True)
        loop.remove_reader(orders.fileno())
        await connections.aclose()
        store.close()


class Reporter(HeldRequests, Protocol):
    """Where a worker's finished requests and its step's report go: the pipe to the parent
    (Courier), or the tray a Ray actor's head takes them from (desk.engine.services.load_actor)."""

    def send(self, message: tuple[Any, ...]) -> None: ...


Armed = tuple[StepState, "asyncio.Future[Any]"]  # a step whose first wave waits for its instant, and its work


async def arm_share(ctx: RunContext, share: LoadStep, index: int) -> Armed:
    """This worker's share of step `index` started, its first wave held ready to write (see
    desk.engine.load.arm): done before the step's instant, so none of it is in any figure."""
    state = StepState(index, share, perf_counter(), len(ctx.plan.models))
    work = await arm(ctx, state)
    gc.collect()  # as the single-process run does: no full collection mid-step
    gc.freeze()
    return state, work


async def step_share(ctx: RunContext, courier: Reporter, inbox: asyncio.Queue[tuple[Any, ...]],
                     share: LoadStep | None, index: int, start_wall: float, run_wall: float,
                     armed: Armed | None = None) -> bool:
    """This worker's share of step `index`, its first wave written at the agreed instant (or
    as soon as it is armed, if `armed` was not made ahead); False if told to stop."""
    ctx.t_run = clock.perf(run_wall)
    t_step = clock.perf(start_wall)
    stopped = False
    if share is not None and armed is None:
        armed = await arm_share(ctx, share, index)
    state: StepState | None = None
    if armed is not None:
        state, work = armed
        state.t_step = t_step
        await asyncio.sleep(max(0.0, t_step - perf_counter()))
        fire(ctx, state)
        told: asyncio.Future[Any] = asyncio.ensure_future(inbox.get())
        await asyncio.wait([work, told], return_when=asyncio.FIRST_COMPLETED)
        if told.done():  # only "stop" comes mid-step: the requests in flight are recorded as interrupted
            stopped = True
            work.cancel()
        else:
            told.cancel()
        await asyncio.gather(work, return_exceptions=True)
        ctx.lag.active = False
        gc.unfreeze()
    end = clock.wall(perf_counter()) if state is not None else start_wall
    courier.flush()
    burst_end = None if state is None or state.burst_end is None else clock.wall(state.burst_end)
    courier.send(("step_done", {"burst_end": burst_end, "end": end}))
    return not stopped


# --- in the parent ----------------------------------------------------------------------------


class WorkerPool:
    """The worker processes of one run, their pipes, and what they said (read by a thread per
    pipe and handed to the run's event loop)."""

    def __init__(self, jobs: list[WorkerJob], tally: Callable[[int, tuple[Any, ...]], None] | None = None) -> None:
        spawn = multiprocessing.get_context("spawn")  # fork would copy the parent's loop, threads and client
        self.loop = asyncio.get_running_loop()
        self.inbox: asyncio.Queue[tuple[int, tuple[Any, ...]]] = asyncio.Queue()
        self.conns: list[Connection] = []  # orders to each worker
        self.reports: list[Connection] = []  # each worker's reports, read by a thread of its own
        self.readers: list[threading.Thread] = []
        self.procs: list[Any] = []
        self.live: set[int] = set()
        self.lost: dict[int, str] = {}
        self.lags: list[float] = []  # every worker's event-loop lag samples
        self._tally = tally  # gets each ("tally", ...) message with its worker's index
        for job in jobs:
            their_orders, orders = spawn.Pipe(duplex=False)
            reports, their_reports = spawn.Pipe(duplex=False)
            proc = spawn.Process(target=worker_main, args=(their_orders, their_reports, job),
                                 name=f"desk-load-{job.index}", daemon=True)
            proc.start()
            their_orders.close()
            their_reports.close()
            self.conns.append(orders)
            self.reports.append(reports)
            self.procs.append(proc)
            self.live.add(job.index)
            reader = threading.Thread(target=self._read, args=(job.index, reports),
                                      name=f"desk-load-pipe-{job.index}", daemon=True)
            reader.start()
            self.readers.append(reader)

    def _read(self, index: int, conn: Connection) -> None:
        while True:
            try:
                message = conn.recv()
            except (EOFError, OSError):
                message = ("lost",)
            except Exception as exc:  # a report that cannot be read loses what it carried
                message = ("failed", f"worker {index}: its report could not be read ({type(exc).__name__}: {exc})")
            self.loop.call_soon_threadsafe(self.inbox.put_nowait, (index, message))
            if message[0] in ("lost", "done", "failed"):
                return

    def send(self, message: tuple[Any, ...]) -> None:
        for index in sorted(self.live):
            try:
                self.conns[index].send(message)
            except OSError:
                pass  # its reader reports it lost

    async def expect(self, kind: str, received: Callable[[list[Item]], None],
                     timeout: float | None = None) -> dict[int, tuple[Any, ...]]:
        """Wait until every live worker has said `kind` (outcomes go to `received` meanwhile);
        a worker that has ended, failed or died is no longer waited for."""
        said: dict[int, tuple[Any, ...]] = {}
        deadline = None if timeout is None else perf_counter() + timeout
        while self.live - said.keys():
            left = None if deadline is None else deadline - perf_counter()
            if left is not None and left <= 0:
                break
            try:
                index, message = await asyncio.wait_for(self.inbox.get(), left)
            except TimeoutError:
                break
            if message[0] == "outcomes":
                received(message[1])
            elif message[0] == "tally":
                if self._tally is not None:
                    self._tally(index, message)
            elif message[0] == kind:
                said[index] = message
            if message[0] in ("done", "failed", "lost"):
                self.live.discard(index)
            if message[0] == "done":
                self.lags.extend(message[1])
            elif message[0] == "failed":
                self.lost[index] = message[1]
            elif message[0] == "lost":
                self.lost[index] = f"worker {index}: its process ended (exit code {self.procs[index].exitcode})"
        return said

    async def close(self, received: Callable[[list[Item]], None]) -> None:
        """End every worker, collecting what each still had to say."""
        self.send(("end",))
        said = await self.expect("done", received, STOP_WAIT_S)
        for index, proc in enumerate(self.procs):
            # One that said "done" has reported everything; it may still be closing its connections.
            await asyncio.to_thread(proc.join, 5.0 if index in said else 1.0)
            if proc.is_alive():
                proc.terminate()
                if index not in said:
                    self.lost.setdefault(index, f"worker {index}: did not end and was stopped")
        for reader in self.readers:  # each ends at its worker's last word or its pipe's end
            await asyncio.to_thread(reader.join, 1.0)
        for conn in (*self.conns, *self.reports):
            conn.close()


async def steps_across(ctx: RunContext, steps: list[dict[str, Any]], store_path: str, workers: int,
                       live: bool = False) -> list[str]:
    """Run the plan's steps on `workers` processes (see the module's docstring); each finished
    step's summary goes to `steps`. `live`: workers hand over finished requests every
    LIVE_EVERY_S of a step, for progress drawn as it goes; else, with `ctx.tally`, only counts
    of them come that often (see Courier). Returns why any worker was lost (its requests in
    flight were never reported)."""
    plan = ctx.plan
    every = LIVE_EVERY_S if live else WorkerJob.report_every_s
    counts = LIVE_EVERY_S if ctx.tally is not None and not live else 0.0
    jobs = [WorkerJob(store_path, plan, i, workers, ctx.trial_ids, every, counts) for i in range(workers)]
    pool = WorkerPool(jobs, tallies(ctx) if counts else None)
    step_items: list[Item] = []

    def received(items: list[Item]) -> None:
        step_items.extend(items)
        for outcome, _ in items:
            outcome.concurrency = plan.steps[outcome.step].concurrency  # the step's, not the worker's share
            ctx.outcomes.append(outcome)
            if ctx.progress is not None and outcome.status != "interrupted":
                ctx.progress(outcome, len(ctx.outcomes), ctx.planned)

    try:
        await pool.expect("ready", received)
        run_wall = time.time()
        ctx.t_run = clock.perf(run_wall)
        for index in range(len(plan.steps)):
            if ctx.writer.error is not None or not pool.live:
                break
            pool.send(("prewarm", index))
            await pool.expect("prewarmed", received)
            start_wall = time.time() + START_AHEAD_S
            pool.send(("go", index, start_wall, run_wall))
            done = await pool.expect("step_done", received)
            steps.append(step_summary(ctx, index, step_items, done, start_wall))
            step_items = []
    except asyncio.CancelledError:
        pool.send(("stop",))  # each records its requests in flight as interrupted and sends them
        raise
    finally:
        ctx.t_end = perf_counter()  # the run's wall time leaves out the workers' shutdown
        await pool.close(received)
        ctx.lag.lags.extend(pool.lags)
        store_items(ctx, step_items)
    return [pool.lost[i] for i in sorted(pool.lost)]


def tallies(ctx: RunContext) -> Callable[[int, tuple[Any, ...]], None]:
    """What takes each worker's ("tally", step, done, errors) and tells `ctx.tally` the sums
    (a worker process's messages; a Ray actor's answers, desk.engine.services.load_cluster)."""
    latest: dict[int, tuple[int, int, int]] = {}

    def heard(index: int, message: tuple[Any, ...]) -> None:
        latest[index] = message[1:]
        step = max(s for s, _, _ in latest.values())
        assert ctx.tally is not None
        ctx.tally(Tallied(step, ctx.plan.steps[step].concurrency, sum(d for _, d, _ in latest.values()),
                          sum(e for _, _, e in latest.values()), ctx.planned))

    return heard


def store_items(ctx: RunContext, items: list[Item]) -> None:
    """Number a step's requests in start order (each worker numbered its own) and hand them
    to the writer."""
    for outcome, calls in sorted(items, key=lambda item: item[0].start_offset_ms):
        outcome.seq = next(ctx.seqs)
        ctx.writer.put(outcome, [(outcome.seq, result) for _, result in calls])
    items.clear()
    ctx.writer.flush()


def step_summary(ctx: RunContext, index: int, items: list[Item], done: dict[int, tuple[Any, ...]],
                 start_wall: float) -> dict[str, Any]:
    """A step's figures as a run in one process reports them: its wall time runs from the
    agreed start to the last worker's end, the send burst to the last worker's."""
    mine = [outcome for outcome, _ in items]
    store_items(ctx, items)
    reports = [message[1] for message in done.values()]
    wall = max((r["end"] for r in reports), default=start_wall) - start_wall
    bursts = [r["burst_end"] for r in reports if r["burst_end"] is not None]
    return {
        "step": index,
        "concurrency": ctx.plan.steps[index].concurrency,
        "wall_s": wall,
        "send_burst_ms": round((max(bursts) - start_wall) * 1000, 3) if bursts else None,
        "models": {str(m): summarize([o for o in mine if o.model == str(m)], wall) for m in ctx.plan.models},
        "workers": len(reports),
    }
