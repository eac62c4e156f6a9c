"""The engine as the GUI and the CLI use it: store + providers + runner, one shared client."""

from __future__ import annotations

import threading
from collections.abc import AsyncIterator, Callable, Sequence
from contextlib import asynccontextmanager
from typing import TYPE_CHECKING, TypeVar

from desk.core.lazy import built_once
from desk.core.trial import (
    ModelRef,
)
from desk.engine.errors import EngineError, UnknownProviders
from desk.engine.jobs import Job, on_own_connection
from desk.engine.policy import RetryPolicy, Timeouts
from desk.engine.pricing import Pricer, preload_catalog
from desk.engine.url_credentials import secure_stored_urls
from desk.store.db import MEMORY, Store, open_store
from desk.store.errors import StoreError

# Each service, the runner and the HTTP connections are built (and their modules imported)
# on first use: a scorecard never loads httpx, the providers or the load machinery.
if TYPE_CHECKING:
    from desk.engine.runner import Runner
    from desk.engine.services.conversations import ConversationService
    from desk.engine.services.exports import ExportService
    from desk.engine.services.judge import JudgeService, JudgeSummary
    from desk.engine.services.load import LoadService
    from desk.engine.services.providers import ProviderService
    from desk.engine.services.ratings import RatingService
    from desk.engine.services.suites import SuiteService
    from desk.engine.services.trials import TrialNotStored, TrialOutcome, TrialService
    from desk.engine.suite_records import QueueItem, SuiteMatrix, SuiteRunInfo
    from desk.providers.connections import Connections, HttpClient
    from desk.store.runs import RunInfo
    from desk.store.suites import SuiteInfo
    from desk.store.trials import StoredTrial, TrialSummary

T = TypeVar("T")




class Engine:
    def __init__(
        self,
        store: Store,
        *,
        timeouts: Timeouts | None = None,
        retry: RetryPolicy | None = None,
        stream: bool = True,
        client: HttpClient | None = None,
        warm_prices: bool = True,
    ) -> None:
        """`warm_prices` False: a command that prices nothing (a scorecard) does not load the
        price catalog and the keyring on a thread beside its own work (half a second of CPU)."""
        self.store = store
        self.timeouts = timeouts or Timeouts()
        self._retry = retry or RetryPolicy()
        self._stream = stream
        self._client = client
        self._build_lock = threading.RLock()  # services are built on first use, from any thread (desk.core.lazy)
        if warm_prices:
            preload_catalog()

    @built_once
    def connections(self) -> Connections:
        from desk.providers.connections import Connections

        return Connections(connect_timeout=self.timeouts.connect, client=self._client)

    @property
    def client(self) -> HttpClient:
        return self.connections.client

    @built_once
    def runner(self) -> Runner:
        from desk.engine.runner import Runner

        return Runner(pricer=Pricer(self.store.prices.get), timeouts=self.timeouts, retry=self._retry,
                      stream=self._stream, known_keys=lambda: self.providers.known_keys())

    def _wire(self) -> None:
        """Forget the services built on the previous store (switch_store): the next use builds them anew."""
        with self._build_lock:
            for name in _SERVICES:
                self.__dict__.pop(name, None)

    @built_once
    def providers(self) -> ProviderService:
        from desk.engine.services.providers import ProviderService

        return ProviderService(self.store.providers, self.store.prices, self.client, self.runner.pricer)

    @built_once
    def trials(self) -> TrialService:
        from desk.engine.services.trials import TrialService

        return TrialService(self.store.trials, self.store.responses, self.providers, self.runner,
                            self.providers.add_model)

    @built_once
    def conversations(self) -> ConversationService:
        from desk.engine.services.conversations import ConversationService

        return ConversationService(self.store.trials, self.store.responses, self.store.turns,
                                   self.providers, self.runner, self.store.ratings)

    @built_once
    def exports(self) -> ExportService:
        from desk.engine.services.exports import ExportService

        path = self.store.path
        return ExportService(self.store, self.store, lambda: open_store(path))

    @built_once
    def ratings(self) -> RatingService:
        from desk.engine.services.ratings import RatingService

        return RatingService(self.store.ratings, self.store.rubrics, self.store,
                             rater_name=self.rater_name, elsewhere=self._on_own_connection)

    @built_once
    def suites(self) -> SuiteService:
        from desk.engine.recorder import StoreRecorder
        from desk.engine.services.suites import SuiteService

        store = self.store
        return SuiteService(
            store.suites, trials=store.trials, ratings=store.ratings, answers=store.responses, runs=store.runs, models=store.providers,
            targets=self.providers, reach=self,
            runner=self.runner, recorder=lambda: StoreRecorder(store.responses, clean=self.runner.scrub), scorecards=self.ratings,
            turns=store.turns, elsewhere=self._on_own_connection,
        )

    @built_once
    def judges(self) -> JudgeService:
        from desk.engine.recorder import StoreRecorder
        from desk.engine.services.judge import JudgeService

        store = self.store
        return JudgeService(
            store.judge_prompts, store.verdicts, store.calibration, trials=store.trials, answers=store.responses, ratings=store.ratings,
            rubrics=store.rubrics, runs=store.runs, links=store.suites, targets=self.providers, runner=self.runner,
            recorder=lambda: StoreRecorder(store.responses, clean=self.runner.scrub), run_answers=self.suites.rating_queue,
            takes_images=self.providers.images_support,
        )

    @built_once
    def loads(self) -> LoadService:
        from desk.engine.services.load import LoadService

        store, path = self.store, self.store.path
        return LoadService(self.store.runs, self.providers, self.runner, self.connections,
                           create_trial=self.store.trials.create,
                           own_connection=lambda: open_store(path),
                           elsewhere=self._loads_elsewhere, store_path=str(path),
                           get_trial=lambda trial_id: (t.input if (t := store.trials.get(trial_id)) else None))

    @asynccontextmanager
    async def _loads_elsewhere(self, timeouts: Timeouts, retry: RetryPolicy) -> AsyncIterator[LoadService]:
        """Load runs on the calling thread with an engine of their own: a connection to this
        store and an HTTP client with the run's timeouts (see LoadService.run_in_thread)."""
        async with self.elsewhere(timeouts, retry) as engine:
            yield engine.loads

    @asynccontextmanager
    async def elsewhere(self, timeouts: Timeouts | None = None, retry: RetryPolicy | None = None,
                        ) -> AsyncIterator[Engine]:
        """An engine like this one (its store, timeouts, retry policy and streaming) for the
        calling thread and event loop, on a connection to the store and an HTTP client of its
        own; closed on leaving. StoreError when the store cannot be opened again (an
        in-memory one never can: a second connection would see another, empty store)."""
        if str(self.store.path) == MEMORY:
            raise StoreError("an in-memory store cannot be opened from another thread")
        store = open_store(self.store.path)
        try:
            async with Engine(store, timeouts=timeouts or self.timeouts, retry=retry or self.runner.retry,
                              stream=self.runner.stream) as engine:
                yield engine
        finally:
            store.close()

    async def __aenter__(self) -> Engine:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()

    @property
    def opened_connections(self) -> bool:
        """Whether HTTP connections were opened: only then does closing need an event loop."""
        return self.__dict__.get("connections") is not None

    async def aclose(self) -> None:
        connections = self.__dict__.get("connections")  # none opened: nothing to close
        if connections is not None:
            await connections.aclose()

    def switch_store(self, path: str) -> list[str]:
        """Work on another store file (created if new); the old one is closed. Returns what
        opening it changed, to tell the user (see secure_stored_urls)."""
        from desk.store.db import open_store

        try:
            new = open_store(path)
        except StoreError as exc:
            raise EngineError(str(exc)) from None
        old, self.store = self.store, new
        old.close()
        if "runner" in self.__dict__:
            self.runner.pricer = Pricer(new.prices.get)
        self._wire()
        return secure_stored_urls(new)

    def rater_name(self) -> str | None:
        return self.store.settings.get("rater_name")

    def set_rater_name(self, name: str) -> None:
        from desk.engine.services.ratings import not_the_machine

        name = " ".join(name.split())
        if not name:
            raise EngineError("the rater name cannot be empty")
        not_the_machine(name)
        self.store.settings.set("rater_name", name)

    async def _on_own_connection(self, job: Job, use: Callable[[Store], T]) -> T:
        """`use(store)` on a worker thread with its own connection to this store."""
        path = self.store.path
        return await on_own_connection(lambda: open_store(path), job, use)

    async def unreachable(self, names: Sequence[str]) -> dict[str, str]:
        """Providers that cannot be connected to right now (name -> why), all checked at once
        with one connection each (kept open for the run that follows)."""
        names = list(dict.fromkeys(names))

        async def check(name: str) -> str | None:
            return await self.connections.unreachable(self.providers.provider(name).base_url)

        import asyncio  # on first use: see desk.engine.jobs

        reasons = await asyncio.gather(*(check(n) for n in names))
        return {n: r for n, r in zip(names, reasons, strict=True) if r is not None}

    async def prewarm(self, ref: ModelRef, connections: int) -> int:
        """Open keep-alive connections ahead of a timed run so connect cost stays out of TTFT."""
        return await self.connections.prewarm(self.providers.provider(ref.provider).base_url, connections)


_SERVICES = ("providers", "trials", "conversations", "exports", "ratings", "suites", "judges", "loads")
# The suites' records are imported on first use too: desk.engine.suite_records loads asyncio
# (a cancel is an asyncio.CancelledError), which a scorecard never needs.
_LAZY_RECORDS = {"JudgeSummary": "desk.engine.services.judge", "TrialNotStored": "desk.engine.services.trials",
                 "TrialOutcome": "desk.engine.services.trials", "QueueItem": "desk.engine.suite_records",
                 "SuiteMatrix": "desk.engine.suite_records", "SuiteRunInfo": "desk.engine.suite_records",
                 "RunInfo": "desk.store.runs", "SuiteInfo": "desk.store.suites", "StoredTrial": "desk.store.trials",
                 "TrialSummary": "desk.store.trials"}


def __getattr__(name: str) -> object:
    """The records of services not imported yet (see _LAZY_RECORDS), on first use."""
    if name in _LAZY_RECORDS:
        import importlib

        return getattr(importlib.import_module(_LAZY_RECORDS[name]), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


# The application object, its error, and the records the front-ends name in their types:
# from here, so the window and the CLI import neither the store nor the services' modules.
__all__ = [
    "Engine",
    "EngineError",
    "JudgeSummary",
    "QueueItem",
    "RunInfo",
    "StoredTrial",
    "SuiteInfo",
    "SuiteMatrix",
    "SuiteRunInfo",
    "TrialNotStored",
    "TrialOutcome",
    "TrialSummary",
    "UnknownProviders",
]
