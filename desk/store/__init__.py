"""Local SQLite storage, one table class per area (providers, prices, settings, trials, responses,
ratings, rubrics, scorecards, suites, runs), each implementing the engine's ports. The only package
that uses SQLite."""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING, Any

from desk.store.errors import StoreError

if TYPE_CHECKING:
    from desk.store.db import Store, default_db_path, open_store
    from desk.store.merge import MergeReport
    from desk.store.trials import StoredTrial, TrialSummary

# Imported on first use (PEP 562): `desk.store.errors` alone, as the engine imports it at
# start, need not load every table and the merge machinery (issue 21: a command's start-up).
_LAZY = {"Store": "desk.store.db", "default_db_path": "desk.store.db", "open_store": "desk.store.db",
         "MergeReport": "desk.store.merge", "StoredTrial": "desk.store.trials", "TrialSummary": "desk.store.trials"}


def __getattr__(name: str) -> Any:
    if name not in _LAZY:
        raise AttributeError(f"module 'desk.store' has no attribute {name!r}")
    return getattr(import_module(_LAZY[name]), name)


__all__ = [
    "MergeReport",
    "Store",
    "StoreError",
    "StoredTrial",
    "TrialSummary",
    "default_db_path",
    "open_store",
]
