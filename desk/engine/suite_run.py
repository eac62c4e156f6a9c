"""Suite runs: every case (x `repeat` samples) of a suite, sent to every chosen model.

A run is stored before anything is sent (a row of `runs`, kind 'suite'). Each (case,
sample) becomes one ordinary trial when its first answer starts, and every model's answer
is an ordinary response of it, recorded as it streams by the same recorder as any trial;
so rating, blind mode, preferences and export work on a run unchanged.

A *cell* is (case, sample, model). At most `concurrency` cells are in flight at once,
across all models, taken in case order. A cell is done when it has an answer with
status ok; resuming a run (after a cancel, a crash or a kill -9) sends only the cells
that are not done, so nothing already answered is sent, or billed, twice.

After each ok answer to a `follow_constraints` case that carries constraints, the
constraints are checked in code (desk.core.constraints, when every one of them is
supported) and the verdict is stored as a rating by rater "auto": `constraints` followed
or violated by IFBench's checker, desk's reading beside it (desk.core.constraint_reading),
and a one-line note saying why.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import logging
import os
import re
import sys
import tempfile
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from desk.core.constraint_reading import DESK_KEY, auto_values
from desk.core.rating import Rating
from desk.core.response import ErrorKind, ResponseResult, Status
from desk.core.suite import (
    AUTO_RATER,
    Case,
    Suite,
    SuiteError,
    case_from_trial,
    check_name,
    handled,
    load_suite_file,
)
from desk.core.trial import GenerationSettings, ModelRef
from desk.engine.export import usual_mode
from desk.engine.pricing import wait_for_preload
from desk.engine.recorder import FanoutSink, StoreRecorder
from desk.engine.runner import GuardedSink, ResponseSink, Target
from desk.engine.scorecard import combined_rating
from desk.store.suites import SUITE_RUN, SuiteInfo, SuiteRunRow, SuiteStore

log = logging.getLogger("desk.engine.suite")

STARTER = "starter"
STARTER_ENV = "DESK_STARTER_SUITE"  # a path that replaces the bundled starter suite file

Progress = Callable[[int, int], None]  # cells done (answered ok, earlier ones included), cells in the run


def progress_text(done: int, total: int, failed: int) -> str:
    """A run's progress, worded the same wherever it is shown: "477 / 480 done · 3 failed".
    Done counts the cells answered ok; a failed cell is not done (Resume sends it again)."""
    return f"{done} / {total} done" + (f" · {failed} failed" if failed else "")


class SuiteRunError(ValueError):
    """A suite operation that cannot start (unknown suite or run, bad settings); one line.
    `outside`: as SuiteError's (attachments refused for lying outside the suite's folder)."""

    outside: tuple[str, ...] = ()


@dataclass(frozen=True)
class SuiteRunInfo:
    """A suite run as listed: `status` is running, interrupted or done; `done` counts the
    cells with an ok answer out of `total` = cases x repeat x models; `failed` the cells
    whose last answer is an error (resuming sends them, and the interrupted ones, again)."""

    run_id: str
    suite: str
    suite_version: int | None
    suite_id: str
    status: str
    done: int
    total: int
    failed: int
    models: tuple[str, ...]
    repeat: int
    concurrency: int
    created_at: float
    finished_at: float | None
    name: str | None = None
    not_stored: int = 0  # answers the last call made but the store refused (lost; a resume redoes them)

    def as_json(self) -> dict[str, Any]:
        return {"run_id": self.run_id, "suite": self.suite, "version": self.suite_version,
                "status": self.status, "done": self.done, "total": self.total, "failed": self.failed,
                "not_stored": self.not_stored,
                "models": list(self.models), "repeat": self.repeat, "concurrency": self.concurrency,
                "created_at": self.created_at, "finished_at": self.finished_at, "name": self.name}


@dataclass(frozen=True)
class SuiteResponse:
    """One finished answer of a run, located in it."""

    run_id: str
    case: Case
    sample: int
    response: ResponseResult
    auto: Rating | None = None  # the automatic constraint verdict, if one was made


@dataclass
class SuiteRunResult:
    run_id: str
    status: str  # done | cancelled
    sent: int = 0  # answers made by this call (failed and cancelled ones included)
    ok: int = 0
    failed: int = 0
    skipped: int = 0  # cells already done before this call
    responses: list[SuiteResponse] = field(default_factory=list)
    info: SuiteRunInfo | None = None
    # models whose answers failed in a way every other cell would repeat (unknown model,
    # rejected key): their remaining cells were not sent; model -> the vendor's reason
    held_back: dict[str, str] = field(default_factory=dict)
    not_sent: int = 0  # cells held back for those models (a resume sends them)
    # cells whose answer the store refused ("case C sample S, MODEL: why"): lost, never
    # counted as ok; after the first, no further cell is sent (each would be paid for and lost)
    not_stored: list[str] = field(default_factory=list)


# Failures that say the model or key is wrong, not that the vendor had a bad moment: the
# next cell to that model would fail the same way, after spending the user's time (and
# perhaps money), so a run stops sending to it.
PERSISTENT_KINDS = frozenset({ErrorKind.NOT_FOUND, ErrorKind.AUTH})


class SuiteRunCancelled(asyncio.CancelledError):
    """Raised after a cancelled run has been stored; carries what was done."""

    def __init__(self, result: SuiteRunResult) -> None:
        super().__init__("suite run cancelled")
        self.result = result


@dataclass(frozen=True)
class RatingSummary:
    """The human ratings of one answer, combined (majority per criterion, mean quality)."""

    outcome: str | None
    uncertainty: str | None
    constraints: str | None
    quality: float | None
    raters: tuple[str, ...]
    handled: bool | None  # showed the behaviour its case expects (None: not judged / no expect)


@dataclass(frozen=True)
class MatrixCell:
    """One (case, sample, model) of a run: the answer that counts for it (the ok one if
    any, else the latest), or none yet (`status` None)."""

    case_id: str
    case_key: str
    sample: int
    model: str
    trial_id: str | None
    response_id: str | None
    status: str | None  # ok | error | interrupted | streaming | None (not sent)
    error_kind: str | None
    first_line: str
    ttft_ms: float | None
    total_ms: float | None
    cost_usd: float | None
    answers: int  # responses stored for this cell (a failed one and its resend: 2)
    human: RatingSummary | None
    auto_constraints: str | None  # followed | violated (the automatic check), if made
    auto_note: str | None


@dataclass(frozen=True)
class SuiteMatrix:
    """Cases x models (x samples) of a run, for a matrix view."""

    run: SuiteRunInfo
    suite: Suite
    models: tuple[str, ...]
    repeat: int
    cells: tuple[MatrixCell, ...]

    def cell(self, case_id: str, model: str, sample: int = 0) -> MatrixCell:
        for c in self.cells:
            if c.case_id == case_id and c.model == model and c.sample == sample:
                return c
        raise KeyError((case_id, model, sample))


@dataclass(frozen=True)
class QueueItem:
    """One (case, sample) of a run to rate: every model's answer to it (in the run's model
    order; shuffle them for blind rating), and which of them `rater` has rated already."""

    case: Case
    sample: int
    trial_id: str
    response_ids: tuple[str, ...]
    models: tuple[str, ...]
    rated: tuple[str, ...] = ()

    @property
    def done(self) -> bool:
        return set(self.response_ids) <= set(self.rated)


@dataclass(frozen=True)
class Disagreement:
    """An answer whose automatic constraint verdict differs from a person's."""

    response_id: str
    trial_id: str
    model: str
    case_key: str
    auto: str  # followed | violated
    human: str  # followed | violated
    rater: str
    auto_note: str


_ACTIVE: set[str] = set()  # suite runs this process is sending now


# --- suites ---------------------------------------------------------------------------------


def starter_path() -> Path | None:
    """The bundled starter suite: $DESK_STARTER_SUITE, else resources/suites/starter.jsonl
    next to the package in a checkout, in the PyInstaller bundle, or where a wheel put it
    (<prefix>/share/desk/suites)."""
    env = os.environ.get(STARTER_ENV)
    if env:
        return Path(env) if Path(env).is_file() else None
    here = Path(getattr(sys, "_MEIPASS", Path(__file__).resolve().parent.parent.parent))
    for candidate in (here / "resources" / "suites" / "starter.jsonl", here / "suites" / "starter.jsonl",
                      Path(sys.prefix) / "share" / "desk" / "suites" / "starter.jsonl"):
        if candidate.is_file():
            return candidate
    return None


def ensure_starter(suites: SuiteStore) -> SuiteInfo | None:
    """Import the bundled starter suite if this version of its file is not stored yet."""
    path = starter_path()
    if path is None:
        return None
    data = path.read_bytes()
    sha = hashlib.sha256(data).hexdigest()
    found = suites.find_suite_file(STARTER, sha)
    if found is not None:
        return found
    cases = load_suite_file(path)
    suites.save_suite(Suite(STARTER, cases, source="built-in"), sha256=sha, stable_ids=True)
    return suites.find_suite_file(STARTER, sha)


def import_suite(suites: SuiteStore, path: str | Path, name: str, *,
                 allow_outside: Sequence[str | Path] = ()) -> SuiteInfo:
    return store_suite(suites, read_suite_file(path, name, allow_outside=allow_outside))


def read_suite_file(path: str | Path, name: str, *,
                    allow_outside: Sequence[str | Path] = ()) -> Suite:
    """The suite in a file (its attachments read), under the checked `name`; no store involved,
    so any thread may read it."""
    try:
        return Suite(check_name(name), load_suite_file(path, allow_outside=allow_outside), source=str(path))
    except SuiteError as exc:
        error = SuiteRunError(str(exc))
        error.outside = exc.outside
        raise error from None


def store_suite(suites: SuiteStore, suite: Suite) -> SuiteInfo:
    return _info_of(suites, suites.save_suite(suite))


def suites_list(suites: SuiteStore, *, all_versions: bool = False) -> list[SuiteInfo]:
    try:
        ensure_starter(suites)
    except (OSError, SuiteError) as exc:  # a broken bundle must not hide the user's suites
        log.warning("the starter suite could not be loaded: %s", exc)
    return suites.list_suites(all_versions=all_versions)


def get_suite(suites: SuiteStore, name: str, version: int | None = None) -> Suite:
    if name == STARTER:
        try:
            ensure_starter(suites)
        except (OSError, SuiteError) as exc:
            raise SuiteRunError(f"the starter suite cannot be loaded: {exc}") from None
    suite = suites.get_suite(name, version)
    if suite is None:
        known = ", ".join(sorted({s.name for s in suites.list_suites()})) or "none yet"
        what = f"{name!r} version {version}" if version is not None else f"named {name!r}"
        raise SuiteRunError(f"no suite {what} (stored: {known}); import one with 'desk suite import'")
    return suite


def suite_from_trials(suites: SuiteStore, store: Any, name: str, trial_ids: Sequence[str],
                      expect: str = "") -> SuiteInfo:
    try:
        clean = check_name(name)
    except SuiteError as exc:
        raise SuiteRunError(str(exc)) from None
    ids = list(dict.fromkeys(trial_ids))
    if not ids:
        raise SuiteRunError("choose at least one trial")
    cases = []
    for n, trial_id in enumerate(ids, start=1):
        stored = store.get_trial(trial_id)
        if stored is None:
            raise SuiteRunError(f"no trial {trial_id!r}")
        cases.append(case_from_trial(str(n), stored.input, upstream_id=trial_id, expect=expect))
    saved = suites.save_suite(Suite(clean, tuple(cases), source="trials"))
    return _info_of(suites, saved)


def export_suite(suite: Suite, path: str | Path) -> int:
    """Write the suite as JSONL (one case per line); attachments go to a folder next to the
    file (`NAME_files/`), named by relative path so the file imports back as it was."""
    import json

    out = Path(path)
    folder_name = f"{out.stem}_files"
    lines = []
    files: list[tuple[Path, bytes]] = []
    for case in suite.cases:
        record = case.as_json()
        if case.attachments:
            safe_key = re.sub(r"[^\w.-]+", "_", case.key).strip("._") or f"case{case.position + 1}"
            names: list[str] = []
            for att in case.attachments:
                base = re.sub(r"[^\w. -]+", "_", Path(att.name).name).strip(" .") or "attachment"
                name, n = base, 1
                while name in names:
                    n += 1
                    stem, dot, ext = base.rpartition(".")
                    name = f"{stem}-{n}.{ext}" if dot and stem else f"{base}-{n}"
                names.append(name)
                files.append((out.parent / folder_name / safe_key / name, att.data))
            record["attachments"] = [f"{folder_name}/{safe_key}/{name}" for name in names]
        lines.append(json.dumps(record, ensure_ascii=False))
    for target, data in files:
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(data)
    out.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=out.parent, prefix=f".{out.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w", encoding="utf-8", newline="\n") as f:
            f.write("".join(line + "\n" for line in lines))
        usual_mode(tmp, out)  # mkstemp's 0600 would hide a shared export from colleagues
        os.replace(tmp, out)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise
    return len(lines)


def _info_of(suites: SuiteStore, suite: Suite) -> SuiteInfo:
    for info in suites.list_suites(suite.name, all_versions=True):
        if info.id == suite.id:
            return info
    raise SuiteRunError(f"suite {suite.name!r} was not stored")  # pragma: no cover


# --- runs -----------------------------------------------------------------------------------


def run_info(row: SuiteRunRow) -> SuiteRunInfo:
    spec = row.spec
    return SuiteRunInfo(
        run_id=row.id, suite=spec.get("suite", "?"), suite_version=spec.get("suite_version"),
        suite_id=spec.get("suite_id", ""), status=row.state, done=row.done, total=row.total,
        failed=row.failed, models=tuple(spec.get("models", ())), repeat=int(spec.get("repeat", 1)),
        concurrency=int(spec.get("concurrency", 1)), created_at=row.created_at,
        finished_at=row.finished_at, name=row.name,
        not_stored=int((row.summary or {}).get("not_stored", 0)),
    )


def list_runs(suites: SuiteStore, limit: int = 200) -> list[SuiteRunInfo]:
    return [run_info(r) for r in suites.suite_runs(limit, active=_ACTIVE)]


def get_run(suites: SuiteStore, run_id: str) -> SuiteRunInfo | None:
    found = suites.suite_runs(1, run_id=run_id, active=_ACTIVE)
    return run_info(found[0]) if found else None


async def start_run(
    engine: Any,
    suite: Suite,
    models: Sequence[ModelRef],
    *,
    repeat: int = 1,
    concurrency: int = 4,
    settings: GenerationSettings | None = None,
    name: str | None = None,
    progress: Progress | None = None,
    on_response: Callable[[SuiteResponse], None] | None = None,
    on_start: Callable[[str], None] | None = None,
    sink: ResponseSink | None = None,
) -> SuiteRunResult:
    """Store a new run of `suite` and send every cell; see the module docstring."""
    models = list(models)
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
    settings = settings or GenerationSettings()
    await engine.providers.prepare([m.provider for m in models])  # unknown providers fail before anything is stored
    await _reachable(engine, models)
    for ref in models:
        engine.store.providers.add_model(ref.provider, ref.model)
    spec = {
        "suite_id": suite.id, "suite": suite.name, "suite_version": suite.version,
        "cases": len(suite.cases), "models": [str(m) for m in models], "repeat": repeat,
        "concurrency": concurrency, "total": len(suite.cases) * repeat * len(models),
        "settings": settings.as_dict(),
    }
    run_id = engine.store.create_run(SUITE_RUN, spec, name)
    return await _execute(engine, run_id, suite, models, repeat, concurrency, settings,
                          progress, on_response, on_start, sink)


async def resume_run(
    engine: Any,
    run_id: str,
    *,
    concurrency: int | None = None,
    progress: Progress | None = None,
    on_response: Callable[[SuiteResponse], None] | None = None,
    on_start: Callable[[str], None] | None = None,
    sink: ResponseSink | None = None,
) -> SuiteRunResult:
    """Send the cells of a stored run that have no ok answer yet (none, if all are done)."""
    suites = SuiteStore(engine.store)
    found = suites.suite_runs(1, run_id=run_id, active=_ACTIVE)
    if not found:
        raise SuiteRunError(f"no suite run {run_id!r} (see 'desk suite runs')")
    row = found[0]
    if row.state == "running":
        where = f"process {row.writer_pid}" + (f" on {row.writer_host}" if row.writer_host else "")
        raise SuiteRunError(f"suite run {run_id} is still running ({where}); cancel it first")
    spec = row.spec
    suite = suites.get_suite_by_id(spec.get("suite_id", ""))
    if suite is None:
        raise SuiteRunError(f"suite run {run_id}: its suite ({spec.get('suite')!r}) is not in this store")
    try:
        models = [ModelRef.parse(m) for m in spec["models"]]
        settings = GenerationSettings(**{k: v for k, v in spec.get("settings", {}).items()
                                         if k in ("temperature", "max_tokens", "reasoning_effort")})
    except (KeyError, TypeError, ValueError) as exc:
        raise SuiteRunError(f"suite run {run_id}: its stored settings cannot be read ({exc})") from None
    if concurrency is not None and concurrency < 1:
        raise SuiteRunError("--concurrency must be at least 1")
    await engine.providers.prepare([m.provider for m in models])
    await _reachable(engine, models)
    suites.claim_run(run_id)
    return await _execute(engine, run_id, suite, models, int(spec.get("repeat", 1)),
                          concurrency or int(spec.get("concurrency", 4)), settings,
                          progress, on_response, on_start, sink)


async def _reachable(engine: Any, models: Sequence[ModelRef]) -> None:
    """Refuse to start when a provider cannot even be connected to: otherwise every one of
    its cells would fail after its retries, minutes later, with the same message."""
    down = await engine.unreachable([m.provider for m in models])
    if down:
        why = "; ".join(f"{name}: {reason}" for name, reason in down.items())
        raise SuiteRunError(f"cannot reach {', '.join(down)} ({why}); nothing was sent: "
                            "start the server or fix the provider's base URL, then run again")


class _Cell:
    __slots__ = ("case", "model", "sample", "seq", "target")

    def __init__(self, case: Case, sample: int, model: int, target: Target, seq: int) -> None:
        self.case, self.sample, self.model, self.target, self.seq = case, sample, model, target, seq


async def _execute(
    engine: Any,
    run_id: str,
    suite: Suite,
    models: Sequence[ModelRef],
    repeat: int,
    concurrency: int,
    settings: GenerationSettings,
    progress: Progress | None,
    on_response: Callable[[SuiteResponse], None] | None,
    on_start: Callable[[str], None] | None,
    sink: ResponseSink | None,
) -> SuiteRunResult:
    store = engine.store
    suites = SuiteStore(store)
    runner = engine.runner
    _ACTIVE.add(run_id)
    result = SuiteRunResult(run_id, "done")
    status = "running"
    try:
        if on_start is not None:
            _notify(on_start, run_id)
        targets = [engine.providers.target(m, settings) for m in models]
        await asyncio.to_thread(wait_for_preload)
        for t in targets:  # the first price lookup loads the catalog: not mid-stream
            runner.pricer.source(t.config, t.ref.model)
        done_cells = {(case_id, sample, model) for case_id, sample, model, status_, _
                      in suites.cell_statuses(run_id) if status_ == Status.OK.value}
        total = len(suite.cases) * repeat * len(models)
        todo = [
            _Cell(case, sample, m, targets[m], (case.position * repeat + sample) * len(models) + m)
            for case in suite.cases
            for sample in range(repeat)
            for m in range(len(models))
            if (case.id, sample, str(models[m])) not in done_cells
        ]
        result.skipped = total - len(todo)
        finished = result.skipped
        if progress is not None:
            _notify(progress, finished, total)
        recorder = StoreRecorder(store, clean=runner.scrub)
        view = GuardedSink(sink) if sink is not None else None
        guarded = GuardedSink(FanoutSink(recorder, view) if view is not None else recorder)
        cells = iter(todo)

        async def send(cell: _Cell) -> None:
            nonlocal finished
            trial_id = suites.cell_trial(run_id, cell.case, cell.sample)
            answer = runner.new_result(trial_id, cell.target)
            recorder.response_started(answer)  # stored before a byte is sent, or nothing is sent
            if answer.store_error is None:
                try:
                    suites.link_response(answer.id, run_id, cell.seq)
                except Exception as exc:
                    answer.store_error = f"the answer could not be stored (linking it to the run failed: {exc})"
            if answer.store_error is not None:
                result.not_stored.append(f"{_where(cell)}: {answer.store_error}")
                return
            if view is not None:
                view.response_started(answer)
            result.sent += 1
            await runner.run_response(cell.target, cell.case.trial_input(), answer, guarded)
            if answer.store_error is not None:  # shown, paid for, but not saved: lost, not ok
                result.not_stored.append(f"{_where(cell)}: {answer.store_error}")
                return
            auto = _auto_verdict(suites, cell.case, answer)
            if answer.status == Status.OK:
                result.ok += 1
                finished += 1
            else:
                result.failed += 1
                if answer.error_kind in PERSISTENT_KINDS:
                    result.held_back.setdefault(
                        str(cell.target.ref), f"{answer.error_kind.value}: {answer.error_message or 'no message'}")
            item = SuiteResponse(run_id, cell.case, cell.sample, answer, auto)
            result.responses.append(item)
            if on_response is not None:  # first, so a progress line counts this answer's outcome
                _notify(on_response, item)
            if progress is not None:
                _notify(progress, finished, total)

        async def worker() -> None:
            for cell in cells:
                if result.not_stored:  # the store refuses writes: sending more only loses more
                    result.not_sent += 1
                    continue
                if str(cell.target.ref) in result.held_back:
                    result.not_sent += 1
                    continue
                await send(cell)

        workers = [asyncio.ensure_future(worker()) for _ in range(min(concurrency, len(todo)))]
        try:
            await asyncio.gather(*workers)
        except BaseException:
            for w in workers:
                w.cancel()
            await asyncio.gather(*workers, return_exceptions=True)
            raise
        status = "done"
    except asyncio.CancelledError:
        status = "cancelled"
    finally:
        _ACTIVE.discard(run_id)
        summary = {"sent": result.sent, "ok": result.ok, "failed": result.failed, "skipped": result.skipped,
                   "not_stored": len(result.not_stored)}
        if status == "running" or (status == "done" and result.not_stored):
            status = "interrupted"  # an unexpected error or lost answers: the run can be resumed
        store.finish_run(run_id, status, summary)
    result.status = status
    result.info = get_run(suites, run_id)
    if status == "cancelled":
        raise SuiteRunCancelled(result)
    return result


def _where(cell: _Cell) -> str:
    return f"case {cell.case.key} sample {cell.sample}, {cell.target.ref}"


def _notify(callback: Callable[..., None], *args: Any) -> None:
    """Tell a caller's callback; a failing one (a closed pipe, a view bug) never stops the run."""
    try:
        callback(*args)
    except Exception:
        log.exception("suite run callback %r failed; the run goes on", callback)


def _auto_verdict(suites: SuiteStore, case: Case, answer: ResponseResult) -> Rating | None:
    """Check a follow_constraints answer in code and store the verdict as rater 'auto'."""
    if answer.status != Status.OK or case.expect != "follow_constraints" or not case.constraints:
        return None
    try:
        from desk.core import constraints as checker
    except ImportError:
        return None
    specs = [c.as_json() for c in case.constraints]
    try:
        if not checker.supported(specs):
            return None
        values = auto_values(checker.check(answer.text, specs))
        desk_reading = {DESK_KEY: values.pop(DESK_KEY)}  # outside the rubric, beside the official verdict
        return suites.save_partial_rating(answer.id, AUTO_RATER, values, desk_reading)
    except Exception:  # a checker bug must not stop the run; the answer is stored
        log.exception("automatic constraint check failed for case %s", case.key)
        return None


# --- reading a run back ----------------------------------------------------------------------


def _pick(responses: list[tuple[str, ResponseResult]]) -> tuple[str, ResponseResult] | None:
    """The answer that counts for a cell: the latest ok one, else the latest."""
    ok = [p for p in responses if p[1].status == Status.OK]
    chosen = ok or responses
    return chosen[-1] if chosen else None


def _run_parts(engine: Any, run_id: str) -> tuple[SuiteRunInfo, Suite, list[str], dict[Any, list[Any]]]:
    suites = SuiteStore(engine.store)
    info = get_run(suites, run_id)
    if info is None:
        raise SuiteRunError(f"no suite run {run_id!r}")
    suite = suites.get_suite_by_id(info.suite_id)
    if suite is None:
        raise SuiteRunError(f"suite run {run_id}: its suite is not in this store")
    by_cell: dict[tuple[str, int, str], list[tuple[str, ResponseResult]]] = {}
    for cell in suites.run_cells(run_id):
        by_cell.setdefault((cell.case_id, cell.sample, cell.response.model), []).append(
            (cell.trial_id, cell.response))
    return info, suite, list(info.models), by_cell


def matrix(engine: Any, run_id: str) -> SuiteMatrix:
    info, suite, models, by_cell = _run_parts(engine, run_id)
    suites = SuiteStore(engine.store)
    trials = {(case_id, sample): trial_id for case_id, sample, trial_id in suites.run_trials(run_id)}
    chosen = {key: _pick(found) for key, found in by_cell.items()}
    ids = [p[1].id for p in chosen.values() if p is not None]
    ratings: dict[str, list[Rating]] = {}
    for rating in engine.store.current_ratings(ids) if ids else []:
        ratings.setdefault(rating.response_id, []).append(rating)
    cells = []
    for case in suite.cases:
        for sample in range(info.repeat):
            for model in models:
                key = (case.id or "", sample, model)
                pick = chosen.get(key)
                r = pick[1] if pick else None
                given = ratings.get(r.id, []) if r else []
                people = [x for x in given if x.rater != AUTO_RATER]
                auto = next((x for x in given if x.rater == AUTO_RATER), None)
                human = None
                if people:
                    values = combined_rating(people)
                    human = RatingSummary(values.get("outcome"), values.get("uncertainty"),
                                          values.get("constraints"), values.get("quality"),
                                          tuple(sorted({x.rater for x in people})),
                                          handled(case.expect, values))
                cells.append(MatrixCell(
                    case_id=case.id or "", case_key=case.key, sample=sample, model=model,
                    trial_id=trials.get((case.id or "", sample)), response_id=r.id if r else None,
                    status=r.status.value if r else None,
                    error_kind=r.error_kind.value if r and r.error_kind else None,
                    first_line=_first_line(r.text) if r else "", ttft_ms=r.ttft_ms if r else None,
                    total_ms=r.total_ms if r else None, cost_usd=r.cost_usd if r else None,
                    answers=len(by_cell.get(key, ())), human=human,
                    auto_constraints=auto.constraints if auto else None,
                    auto_note=auto.note if auto else None,
                ))
    return SuiteMatrix(info, suite, tuple(models), info.repeat, tuple(cells))


def _first_line(text: str, limit: int = 200) -> str:
    for line in text.splitlines():
        if line.strip():
            return line.strip()[:limit]
    return ""


def rating_queue(engine: Any, run_id: str, rater: str | None = None) -> list[QueueItem]:
    info, suite, models, by_cell = _run_parts(engine, run_id)
    suites = SuiteStore(engine.store)
    trials = {(case_id, sample): trial_id for case_id, sample, trial_id in suites.run_trials(run_id)}
    items = []
    for case in suite.cases:
        for sample in range(info.repeat):
            trial_id = trials.get((case.id or "", sample))
            if trial_id is None:
                continue
            picked = [(m, _pick(by_cell.get((case.id or "", sample, m), []))) for m in models]
            present = [(m, p[1].id) for m, p in picked if p is not None]
            if not present:
                continue
            items.append(QueueItem(case, sample, trial_id, tuple(i for _, i in present),
                                   tuple(m for m, _ in present)))
    if rater:
        ids = [i for item in items for i in item.response_ids]
        rated = {r.response_id for r in engine.store.current_ratings(ids, rater=rater)} if ids else set()
        items = [QueueItem(it.case, it.sample, it.trial_id, it.response_ids, it.models,
                           tuple(i for i in it.response_ids if i in rated)) for it in items]
    return items


def disagreements(engine: Any, run_id: str | None = None) -> list[Disagreement]:
    """Answers where the automatic constraint verdict and a person's differ (one entry per
    person who disagrees), in the order the answers were stored."""
    store = engine.store
    autos = store.current_ratings(rater=AUTO_RATER)
    keys: dict[str, str] = {}
    if run_id is not None:
        _, suite, _, by_cell = _run_parts(engine, run_id)
        case_keys = {c.id: c.key for c in suite.cases}
        for (case_id, _, _), found in by_cell.items():
            for _, r in found:
                keys[r.id] = case_keys.get(case_id, "")
        autos = [a for a in autos if a.response_id in keys]
    autos = [a for a in autos if a.constraints in ("followed", "violated")]
    if not autos:
        return []
    humans = [r for r in store.current_ratings([a.response_id for a in autos]) if r.rater != AUTO_RATER]
    by_response: dict[str, list[Rating]] = {}
    for h in humans:
        by_response.setdefault(h.response_id, []).append(h)
    responses = SuiteStore(store).responses_by_ids([a.response_id for a in autos])
    out = []
    for a in autos:
        r = responses.get(a.response_id)
        if r is None:
            continue
        for h in by_response.get(a.response_id, []):
            if h.constraints in ("followed", "violated") and h.constraints != a.constraints:
                out.append(Disagreement(r.id, r.trial_id, r.model, keys.get(r.id, ""), a.constraints or "",
                                        h.constraints, h.rater, a.note))
    return out


def counted_answers(engine: Any, run_id: str) -> tuple[Suite, dict[tuple[str, int, str], ResponseResult]]:
    """A run's suite and the answer that counts for each (case id, sample, model) cell (the
    one its matrix shows: the latest ok)."""
    _, suite, _, by_cell = _run_parts(engine, run_id)
    picked = {key: _pick(found) for key, found in by_cell.items()}
    return suite, {key: pick[1] for key, pick in picked.items() if pick is not None}


def run_units(engine: Any, run_id: str) -> tuple[SuiteRunInfo, Suite, list[tuple[tuple[str, int], str, str]],
                                                 dict[str, str], list[str]]:
    """For the scorecard: (unit=(case, sample), model, response id) of every answer, the
    expect kind of each response, and the run's trial ids."""
    info, suite, _, by_cell = _run_parts(engine, run_id)
    expect = {c.id: c.expect for c in suite.cases}
    units = []
    expect_of = {}
    trial_ids: list[str] = []
    for (case_id, sample, model), found in by_cell.items():
        for trial_id, r in found:
            units.append(((case_id, sample), model, r.id))
            expect_of[r.id] = expect.get(case_id, "")
            trial_ids.append(trial_id)
    suites = SuiteStore(engine.store)
    trial_ids = list(dict.fromkeys([t for _, _, t in suites.run_trials(run_id)] + trial_ids))
    return info, suite, units, expect_of, trial_ids
