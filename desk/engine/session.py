"""The engine as the GUI and the CLI use it: store + providers + runner, one shared client."""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import AsyncIterator, Callable, Iterator, Mapping, Sequence
from contextlib import asynccontextmanager, contextmanager
from dataclasses import dataclass, replace
from pathlib import Path
from time import perf_counter
from typing import Any, TypeVar

from desk.core.constraint_reading import DEFAULT_READING, check_reading, read_as
from desk.core.pricing import Price
from desk.core.provider import ProviderConfig
from desk.core.rating import Preference, Rating
from desk.core.response import ResponseResult
from desk.core.rubric import Rubric
from desk.core.suite import AUTO_RATER, EXPECT_KINDS, Suite
from desk.core.trial import (
    GenerationSettings,
    ModelRef,
    TrialInput,
    Variant,
    trial_size_problem,
)
from desk.engine import local_model, suite_run
from desk.engine.cached_scorecard import cached_scorecard
from desk.engine.export import ExportResult, export_file
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
    AutoChecks,
    ModelScore,
    PairedComparison,
    Progress,
    auto_checks,
    by_expect,
    compute_scorecard,
    paired_comparison,
)
from desk.engine.services.load import LoadService
from desk.engine.suite_run import (
    Disagreement,
    QueueItem,
    SuiteMatrix,
    SuiteResponse,
    SuiteRunError,
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
from desk.store.suites import SuiteInfo, SuiteStore
from desk.store.trials import StoredTrial, TrialSummary

T = TypeVar("T")


class EngineError(ValueError):
    """A request the engine cannot start (unknown provider, bad settings); one clear line.
    `outside`: a suite import's attachments refused for lying outside the suite's folder."""

    outside: tuple[str, ...] = ()


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
        path = self.store.path
        self.loads = LoadService(self.store.runs, self, self.runner, self.connections,
                                 create_trial=self.store.create_trial,
                                 own_connection=lambda: open_store(path),
                                 on_own_connection=self._on_own_connection, elsewhere=self._loads_elsewhere)

    @asynccontextmanager
    async def _loads_elsewhere(self, timeouts: Timeouts, retry: RetryPolicy) -> AsyncIterator[LoadService]:
        """Load runs on the calling thread with an engine of their own: a connection to this
        store and an HTTP client with the run's timeouts (see LoadService.run_in_thread)."""
        store = open_store(self.store.path)
        try:
            async with Engine(store, timeouts=timeouts, retry=retry) as engine:
                yield engine.loads
        finally:
            store.close()

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

    # --- suites and suite runs (see desk.engine.suite_run) -----------------------------------
    #
    # Every method below raises EngineError with one plain line for bad input (an unknown
    # suite or run, a bad row, an unknown provider) and then has written nothing.

    def _suites(self) -> SuiteStore:
        return SuiteStore(self.store)

    def import_suite(self, path: str | Path, name: str, *, allow_outside: Sequence[str | Path] = ()) -> SuiteInfo:
        """Read a CSV or JSONL suite file and store it as the next version of `name`
        (all rows or none: a bad row is reported with its line number). Attachments must lie
        in the file's folder or in `allow_outside`; the error's `outside` lists those refused."""
        with _engine_errors():
            return suite_run.import_suite(self._suites(), path, name, allow_outside=allow_outside)

    async def import_suite_in_background(self, path: str | Path, name: str, *,
                                         allow_outside: Sequence[str | Path] = ()) -> SuiteInfo:
        """import_suite with the file and its attachments (megabytes of them) read on a worker
        thread; the suite is stored here, on this thread's connection."""
        with _engine_errors():
            suite = await asyncio.to_thread(suite_run.read_suite_file, path, name, allow_outside=allow_outside)
            return suite_run.store_suite(self._suites(), suite)

    def list_suites(self, *, all_versions: bool = False) -> list[SuiteInfo]:
        """Stored suites by name (each name's newest version unless `all_versions`); the
        bundled starter suite is among them as "starter" (imported on first use)."""
        return suite_run.suites_list(self._suites(), all_versions=all_versions)

    def suite(self, name: str, version: int | None = None) -> Suite:
        """A suite with its cases (`version` None: the newest)."""
        with _engine_errors():
            return suite_run.get_suite(self._suites(), name, version)

    def export_suite(self, name: str, path: str | Path, version: int | None = None) -> int:
        """Write a suite to JSONL (attachments to a folder beside it); return the cases written."""
        return _write_suite(self.suite(name, version), path)

    async def export_suite_in_background(self, name: str, path: str | Path, version: int | None = None) -> int:
        """export_suite with the writing (JSONL and attachment files, megabytes with
        screenshots) off the caller's thread; the suite is read here (this thread's
        connection), and is plain data by then."""
        return await asyncio.to_thread(_write_suite, self.suite(name, version), path)

    def suite_from_trials(self, name: str, trial_ids: Sequence[str], expect: str = "") -> SuiteInfo:
        """Make a suite (the next version of `name`) of past trials: each one's prompt, system
        prompt and files become a case, keyed 1, 2, ... in the order given."""
        with _engine_errors():
            return suite_run.suite_from_trials(self._suites(), self.store, name, trial_ids, expect)

    async def run_suite(
        self,
        name: str,
        models: Sequence[ModelRef],
        *,
        version: int | None = None,
        repeat: int = 1,
        concurrency: int = 4,
        settings: GenerationSettings | None = None,
        label: str | None = None,
        progress: suite_run.Progress | None = None,
        on_response: Callable[[SuiteResponse], None] | None = None,
        on_start: Callable[[str], None] | None = None,
        sink: ResponseSink | None = None,
    ) -> SuiteRunResult:
        """Send every case (x `repeat`) of a suite to every model, at most `concurrency`
        requests at once; every answer is an ordinary trial response, linked to the run.

        `progress(finished, total)` follows each answer; `on_response` gets each finished
        answer; `on_start(run_id)` is called once the run is stored; `sink` sees the
        streams (like run_trial's). Cancelling the task stores the run as cancelled and
        raises SuiteRunCancelled (a CancelledError) carrying what was done; resume it with
        resume_suite_run.
        """
        with _engine_errors():
            suite = suite_run.get_suite(self._suites(), name, version)
            return await suite_run.start_run(
                self, suite, models, repeat=repeat, concurrency=concurrency, settings=settings, name=label,
                progress=progress, on_response=on_response, on_start=on_start, sink=sink,
            )

    async def resume_suite_run(
        self,
        run_id: str,
        *,
        concurrency: int | None = None,
        progress: suite_run.Progress | None = None,
        on_response: Callable[[SuiteResponse], None] | None = None,
        on_start: Callable[[str], None] | None = None,
        sink: ResponseSink | None = None,
    ) -> SuiteRunResult:
        """Send only the cells of a run that have no ok answer yet (after a cancel, a crash
        or a kill); refused while the run is still running elsewhere."""
        with _engine_errors():
            return await suite_run.resume_run(self, run_id, concurrency=concurrency, progress=progress,
                                              on_response=on_response, on_start=on_start, sink=sink)

    def list_suite_runs(self, limit: int = 200) -> list[SuiteRunInfo]:
        """Suite runs, newest first, with status running | interrupted | done and done/total."""
        return suite_run.list_runs(self._suites(), limit)

    def suite_run(self, run_id: str) -> SuiteRunInfo | None:
        return suite_run.get_run(self._suites(), run_id)

    def suite_matrix(self, run_id: str) -> SuiteMatrix:
        """Cases x models (x samples) of a run: each cell's answer, timing, cost and ratings."""
        with _engine_errors():
            return suite_run.matrix(self, run_id)

    def rating_queue(self, run_id: str, rater: str | None = None) -> list[QueueItem]:
        """Per (case, sample) of a run, in case order: every model's answer to rate (and,
        with `rater`, which of them that rater has rated)."""
        with _engine_errors():
            return suite_run.rating_queue(self, run_id, rater)

    def constraint_disagreements(self, run_id: str | None = None) -> list[Disagreement]:
        """Answers whose automatic constraint verdict differs from a person's."""
        with _engine_errors():
            return suite_run.disagreements(self, run_id)

    def run_scorecard(self, run_id: str, filters: ScoreFilter | None = None, *, seed: int = 0,
                      constraints: str = DEFAULT_READING) -> list[ModelScore]:
        """The scorecard of a suite run's answers, each model's with `by_expect` (see
        desk.engine.scorecard); other filters and `constraints` as in `scorecard`."""
        with _engine_errors():
            _, suite, _, expect_of, trial_ids = suite_run.run_units(self, run_id)
        filters = self._run_filters(filters, trial_ids)
        if filters is None:
            return []
        scores = self.scorecard(filters, seed=seed, constraints=constraints)
        ratings = [rating for _, rating in self.store.rated_responses(filters)]
        responses = self.store.all_responses(filters)
        kinds = [k for k in EXPECT_KINDS if any(c.expect == k for c in suite.cases)]
        figures = by_expect(responses, ratings, expect_of, kinds)
        autos = auto_checks(responses, ratings)
        checked = any(c.constraints for c in suite.cases)
        for s in scores:
            s.by_expect = figures.get(s.model, {})
            s.auto_checks = autos.get(s.model, AutoChecks(0, 0)) if checked else None
        return scores

    def compare_models(self, run_id: str, model_a: str, model_b: str,
                       filters: ScoreFilter | None = None) -> PairedComparison:
        """Model A against model B on the same cases and samples of a run: wins, losses,
        ties and the exact sign-test p-value (rules in desk.engine.scorecard)."""
        with _engine_errors():
            info, _, units, _, trial_ids = suite_run.run_units(self, run_id)
        for model in (model_a, model_b):
            if model not in info.models:
                raise EngineError(f"{model} is not a model of run {run_id} ({', '.join(info.models)})")
        if model_a == model_b:
            raise EngineError("compare two different models")
        scoped = self._run_filters(filters, trial_ids)
        ratings = [rating for _, rating in self.store.rated_responses(scoped)] if scoped else []
        return paired_comparison(units, ratings, model_a, model_b)

    @staticmethod
    def _run_filters(filters: ScoreFilter | None, trial_ids: Sequence[str]) -> ScoreFilter | None:
        """`filters` narrowed to the run's trials; None when nothing is left in scope."""
        filters = filters or ScoreFilter()
        ids = tuple(t for t in trial_ids if not filters.trial_ids or t in filters.trial_ids)
        return replace(filters, trial_ids=ids) if ids else None

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


def _write_suite(suite: Suite, path: str | Path) -> int:
    try:
        return suite_run.export_suite(suite, path)
    except OSError as exc:
        raise EngineError(f"cannot write {path} ({exc.strerror or exc})") from None


def _not_the_machine(rater: str) -> None:
    """A person rating as "auto" would pass for desk's own constraint checks in every figure."""
    if rater.strip().casefold() == AUTO_RATER:
        raise EngineError(f"{AUTO_RATER!r} is the name of desk's automatic constraint checks; choose another rater name")


@contextmanager
def _engine_errors() -> Iterator[None]:
    """Turn a suite module's or the store's plain error into EngineError (one line)."""
    try:
        yield
    except (SuiteRunError, StoreError) as exc:
        error = EngineError(str(exc))
        error.outside = getattr(exc, "outside", ())
        raise error from None


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
