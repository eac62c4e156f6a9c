"""m011: a load run stored before the request's TTFT had its own name upgrades in place,
its figures kept under the new column."""

from __future__ import annotations

from pathlib import Path

from desk.store.db import connect, open_store
from desk.store.migrations import MIGRATIONS, applied_migrations, migrate


def _m010_store_with_a_run(path: Path) -> None:
    db = connect(path)
    names = [m.__name__ for m in MIGRATIONS]
    migrate(db, MIGRATIONS[: names.index("m010_store_version") + 1])
    assert "ttft_ms" in db.table("run_requests").columns_dict
    db.execute("INSERT INTO runs (id, kind, created_at, status, spec_json) VALUES ('run1', 'load', 1.0, 'done', '{}')")
    db.execute(
        "INSERT INTO run_requests (run_id, seq, model, step, concurrency, start_offset_ms, status, ttft_ms, "
        "total_ms, attempts, retries, rate_limited, retry_wait_ms, response_ids_json) "
        "VALUES ('run1', 0, 'p/m', 0, 1, 0.0, 'ok', 812.5, 900.0, 2, 1, 1, 50.0, '[]')"
    )
    db.close()


def test_m011_renames_the_run_requests_ttft_of_an_m010_store(tmp_path: Path) -> None:
    path = tmp_path / "old.db"
    _m010_store_with_a_run(path)
    with open_store(path) as store:
        assert "m011_run_request_ttft_named_apart" in applied_migrations(store.db)
        columns = store.db.table("run_requests").columns_dict
        assert "request_ttft_ms" in columns and "ttft_ms" not in columns
        (old,) = store.runs.requests("run1")
        assert (old.request_ttft_ms, old.total_ms, old.retries) == (812.5, 900.0, 1)


def test_a_new_store_names_the_request_ttft_apart_from_a_responses(tmp_path: Path) -> None:
    with open_store(tmp_path / "new.db") as store:
        assert "request_ttft_ms" in store.db.table("run_requests").columns_dict
        assert "ttft_ms" not in store.db.table("run_requests").columns_dict
        assert "ttft_ms" in store.db.table("responses").columns_dict  # the final attempt's own, unchanged


def test_a_colleagues_store_from_before_m011_merges_with_its_request_ttft(tmp_path: Path) -> None:
    theirs = tmp_path / "theirs.db"
    _m010_store_with_a_run(theirs)
    with open_store(tmp_path / "ours.db") as ours:
        report = ours.merge_from(str(theirs))
        assert (report.added["runs"], report.added["run_requests"]) == (1, 1)
        (merged,) = ours.runs.requests("run1")
        assert merged.request_ttft_ms == 812.5
