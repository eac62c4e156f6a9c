"""The Load tab's rules for a stored run, without a window: the status line of a run just
opened, and which format an export of its requests is written in."""

from __future__ import annotations

import time

from desk.core.load import RequestOutcome
from desk.engine.load_tab import RUN_EXPORT_CHOICES, LoadTabModel, export_format
from desk.engine.session import RunInfo

A = "openai/gpt-4o-mini"


def test_an_opened_runs_status_says_when_it_ran_and_what_it_measured():
    created = time.mktime((2026, 3, 1, 14, 5, 0, 0, 0, -1))
    info = RunInfo(id="r1", kind="load", name=None, created_at=created, finished_at=created + 3, status="done",
                   spec={"models": [A], "steps": [{"concurrency": 2, "requests": 4}]},
                   summary={"wall_s": 2.5, "models": {}, "throttling": None})
    stored = [RequestOutcome(A, 0, 2, n, n * 10.0, "ok" if n else "error", total_ms=100.0) for n in range(3)]
    model = LoadTabModel()
    opened = model.open_stored(info, stored)
    assert model.opened_status(opened) == ("Run of 2026-03-01 14:05 (done): 3 / 4 done · 2 ok · 1 errors · "
                                           "3 req/s now · 2.5 s")


def test_an_export_is_written_in_the_format_chosen_else_by_the_files_ending():
    assert list(RUN_EXPORT_CHOICES.values()) == ["csv", "jsonl", "http-jsonl", "http-csv"]
    assert export_format("runs.JSONL") == "jsonl" and export_format("runs.ndjson") == "jsonl"
    assert export_format("runs.csv") == "csv" and export_format("runs") == "csv"
    assert export_format("runs.csv", "http-jsonl") == "http-jsonl"  # the dialog's choice wins over the ending
