"""The engine as the GUI and the CLI use it: store + providers + runner, one shared client."""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, replace
from time import perf_counter
from typing import Any, TypeVar

from desk.core.constraint_reading import DEFAULT_READING, check_reading, read_as
from desk.core.load import RequestOutcome
from desk.core.pricing import Price
from desk.core.provider import ProviderConfig
from desk.core.rating import Preference, Rating
from desk.core.response import ResponseResult
from desk.core.rubric import Rubric
from desk.core.suite import AUTO_RATER
from desk.core.trial import (
    GenerationSettings,
    ModelRef,
    TrialInput,
    Variant,
    trial_size_problem,
)
from desk.engine import local_model
from desk.engine.cached_scorecard import cached_scorecard
from desk.engine.errors import EngineError
from desk.engine.export import ExportResult, export_file, export_run_attempts, export_run_requests
from desk.engine.jobs import Job
from desk.engine.keys import (
    KeyStoreError,
    SecretStore,
    delete_api_key,
    env_key,
    get_api_key,
    secret_store,
    set_api_key,
)
from desk.engine.policy import RetryPolicy, Timeouts
from desk.engine.pricing import Pricer, preload_catalog, wait_for_preload
from desk.engine.recorder import FanoutSink, RedactingSink, StoreRecorder
from desk.engine.runner import ResponseSink, Runner, Target
from desk.engine.scorecard import (
    ModelScore,
    PairedComparison,
    Progress,
    compute_scorecard,
)
from desk.engine.services.suites import SuiteService
from desk.engine.suite_records import (
    Disagreement,
    QueueItem,
    SuiteMatrix,
    SuiteResponse,
    SuiteRunInfo,
    SuiteRunResult,
)
from desk.engine.url_credentials import secure_stored_urls
from desk.providers.base import Provider, ProviderError
from desk.providers.connections import Connections, HttpClient
from desk.providers.registry import base_url_problem, make_provider
from desk.store.db import Store, open_store
from desk.store.errors import StoreError
from desk.store.merge import MergeReport
from desk.store.ratings import RatingFilter as ScoreFilter
from desk.store.runs import RunInfo
from desk.store.suites import SuiteInfo
from desk.store.trials import StoredTrial, TrialSummary

T = TypeVar("T")


class TrialNotStored(EngineError):
    """The store refused the trial itself (a full disk, a read-only file): nothing was sent."""


class UnknownProviders(EngineError):
    """Prices named providers that are not configured: `names`, sorted; nothing was set."""

    def __init__(self, names: Sequence[str]) -> None:
        super().__init__(f"unknown provider(s) {', '.join(names)}")
        self.names = list(names)


@dataclass(frozen=True)
class TrialOutcome:
    trial_id: str
    responses: list[ResponseResult]


class Engine:
    def __init__(
        self,
        store: Store,
        *,
        timeouts: Timeouts | None = None,
        retry: RetryPolicy | None = None,
        stream: bool = True,
        client: HttpClient | None = None,
    ) -> None:
        self.store = store
        self.timeouts = timeouts or Timeouts()
        self.connections = Connections(connect_timeout=self.timeouts.connect, client=client)
        self.client = self.connections.client
        self.runner = Runner(
            pricer=Pricer(store.get_price),
            timeouts=self.timeouts,
            retry=retry or RetryPolicy(),
            stream=stream,
            known_keys=self._known_keys,
        )
        self._providers: dict[str, Provider] = {}
        # Providers whose last key given could not be kept (no OS keyring): name -> why.
        self._unkept_keys: dict[str, str] = {}
        preload_catalog()
        self._wire()

    def _wire(self) -> None:
        """Build the use-case services on the current store; again after switch_store."""
        store = self.store
        self.suites = SuiteService(
            store.suites, trials=store, ratings=store, runs=store, models=store, targets=self, reach=self,
            runner=self.runner, recorder=lambda: StoreRecorder(store, clean=self.runner.scrub), scorecards=self,
        )

    async def __aenter__(self) -> Engine:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        await self.connections.aclose()

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
        self._providers.clear()
        self.runner.pricer = Pricer(new.get_price)
        self._wire()
        return self.secure_stored_urls()

    def secure_stored_urls(self) -> list[str]:
        """Take any password an older desk kept in a provider's base URL out of the store
        (to the keyring when it can); one note per provider changed, to show once."""
        return secure_stored_urls(self.store)

    def _known_keys(self) -> dict[str, str]:
        """The API key of every provider loaded so far, by name (answers are stored without them)."""
        return {name: p.api_key for name, p in self._providers.items() if p.api_key}

    def _config(self, name: str) -> ProviderConfig:
        config = self.store.get_provider(name)
        if config is None:
            known = ", ".join(p.name for p in self.store.list_providers()) or "none yet"
            raise EngineError(
                f"unknown provider {name!r} (configured: {known}); add it with 'desk provider add'"
            )
        return config

    def provider(self, name: str) -> Provider:
        """The provider instance for a configured name (its key read from env or keyring)."""
        config = self._config(name)
        cached = self._providers.get(name)
        if cached is not None and cached.config == config:
            return cached
        provider = self._make_provider(config, get_api_key(config))
        self._providers[name] = provider
        return provider

    def _make_provider(self, config: ProviderConfig, key: str | None) -> Provider:
        try:
            return make_provider(config, self.client, key)
        except ValueError as exc:  # a stored kind this desk does not speak
            raise EngineError(f"provider {config.name}: {exc}") from None

    async def prepare(self, names: Sequence[str]) -> None:
        """Resolve providers and their keys off the event loop: the OS keyring can take
        tens of milliseconds (seconds on a slow D-Bus), which must not freeze the window."""
        todo = []
        for name in dict.fromkeys(names):
            config = self._config(name)
            cached = self._providers.get(name)
            if cached is None or cached.config != config:
                todo.append(config)
        keys = await asyncio.gather(*(asyncio.to_thread(get_api_key, c) for c in todo))
        for config, key in zip(todo, keys, strict=True):
            self._providers[config.name] = self._make_provider(config, key)

    def target(self, ref: ModelRef, settings: GenerationSettings | None = None,
               variant: Variant | None = None) -> Target:
        settings = settings or GenerationSettings()
        if ref.provider == local_model.LOCAL_PROVIDER and settings.max_tokens is None:
            # The built-in 270M model rambles until its context is full; every surface (window,
            # CLI, suites, load) caps it the same way unless the user sets a limit.
            settings = replace(settings, max_tokens=local_model.DEFAULT_MAX_TOKENS)
        return Target(ref, self.provider(ref.provider), settings, variant)

    async def run_trial(
        self,
        trial: TrialInput,
        models: Sequence[ModelRef],
        settings: GenerationSettings | Mapping[ModelRef, GenerationSettings] | None = None,
        *,
        parent_trial_id: str | None = None,
        sink: ResponseSink | None = None,
        variants: Sequence[Variant] | None = None,
    ) -> TrialOutcome:
        """Store the trial, run every model (x variant) concurrently, record as it streams."""
        if not models:
            raise EngineError("choose at least one model")
        problem = trial_size_problem(trial, variants or ())
        if problem:
            raise EngineError(problem)
        if not trial.prompt.strip() and not trial.attachments:
            raise EngineError("the prompt is empty")

        def settings_for(ref: ModelRef) -> GenerationSettings:
            if isinstance(settings, Mapping):
                return settings.get(ref, GenerationSettings())
            return settings or GenerationSettings()

        await self.prepare([ref.provider for ref in models])
        targets = [
            self.target(ref, settings_for(ref), variant)
            for ref in models
            for variant in (variants or [None])
        ]
        if variants:
            trial = TrialInput(trial.prompt, variants[0].system, trial.attachments)
        try:
            trial_id = self.store.create_trial(trial, parent_trial_id=parent_trial_id)
        except StoreError as exc:
            raise TrialNotStored(f"{exc}; nothing was sent") from None
        for ref in models:
            self.store.add_model(ref.provider, ref.model)  # so the picker offers it next time
        recorder = StoreRecorder(self.store, clean=self.runner.scrub)
        view = RedactingSink(sink, lambda: self._known_keys().values()) if sink is not None else None
        fan = FanoutSink(recorder, view) if view is not None else recorder
        results = await self.runner.run_trial(trial_id, trial, targets, fan)
        return TrialOutcome(trial_id, results)

    def new_results(self, trial_id: str, targets: Sequence[Target]) -> list[ResponseResult]:
        return [self.runner.new_result(trial_id, t) for t in targets]

    # --- what the window needs, so it never touches the store itself ---------------------

    def list_trials(self, search: str | None = None, limit: int = 200, offset: int = 0,
                    *, runs: bool = True) -> list[TrialSummary]:
        """Trials newest first, a page at a time; `runs` False leaves out those of load and suite runs."""
        return self.store.list_trials(search=search or None, limit=limit, offset=offset, runs=runs)

    def has_trial(self, trial_id: str) -> bool:
        return self.store.get_trial(trial_id) is not None

    def response(self, response_id: str) -> ResponseResult | None:
        """One stored answer, or None when there is no such response."""
        return self.store.get_response(response_id)

    def load_trial(self, trial_id: str) -> tuple[StoredTrial, list[ResponseResult]] | None:
        stored = self.store.get_trial(trial_id)
        if stored is None:
            return None
        return stored, self.store.responses_for_trial(trial_id)

    def configured_models(self) -> list[ModelRef]:
        return [ModelRef(p, m) for p, m in self.store.list_models()]

    def providers(self) -> list[ProviderConfig]:
        return self.store.list_providers()

    def save_provider(self, config: ProviderConfig, *, api_key: str | None = None, new: bool) -> None:
        """Add or update a provider; a key given goes to the OS keyring, never the store.
        All or nothing: when the keyring cannot keep the key, the store is put back as it was
        (a new provider removed, an edited one restored) and KeyStoreError raised, so no
        provider is ever left saved without the key it was given."""
        problem = base_url_problem(config.kind, config.base_url)
        if problem:
            raise EngineError(problem)
        previous = None if new else self.store.get_provider(config.name)
        try:
            if new:
                self.store.add_provider(config)
            else:
                self.store.update_provider(config)
        except StoreError as exc:
            raise EngineError(str(exc)) from None
        self._providers.pop(config.name, None)
        if api_key:
            try:
                set_api_key(config.name, api_key)
            except KeyStoreError as exc:
                if previous is None:
                    self.store.remove_provider(config.name)
                    self._unkept_keys.pop(config.name, None)
                else:  # the old settings and old key stand; a Test must not vouch for the new key
                    self.store.update_provider(previous)
                    self._unkept_keys[config.name] = str(exc)
                raise
            self._unkept_keys.pop(config.name, None)

    def provider_config(self, name: str) -> ProviderConfig | None:
        """The saved settings of provider `name`, or None when there is none."""
        return self.store.get_provider(name)

    def set_provider_key(self, name: str, api_key: str) -> None:
        """Keep `api_key` for the saved provider `name` in the OS keyring (KeyStoreError if
        no keyring can); EngineError when there is no such provider."""
        if self.store.get_provider(name) is None:
            raise EngineError(f"no provider named {name!r}")
        set_api_key(name, api_key)
        self._providers.pop(name, None)
        self._unkept_keys.pop(name, None)

    def unkept_key(self, name: str) -> str | None:
        """Why the key last given for provider `name` was not kept, while no key from its
        environment variable stands in for it; None when nothing was lost."""
        why = self._unkept_keys.get(name)
        config = self.store.get_provider(name) if why else None
        if config is not None and env_key(config):
            return None
        return why

    def secret_store(self) -> SecretStore:
        """Where keys typed into desk are kept (the OS keyring's backend), and whether it can."""
        return secret_store()

    def remove_provider(self, name: str) -> None:
        if not self.store.remove_provider(name):
            raise EngineError(f"no provider named {name!r}")
        delete_api_key(name)
        self._providers.pop(name, None)
        self._unkept_keys.pop(name, None)

    def add_model(self, ref: ModelRef) -> None:
        self.store.add_model(ref.provider, ref.model)

    def remove_model(self, ref: ModelRef) -> None:
        self.store.remove_model(ref.provider, ref.model)

    def price(self, ref: ModelRef) -> tuple[Price | None, str | None]:
        """The user's own price for a model, and where the effective price comes from."""
        config = self.store.get_provider(ref.provider)
        own = self.store.get_price(ref.provider, ref.model)
        source = self.runner.pricer.source(config, ref.model) if config else None
        return own, source

    def set_price(self, ref: ModelRef, price: Price | None) -> None:
        if price is None:
            self.store.delete_price(ref.provider, ref.model)
        else:
            self.store.set_price(ref.provider, ref.model, price)

    def own_prices(self) -> list[tuple[ModelRef, Price]]:
        """The prices the user set, which win over the catalog."""
        return [(ModelRef(provider, model), price) for provider, model, price in self.store.list_prices()]

    def delete_price(self, ref: ModelRef) -> bool:
        """Forget the user's own price for `ref`; False when there was none."""
        return self.store.delete_price(ref.provider, ref.model)

    def set_prices(self, rows: Sequence[tuple[ModelRef, Price]]) -> None:
        """Set many own prices (a team's CSV), all or nothing when a provider is unknown."""
        unknown = sorted({ref.provider for ref, _ in rows if self.store.get_provider(ref.provider) is None})
        if unknown:
            raise UnknownProviders(unknown)
        for ref, price in rows:
            self.store.set_price(ref.provider, ref.model, price)

    # --- rating ---------------------------------------------------------------------------

    def rubric(self) -> Rubric:
        return self.store.default_rubric()

    def save_rubric(self, rubric: Rubric) -> Rubric:
        """Store an edited rubric as its next version (core criteria keys cannot change)."""
        try:
            return self.store.save_rubric_version(rubric)
        except StoreError as exc:
            raise EngineError(str(exc)) from None

    def price_data(self) -> str:
        """Which catalog prices are in use, and from when (your own prices always win)."""
        from desk.engine.price_data import current_info

        return current_info().description

    def price_data_ready(self) -> bool:
        """Whether the background preload has installed any price data fetched earlier:
        asked sooner, price_data() names the bundled data while the fetched copy is in use."""
        return wait_for_preload(timeout=0)

    async def update_price_data(self, url: str | None = None) -> str:
        """Fetch the maintained price list (online) and keep it for offline runs; cancel the
        awaiting task to stop. Returns the new description; EngineError says why it failed."""
        from desk.engine.price_data import DEFAULT_URL, PriceDataError, update

        try:
            info = await update(self.client, url or DEFAULT_URL)
        except PriceDataError as exc:
            raise EngineError(str(exc)) from None
        return info.description

    def rater_name(self) -> str | None:
        return self.store.get_setting("rater_name")

    def set_rater_name(self, name: str) -> None:
        name = " ".join(name.split())
        if not name:
            raise EngineError("the rater name cannot be empty")
        _not_the_machine(name)
        self.store.set_setting("rater_name", name)

    def save_rating(self, response_id: str, values: dict[str, Any], *, rater: str | None = None,
                    blind: bool = False, shown_order: Sequence[str] = ()) -> Rating:
        """Store a rating by `rater` (default: the name set in settings); edits keep history."""
        who = rater or self.rater_name()
        if not who:
            raise EngineError("set your rater name first (it is stored with every rating)")
        _not_the_machine(who)
        try:
            return self.store.save_rating(response_id, who, values, blind=blind, shown_order=tuple(shown_order))
        except StoreError as exc:
            raise EngineError(str(exc)) from None

    def current_ratings(self, response_ids: Sequence[str], rater: str | None = None) -> list[Rating]:
        return self.store.current_ratings(list(response_ids), rater=rater)

    def current_preferences(self, rater: str | None = None, *, trial_id: str | None = None) -> list[Preference]:
        return self.store.current_preferences(rater, trial_id=trial_id)

    def save_preference(self, response_a: str, response_b: str, winner: str, *, reason: str = "",
                        rater: str | None = None, blind: bool = False,
                        shown_order: Sequence[str] = ()) -> Preference:
        who = rater or self.rater_name()
        if not who:
            raise EngineError("set your rater name first (it is stored with every preference)")
        _not_the_machine(who)
        try:
            return self.store.save_preference(response_a, response_b, winner, who, reason=reason,
                                              blind=blind, shown_order=tuple(shown_order))
        except StoreError as exc:
            raise EngineError(str(exc)) from None

    def scorecard(self, filters: ScoreFilter | None = None, *, seed: int = 0,
                  constraints: str = DEFAULT_READING) -> list[ModelScore]:
        """Per-model scorecard over the stored ratings (see desk.engine.scorecard for the rules).

        With a tag or rater filter, the answers in scope are the rated ones it selects;
        otherwise every answer in the trial and date scope counts for latency and cost.
        `constraints` is the reading of the automatic constraint checks counted ("official",
        IFBench's verdict, or "desk"; desk.core.constraint_reading); a model whose figures
        count an automatic check names it in `constraint_reading`.
        """
        return _scorecard(self.store, filters or ScoreFilter(), seed, constraints=constraints)

    async def scorecard_in_background(self, job: Job, filters: ScoreFilter | None = None, *,
                                      seed: int = 0, constraints: str = DEFAULT_READING) -> list[ModelScore]:
        """`scorecard` off the caller's thread (its bootstraps take seconds on a real store),
        on its own connection, reporting each step to `job`; job.cancel() stops it at the
        next step or SQL statement (JobCancelled)."""
        _reading(constraints)  # a bad choice is said here, not on the worker
        return await self._on_own_connection(
            job, lambda store: _scorecard(store, filters or ScoreFilter(), seed, job.report,
                                          constraints=constraints))

    def export(self, fmt: str, path: str, filters: ScoreFilter | None = None) -> ExportResult:
        """Write rated answers (or preference pairs) to a file; see desk.engine.export."""
        return export_file(self.store, fmt, path, filters)

    async def merge_in_background(self, path: str, job: Job) -> MergeReport:
        """`merge` off the caller's thread, reporting each table to `job`; job.cancel()
        stops it (JobCancelled), keeping what was copied (merging again completes it)."""
        return await self._on_own_connection(
            job, lambda store: store.merge_from(path, step=lambda i, n, table: job.report(i, n, table)))

    async def export_in_background(self, fmt: str, path: str, job: Job,
                                   filters: ScoreFilter | None = None) -> ExportResult:
        """`export` off the caller's thread; job.cancel() stops it and leaves no file
        (exports write a temporary file and rename it only when complete)."""
        return await self._on_own_connection(
            job, lambda store: export_file(store, fmt, path, filters, progress=job.report))

    async def _on_own_connection(self, job: Job, use: Callable[[Store], T]) -> T:
        """`use(store)` on a worker thread with its own connection to this store (a SQLite
        connection stays on the thread that made it); SQLite stops mid-statement once the
        job is cancelled, and that "interrupted" is reported as the cancel it is."""
        def work() -> T:
            job.check()  # cancelled before it started (a cached scorecard needs no SQL to stop)
            store = open_store(self.store.path)
            try:
                with store.cancellable(lambda: job.cancelled):
                    return use(store)
            except StoreError as exc:
                job.check()
                raise EngineError(str(exc)) from None
            finally:
                store.close()

        return await asyncio.to_thread(work)

    def merge(self, path: str) -> MergeReport:
        """Bring another expert's store in, without duplicates (see Store.merge_from)."""
        try:
            return self.store.merge_from(path)
        except StoreError as exc:
            raise EngineError(str(exc)) from None

    # --- load runs (run on their own thread by desk.engine.load; read back here) -----------

    def list_runs(self, kind: str | None = None, limit: int = 200) -> list[RunInfo]:
        """Stored runs, newest first."""
        return self.store.list_runs(kind, limit)

    def load_run(self, run_id: str) -> tuple[RunInfo, list[RequestOutcome]] | None:
        """A stored run and its requests (in start order), or None if it is gone."""
        info = self.store.get_run(run_id)
        if info is None:
            return None
        return info, self.store.run_requests(run_id)

    def export_run_requests(self, run_id: str, fmt: str, path: str) -> ExportResult:
        """Write a run's requests to CSV or JSONL; see desk.engine.export."""
        return export_run_requests(self.store, run_id, fmt, path)

    async def export_run_in_background(self, run_id: str, fmt: str, path: str, job: Job) -> ExportResult:
        """A run's requests (`csv`, `jsonl`) or every HTTP request of it (`http-csv`,
        `http-jsonl`: request ids, rate-limit headers) off the caller's thread; job.cancel()
        stops it and no file is written (exports are renamed into place only when whole)."""
        def use(store: Store) -> ExportResult:
            job.report(0, None, "reading the run")
            if fmt.startswith("http-"):
                return export_run_attempts(store, run_id, fmt.removeprefix("http-"), path)
            return export_run_requests(store, run_id, fmt, path)

        return await self._on_own_connection(job, use)

    async def unreachable(self, names: Sequence[str]) -> dict[str, str]:
        """Providers that cannot be connected to right now (name -> why), all checked at once
        with one connection each (kept open for the run that follows)."""
        names = list(dict.fromkeys(names))

        async def check(name: str) -> str | None:
            return await self.connections.unreachable(self.provider(name).base_url)

        reasons = await asyncio.gather(*(check(n) for n in names))
        return {n: r for n, r in zip(names, reasons, strict=True) if r is not None}

    async def prewarm(self, ref: ModelRef, connections: int) -> int:
        """Open keep-alive connections ahead of a timed run so connect cost stays out of TTFT."""
        return await self.connections.prewarm(self.provider(ref.provider).base_url, connections)

    async def list_models(self, provider_name: str) -> list[str]:
        return await self.provider(provider_name).list_models()

    async def test_provider(self, provider_name: str) -> float:
        """List models as a health check; return the round trip in ms or raise ProviderError.
        A key that was given but not kept fails the test: an OK would be for another key, or none."""
        why = self.unkept_key(provider_name)
        if why:
            raise EngineError(f"the key you gave for {provider_name} was not kept ({why}), so it cannot be "
                              "tested; put it in an environment variable and name that variable")
        t0 = perf_counter()
        await self.provider(provider_name).list_models()
        return round((perf_counter() - t0) * 1000, 1)


def _reading(constraints: str) -> str:
    try:
        return check_reading(constraints)
    except ValueError as exc:
        raise EngineError(str(exc)) from None


def _scorecard(store: Store, filters: ScoreFilter, seed: int, progress: Progress | None = None, *,
               constraints: str = DEFAULT_READING) -> list[ModelScore]:
    """Engine.scorecard on `store` (the engine's own connection, or a worker's), reporting
    its steps to `progress`. Cached in the store per (filters, seed, reading, store version)."""
    reading = _reading(constraints)
    return cached_scorecard(store, filters, seed, reading,
                            lambda: _fresh_scorecard(store, filters, seed, reading, progress))


def _fresh_scorecard(store: Store, filters: ScoreFilter, seed: int, reading: str,
                     progress: Progress | None) -> list[ModelScore]:
    ratings = store.matching_ratings(filters)
    if filters.rater != AUTO_RATER:  # automatic constraint verdicts are not a person's rating
        ratings = [rating for rating in ratings if rating.rater != AUTO_RATER]
    # Automatic checks count under the chosen reading; which one, and how many could not
    # (stored before desk kept its reading), is said per model below.
    read_ids: dict[str, bool] = {}  # response id -> its reading was stored
    for i, rating in enumerate(ratings):
        if rating.rater == AUTO_RATER and rating.constraints:
            ratings[i], stored = read_as(rating, reading)
            read_ids[rating.response_id] = read_ids.get(rating.response_id, True) and stored
    rated = {rating.response_id for rating in ratings}
    if filters.tags or filters.rater:
        responses = store.response_figures(ids=list(rated))
    else:
        # Load runs are synthetic traffic with figures of their own (the Load tab, desk load):
        # thousands of unrated answers would swamp the latency and cost of the rated work.
        responses = store.response_figures(filters, load_runs=bool(filters.trial_ids))
    # A date range selects ratings by when they were made: an answer stored before the
    # range but rated within it is in scope too.
    missing = rated.difference(r.id for r in responses)
    if missing:
        responses += store.response_figures(ids=[r.response_id for r in ratings if r.response_id in missing])
    in_scope = {r.id for r in responses}
    preferences = [p for p in store.current_preferences(filters.rater)
                   if p.response_a in in_scope and p.response_b in in_scope]
    read: dict[str, str] = {}
    unread: Counter[str] = Counter()
    for r in responses:
        if r.id in read_ids:
            read[r.model] = reading
            unread[r.model] += not read_ids[r.id]
    scores = compute_scorecard(responses, ratings, preferences, seed=seed, progress=progress)
    for s in scores:
        s.constraint_reading = read.get(s.model)
        if unread[s.model]:
            s.warnings.append(f"{unread[s.model]} automatic constraint check(s) stored before desk kept its "
                              f"own reading count IFBench's verdict")
    return scores


def _not_the_machine(rater: str) -> None:
    """A person rating as "auto" would pass for desk's own constraint checks in every figure."""
    if rater.strip().casefold() == AUTO_RATER:
        raise EngineError(f"{AUTO_RATER!r} is the name of desk's automatic constraint checks; choose another rater name")


__all__ = [
    "Disagreement",
    "Engine",
    "EngineError",
    "ModelScore",
    "PairedComparison",
    "ProviderConfig",
    "ProviderError",
    "QueueItem",
    "RunInfo",
    "ScoreFilter",
    "StoredTrial",
    "SuiteInfo",
    "SuiteMatrix",
    "SuiteResponse",
    "SuiteRunInfo",
    "SuiteRunResult",
    "TrialOutcome",
    "TrialSummary",
]
