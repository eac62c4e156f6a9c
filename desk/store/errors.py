"""The one exception the store raises; its message is a plain sentence fit to show the user."""

from __future__ import annotations


class StoreError(Exception):
    """The database cannot be opened, or a write broke a rule (duplicate name, unknown id...)."""
