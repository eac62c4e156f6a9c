"""Suites and suite runs as both front-ends use them: import, list, export and make suites;
run them against several models and resume runs; read a run back (matrix, rating queue,
disagreements, scorecard, model against model, run against run).

Every method raises EngineError with one plain line for bad input (an unknown suite or
run, a bad row, an unknown provider) and then has written nothing.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import TypeVar

from desk.core.collections_paused import collections_paused
from desk.core.constraint_reading import DEFAULT_READING
from desk.core.rating import RatingFilter
from desk.core.run_compare import ALPHA, RunComparison
from desk.core.run_history import HistoryPoint
from desk.core.suite import Suite, SuiteError, case_from_trial, check_name
from desk.core.trial import GenerationSettings, ModelRef
from desk.engine import suite_files  # by module: tests stand in for its file functions
from desk.engine.errors import EngineError
from desk.engine.jobs import Job
from desk.engine.paired import PairedComparison
from desk.engine.ports.conversations import Turns
from desk.engine.ports.ratings import TurnLookup
from desk.engine.ports.suites import (
    AnswerScope,
    ModelShelf,
    RatingLookup,
    Reachability,
    ReadElsewhere,
    RunReaders,
    RunRecords,
    Scorecards,
    SuiteTables,
    TrialLookup,
)
from desk.engine.ports.targets import Targets
from desk.engine.run_compare import EvidencePair, compare_suite_runs, evidence
from desk.engine.run_history import MAX_RUNS, history_of
from desk.engine.run_scoring import RunReading, RunScoring
from desk.engine.runner import ResponseSink, Runner
from desk.engine.scorecard import ModelScore
from desk.engine.suite_files import STARTER, ensure_starter
from desk.engine.suite_reading import disagreements, matrix, rating_queue
from desk.engine.suite_records import (
    Disagreement,
    Progress,
    QueueItem,
    SuiteMatrix,
    SuiteResponse,
    SuiteRunError,
    SuiteRunInfo,
    SuiteRunResult,
    run_info,
)
from desk.engine.suite_run import ACTIVE, Listeners, RunSender, SendPlan, find_run
from desk.engine.tool_use import ToolUseScore, tool_use
from desk.store.errors import StoreError
from desk.store.suites import SUITE_RUN, SuiteInfo, SuiteRunRow

log = logging.getLogger("desk.engine.suite")
T = TypeVar("T")

_SETTINGS = ("temperature", "max_tokens", "reasoning_effort")  # what a resumed run reads back


class SuiteService:
    def __init__(
        self,
        suites: SuiteTables,
        *,
        trials: TrialLookup,
        ratings: RatingLookup,
        answers: AnswerScope,
        runs: RunRecords,
        models: ModelShelf,
        targets: Targets,
        reach: Reachability,
        runner: Runner,
        recorder: Callable[[], ResponseSink],
        scorecards: Scorecards,
        turns: Turns,
        elsewhere: ReadElsewhere | None = None,
    ) -> None:
        self.tables = suites
        self.trials = trials
        self.ratings = ratings
        self.answers = answers
        self.models = models
        self.targets = targets
        self.reach = reach
        self.runs = runs
        self.scorecards = scorecards
        self.sender = RunSender(suites, runs, targets, runner, recorder, turns)
        self._scoring = RunScoring(suites, ratings, answers, turns,
                                   lambda f, seed, reading: scorecards.scorecard(f, seed=seed, constraints=reading))
        self._elsewhere = elsewhere

    # --- suites ---------------------------------------------------------------------------

    def import_suite(self, path: str | Path, name: str, *, allow_outside: Sequence[str | Path] = ()) -> SuiteInfo:
        """Read a CSV or JSONL suite file and store it as the next version of `name`
        (all rows or none: a bad row is reported with its line number). Attachments must lie
        in the file's folder or in `allow_outside`; the error's `outside` lists those refused."""
        with engine_errors():
            return self._info_of(self.tables.save_suite(suite_files.read_suite_file(path, name, allow_outside=allow_outside)))

    async def import_in_background(self, path: str | Path, name: str, *,
                                   allow_outside: Sequence[str | Path] = ()) -> SuiteInfo:
        """import_suite with the file and its attachments (megabytes of them) read on a worker
        thread; the suite is stored here, on this thread's connection."""
        with engine_errors():
            suite = await asyncio.to_thread(suite_files.read_suite_file, path, name, allow_outside=allow_outside)
            return self._info_of(self.tables.save_suite(suite))

    def list_suites(self, *, all_versions: bool = False) -> list[SuiteInfo]:
        """Stored suites by name (each name's newest version unless `all_versions`); the
        bundled starter suite is among them as "starter" (imported on first use)."""
        try:
            ensure_starter(self.tables)
        except (OSError, SuiteError) as exc:  # a broken bundle must not hide the user's suites
            log.warning("the starter suite could not be loaded: %s", exc)
        return self.tables.list_suites(all_versions=all_versions)

    def get(self, name: str, version: int | None = None) -> Suite:
        """A suite with its cases (`version` None: the newest)."""
        with engine_errors():
            return self._get(name, version)

    def _get(self, name: str, version: int | None) -> Suite:
        if name == STARTER:
            try:
                ensure_starter(self.tables)
            except (OSError, SuiteError) as exc:
                raise SuiteRunError(f"the starter suite cannot be loaded: {exc}") from None
        suite = self.tables.get_suite(name, version)
        if suite is None:
            known = ", ".join(sorted({s.name for s in self.tables.list_suites()})) or "none yet"
            what = f"{name!r} version {version}" if version is not None else f"named {name!r}"
            raise SuiteRunError(f"no suite {what} (stored: {known}); import one with 'desk suite import'")
        return suite

    def export(self, name: str, path: str | Path, version: int | None = None) -> int:
        """Write a suite to JSONL (attachments to a folder beside it); return the cases written."""
        return _write_suite(self.get(name, version), path)

    async def export_in_background(self, name: str, path: str | Path, version: int | None = None) -> int:
        """export with the writing (JSONL and attachment files, megabytes with screenshots)
        off the caller's thread; the suite is read here (this thread's connection), and is
        plain data by then."""
        return await asyncio.to_thread(_write_suite, self.get(name, version), path)

    def from_trials(self, name: str, trial_ids: Sequence[str], expect: str = "") -> SuiteInfo:
        """Make a suite (the next version of `name`) of past trials: each one's prompt, system
        prompt and files become a case, keyed 1, 2, ... in the order given."""
        with engine_errors():
            try:
                clean = check_name(name)
            except SuiteError as exc:
                raise SuiteRunError(str(exc)) from None
            ids = list(dict.fromkeys(trial_ids))
            if not ids:
                raise SuiteRunError("choose at least one trial")
            cases = []
            for n, trial_id in enumerate(ids, start=1):
                stored = self.trials.get(trial_id)
                if stored is None:
                    raise SuiteRunError(f"no trial {trial_id!r}")
                cases.append(case_from_trial(str(n), stored.input, upstream_id=trial_id, expect=expect))
            return self._info_of(self.tables.save_suite(Suite(clean, tuple(cases), source="trials")))

    def _info_of(self, suite: Suite) -> SuiteInfo:
        for info in self.tables.list_suites(suite.name, all_versions=True):
            if info.id == suite.id:
                return info
        raise SuiteRunError(f"suite {suite.name!r} was not stored")  # pragma: no cover

    # --- runs -----------------------------------------------------------------------------

    async def run(
        self,
        name: str,
        models: Sequence[ModelRef],
        *,
        version: int | None = None,
        repeat: int = 1,
        concurrency: int = 4,
        settings: GenerationSettings | None = None,
        max_turns: int = 2,
        label: str | None = None,
        progress: Progress | None = None,
        on_response: Callable[[SuiteResponse], None] | None = None,
        on_start: Callable[[str], None] | None = None,
        sink: ResponseSink | None = None,
        rerun_of: str | None = None,
    ) -> SuiteRunResult:
        """Send every case (x `repeat`) of a suite to every model, at most `concurrency`
        requests at once; every answer is an ordinary trial response, linked to the run
        (and the run to the one it repeats, `rerun_of`). A case's clarification is sent as
        the next turn while its answer asks a question, up to turn `max_turns` (1: never).

        `progress(finished, total)` follows each answer; `on_response` gets each finished
        answer; `on_start(run_id)` is called once the run is stored; `sink` sees the
        streams (like a trial's). Cancelling the task stores the run as cancelled and
        raises SuiteRunCancelled (a CancelledError) carrying what was done; resume it with
        resume.
        """
        with engine_errors():
            suite = self._get(name, version)
            models = list(models)
            _check_new_run(suite, models, repeat, concurrency)
            if max_turns < 1:
                raise SuiteRunError("--max-turns must be at least 1")
            settings = settings or GenerationSettings()
            await self._ready(models)  # unknown providers fail before anything is stored
            for ref in models:
                self.models.add_model(ref.provider, ref.model)
            spec = {
                "suite_id": suite.id, "suite": suite.name, "suite_version": suite.version,
                "cases": len(suite.cases), "models": [str(m) for m in models], "repeat": repeat,
                "concurrency": concurrency, "total": len(suite.cases) * repeat * len(models),
                "settings": settings.as_dict(), "max_turns": max_turns,
            }
            if rerun_of:
                spec["rerun_of"] = rerun_of
            run_id = self.runs.create(SUITE_RUN, spec, label)
            plan = SendPlan(run_id, suite, models, repeat, concurrency, settings, max_turns)
            return await self.sender.send(plan, Listeners(progress, on_response, on_start, sink))

    async def resume(
        self,
        run_id: str,
        *,
        concurrency: int | None = None,
        progress: Progress | None = None,
        on_response: Callable[[SuiteResponse], None] | None = None,
        on_start: Callable[[str], None] | None = None,
        sink: ResponseSink | None = None,
    ) -> SuiteRunResult:
        """Send only the cells of a run that have no ok answer yet (after a cancel, a crash
        or a kill); refused while the run is still running elsewhere."""
        with engine_errors():
            plan = self._resume_plan(run_id, concurrency)
            await self._ready(plan.models)
            self.tables.claim_run(run_id)
            return await self.sender.send(plan, Listeners(progress, on_response, on_start, sink))

    async def rerun(
        self,
        run_id: str,
        *,
        newest_version: bool = False,
        concurrency: int | None = None,
        label: str | None = None,
        progress: Progress | None = None,
        on_response: Callable[[SuiteResponse], None] | None = None,
        on_start: Callable[[str], None] | None = None,
    ) -> SuiteRunResult:
        """A new run with an earlier run's suite, models, settings and repeats, linked to it
        (its `rerun_of`), to compare the two with compare_runs. The same suite version unless
        `newest_version` (then only the cases both versions share can be compared)."""
        with engine_errors():
            plan = self._stored_plan(run_id, concurrency)
            version = None if newest_version else plan.suite.version
            name = plan.suite.name
        return await self.run(name, plan.models, version=version, repeat=plan.repeat,
                              concurrency=plan.concurrency, settings=plan.settings,
                              label=label, progress=progress, on_response=on_response,
                              on_start=on_start, rerun_of=run_id)

    def _resume_plan(self, run_id: str, concurrency: int | None) -> SendPlan:
        row = self._run_row(run_id)
        if row.state == "running":
            where = f"process {row.writer_pid}" + (f" on {row.writer_host}" if row.writer_host else "")
            raise SuiteRunError(f"suite run {run_id} is still running ({where}); cancel it first")
        return self._stored_plan(run_id, concurrency)

    def _run_row(self, run_id: str) -> SuiteRunRow:
        found = self.tables.suite_runs(1, run_id=run_id, active=ACTIVE)
        if not found:
            raise SuiteRunError(f"no suite run {run_id!r} (see 'desk suite runs')")
        return found[0]

    def _stored_plan(self, run_id: str, concurrency: int | None) -> SendPlan:
        """What a stored run sent: its suite, models, settings, repeats and concurrency."""
        spec = self._run_row(run_id).spec
        suite = self.tables.get_suite_by_id(spec.get("suite_id", ""))
        if suite is None:
            raise SuiteRunError(f"suite run {run_id}: its suite ({spec.get('suite')!r}) is not in this store")
        try:
            models = [ModelRef.parse(m) for m in spec["models"]]
            settings = GenerationSettings(**{k: v for k, v in spec.get("settings", {}).items() if k in _SETTINGS})
        except (KeyError, TypeError, ValueError) as exc:
            raise SuiteRunError(f"suite run {run_id}: its stored settings cannot be read ({exc})") from None
        if concurrency is not None and concurrency < 1:
            raise SuiteRunError("--concurrency must be at least 1")
        return SendPlan(run_id, suite, models, int(spec.get("repeat", 1)),
                       concurrency or int(spec.get("concurrency", 4)), settings, int(spec.get("max_turns", 2)))

    async def _ready(self, models: Sequence[ModelRef]) -> None:
        """Load the models' providers, then refuse to start when one cannot even be connected
        to: otherwise every one of its cells would fail after its retries, minutes later,
        with the same message."""
        await self.targets.prepare([m.provider for m in models])
        down = await self.reach.unreachable([m.provider for m in models])
        if down:
            why = "; ".join(f"{name}: {reason}" for name, reason in down.items())
            raise SuiteRunError(f"cannot reach {', '.join(down)} ({why}); nothing was sent: "
                                "start the server or fix the provider's base URL, then run again")

    def list_runs(self, limit: int = 200) -> list[SuiteRunInfo]:
        """Suite runs, newest first, with status running | interrupted | done and done/total."""
        return _listed(self.tables, limit)

    def run_info(self, run_id: str) -> SuiteRunInfo | None:
        """One suite run as listed, or None when there is no such run."""
        return find_run(self.tables, run_id)

    # --- reading a run back -----------------------------------------------------------------

    def matrix(self, run_id: str) -> SuiteMatrix:
        """Cases x models (x samples) of a run: each cell's answer, timing, cost and ratings.
        (The collector paused: a big run's cells are many small objects; see collections_paused.)"""
        with engine_errors(), collections_paused():
            return matrix(self.tables, self.ratings, run_id, self.sender.turns)

    async def matrix_in_background(self, job: Job, run_id: str) -> SuiteMatrix:
        """`matrix` on a worker thread with its own connection (a run of 100,000 answers takes
        seconds to read); job.cancel() stops it."""
        return await self._in_background(job, lambda store: matrix(store.suites, store.ratings, run_id, store.turns),
                                         lambda: self.matrix(run_id))

    async def rating_queue_in_background(self, job: Job, run_id: str, rater: str | None = None) -> list[QueueItem]:
        """`rating_queue` on a worker thread with its own connection, as matrix_in_background."""
        return await self._in_background(job, lambda store: rating_queue(store.suites, run_id, rater),
                                         lambda: self.rating_queue(run_id, rater))

    async def _in_background(self, job: Job, read: Callable[[RunReaders], T], here: Callable[[], T]) -> T:
        """`read` on a worker thread with its own connection, as `here()` reads on this one
        (its errors told as the engine's, the collector paused); `here()` itself when no
        worker can be had."""
        if self._elsewhere is None:
            return here()

        def on_worker(store: RunReaders) -> T:
            with engine_errors(), collections_paused():
                return read(store)
        return await self._elsewhere(job, on_worker)

    def rating_queue(self, run_id: str, rater: str | None = None) -> list[QueueItem]:
        """Per (case, sample) of a run, in case order: every model's answer to rate (and,
        with `rater`, which of them that rater has rated)."""
        with engine_errors(), collections_paused():
            return rating_queue(self.tables, run_id, rater)

    def disagreements(self, run_id: str | None = None) -> list[Disagreement]:
        """Answers whose automatic constraint verdict differs from a person's."""
        with engine_errors():
            return disagreements(self.tables, self.ratings, run_id)

    def scorecard(self, run_id: str, filters: RatingFilter | None = None, *, seed: int = 0,
                  constraints: str = DEFAULT_READING) -> list[ModelScore]:
        """The scorecard of a suite run's answers, each model's with `by_expect` (see
        desk.engine.scorecard); other filters and `constraints` as in the whole scorecard."""
        with engine_errors():
            return self._scoring.scorecard(run_id, filters, seed=seed, constraints=constraints)

    def run_reading(self, run_id: str, pair: tuple[str, str] | None = None) -> RunReading:
        """All a run's scorecard view shows (desk.engine.run_scoring.RunReading), read at once."""
        with engine_errors(), collections_paused():
            return self._scoring.reading(run_id, pair)

    async def run_reading_in_background(self, job: Job, run_id: str, pair: tuple[str, str] | None = None) -> RunReading:
        """`run_reading` on a worker thread with its own connection (a run of 100,000 answers
        takes seconds to score), as matrix_in_background."""
        return await self._in_background(job, lambda store: self._scoring_on(store).reading(run_id, pair),
                                         lambda: self.run_reading(run_id, pair))

    async def compare_in_background(self, job: Job, run_id: str, model_a: str, model_b: str) -> PairedComparison:
        """`compare_models` on a worker thread with its own connection, as matrix_in_background."""
        return await self._in_background(job, lambda store: self._scoring_on(store).compare_models(run_id, model_a, model_b),
                                         lambda: self.compare_models(run_id, model_a, model_b))

    def _scoring_on(self, store: RunReaders) -> RunScoring:
        """A run's figures read from a worker's own connection, its whole scorecard too."""
        return RunScoring(store.suites, store.ratings, store.responses, store.turns,
                          lambda f, seed, reading: self.scorecards.scorecard_on(store, f, seed=seed, constraints=reading))

    def tool_use(self, run_id: str) -> list[ToolUseScore]:
        """Per model of a suite run, its tool use on the cases that offer tools: called when
        it should (and not when it should not), valid and schema-valid arguments, expected
        call matched; each a rate with n, a Wilson interval and the answers that failed."""
        with engine_errors():
            return tool_use(self.tables, run_id)

    def compare_models(self, run_id: str, model_a: str, model_b: str,
                       filters: RatingFilter | None = None) -> PairedComparison:
        """Model A against model B on the same cases and samples of a run: wins, losses,
        ties and the exact sign-test p-value (rules in desk.engine.scorecard)."""
        with engine_errors():
            return self._scoring.compare_models(run_id, model_a, model_b, filters)

    def compare_runs(self, run_a: str, run_b: str, *, alpha: float = ALPHA) -> RunComparison:
        """Run A against run B of one suite, per model (desk.engine.run_compare)."""
        with engine_errors():
            return compare_suite_runs(self.tables, self.ratings, run_a, run_b, alpha=alpha,
                                      turns=self.sender.turns)

    async def compare_runs_in_background(self, job: Job, run_a: str, run_b: str, *,
                                         alpha: float = ALPHA) -> RunComparison:
        """`compare_runs` on a worker thread with its own connection (two runs of 100,000
        answers take seconds), as matrix_in_background."""
        return await self._in_background(
            job, lambda store: compare_suite_runs(store.suites, store.ratings, run_a, run_b, alpha=alpha,
                                                  turns=store.turns),
            lambda: self.compare_runs(run_a, run_b, alpha=alpha))

    def compare_evidence(self, run_a: str, run_b: str, model: str, figure: str) -> list[EvidencePair]:
        """The cases behind one figure of a comparison: for a rate those whose verdict flipped,
        for a time or cost those that changed most (desk.engine.run_compare.evidence)."""
        with engine_errors():
            return evidence(self.tables, self.ratings, run_a, run_b, model, figure, self.sender.turns)

    def history(self, name: str, *, model: str | None = None) -> list[HistoryPoint]:
        """Every run of suite `name` (all its versions), oldest first: each model's figures
        with their intervals and where the served model changed (desk.engine.run_history)."""
        with engine_errors():
            return _history(self.tables, self.ratings, self.sender.turns, name, model)

    async def history_in_background(self, job: Job, name: str, *, model: str | None = None) -> list[HistoryPoint]:
        """`history` on a worker thread with its own connection, as matrix_in_background."""
        return await self._in_background(job, lambda store: _history(store.suites, store.ratings, store.turns,
                                                                      name, model),
                                         lambda: self.history(name, model=model))


def _listed(tables: SuiteTables, limit: int) -> list[SuiteRunInfo]:
    """Suite runs, newest first, as listed (the runs this process is sending are running)."""
    return [run_info(r) for r in tables.suite_runs(limit, active=ACTIVE)]


def _history(tables: SuiteTables, ratings: RatingLookup, turns: TurnLookup, name: str,
             model: str | None) -> list[HistoryPoint]:
    return history_of(tables, ratings, _listed(tables, MAX_RUNS), name, model=model, turns=turns)


def _check_new_run(suite: Suite, models: Sequence[ModelRef], repeat: int, concurrency: int) -> None:
    if not models:
        raise SuiteRunError("choose at least one model")
    if len(set(models)) != len(models):
        raise SuiteRunError("the same model is listed twice")
    if repeat < 1:
        raise SuiteRunError("--repeat must be at least 1")
    if concurrency < 1:
        raise SuiteRunError("--concurrency must be at least 1")
    if not suite.cases or suite.id is None:
        raise SuiteRunError(f"suite {suite.name!r} has no stored cases")


def _write_suite(suite: Suite, path: str | Path) -> int:
    try:
        return suite_files.export_suite(suite, path)
    except OSError as exc:
        raise EngineError(f"cannot write {path} ({exc.strerror or exc})") from None


@contextmanager
def engine_errors() -> Iterator[None]:
    """Turn a suite module's or the store's plain error into EngineError (one line)."""
    try:
        yield
    except (SuiteRunError, StoreError) as exc:
        error = EngineError(str(exc))
        error.outside = getattr(exc, "outside", ())
        raise error from None
