"""The one place a load plan is built from what a user asked for.

`desk load` and the Load tab each map their input (flags, form fields) to a `LoadInput`;
`build_plan` checks it and builds the `LoadPlan`. Its messages name each field the way the
surface does, through the surface's `PlanLabels` (the CLI's flags, the window's form labels),
so one rule reads right on both.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from desk.core.load import LoadStep
from desk.core.trial import GenerationSettings, ModelRef, TrialInput
from desk.engine.policy import RetryPolicy, Timeouts

if TYPE_CHECKING:  # the runner and HTTP behind it load only when a plan is built, not with the CLI's parser
    from desk.engine.load import LoadPlan

DEFAULT_RETRY = RetryPolicy()
DEFAULT_TIMEOUTS = Timeouts()


@dataclass(frozen=True)
class PlanLabels:
    """How a surface names each field in a message about it."""

    models: str
    prompt: str  # the subject of "… is empty"
    dataset: str  # what else could be chosen instead of a prompt
    ramp: str
    requests: str  # "give each step {requests} or {duration}"
    duration: str
    backoff: str  # put before the two backoff fields (the window's "Backoff: ")
    backoff_base: str
    backoff_max: str


@dataclass(frozen=True)
class LoadInput:
    """A load run as a front-end received it, before any check. The task is `trial` (a
    whole task), else `dataset` (its rows), else `prompt` with `system`."""

    models: tuple[str, ...]
    prompt: str = ""
    system: str | None = None  # with a trial: replaces the trial's own when not None ("" removes it)
    dataset: tuple[TrialInput, ...] | None = None
    trial: TrialInput | None = None
    source: str = ""  # where the dataset or trial came from, stored with the run
    ramp: str = ""  # concurrency levels as typed; "" runs one step at `concurrency`
    concurrency: int = 10
    requests: int | None = None
    duration_s: float | None = None
    max_retries: int = DEFAULT_RETRY.max_retries
    honour_retry_after: bool = DEFAULT_RETRY.honour_retry_after
    backoff_base: float = DEFAULT_RETRY.base_delay
    backoff_max: float = DEFAULT_RETRY.max_delay
    connect_timeout: float = DEFAULT_TIMEOUTS.connect
    first_token_timeout: float = DEFAULT_TIMEOUTS.first_token
    idle_timeout: float = DEFAULT_TIMEOUTS.idle
    total_timeout: float = DEFAULT_TIMEOUTS.total
    fallback: tuple[str, ...] = ()
    budget_ms: float | None = None
    temperature: float | None = None
    max_tokens: int | None = None
    warmup: bool = True
    workers: int = 0  # worker processes; 0: chosen by the plan's width and the cores
    cluster: str = ""  # a Ray cluster's address: the workers run there (desk.engine.services.load_cluster)


def parse_ramp(text: str, label: str = "ramp") -> list[int]:
    """Concurrency levels: "1, 8,32 ,128" -> [1, 8, 32, 128]; "" -> [] (no ramp); else
    ValueError naming the field by `label`."""
    if not text.strip():
        return []
    levels = []
    for part in text.replace(";", ",").split(","):
        part = part.strip()
        if not part.isdigit() or int(part) < 1:
            shown = part or "an empty level"
            raise ValueError(f"{label}: {shown!r} is not a whole number of at least 1; "
                             "write concurrency levels like 1,8,32,128")
        levels.append(int(part))
    return levels


def build_plan(given: LoadInput, labels: PlanLabels) -> LoadPlan:
    """The plan `given` describes, or ValueError with a sentence naming the field by `labels`."""
    from desk.engine.load import LoadPlan

    if not given.models:
        raise ValueError(f"{labels.models}: choose at least one model to load.")
    models = tuple(ModelRef.parse(m) for m in given.models)
    inputs, source = _task(given, labels)
    levels = parse_ramp(given.ramp, labels.ramp) or [given.concurrency]
    if given.requests is None and given.duration_s is None:
        raise ValueError(f"Give each step {labels.requests} or {labels.duration}.")
    steps = tuple(LoadStep(c, given.requests, given.duration_s) for c in levels)
    base, longest = given.backoff_base, given.backoff_max
    if base < 0:
        raise ValueError(f"{labels.backoff}{labels.backoff_base} ({base:g} s) cannot be negative.")
    if longest < base:
        raise ValueError(f"{labels.backoff}{labels.backoff_max} ({longest:g} s) cannot be shorter than "
                         f"{labels.backoff_base} ({base:g} s).")
    return LoadPlan(
        models=models,
        inputs=inputs,
        steps=steps,
        settings=GenerationSettings(temperature=given.temperature, max_tokens=given.max_tokens),
        retry=RetryPolicy(max_retries=given.max_retries, base_delay=base, max_delay=longest,
                          honour_retry_after=given.honour_retry_after),
        timeouts=Timeouts(connect=given.connect_timeout, first_token=given.first_token_timeout,
                          idle=given.idle_timeout, total=given.total_timeout),
        fallback=tuple(ModelRef.parse(m) for m in given.fallback),
        p95_budget_ms=given.budget_ms,
        warmup=given.warmup,
        source=source,
        workers=given.workers,
        cluster=given.cluster,
    )


def _task(given: LoadInput, labels: PlanLabels) -> tuple[tuple[TrialInput, ...], str]:
    """What every request sends, and where it came from."""
    if given.trial is not None:
        trial = given.trial
        if given.system is not None:  # an explicit system prompt replaces the trial's own
            trial = TrialInput(trial.prompt, given.system or None, trial.attachments)
        return (trial,), given.source or "trial"
    if given.dataset is not None:  # without rows, LoadPlan says a dataset needs one
        return tuple(given.dataset), given.source or "dataset"
    if not given.prompt.strip():
        raise ValueError(f"{labels.prompt} is empty: write one, or choose {labels.dataset}.")
    return (TrialInput(given.prompt, given.system or None),), "prompt"
