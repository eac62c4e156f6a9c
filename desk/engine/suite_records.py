"""What a suite run is, as the rest of desk sees it: its listing, one finished answer, the
result of a call, the matrix of cells, the rating queue and disagreements, and the
errors a suite operation raises. Plain data; the sending is desk.engine.suite_run's."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, NamedTuple

from desk.core.rating import Rating
from desk.core.response import ErrorKind, ResponseResult
from desk.core.run_conditions import RunConditions, conditions_of
from desk.core.suite import Case, Suite
from desk.store.suites import SuiteRunRow

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
    rerun_of: str | None = None  # the run this one repeats ('desk suite rerun')
    conditions: tuple[RunConditions, ...] = ()  # the machine at each sending (desk.core.run_conditions)

    def as_json(self) -> dict[str, Any]:
        return {"run_id": self.run_id, "suite": self.suite, "version": self.suite_version,
                "status": self.status, "done": self.done, "total": self.total, "failed": self.failed,
                "not_stored": self.not_stored,
                "models": list(self.models), "repeat": self.repeat, "concurrency": self.concurrency,
                "created_at": self.created_at, "finished_at": self.finished_at, "name": self.name,
                "rerun_of": self.rerun_of, "conditions": [c.as_json() for c in self.conditions]}


@dataclass(frozen=True)
class SuiteResponse:
    """One finished answer of a run, located in it."""

    run_id: str
    case: Case
    sample: int
    response: ResponseResult
    auto: Rating | None = None  # the automatic constraint verdict, if one was made
    turn: int = 1  # 2 on: the answer after the case's clarification


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


class RatingSummary(NamedTuple):
    """The human ratings of one answer, combined (majority per criterion, mean quality). A
    light row: a run of 100,000 answers may have as many."""

    outcome: str | None
    uncertainty: str | None
    constraints: str | None
    quality: float | None
    raters: tuple[str, ...]
    handled: bool | None  # showed the behaviour its case expects (None: not judged / no expect)


class MatrixCell(NamedTuple):
    """One (case, sample, model) of a run: the answer that counts for it (the ok one if
    any, else the latest), or none yet (`status` None). A light row: a run of 100,000
    answers makes as many."""

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
    turn: int = 1  # the counted answer's turn: 2 on after the case's clarification


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


def run_info(row: SuiteRunRow) -> SuiteRunInfo:
    spec = row.spec
    return SuiteRunInfo(
        run_id=row.id, suite=spec.get("suite", "?"), suite_version=spec.get("suite_version"),
        suite_id=spec.get("suite_id", ""), status=row.state, done=row.done, total=row.total,
        failed=row.failed, models=tuple(spec.get("models", ())), repeat=int(spec.get("repeat", 1)),
        concurrency=int(spec.get("concurrency", 1)), created_at=row.created_at,
        finished_at=row.finished_at, name=row.name,
        not_stored=int((row.summary or {}).get("not_stored", 0)), rerun_of=spec.get("rerun_of"),
        conditions=conditions_of(row.summary),
    )
