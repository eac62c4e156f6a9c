"""The store's scorecard, computed once per state of the store (issue 21).

The figures are cached in the store (desk.store.scorecard_cache) under a hash of all they
depend on: the filters, the seed, the constraint reading, and desk's version (an upgrade
may change how a figure is computed). A hit is only taken at the store version it was
computed at, so it equals a fresh computation exactly: floats go through JSON by repr.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
from collections.abc import Callable
from typing import Any

from desk import __version__
from desk.core.rating import RatingFilter
from desk.engine.ports.ratings import ScorecardCache
from desk.engine.scorecard import ModelScore

_FORMAT = 1  # bump when ModelScore's fields or their meaning change
_INTERVALS = tuple(f.name for f in dataclasses.fields(ModelScore) if f.name.endswith("_ci"))


def cached_scorecard(cache: ScorecardCache, filters: RatingFilter, seed: int, reading: str,
                     compute: Callable[[], list[ModelScore]]) -> list[ModelScore]:
    """`compute()`'s scores, read from the store's cache when it holds them for this state."""
    key = store_key(filters, seed, reading)
    version = cache.version()
    hit = cache.get(key, version)
    if hit is not None:
        return scores_from_json(hit)
    scores = compute()
    encoded = scores_to_json(scores)
    if encoded is not None:
        cache.remember(key, version, encoded)
    return scores


def store_key(filters: RatingFilter, seed: int, reading: str) -> str:
    """A stable hash of all the figures depend on (the store version aside)."""
    parts = {"filters": dataclasses.asdict(filters), "seed": seed, "reading": reading,
             "desk": __version__, "format": _FORMAT}
    return hashlib.sha256(json.dumps(parts, sort_keys=True, default=str).encode()).hexdigest()


def scores_to_json(scores: list[ModelScore]) -> str | None:
    """The scores as JSON, or None if they hold what JSON would not give back as it was."""
    if any(s.by_expect is not None or s.auto_checks is not None for s in scores):
        return None  # a suite run's scorecard: not cached
    try:
        return json.dumps([dataclasses.asdict(s) for s in scores], default=_plain)
    except (TypeError, ValueError):
        return None


def scores_from_json(text: str) -> list[ModelScore]:
    out = []
    for fields in json.loads(text):
        for name in _INTERVALS:
            if fields[name] is not None:
                fields[name] = tuple(fields[name])
        out.append(ModelScore(**fields))
    return out


def _plain(value: Any) -> Any:
    # numpy scalars (the vectorised bootstraps) as the Python numbers they equal.
    if hasattr(value, "item"):
        return value.item()
    raise TypeError(f"{type(value).__name__} is not JSON")
