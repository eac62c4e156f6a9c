"""Local SQLite storage, one table class per area (providers, prices, settings, trials, responses,
ratings, rubrics, scorecards, suites, runs), each implementing the engine's ports. The only package
that uses SQLite."""

from desk.store.db import Store, default_db_path, open_store
from desk.store.errors import StoreError
from desk.store.merge import MergeReport
from desk.store.trials import StoredTrial, TrialSummary

__all__ = [
    "MergeReport",
    "Store",
    "StoreError",
    "StoredTrial",
    "TrialSummary",
    "default_db_path",
    "open_store",
]
