"""Fixtures for store tests: a fresh file database per test, and small sample values."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from desk.store import Store, open_store
from tests.media import png


@pytest.fixture
def db_path(tmp_path: Path) -> Path:
    return tmp_path / "data" / "desk.db"


@pytest.fixture
def store(db_path: Path) -> Iterator[Store]:
    with open_store(db_path) as s:
        yield s


def tiny_png(width: int = 2, height: int = 3) -> bytes:
    return png(width, height)
