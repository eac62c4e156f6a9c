"""How a load run's streams are split across worker processes (pure rules, no processes).

One event loop keeps up with about `STREAMS_PER_WORKER` streams on one core (issue 22's
measurements: arrival lag p95 about 1 ms at 500 streams, about 100 ms at 1,000), so a run
gets one worker per that many streams in its widest step, at most one per core: a small
run stays in the parent's own loop, where starting processes would cost more than it saves.
"""

from __future__ import annotations

from collections.abc import Sequence

from desk.core.load import LoadStep

STREAMS_PER_WORKER = 500


def default_workers(steps: Sequence[LoadStep], models: int, cores: int | None) -> int:
    """Worker processes for a plan when the user did not say: see the module's docstring."""
    widest = max(s.concurrency for s in steps) * max(1, models)
    wanted = -(-widest // STREAMS_PER_WORKER)
    return max(1, min(cores or 1, wanted))


def _shares(total: int, parts: int) -> list[int]:
    """`total` in `parts` whole shares differing by at most one, the larger first."""
    base, extra = divmod(total, parts)
    return [base + (1 if i < extra else 0) for i in range(parts)]


def _proportional(total: int, weights: list[int]) -> list[int]:
    """`total` in whole shares proportional to `weights` (largest remainders round up)."""
    whole = sum(weights)
    exact = [total * w / whole for w in weights]
    shares = [int(x) for x in exact]
    by_remainder = sorted(range(len(weights)), key=lambda i: shares[i] - exact[i])
    for i in by_remainder[: total - sum(shares)]:
        shares[i] += 1
    return shares


def split_step(step: LoadStep, workers: int) -> list[LoadStep | None]:
    """Each worker's share of a step (None: it sits this step out).

    Concurrency is split as evenly as whole streams allow; a request count goes with it,
    each worker sending as many requests as its streams' share of the step; a duration is
    every worker's. A worker never gets more streams than requests, or streams without one."""
    if workers < 1:
        raise ValueError("a run needs at least one worker")
    used = min(workers, step.concurrency, step.requests if step.requests is not None else workers)
    streams = _shares(step.concurrency, used)
    requests: list[int | None] = [None] * used
    if step.requests is not None:
        # Requests in proportion to streams, so every worker finishes at about the same time.
        counts = _proportional(step.requests, streams)
        streams = [min(c, r) for c, r in zip(streams, counts, strict=True)]
        requests = list(counts)
    shares: list[LoadStep | None] = [LoadStep(c, r, step.duration_s) if c else None
                                     for c, r in zip(streams, requests, strict=True)]
    return shares + [None] * (workers - used)
