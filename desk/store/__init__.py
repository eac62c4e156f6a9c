"""Local SQLite storage: providers, prices, trials, responses, rubrics, ratings. The only package that uses SQLite."""

from desk.store import _no_pandas  # noqa: F401  # first: before anything imports sqlite-utils
from desk.store.db import Store, default_db_path, open_store
from desk.store.errors import StoreError
from desk.store.merge import MergeReport
from desk.store.ratings import RatingFilter
from desk.store.trials import StoredTrial, TrialSummary

__all__ = [
    "MergeReport",
    "RatingFilter",
    "Store",
    "StoreError",
    "StoredTrial",
    "TrialSummary",
    "default_db_path",
    "open_store",
]
