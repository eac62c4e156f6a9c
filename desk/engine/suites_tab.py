"""The Suites tab's state and rules, without Qt: which suites and runs there are, which run
is open and which is running, whether a run may start and what it sends (the plan), its live
figures while it streams, and what the tab says when it ends.

The widget (desk/ui/suites_view.py) lays this out and binds it; tests drive it without a
window. It is evented with plain callbacks (desk.engine.tab_events), called on the thread
that changed the state: the GUI thread. With `streams` a run streams on a thread of its own
(desk.engine.streamed) and its callbacks are told here, on the caller's loop.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Awaitable, Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

from desk.core.response import ResponseResult, Status
from desk.core.suite import Case
from desk.core.trial import ModelRef
from desk.engine.engine_thread import EngineThread
from desk.engine.jobs import Job
from desk.engine.runner import NullSink
from desk.engine.session import Engine, EngineError, SuiteInfo, SuiteMatrix, SuiteRunInfo
from desk.engine.streamed import Streamed
from desk.engine.suite_records import MatrixCell, SuiteResponse, SuiteRunResult, progress_text
from desk.engine.suite_run import Listeners
from desk.engine.tab_events import Event, Notice

ANY = "__any__"  # a filter that lets every row through
NO_EXPECT = "__none__"  # the expect filter's "cases without an expect"
RATED, UNRATED = "rated", "unrated"
NOT_STARTED = "Not started."
BIG_RUN = 10_000  # answers: a run's matrix of more is read off the GUI thread (0.16 s at 10,000, measured)
RELOAD_BUDGET = 0.1  # while a run streams, reading its matrix back may use at most a tenth of the GUI's time


class PlanError(ValueError):
    """A run that cannot start as asked; one sentence for the user."""


@dataclass(frozen=True)
class RunPlan:
    """A run ready to go: the models it sends to, the answers it expects, the line the tab
    shows while it starts, and the call that runs it (given the engine's callbacks)."""

    models: tuple[ModelRef, ...]
    total: int
    text: str
    go: Callable[[Engine, Listeners], Awaitable[SuiteRunResult]]  # on the engine it streams with


# --- the matrix's rows ----------------------------------------------------------------------


class MatrixRow:
    """One (case, sample) of a run: its cells in the run's model order."""

    __slots__ = ("case", "cells", "sample", "trial_id")

    def __init__(self, case: Case, sample: int, cells: list[MatrixCell | None]) -> None:
        self.case = case
        self.sample = sample
        self.cells = cells
        self.trial_id = next((c.trial_id for c in cells if c is not None and c.trial_id), None)

    def answered(self) -> list[MatrixCell]:
        return [c for c in self.cells if c is not None and c.response_id is not None and c.status != "streaming"]

    def rated(self) -> bool:
        """Every answer of this case has a person's rating (and there is at least one answer)."""
        answered = self.answered()
        return bool(answered) and all(c.human is not None for c in answered)


def matrix_rows(matrix: SuiteMatrix) -> list[MatrixRow]:
    """The rows of a run's matrix: every case x sample, cells in the run's model order."""
    by_key = {(c.case_id, c.sample, c.model): c for c in matrix.cells}
    return [MatrixRow(case, sample, [by_key.get((case.id or "", sample, m)) for m in matrix.models])
            for case in matrix.suite.cases for sample in range(matrix.repeat)]


def row_shown(row: MatrixRow, expect: str = ANY, tag: str = ANY, rated: str = ANY) -> bool:
    """Whether the filters (expect kind, tag, rating state; ANY: no filter) let a row through."""
    if expect != ANY and row.case.expect != ("" if expect == NO_EXPECT else expect):
        return False
    if tag != ANY and tag not in row.case.tags:
        return False
    if rated == RATED and not row.rated():
        return False
    return not (rated == UNRATED and row.rated())


def matrix_tags(matrix: SuiteMatrix) -> list[str]:
    """The tags of a run's cases, sorted: the tag filter's choices."""
    return sorted({t for c in matrix.suite.cases for t in c.tags})


def one_reason_a_line(text: str) -> str:
    """An import's reasons one per line: "f.csv: 2 bad rows, nothing imported: line 3: ...; line 7: ..."."""
    text = re.sub(r";\s+(?=line \d+:)", "\n", text)
    return re.sub(r"nothing imported: (?=line \d+:)", "nothing imported:\n", text)


def outside_question(paths: Sequence[str]) -> str:
    """Whether files from outside a suite's folder may be imported with it, asked of the user."""
    shown = "\n".join(paths[:10]) + (f"\n… and {len(paths) - 10} more" if len(paths) > 10 else "")
    return ("The suite attaches files from outside its own folder; a suite someone sent you could "
            f"reach any file you can read this way:\n\n{shown}\n\nImport them with the suite?")


def imported_text(info: SuiteInfo) -> str:
    return f"Imported {info.cases} case{'s' if info.cases != 1 else ''} as {info.name} v{info.version}."


def run_tooltip(info: SuiteRunInfo) -> str:
    return (f"{info.run_id}\nmodels: {', '.join(info.models)}\nrepeat {info.repeat}, "
            f"concurrency {info.concurrency}" + (f"\n{info.failed} failed" if info.failed else ""))


def run_suite_text(info: SuiteRunInfo) -> str:
    return info.suite + (f" v{info.suite_version}" if info.suite_version is not None else "")


def shown_text(shown: int, total: int) -> str:
    return f"{shown} of {total} cases" if shown != total else f"{total} cases"


def extra_turn_text(matrix: SuiteMatrix | None) -> str:
    """How many answers of a run needed the case's clarification (an extra turn), per model
    when several did: "; extra turn: 3 (openai/a 2, claude/b 1)"; "" when none did."""
    if matrix is None:
        return ""
    extra = Counter(c.model for c in matrix.cells if c.turn > 1)  # one pass: 100,000 cells in a big run
    counts = {m: extra[m] for m in matrix.models}
    total = sum(counts.values())
    if not total:
        return ""
    per = ", ".join(f"{m} {n}" for m, n in counts.items() if n)
    return f"; extra turn: {total}" + (f" ({per})" if len(matrix.models) > 1 else "")


# --- the tab ---------------------------------------------------------------------------------


class SuitesTab:
    """The Suites tab's state: the suites and runs listed, the open run, the running one and
    its live figures. Events: `running_changed(bool)`, `run_started(run_id)` (the run is
    stored: list and open it), `changed()` (an answer arrived or started: redraw when due).
    """

    def __init__(self, engine: Engine, streams: EngineThread[Engine] | None = None) -> None:
        self.engine = engine
        # Where runs stream: the window's streaming thread (its engine stores what arrives;
        # its callbacks are told here, on the caller's loop); None: on this engine and loop.
        self.sending = Streamed(engine, streams)
        self.suites: list[SuiteInfo] = []
        self.runs: list[SuiteRunInfo] = []
        self.current_run_id: str | None = None
        self.running_run_id: str | None = None
        self.running = False  # from Start until the run's task ends
        self.progress: tuple[int, int] | None = None  # (done, total) of the running run
        self.failed = 0  # answers of this run's call that failed
        self._note = "No run yet."  # the line under the progress bar until figures arrive
        self.dirty = False  # the open run's matrix is out of date
        self.reloads = 0
        self._rows: tuple[SuiteMatrix, list[MatrixRow]] | None = None  # a matrix read on a worker, with its rows
        self._next_reload = 0.0  # monotonic time before which a live matrix is not read again
        self.running_changed = Event()
        self.run_started = Event()
        self.changed = Event()

    # --- suites and runs --------------------------------------------------------------------
    def load_suites(self) -> Notice | None:
        """Read the suites (importing the bundled starter on first use); a problem is told."""
        try:
            self.suites = self.engine.suites.list_suites()
        except EngineError as exc:
            self.suites = []
            return Notice(str(exc), error=True)
        return None

    async def import_suite(self, path: str | Path, name: str,
                           allow_outside: Callable[[EngineError], Awaitable[bool]]) -> SuiteInfo:
        """Import a suite file, read off the GUI thread. Attachments from outside the file's
        folder are imported only when `allow_outside(the refusal)` says yes."""
        try:
            return await self.engine.suites.import_in_background(path, name)
        except EngineError as exc:
            outside = exc.outside
            if not outside or not await allow_outside(exc):
                raise
        return await self.engine.suites.import_in_background(path, name, allow_outside=outside)

    def suite(self, name: str | None) -> SuiteInfo | None:
        return next((s for s in self.suites if s.name == name), None) if name else None

    def load_runs(self) -> None:
        self.runs = self.engine.suites.list_runs()

    def run_info(self, run_id: str | None) -> SuiteRunInfo | None:
        return next((r for r in self.runs if r.run_id == run_id), None) if run_id else None

    def model_names(self) -> list[str]:
        return [str(ref) for ref in self.engine.providers.configured_models()]

    def reload_due(self, now: float) -> bool:
        """While the open run streams: whether its matrix is out of date and may be read again
        at `now` (monotonic seconds) within the reading budget."""
        live = self.running_run_id is not None and self.running_run_id == self.current_run_id
        return self.dirty and live and now >= self._next_reload

    def reloaded(self, started: float, took: float) -> None:
        """The live matrix was read at `started` in `took` seconds: a slow read waits longer."""
        self._next_reload = started + took / RELOAD_BUDGET

    def read_matrix(self) -> SuiteMatrix | None:
        """The open run's matrix (None when no run is open); EngineError when it cannot be read."""
        if self.current_run_id is None:
            return None
        matrix = self.engine.suites.matrix(self.current_run_id)
        self.reloads += 1
        return matrix

    def reads_slowly(self) -> bool:
        """Whether the open run is big enough that its matrix is read off the GUI thread
        (read_matrix_in_background)."""
        return self.is_big(self.current_run_id)

    def is_big(self, run_id: str | None) -> bool:
        """Whether a listed run has more than BIG_RUN answers: reading it back (its matrix,
        its rating queue) takes a tenth of a second or more."""
        info = self.run_info(run_id)
        return info is not None and info.total > BIG_RUN

    async def read_matrix_in_background(self, job: Job) -> SuiteMatrix | None:
        """read_matrix on a worker thread with its own connection; job.cancel() stops it."""
        if self.current_run_id is None:
            return None
        matrix = await self.engine.suites.matrix_in_background(job, self.current_run_id)
        self.reloads += 1
        # Its rows too (0.15 s at 100,000 answers): the GUI thread only lays them out.
        import asyncio  # the event loop is running: loaded already

        self._rows = (matrix, await asyncio.to_thread(matrix_rows, matrix))
        return matrix

    def rows_of(self, matrix: SuiteMatrix) -> list[MatrixRow]:
        """matrix_rows(matrix), made on the worker when it was read there."""
        made, self._rows = self._rows, None
        return made[1] if made is not None and made[0] is matrix else matrix_rows(matrix)

    # --- what may be done -------------------------------------------------------------------
    def can_start(self, suite: SuiteInfo | None, names: Sequence[str]) -> bool:
        return not self.running and suite is not None and bool(names)

    def can_resume(self, run_id: str | None) -> bool:
        info = self.run_info(run_id)
        return not self.running and info is not None and info.status != "running" and info.done < info.total

    def can_rate(self, run_id: str | None) -> bool:
        info = self.run_info(run_id)
        return info is not None and info.done > 0

    # --- plans ------------------------------------------------------------------------------
    def plan_run(self, suite: SuiteInfo | None, names: Iterable[str], repeat: int, concurrency: int,
                 max_turns: int = 2) -> RunPlan:
        """A run of `suite` on the named models, a case's clarification sent while an answer
        asks, up to turn `max_turns`; PlanError says why it cannot start."""
        if suite is None:
            raise PlanError("Select a suite to run first.")
        try:
            models = tuple(ModelRef.parse(n) for n in names)
        except ValueError as exc:
            raise PlanError(str(exc)) from None
        if not models:
            raise PlanError("Tick at least one model to run the suite on.")
        total = suite.cases * repeat * len(models)

        def go(engine: Engine, to: Listeners) -> Awaitable[SuiteRunResult]:
            return engine.suites.run(suite.name, models, version=suite.version, repeat=repeat,
                                     concurrency=concurrency, max_turns=max_turns, progress=to.progress,
                                     on_response=to.on_response, on_start=to.on_start, sink=to.sink)

        return RunPlan(models, total, f"Starting {suite.name}: {total} answers to get…", go)

    def plan_resume(self, run_id: str | None) -> RunPlan:
        """Sending the cells of a run that have no answer yet; PlanError when there is no such run."""
        info = self.run_info(run_id)
        if run_id is None or info is None:
            raise PlanError("Select an interrupted run to resume.")
        try:
            models = tuple(ModelRef.parse(m) for m in info.models)
        except ValueError:
            models = ()

        def go(engine: Engine, to: Listeners) -> Awaitable[SuiteRunResult]:
            return engine.suites.resume(run_id, progress=to.progress, on_response=to.on_response,
                                        on_start=to.on_start, sink=to.sink)

        return RunPlan(models, info.total, f"Resuming {run_id}: {info.total - info.done} answers to get…",
                       go)

    # --- running ----------------------------------------------------------------------------
    def _set_running(self, running: bool) -> None:
        self.running = running
        self.running_changed.emit(running)

    def begin(self, plan: RunPlan) -> None:
        """A run is about to start: its figures start afresh, and the tab is running until `end`."""
        self.progress = None
        self.failed = 0
        self._note = plan.text
        self._set_running(True)

    async def run(self, plan: RunPlan,
                  before_run: Callable[[Sequence[ModelRef]], Awaitable[bool]] | None = None) -> SuiteRunResult | None:
        """Run a plan, the engine's callbacks noting what changed; None if `before_run` said no.
        Cancelling raises the engine's CancelledError (carrying what was done)."""
        if before_run is not None and not await before_run(plan.models):
            self._note = NOT_STARTED
            return None
        back = self.sending.back_here  # the callbacks come from the streaming thread: told here
        to = Listeners(back(self.on_progress), back(self.on_response), back(self.on_start),
                       _RunSink(back(self.mark_dirty)))
        return await self.sending.run([m.provider for m in plan.models], lambda engine: plan.go(engine, to))

    def end(self) -> str | None:
        """The run's task ended; returns the id of the run that was running (if it started)."""
        run_id, self.running_run_id = self.running_run_id, None
        self._set_running(False)
        return run_id

    def on_start(self, run_id: str) -> None:
        self.running_run_id = run_id
        self.current_run_id = run_id
        self.run_started.emit(run_id)

    def on_progress(self, done: int, total: int) -> None:
        self.progress = (done, total)

    def on_response(self, item: SuiteResponse) -> None:
        if item.response.status != Status.OK:
            self.failed += 1
        self.mark_dirty()

    def mark_dirty(self) -> None:
        self.dirty = True
        self.changed.emit()

    def live_progress(self) -> str | None:
        """The running run's figures ("6 / 9 done · 3 failed"), None before the first answer."""
        if self.progress is None:
            return None
        return progress_text(*self.progress, self.failed)

    @property
    def status(self) -> str:
        """The line under the progress bar: the live figures, else how the run is starting."""
        return self.live_progress() or self._note

    # --- what the tab says ------------------------------------------------------------------
    def title(self, matrix: SuiteMatrix) -> str:
        """The open run's heading (rich text): suite, size, state and progress."""
        run = matrix.run
        if run.run_id == self.running_run_id and self.progress is not None:
            (done, total), state = self.progress, "running"
        else:
            done, total, state = run.done, run.total, run.status
        repeat = f" × {run.repeat} samples" if run.repeat > 1 else ""
        return (f"<b>{run.suite} v{run.suite_version}</b> · run {run.run_id} · {len(matrix.suite.cases)} cases"
                f"{repeat} × {len(matrix.models)} models · {state} · {progress_text(done, total, run.failed)}")

    @staticmethod
    def finished(result: SuiteRunResult) -> Notice:
        """How a run that ended by itself went: answers, failures, and models held back."""
        failed = f"; {result.failed} failed (Resume sends them again)" if result.failed else ""
        held = "".join(f" {model} failed with {why}: its other cases were not sent; fix the model name or "
                       "key, then Resume." for model, why in result.held_back.items())
        if result.not_stored:  # answered but not saved: lost, and the run stopped sending
            held += (f" {len(result.not_stored)} answer(s) could not be stored and are lost "
                     f"({result.not_stored[0]}); no more cases were sent. Fix the store, then Resume.")
        if held:
            return Notice(f"Run {result.run_id}: {result.ok} answers{failed}.{held}", error=True)
        return Notice(f"Run {result.run_id} done: {result.ok} answers{failed}.")

    @staticmethod
    def cancelled(exc: BaseException) -> Notice:
        done = getattr(exc, "result", None)
        kept = f" {done.ok} new answers were stored." if done is not None else ""
        return Notice(f"Cancelled.{kept} Resume sends only the cases that have no answer yet.")

    def failed_to_run(self, exc: Exception) -> Notice:
        """A run the engine refused (it never started) or a bug that stopped it."""
        if isinstance(exc, EngineError):
            self._note = NOT_STARTED
            return Notice(str(exc), error=True)
        return Notice(f"The run stopped: {exc}", error=True)


class _RunSink(NullSink):
    """Streams of a run, as far as the tab cares: an answer started (a cell goes 'streaming')."""

    def __init__(self, mark_dirty: Callable[[], None]) -> None:
        self._mark_dirty = mark_dirty

    def response_started(self, result: ResponseResult) -> None:
        self._mark_dirty()
