"""The Load tab without its widgets: the form's values, their validation, the plan they
describe, the task a run sends, and the statistics of a run as its requests arrive.

`desk.ui.load_view.LoadPanel` lays this out and binds to it: it writes what the user types
into `LoadTabModel.form` (`desk load`'s own LoadInput, through `edit`), draws what the model's
events say, and starts and cancels the run.
Everything here is plain Python, tested without a QApplication (tests/engine/test_load_tab_model.py).
"""

from __future__ import annotations

import asyncio
import threading
import time
from collections import defaultdict, deque
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from time import perf_counter
from typing import Any

from desk.core.load import RequestOutcome, summarize, throttling
from desk.core.statistics import percentile
from desk.core.trial import TrialInput
from desk.engine.load import LoadPlan, LoadResult
from desk.engine.load_plan import (
    LoadInput,
    PlanLabels,
    build_plan,
    parse_ramp,
)
from desk.engine.services.load_resume import resume_problem
from desk.engine.session import RunInfo
from desk.engine.tab_events import Event

NO_FALLBACK = "(none)"
# Where a run's requests are sent from (the form's "Where"): `desk load` without --workers,
# with --workers N, with --cluster ADDRESS.
HERE, PROCESSES, CLUSTER = "here", "processes", "cluster"
NO_DATASET = "no dataset: every request sends the prompt above"
# The form's labels, as the plan's messages name its fields (desk.engine.load_plan).
TAB_LABELS = PlanLabels(models="Models", prompt="The prompt", dataset="a dataset", ramp="ramp",
                        requests="a number of requests", duration="a duration", backoff="Backoff: ",
                        backoff_base="the first", backoff_max="the longest wait")


# The form holds `desk load`'s input (LoadInput: its fields, types and defaults), starting
# from the command's defaults but for `requests`: the command needs it or a duration given,
# the form pre-fills 20 so a first click runs.
FORM_START = LoadInput(models=(), requests=20)


def placement_of(spec: dict[str, Any]) -> tuple[str, int, str]:
    """Where a stored run was sent from, as the form says it: (where, workers, cluster)."""
    workers = int(spec.get("workers") or 0)
    if spec.get("cluster"):
        return CLUSTER, workers, str(spec["cluster"])
    return (HERE, 1, "") if workers == 1 else (PROCESSES, workers, "")


class LiveStats:
    """Outcomes received so far, kept in the shapes the plots and the status line need."""

    def __init__(self, models: Iterable[str] = ()) -> None:
        self.models: list[str] = list(models)
        self.ok_totals: dict[str, list[float]] = defaultdict(list)
        self.ok_points: dict[str, tuple[list[float], list[float]]] = defaultdict(lambda: ([], []))
        self.err_points: tuple[list[float], list[float]] = ([], [])
        self.limited_points: tuple[list[float], list[float]] = ([], [])
        self.step_totals: dict[tuple[str, int], list[float]] = defaultdict(list)
        self.step_concurrency: dict[int, int] = {}
        # what the vendors' rate-limit headers said was left, per model called: (ms since start, value)
        self.left_requests: dict[str, tuple[list[float], list[float]]] = defaultdict(lambda: ([], []))
        self.left_tokens: dict[str, tuple[list[float], list[float]]] = defaultdict(lambda: ([], []))
        self.first_429_ms: float | None = None
        self.n = self.ok = self.errors = 0
        self._ends: deque[float] = deque()
        self._latest_end = 0.0

    def add(self, outcomes: Iterable[RequestOutcome]) -> None:
        for o in outcomes:
            if o.model not in self.models:
                self.models.append(o.model)
            self.n += 1
            self.step_concurrency.setdefault(o.step, o.concurrency)
            self._add_marks(o)
            total = o.total_ms if o.total_ms is not None else 0.0
            if o.status == "interrupted":  # cut short by a cancel: counted, but no latency to show
                self.errors += 1
                continue
            if o.status == "ok":
                self.ok += 1
                self.ok_totals[o.model].append(total)
                xs, ys = self.ok_points[o.model]
                self.step_totals[(o.model, o.step)].append(total)
            else:
                self.errors += 1
                xs, ys = self.err_points
            xs.append(o.start_offset_ms)
            ys.append(total)
            if o.rate_limited:
                self.limited_points[0].append(o.start_offset_ms)
                self.limited_points[1].append(total)
            end = o.start_offset_ms + total
            self._latest_end = max(self._latest_end, end)
            self._ends.append(end)
        while self._ends and self._ends[0] < self._latest_end - 1000:
            self._ends.popleft()

    def _add_marks(self, o: RequestOutcome) -> None:
        for m in o.marks:
            at = m.start_s * 1000
            for series, value in ((self.left_requests, m.remaining_requests),
                                  (self.left_tokens, m.remaining_tokens)):
                if value is not None:
                    xs, ys = series[m.model]
                    xs.append(at)
                    ys.append(value)
            if m.http_status == 429 and (self.first_429_ms is None or at < self.first_429_ms):
                self.first_429_ms = at

    def current_rps(self) -> float:
        """Requests finished in the last second of the run (by the run's own clock)."""
        return float(sum(1 for e in self._ends if e >= self._latest_end - 1000))

    def p95_by_step(self, model: str) -> dict[int, tuple[int, float]]:
        """step -> (its concurrency, p95 total of the model's ok requests so far)."""
        out = {}
        for step, concurrency in sorted(self.step_concurrency.items()):
            p95 = percentile(self.step_totals.get((model, step), []), 95)
            if p95 is not None:
                out[step] = (concurrency, p95)
        return out


class Mailbox:
    """What the load thread hands the GUI thread. Plain Python on purpose: the worker must
    never call into Qt (nor hold the last reference to a Qt object), so the GUI polls this."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._outcomes: list[RequestOutcome] = []
        self._counts = (0, 0)
        self._end: tuple[LoadResult | None, BaseException | None] | None = None

    def put(self, outcome: RequestOutcome, done: int, planned: int) -> None:  # load thread
        with self._lock:
            self._outcomes.append(outcome)
            self._counts = (done, planned)

    def finish(self, result: LoadResult | None, error: BaseException | None) -> None:  # load thread
        with self._lock:
            self._end = (result, error)

    def take(self) -> tuple[list[RequestOutcome], tuple[int, int],
                            tuple[LoadResult | None, BaseException | None] | None]:  # GUI thread
        with self._lock:
            batch, self._outcomes = self._outcomes, []
            return batch, self._counts, self._end


@dataclass
class OpenedRun:
    """A stored run, ready to show: its summary (rebuilt where the store lacks one), a note
    saying so, and how many requests it planned (0: it went by time)."""

    info: RunInfo
    summary: dict[str, Any]
    note: str | None
    planned: int
    resume_problem: str | None = None  # why it cannot be resumed (None: it can: desk load --resume)


def run_title(info: RunInfo) -> str:
    """A past run in one line of the list."""
    when = time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(info.created_at))
    models = info.spec.get("models") or []
    levels = ",".join(str(s.get("concurrency")) for s in info.spec.get("steps") or [])
    n = sum(m.get("requests", 0) for m in ((info.summary or {}).get("models") or {}).values())
    name = f"{info.name} · " if info.name else ""
    return (f"{name}{when} · {info.status} · {len(models)} model{'s' if len(models) != 1 else ''} · "
            f"{n} requests · concurrency {levels}")


# What a run's requests can be exported as (the save dialog's choices): the format each means.
RUN_EXPORT_CHOICES = {
    "CSV — one row per request (*.csv)": "csv",
    "JSONL — one object per request (*.jsonl)": "jsonl",
    "JSONL — one object per HTTP request: request ids, rate-limit headers (*.jsonl)": "http-jsonl",
    "CSV — one row per HTTP request: request ids, rate-limit headers (*.csv)": "http-csv",
}


def export_format(path: str | Path, fmt: str | None = None) -> str:
    """The format of an export of a run's requests: `fmt` when given, else by the file's ending."""
    return fmt or ("jsonl" if str(path).lower().endswith((".jsonl", ".ndjson")) else "csv")


class LoadTabModel:
    """The Load tab's state and rules. Events (plain callbacks, see desk.engine.tab_events):
    `message(kind, text)` with kind "error" / "info", or (None, "") when cleared;
    `ramp_checked(levels or None)` after each ramp edit (None: not valid);
    `dataset_changed()` when the task the run sends changed;
    `progressed(done, planned)` when requests of the running run arrived."""

    def __init__(self) -> None:
        self.form = FORM_START  # what the form says, as `desk load` takes it (see edit)
        self.where = PROCESSES  # HERE, PROCESSES or CLUSTER; form.workers / cluster keep what was typed
        self.dataset: list[TrialInput] | None = None
        self.dataset_path: str | None = None
        self.dataset_text, self.dataset_tip = NO_DATASET, ""
        self.message: tuple[str | None, str] = (None, "")
        self.current_run_id: str | None = None
        self.current_summary: dict[str, Any] | None = None
        self.outcomes: list[RequestOutcome] = []
        self.live = LiveStats()
        self.budget_ms: float | None = None
        self.mailbox = Mailbox()
        self.started_at = 0.0
        self.message_changed, self.ramp_checked = Event(), Event()
        self.dataset_changed, self.progressed = Event(), Event()

    # --- messages -------------------------------------------------------------------------
    def say(self, kind: str | None, text: str = "") -> None:
        self.message = (kind, text)
        self.message_changed.emit(kind, text)

    def clear_message(self) -> None:
        self.say(None)

    # --- the form -------------------------------------------------------------------------
    def edit(self, **fields: Any) -> None:
        """Take what the user typed, as LoadInput's fields (`models` a tuple, `requests` None
        for none...); a name LoadInput does not have is a TypeError."""
        self.form = replace(self.form, **fields)

    def set_fallback(self, text: str) -> None:
        """The fallback model as its list shows it: NO_FALLBACK (or nothing) for none."""
        self.edit(fallback=(text,) if text and text != NO_FALLBACK else ())

    def set_placement(self, where: str, workers: int, cluster: str) -> None:
        """Where the requests are sent from (HERE, PROCESSES or CLUSTER), the number of
        workers and the cluster's address as typed, whichever the choice uses."""
        self.where = where
        self.edit(workers=workers, cluster=cluster)

    def placement(self) -> tuple[int, str]:
        """(workers, cluster address) as `desk load --workers / --cluster` take them, or
        ValueError saying what is missing."""
        if self.where == HERE:
            return 1, ""
        if self.where == CLUSTER:
            if not self.form.cluster.strip():
                raise ValueError("Ray cluster: give its address (ray://HOST:PORT), or auto for the cluster "
                                 "this machine belongs to.")
            return self.form.workers, self.form.cluster.strip()
        return self.form.workers, ""

    def set_ramp(self, text: str) -> bool:
        """Take the ramp as typed: a red message while it is not valid, gone once it is."""
        self.edit(ramp=text)
        try:
            levels = parse_ramp(text, TAB_LABELS.ramp)
        except ValueError as exc:
            self.say("error", str(exc))
            self.ramp_checked.emit(None)
            return False
        if self.message[1].startswith(f"{TAB_LABELS.ramp}:"):
            self.clear_message()
        self.ramp_checked.emit(levels)
        return True

    def use_dataset(self, path: str | Path, prompts: list[TrialInput]) -> None:
        """Requests cycle through these prompts, read from `path`."""
        name = Path(path).name
        self._set_task(prompts, str(path), f"{len(prompts)} prompts from {name}: requests cycle through them",
                       str(path))
        self.say("info", f"Loaded {len(prompts)} prompts from {name}.")

    def use_trial(self, trial: TrialInput) -> bool:
        """Send this whole task (system prompt and attachments included) with every request."""
        if not trial.prompt.strip() and not trial.attachments:
            self.say("error", "The Trials tab has no task yet: write a prompt (and attach files) there first.")
            return False
        extras = [f"{len(trial.attachments)} file(s)"] if trial.attachments else []
        if trial.system:
            extras.append("a system prompt")
        preview = " ".join(trial.prompt.split())[:60] or "(files only)"
        described = f"the Trials tab's task: “{preview}”" + (f" with {' and '.join(extras)}" if extras else "")
        self._set_task([trial], "trials tab", f"{described}: every request sends it", trial.prompt[:2000])
        return True

    def clear_dataset(self) -> None:
        self._set_task(None, None, NO_DATASET, "")

    def _set_task(self, inputs: list[TrialInput] | None, path: str | None, text: str, tip: str) -> None:
        self.dataset, self.dataset_path = inputs, path
        self.dataset_text, self.dataset_tip = text, tip
        self.dataset_changed.emit()

    def build_plan(self) -> LoadPlan:
        """The plan the form describes, or ValueError with a sentence for the user."""
        workers, cluster = self.placement()
        given = replace(self.form, dataset=tuple(self.dataset) if self.dataset else None,
                        source=self.dataset_path or "", workers=workers, cluster=cluster)
        return build_plan(given, TAB_LABELS)

    # --- a run, live ------------------------------------------------------------------------
    def reset(self, models: Sequence[str], budget_ms: float | None) -> None:
        self.outcomes = []
        self.live = LiveStats(models)
        self.budget_ms = budget_ms

    def begin(self, plan: LoadPlan | None) -> Mailbox:
        """A run of `plan` starts (None: the open run resumes, its models and budget kept):
        fresh statistics, and a fresh mailbox for its thread (a cancelled run that still
        reports cannot leak into this one)."""
        self.mailbox = Mailbox()
        self.current_run_id = self.current_summary = None
        if plan is None:
            self.reset(list(self.live.models), self.budget_ms)
        else:
            self.reset([str(m) for m in plan.models], plan.p95_budget_ms)
        self.started_at = perf_counter()
        return self.mailbox

    def drain(self) -> tuple[LoadResult | None, BaseException | None] | None:
        """Take what the load thread reported: statistics grow (`progressed`); the run's end
        when it came."""
        batch, (done, planned), end = self.mailbox.take()
        if batch:
            self.outcomes.extend(batch)
            self.live.add(batch)
            self.progressed.emit(done, planned)
        return end

    def status_text(self, done: int, planned: int, elapsed: float | None = None) -> str:
        elapsed = perf_counter() - self.started_at if elapsed is None else elapsed
        count = f"{done} / {planned} done" if planned else f"{done} done"
        return (f"{count} · {self.live.ok} ok · {self.live.errors} errors · "
                f"{self.live.current_rps():.0f} req/s now · {elapsed:.1f} s")

    def end(self, result: LoadResult | None, error: BaseException | None, planned: int) -> str:
        """The run ended (`result` None: before anything was measured). Says what went wrong
        or that it was cancelled; returns the status line."""
        if result is None:
            cancelled = error is None or isinstance(error, asyncio.CancelledError)
            text = "Cancelled before anything was measured." if cancelled else f"The run failed: {error}"
            self.say("info" if cancelled else "error", text)
            return text
        self.finish(result)
        done = len(self.outcomes)
        if error is not None:
            self.say("error", f"The run finished with a problem: {error}")
        elif result.status == "cancelled":
            self.say("info", f"Cancelled: the {done} requests measured are stored with the run.")
        return (f"{'Cancelled' if result.status == 'cancelled' else 'Done'}: "
                + self.status_text(done, planned, result.summary.get("wall_s")))

    def finish(self, result: LoadResult) -> None:
        """The run ended with a result: its stored figures replace the live ones."""
        self.current_run_id = result.run_id
        self.current_summary = result.summary
        self.outcomes = list(result.outcomes)
        self.live = LiveStats(self.live.models)
        self.live.add(self.outcomes)

    def resume_problem(self, info: RunInfo) -> str | None:
        """Why the run just finished (`info`, its requests all here) cannot be resumed; None: it can."""
        return resume_problem(info, self.outcomes)

    def step_points(self, model: str, summary: dict[str, Any] | None) -> list[tuple[int, float]]:
        """p95 total per step: from the run's per-step summaries where it has them (a finished
        step), else from the outcomes received so far (a step still running, or cut short)."""
        by_step = self.live.p95_by_step(model)
        for s in (summary or {}).get("steps", []):
            p95 = ((s.get("models") or {}).get(model) or {}).get("total_ms", {}).get("p95")
            if p95 is not None:
                by_step[s["step"]] = (s["concurrency"], p95)
        return [by_step[k] for k in sorted(by_step)]

    # --- a stored run -------------------------------------------------------------------------
    def open_stored(self, info: RunInfo, outcomes: Sequence[RequestOutcome]) -> OpenedRun:
        """Show a stored run: statistics from its stored requests, its summary as stored (or
        figured from the requests when the run never finished)."""
        self.reset(list(info.spec.get("models") or []), info.spec.get("p95_budget_ms"))
        self.current_run_id = info.id
        self.outcomes = list(outcomes)
        self.live.add(self.outcomes)
        summary, note = info.summary, None
        if summary is None:  # still running elsewhere, or interrupted: figure it from what is stored
            wall = max((o.start_offset_ms + (o.total_ms or 0) for o in outcomes), default=0.0) / 1000
            summary = {"models": {m: summarize([o for o in outcomes if o.model == m], wall)
                                  for m in self.live.models}}
            note = f"Run {info.status}: figures computed from its {len(outcomes)} stored requests."
        if "throttling" not in summary:  # stored before desk summarised throttling: rebuild it
            summary = {**summary, "throttling": throttling(outcomes),
                       "models": {m: {**f, "throttling": throttling(outcomes, m)}
                                  for m, f in (summary.get("models") or {}).items()}}
        self.current_summary = summary
        steps = info.spec.get("steps") or []
        planned = sum((s.get("requests") or 0) for s in steps) * len(info.spec.get("models") or [])
        if any(s.get("requests") is None for s in steps):
            planned = 0
        return OpenedRun(info, summary, note, planned, resume_problem(info, outcomes))

    def opened_status(self, opened: OpenedRun) -> str:
        """The status line of a stored run just opened."""
        info, done = opened.info, len(self.outcomes)
        when = time.strftime("%Y-%m-%d %H:%M", time.localtime(info.created_at))
        return f"Run of {when} ({info.status}): " + self.status_text(done, opened.planned,
                                                                    opened.summary.get("wall_s") or 0.0)
