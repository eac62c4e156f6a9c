"""Load runs as data: the plan (steps of concurrency), one record per request, and the
figures users ask vendors about (percentiles, throughput, errors, cost per success, knee).

A *request* here is one logical task: it may take several attempts (retries) and, with a
fallback chain, several models; it is `ok` when any model in the chain answered, and its
cost includes every attempt on every model.
"""

from __future__ import annotations

import copy
import difflib
import functools
import itertools
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from desk.core.clustered_bootstrap import Pool, clustered_p95
from desk.core.statistics import bootstrap_percentile_intervals, percentile

PERCENTILES = (50, 90, 95, 99)
BOOTSTRAP_RESAMPLES = 500


@dataclass(frozen=True)
class LoadStep:
    """One plateau of a run: `concurrency` requests in flight, until `requests` have been
    sent or `duration_s` has passed (whichever is set; both: whichever comes first)."""

    concurrency: int
    requests: int | None = None
    duration_s: float | None = None

    def __post_init__(self) -> None:
        if self.concurrency < 1:
            raise ValueError("concurrency must be at least 1")
        if self.requests is None and self.duration_s is None:
            raise ValueError("a step needs a request count or a duration")
        if self.requests is not None and self.requests < 1:
            raise ValueError("a step needs at least one request")
        if self.duration_s is not None and self.duration_s <= 0:
            raise ValueError("a step's duration must be positive")


def ramp(levels: Sequence[int], *, requests: int | None = None, duration_s: float | None = None) -> tuple[LoadStep, ...]:
    """Steps at each concurrency level with the same count or duration per step."""
    if not levels:
        raise ValueError("a ramp needs at least one concurrency level")
    return tuple(LoadStep(c, requests, duration_s) for c in levels)


# Rate-limit headers that say what is left, in the order they are looked for.
REMAINING_REQUESTS_HEADERS = ("x-ratelimit-remaining-requests", "anthropic-ratelimit-requests-remaining")
REMAINING_TOKENS_HEADERS = (
    "x-ratelimit-remaining-tokens",
    "anthropic-ratelimit-tokens-remaining",  # the most restrictive of input and output
    "anthropic-ratelimit-input-tokens-remaining",
)
THROTTLE_WINDOW_S = 5.0  # the request rate at the first 429 is measured over this long before it


def remaining(ratelimit: Mapping[str, str]) -> tuple[float | None, float | None]:
    """(requests, tokens) the vendor says are left, from an attempt's rate-limit headers
    as sent; None where it did not say (or said something that is not a number)."""

    def first(names: Sequence[str]) -> float | None:
        for name in names:
            value = ratelimit.get(name)
            if value is not None:
                try:
                    return float(value)
                except ValueError:
                    continue
        return None

    return first(REMAINING_REQUESTS_HEADERS), first(REMAINING_TOKENS_HEADERS)


@dataclass(frozen=True)
class AttemptMark:
    """One HTTP request made for a load-run request: what the rate-limit telemetry needs."""

    model: str  # the model called (a fallback's own name when it was one)
    start_s: float  # when it was sent, seconds since the run started
    end_s: float | None
    http_status: int | None
    remaining_requests: float | None = None  # as the vendor's headers said on this answer
    remaining_tokens: float | None = None


@dataclass
class RequestOutcome:
    """One logical request of a load run."""

    model: str  # the primary model (first of the chain)
    step: int
    concurrency: int
    seq: int
    start_offset_ms: float  # since the run started
    status: str  # ok | error | interrupted
    error_kind: str | None = None
    answered_by: str | None = None  # the model that answered (differs when a fallback was used)
    # From the request's start to the first token of the answer that came back: retries,
    # their waits and fallbacks included (a response's own `ttft_ms` is its final attempt's).
    request_ttft_ms: float | None = None
    total_ms: float | None = None  # the whole request: every attempt, wait and fallback
    itl_ms: list[float] = field(default_factory=list)  # gaps between content chunks
    attempts: int = 0
    retries: int = 0
    rate_limited: int = 0  # attempts answered 429
    retry_wait_ms: float = 0.0
    input_tokens: int | None = None
    output_tokens: int | None = None
    cost_usd: float | None = None
    response_ids: list[str] = field(default_factory=list)
    input_index: int = 0  # which prompt of the run (its dataset row)
    text: str = field(default="", repr=False)  # the answer, for stability figures (kept in memory)
    # every HTTP request it made (rebuilt from the attempts table for a stored run)
    marks: list[AttemptMark] = field(default_factory=list, repr=False)

    @property
    def fallback_used(self) -> bool:
        """Answered by a model further down the chain."""
        return self.answered_by is not None and self.answered_by != self.model

    @property
    def fallback_needed(self) -> bool:
        """The next model in the chain was asked, whether or not it then answered (one
        response is stored per model asked)."""
        return len(self.response_ids) > 1 or self.fallback_used

    @property
    def cost_unknown(self) -> bool:
        """Tokens were (or may have been) billed but no price was known. A request that
        failed without usage or content reported is not: vendors bill tokens, and none came."""
        if self.cost_usd is not None:
            return False
        return (self.status == "ok" or self.input_tokens is not None or self.output_tokens is not None
                or bool(self.text))


def _pcts(values: Sequence[float], seed: int, ci: tuple[float, float] | bool | None = True) -> dict[str, Any]:
    """Percentiles of `values`; `ci` True: a bootstrap interval on p95 over `values`,
    else the interval to report (computed by the caller) or None."""
    values = sorted(values)  # once: percentile's own sort of sorted data is a single pass
    out: dict[str, Any] = {f"p{p}": percentile(values, p) for p in PERCENTILES}
    out["n"] = len(values)
    if ci is True:
        found = bootstrap_percentile_intervals(values, (95,), seed=seed, n_resamples=BOOTSTRAP_RESAMPLES)
        ci = found[95] if found else None
    out["p95_ci"] = list(ci) if ci else None
    return out


def clustered_p95_interval(groups: Sequence[Sequence[float]], *, seed: int = 0,
                           n_resamples: int = BOOTSTRAP_RESAMPLES,
                           confidence: float = 0.95) -> tuple[float, float] | None:
    """Percentile-bootstrap interval for the p95 of the pooled values of `groups`,
    resampling whole groups: the gaps of one streamed answer are not independent of each
    other (one slow connection slows them all), so resampling single gaps would give an
    interval too narrow. None with fewer than two non-empty groups."""
    return clustered_p95(Pool(groups), seed, n_resamples, confidence)


def summarize(outcomes: Sequence[RequestOutcome], wall_s: float, *, seed: int = 0) -> dict[str, Any]:
    """The figures for a set of requests that ran over `wall_s` seconds.

    Cost: `cost_usd` sums the requests whose cost is known; `cost_unknown` counts those that
    used tokens with no known price. With some unknown, the cost figures are lower bounds
    (`cost_partial`); with none known they are None, never $0."""
    ok = [o for o in outcomes if o.status == "ok"]
    errors = Counter(o.error_kind or o.status for o in outcomes if o.status != "ok")
    costs = [o.cost_usd for o in outcomes if o.cost_usd is not None]
    unknown = sum(1 for o in outcomes if o.cost_unknown)
    cost = round(sum(costs), 10) if costs else None
    retries = sum(o.retries for o in outcomes)
    itl = Pool([o.itl_ms for o in ok])
    return {
        "requests": len(outcomes),
        "ok": len(ok),
        "errors": dict(sorted(errors.items())),
        "error_rate": (len(outcomes) - len(ok)) / len(outcomes) if outcomes else None,
        "ttft_ms": _pcts([o.request_ttft_ms for o in ok if o.request_ttft_ms is not None], seed),
        "total_ms": _pcts([o.total_ms for o in ok if o.total_ms is not None], seed),
        # resampled by request, not by gap: see clustered_p95_interval
        "itl_ms": _pcts(itl.ascending(), seed, clustered_p95(itl, seed, BOOTSTRAP_RESAMPLES, 0.95)),
        **_rates(ok, wall_s),
        "retries": retries,
        "retries_per_success": retries / len(ok) if ok else None,
        "rate_limited": sum(o.rate_limited for o in outcomes),
        "retry_wait_ms": round(sum(o.retry_wait_ms for o in outcomes), 3),
        "fallbacks": sum(1 for o in outcomes if o.fallback_needed),  # asked the next model, answered or not
        "fallbacks_answered": sum(1 for o in ok if o.fallback_used),
        "cost_usd": cost,
        "cost_unknown": unknown,
        "cost_partial": cost is not None and unknown > 0,
        "cost_per_request_usd": cost / len(outcomes) if cost is not None and outcomes else None,
        "cost_per_success_usd": cost / len(ok) if cost is not None and ok else None,
        "latency_spread_ms": _spread([o.total_ms for o in ok if o.total_ms is not None]),
        "stability": stability(outcomes),
    }


def _rates(ok: Sequence[RequestOutcome], wall_s: float) -> dict[str, float | None]:
    """The figures of `summarize` that depend on the wall time, from the requests answered."""
    output = sum(o.output_tokens or 0 for o in ok)
    return {
        "throughput_rps": len(ok) / wall_s if wall_s > 0 else None,
        "output_tokens_per_s": output / wall_s if wall_s > 0 and any(o.output_tokens is not None for o in ok) else None,
    }


def run_figures(outcomes: Sequence[RequestOutcome], wall_s: float, steps: Sequence[dict[str, Any]],
                model: str) -> dict[str, Any]:
    """`summarize` for `model`'s requests of a whole run (`outcomes`, in the run's order), given
    its step summaries. A run of one step: that step's figures are over the same requests in
    the same order (every step summary is), so only the rates are worked out again, over the
    run's wall time, rather than every percentile and bootstrap twice."""
    if len(steps) == 1:
        step, figures = steps[0]["step"], steps[0]["models"].get(model)
        if figures is not None and figures["requests"] == len(outcomes) and all(o.step == step for o in outcomes):
            return {**copy.deepcopy(figures), **_rates([o for o in outcomes if o.status == "ok"], wall_s)}
    return summarize(outcomes, wall_s)


def _spread(values: Sequence[float]) -> dict[str, float] | None:
    """Spread of latency: the middle half (p25–p75) and the standard deviation."""
    if len(values) < 2:
        return None
    mean = sum(values) / len(values)
    sd = (sum((v - mean) ** 2 for v in values) / (len(values) - 1)) ** 0.5
    iqr = (percentile(values, 75) or 0.0) - (percentile(values, 25) or 0.0)
    return {"iqr": iqr, "stdev": sd, "min": min(values), "max": max(values)}


def normalise(text: str) -> str:
    """Case, spacing and trailing punctuation do not make two answers different."""
    return " ".join(text.lower().split()).strip(" .!?,;:")


def agreement(texts: Sequence[str], max_pairs: int = 200) -> dict[str, Any] | None:
    """How often repeated answers to the same prompt agree: the share equal (normalised) to
    the most common answer, and the mean pairwise similarity (difflib ratio, 0..1)."""
    if len(texts) < 2:
        return None
    norm = [normalise(t) for t in texts]
    top = Counter(norm).most_common(1)[0][1]
    pairs = list(itertools.islice(itertools.combinations(range(len(norm)), 2), max_pairs))
    sims = [_similarity(norm[i], norm[j]) for i, j in pairs]
    return {"n": len(texts), "exact_match_rate": top / len(texts), "mean_similarity": sum(sims) / len(sims)}


@functools.lru_cache(maxsize=1024)
def _similarity(a: str, b: str) -> float:
    """difflib's ratio of `a` to `b` (the pair's order kept: ratio is not symmetric), once
    per distinct pair: repeated answers repeat pairs, and a run's summary meets the same
    pairs again in its step's. Equal texts are 1.0 exactly, as difflib would count them."""
    if a == b:
        return 1.0
    return difflib.SequenceMatcher(None, a, b, autojunk=False).ratio()


def stability(outcomes: Sequence[RequestOutcome]) -> dict[str, Any] | None:
    """Agreement of repeated answers, per prompt and pooled: prompts answered at least twice."""
    by_input: dict[int, list[str]] = {}
    for o in outcomes:
        if o.status == "ok":
            by_input.setdefault(o.input_index, []).append(o.text)
    groups = [a for a in (agreement(t) for t in by_input.values()) if a is not None]
    if not groups:
        return None
    n = sum(g["n"] for g in groups)
    return {
        "prompts": len(groups),
        "answers": n,
        "exact_match_rate": sum(g["exact_match_rate"] * g["n"] for g in groups) / n,
        "mean_similarity": sum(g["mean_similarity"] * g["n"] for g in groups) / n,
    }


def throttling(outcomes: Sequence[RequestOutcome], model: str | None = None,
               window_s: float = THROTTLE_WINDOW_S) -> dict[str, Any] | None:
    """Where throttling began: the first HTTP request answered 429 (to `model`, or to any
    model), with the step and concurrency it was sent in, the rate of HTTP requests to
    that model over the `window_s` seconds before it (less at the very start of a run:
    `window_s` says how long), how many were sent before it and how many were in flight.
    None when no request was answered 429."""
    marks = [(m, o) for o in outcomes for m in o.marks if model is None or m.model == model]
    limited = [(m, o) for m, o in marks if m.http_status == 429]
    if not limited:
        return None
    first, outcome = min(limited, key=lambda mo: mo[0].start_s)
    t = first.start_s
    mine = [m for m, _ in marks if m.model == first.model]
    before = [m for m in mine if m.start_s < t]
    span = min(window_s, t)
    recent = [m for m in before if m.start_s >= t - span]
    return {
        "model": first.model,
        "first_429_at_s": round(t, 3),
        "step": outcome.step,
        "concurrency": outcome.concurrency,
        "request_rate_rps": round(len(recent) / span, 3) if span > 0 else None,
        "window_s": round(span, 3),
        "requests_before": len(before),
        "in_flight": sum(1 for m in before if m.end_s is None or m.end_s > t),
    }


def knee(steps: Sequence[tuple[int, dict[str, Any]]], budget_ms: float, metric: str = "total_ms") -> int | None:
    """The lowest concurrency whose p95 `metric` exceeds the budget (None: never did)."""
    for concurrency, summary in sorted(steps, key=lambda cs: cs[0]):
        p95 = summary.get(metric, {}).get("p95")
        if p95 is not None and p95 > budget_ms:
            return concurrency
    return None
