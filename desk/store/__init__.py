"""Local SQLite storage: providers, prices, trials, responses, rubrics, ratings. The only package that uses SQLite."""

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
