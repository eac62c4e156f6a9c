"""A load worker as a Ray actor (desk.engine.services.load_cluster makes it one; this module
does not import Ray, so it is plain, testable Python).

It sends its share of each step exactly as a worker process does (desk.engine.services.
load_workers: the same warm-up, pre-opened connections, `_step`), from Ray's event loop
in the actor. What differs is what a machine of the cluster lacks: the store. The head
ships what a worker reads from it (providers, their keys, the user's prices) in the
`ActorJob`, and the worker keeps them in a store in memory.

Instants: the head names a step's start on the worker's own wall clock (its instant plus
the worker's offset, desk.core.clock_offset); the worker reports instants on its own
clock and the head moves them onto its own. `clock()` is what the offset is estimated with.

Finished requests are held in the actor and taken by the head (`take`) while a step runs
and at its end, in batches: a killed actor loses only what it had not handed over. Between
takes the head may ask for counts of them (`tally`): a worker process's ("tally", ...)
message, a few numbers where the requests themselves would be pickled mid-step.
"""

from __future__ import annotations

import asyncio
import itertools
import os
import socket
import time
from dataclasses import dataclass, replace
from typing import Any

from desk.core.load import RequestOutcome
from desk.core.load_split import split_step
from desk.core.pricing import Price
from desk.core.provider import ProviderConfig
from desk.core.response import ResponseResult
from desk.engine.load import LagMonitor, LoadPlan, RunContext, prewarm, ready, warm_up
from desk.engine.pricing import Pricer, preload_catalog
from desk.engine.runner import Runner
from desk.engine.services.load_workers import Item, step_share
from desk.engine.services.providers import ProviderService
from desk.providers.connections import Connections
from desk.store.db import MEMORY, open_store

KEY_ENV = "DESK_CLUSTER_KEY_{}"  # a shipped key, in the actor's own environment only


@dataclass(frozen=True)
class ActorJob:
    plan: LoadPlan
    index: int
    count: int
    trial_ids: list[str]
    providers: list[ProviderConfig]
    keys: dict[str, str]  # provider name -> its key, as resolved on the head
    prices: list[tuple[str, str, Price]]  # the user's own prices: provider name, model, price


class Tray:
    """The actor's HeldRequests: finished requests wait here until the head takes them,
    counted as they come (the run's, in this worker; interrupted ones not counted)."""

    def __init__(self) -> None:
        self.items: list[Item] = []
        self.error: BaseException | None = None
        self.step_report: dict[str, Any] | None = None
        self.step = self.done = self.errors = 0

    def put(self, outcome: RequestOutcome, calls: list[tuple[int, ResponseResult]]) -> None:
        self.items.append((outcome, calls))
        if outcome.status != "interrupted":
            self.step, self.done, self.errors = outcome.step, self.done + 1, self.errors + (outcome.status != "ok")

    def flush(self) -> None:
        """Nothing to do: the head takes what is held."""

    def send(self, message: tuple[Any, ...]) -> None:
        self.step_report = message[1]  # ("step_done", report): the only message `_step` sends at its end


class Issued:
    """The worker's request numbers (as a worker process numbers them: index, index + count,
    ...), counting how many were handed out, so the head can say which were in flight."""

    def __init__(self, index: int, count: int) -> None:
        self._seqs = itertools.count(index, count)
        self.n = 0

    def __iter__(self) -> Issued:
        return self

    def __next__(self) -> int:
        self.n += 1
        return next(self._seqs)


class LoadActor:
    """One worker of a cluster run (see the module's docstring). Ray runs its methods on
    one event loop, so `stop` can arrive while `go` runs."""

    def __init__(self, job: ActorJob) -> None:
        self.job = job
        self.tray = Tray()
        self.issued = Issued(job.index, job.count)
        self.inbox: asyncio.Queue[tuple[Any, ...]] | None = None
        self.ctx: RunContext | None = None
        self.connections: Connections | None = None
        self.targets: ProviderService | None = None

    async def clock(self, t0: float) -> tuple[float, float]:
        """The head's send time echoed with this machine's wall clock (as an NTP reply
        carries its request's), for the head's offset estimate."""
        return t0, time.time()

    async def start(self) -> str:
        """Resolve the shipped providers, warm up; returns where this worker runs."""
        job, plan = self.job, self.job.plan
        self.inbox = asyncio.Queue()
        store = open_store(MEMORY)
        for n, config in enumerate(job.providers):
            key = job.keys.get(config.name)
            if key is not None:
                os.environ[KEY_ENV.format(n)] = key
            store.providers.add(replace(config, key_env=KEY_ENV.format(n) if key is not None else None))
        for provider, model, price in job.prices:
            store.prices.set(provider, model, price)
        self.connections = Connections(connect_timeout=plan.timeouts.connect)
        await asyncio.to_thread(preload_catalog)
        pricer = Pricer(store.prices.get)
        self.targets = ProviderService(store.providers, store.prices, self.connections.client, pricer)
        runner, chains = await ready(self.targets, Runner(pricer=pricer, known_keys=self.targets.known_keys), plan)
        self.ctx = RunContext(runner, chains, plan, job.trial_ids, self.issued, 0.0, self.tray, LagMonitor(), [],
                              None, 0)
        await warm_up(self.ctx)
        self.ctx.lag.start()
        return socket.gethostname()

    async def prewarm(self, index: int) -> None:
        share = split_step(self.job.plan.steps[index], self.job.count)[self.job.index]
        if share is not None and self.targets is not None and self.connections is not None:
            await prewarm(self.targets, self.connections, self.job.plan, share.concurrency)

    async def go(self, index: int, start_wall: float, run_wall: float) -> dict[str, Any]:
        """This worker's share of step `index` from `start_wall` (on this machine's clock);
        returns the step's report (end, burst end on this clock) and whether it was stopped."""
        assert self.ctx is not None and self.inbox is not None, "start() first"
        share = split_step(self.job.plan.steps[index], self.job.count)[self.job.index]
        self.tray.step_report = None
        went_on = await step_share(self.ctx, self.tray, self.inbox, share, index, start_wall, run_wall)
        return {**(self.tray.step_report or {}), "stopped": not went_on}

    async def take(self) -> tuple[list[Item], int]:
        """The finished requests held so far, and how many requests this worker has started."""
        items, self.tray.items = self.tray.items, []
        return items, self.issued.n

    async def tally(self) -> tuple[str, int, int, int]:
        """A worker process's ("tally", step, done, errors) from the tray's counts: nothing
        held is taken (or pickled) while the step runs."""
        return "tally", self.tray.step, self.tray.done, self.tray.errors

    async def stop(self) -> None:
        """Stop the step under way: its requests in flight are recorded as interrupted."""
        if self.inbox is not None:
            self.inbox.put_nowait(("stop",))

    async def finish(self) -> list[float]:
        """Close connections; returns the event loop's lag samples."""
        lags: list[float] = []
        if self.ctx is not None:
            lags = self.ctx.lag.lags
            await self.ctx.lag.stop()
        if self.connections is not None:
            await self.connections.aclose()
        return lags
