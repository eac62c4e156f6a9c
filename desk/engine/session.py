"""The engine as the GUI and the CLI use it: store + providers + runner, one shared client."""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, TypeVar

from desk.core.constraint_reading import DEFAULT_READING, check_reading, read_as
from desk.core.load import RequestOutcome
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
from desk.engine import suite_run
from desk.engine.cached_scorecard import cached_scorecard
from desk.engine.errors import EngineError, UnknownProviders
from desk.engine.export import ExportResult, export_file, export_run_attempts, export_run_requests
from desk.engine.jobs import Job
from desk.engine.policy import RetryPolicy, Timeouts
from desk.engine.pricing import Pricer, preload_catalog
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
from desk.engine.services.providers import ProviderService
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
from desk.providers.base import ProviderError
from desk.providers.connections import Connections, HttpClient
from desk.store.db import Store, open_store
from desk.store.errors import StoreError
from desk.store.merge import MergeReport
from desk.store.ratings import RatingFilter as ScoreFilter
from desk.store.runs import RunInfo
from desk.store.suites import SuiteInfo, SuiteStore
from desk.store.trials import StoredTrial, TrialSummary

T = TypeVar("T")


class TrialNotStored(EngineError):
    """The store refused the trial itself (a full disk, a read-only file): nothing was sent."""


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
            pricer=Pricer(store.prices.get),
            timeouts=self.timeouts,
            retry=retry or RetryPolicy(),
            stream=stream,
            known_keys=lambda: self.providers.known_keys(),
        )
        preload_catalog()
        self._wire()

    def _wire(self) -> None:
        """Build the use-case services on the current store; again after switch_store."""
        self.providers = ProviderService(self.store.providers, self.store.prices, self.client, self.runner.pricer)

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
        self.runner.pricer = Pricer(new.prices.get)
        self._wire()
        return self.secure_stored_urls()

    def secure_stored_urls(self) -> list[str]:
        """Take any password an older desk kept in a provider's base URL out of the store
        (to the keyring when it can); one note per provider changed, to show once."""
        return secure_stored_urls(self.store)

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

        await self.providers.prepare([ref.provider for ref in models])
        targets = [
            self.providers.target(ref, settings_for(ref), variant)
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
            self.store.providers.add_model(ref.provider, ref.model)  # so the picker offers it next time
        recorder = StoreRecorder(self.store, clean=self.runner.scrub)
        view = RedactingSink(sink, lambda: self.providers.known_keys().values()) if sink is not None else None
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

    # --- rating ---------------------------------------------------------------------------

    def rubric(self) -> Rubric:
        return self.store.default_rubric()

    def save_rubric(self, rubric: Rubric) -> Rubric:
        """Store an edited rubric as its next version (core criteria keys cannot change)."""
        try:
            return self.store.save_rubric_version(rubric)
        except StoreError as exc:
            raise EngineError(str(exc)) from None

    def rater_name(self) -> str | None:
        return self.store.settings.get("rater_name")

    def set_rater_name(self, name: str) -> None:
        name = " ".join(name.split())
        if not name:
            raise EngineError("the rater name cannot be empty")
        _not_the_machine(name)
        self.store.settings.set("rater_name", name)

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
            return await self.connections.unreachable(self.providers.provider(name).base_url)

        reasons = await asyncio.gather(*(check(n) for n in names))
        return {n: r for n, r in zip(names, reasons, strict=True) if r is not None}

    async def prewarm(self, ref: ModelRef, connections: int) -> int:
        """Open keep-alive connections ahead of a timed run so connect cost stays out of TTFT."""
        return await self.connections.prewarm(self.providers.provider(ref.provider).base_url, connections)



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
    "UnknownProviders",
]
