"""Local SQLite storage: providers, prices, trials, responses. The only package that uses SQLite."""

from desk.store.db import Store, default_db_path, open_store
from desk.store.errors import StoreError
from desk.store.trials import StoredTrial, TrialSummary

__all__ = ["Store", "StoreError", "StoredTrial", "TrialSummary", "default_db_path", "open_store"]
