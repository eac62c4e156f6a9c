"""Resuming a load run cut short (cancelled, a worker or the whole cluster lost, desk killed):
`desk load --resume RUN_ID` sends what the run still had to send, into the same run.

What is missing: for each step by request count, the requests that never finished (every
stored request that ended, ok or error, counts; one stored as interrupted is sent again),
as many as the model most behind still needs (a model ahead may end a few over its count),
at the step's concurrency; a step by duration that sent nothing is run whole, one that
started is kept as measured. The plan is the stored run's (its prompts from its stored
trials), on one machine, its processes or a cluster as asked this time.

On the run's clock: the resumed requests' offsets count from the run's first start, the
stored attempts keep their wall times, and the summary is figured again over every stored
request, a resumed step's wall time being the sum of its parts.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from typing import Any

from desk.core import clock
from desk.core.load import LoadStep, RequestOutcome, summarize
from desk.core.response import ResponseResult
from desk.core.trial import GenerationSettings, ModelRef, TrialInput
from desk.engine.errors import EngineError
from desk.engine.load import LoadPlan, RequestWriter, RunContext
from desk.engine.policy import RetryPolicy, Timeouts
from desk.engine.ports.runs import RunConnection
from desk.store.runs import RunInfo

_SETTINGS = ("temperature", "max_tokens", "reasoning_effort")


@dataclass(frozen=True)
class ResumePoint:
    run_id: str
    plan: LoadPlan  # the whole run's plan, as stored
    rest: LoadPlan  # only what is still to send: its steps are `numbers` of the run's
    numbers: tuple[int, ...]
    trial_ids: list[str]
    first_seq: int
    started_at: float  # the run's first start (unix seconds): every offset counts from it
    earlier: list[RequestOutcome]
    earlier_summary: dict[str, Any]


def stored_policy(spec: dict[str, Any]) -> tuple[Timeouts, RetryPolicy]:
    """A stored run's timeouts and retries (what a resumed part is sent with)."""
    return Timeouts(**spec["timeouts"]), RetryPolicy(**spec["retry"])


def _plan(spec: dict[str, Any], inputs: tuple[TrialInput, ...]) -> LoadPlan:
    settings = GenerationSettings(**{k: v for k, v in (spec.get("settings") or {}).items() if k in _SETTINGS})
    timeouts, retry = stored_policy(spec)
    return LoadPlan(
        models=tuple(ModelRef.parse(m) for m in spec["models"]), inputs=inputs,
        steps=tuple(LoadStep(s["concurrency"], s.get("requests"), s.get("duration_s")) for s in spec["steps"]),
        settings=settings, retry=retry, timeouts=timeouts,
        fallback=tuple(ModelRef.parse(m) for m in spec.get("fallback") or []),
        p95_budget_ms=spec.get("p95_budget_ms"), stream=spec.get("stream", True), warmup=spec.get("warmup", True),
        source=spec.get("source", ""), workers=spec.get("workers", 0), cluster=spec.get("cluster", ""))


def still_to_send(info: RunInfo, stored: Sequence[RequestOutcome]) -> list[tuple[int, LoadStep]]:
    """The steps run `info` has not finished (by their number in the run), each with what it
    still has to send (see the module's docstring)."""
    ended = [o for o in stored if o.status != "interrupted"]
    models = [str(m) for m in info.spec.get("models") or []]
    rest: list[tuple[int, LoadStep]] = []
    for k, s in enumerate(info.spec.get("steps") or []):
        step = LoadStep(s["concurrency"], s.get("requests"), s.get("duration_s"))
        done = [sum(1 for o in ended if o.step == k and o.model == m) for m in models]
        if step.requests is not None and done and max(step.requests - d for d in done) > 0:
            rest.append((k, LoadStep(step.concurrency, max(step.requests - d for d in done))))
        elif step.requests is None and not any(o.step == k for o in stored):
            rest.append((k, step))
    return rest


def resume_problem(info: RunInfo, stored: Sequence[RequestOutcome]) -> str | None:
    """Why run `info` cannot be resumed (None: it can), given its stored requests."""
    if info.kind != "load":
        return f"run {info.id} is a {info.kind} run, not a load run"
    if info.status in ("done", "running"):
        return f"run {info.id} is {info.status}: nothing to resume"
    if not info.spec.get("trial_ids"):
        return f"run {info.id} was stored before desk kept its prompts for resuming: run it again"
    if not still_to_send(info, stored):
        return f"run {info.id} has every request it planned: nothing to resume"
    return None


def resume_point(info: RunInfo, stored: list[RequestOutcome], get_trial: Callable[[str], TrialInput | None],
                 *, workers: int | None, cluster: str | None, first_wall: float | None) -> ResumePoint:
    """Where run `info` stands and what it still has to send; EngineError when it cannot go on.
    `first_wall`: when the run started, for a run that never stored it (desk died mid-run)."""
    problem = resume_problem(info, stored)
    if problem is not None:
        raise EngineError(problem)
    trial_ids = info.spec["trial_ids"]
    inputs = [get_trial(t) for t in trial_ids]
    if any(i is None for i in inputs):
        raise EngineError(f"run {info.id}: some of its prompts are no longer in the store")
    plan = _plan(info.spec, tuple(i for i in inputs if i is not None))
    plan = replace(plan, workers=plan.workers if workers is None else workers,
                   cluster=plan.cluster if cluster is None else cluster)
    rest = still_to_send(info, stored)
    summary = info.summary or {}
    started_at = summary.get("started_at") or first_wall
    return ResumePoint(info.id, plan, replace(plan, steps=tuple(s for _, s in rest)), tuple(k for k, _ in rest),
                       list(trial_ids), max((o.seq for o in stored), default=-1) + 1,
                       started_at if started_at is not None else info.created_at, stored, summary)


class ResumedWriter(RequestWriter):
    """The run's writer for the resumed part: each request under its step's number in the
    run and with its offset from the run's first start."""

    def __init__(self, open_store: Callable[[], RunConnection], point: ResumePoint) -> None:
        super().__init__(open_store, point.run_id)
        self.point = point
        self.ctx: RunContext | None = None  # set once the run's context exists

    def put(self, outcome: RequestOutcome, calls: list[tuple[int, ResponseResult]]) -> None:
        if self.ctx is not None:
            later_ms = (clock.wall(self.ctx.t_run) - self.point.started_at) * 1000
            outcome.start_offset_ms = round(outcome.start_offset_ms + later_ms, 3)
        outcome.step = self.point.numbers[outcome.step]
        super().put(outcome, calls)


def merged_steps(point: ResumePoint, outcomes: Sequence[RequestOutcome],
                 steps: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Every step's figures over all its requests: a resumed step's wall time is its earlier
    wall time (as stored, else from its requests) plus the resumed part's."""
    earlier = {s["step"]: s for s in point.earlier_summary.get("steps") or []}
    now = {point.numbers[s["step"]]: s for s in steps}
    merged = []
    for k, step in enumerate(point.plan.steps):
        mine = [o for o in outcomes if o.step == k]
        if not mine and k not in earlier:
            continue
        before = [o for o in point.earlier if o.step == k]
        wall = earlier[k]["wall_s"] if k in earlier else _span_s(before)
        wall += now[k]["wall_s"] if k in now else 0.0
        merged.append({"step": k, "concurrency": step.concurrency, "wall_s": wall,
                       "send_burst_ms": (now.get(k) or earlier.get(k) or {}).get("send_burst_ms"),
                       "models": {str(m): summarize([o for o in mine if o.model == str(m)], wall)
                                  for m in point.plan.models}})
    return merged


def _span_s(outcomes: Sequence[RequestOutcome]) -> float:
    if not outcomes:
        return 0.0
    start = min(o.start_offset_ms for o in outcomes)
    return (max(o.start_offset_ms + (o.total_ms or 0.0) for o in outcomes) - start) / 1000
