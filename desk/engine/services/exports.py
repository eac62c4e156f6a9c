"""Exports and merges: rated answers, preference pairs and runs written out, another
store's trials and ratings brought in. The CLI (`desk export`, `desk merge`) and the window
(File → Export, File → Merge, the Load tab's export) call the same service.

Long work runs "in the background": on a worker thread with its own store connection,
reporting into a `Job` whose cancel stops it (an export then leaves no file; a merge keeps
the batches it committed, and merging again completes it)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import IO

from desk.core.rating import RatingFilter
from desk.engine.errors import EngineError
from desk.engine.export import export_file
from desk.engine.export_files import ExportResult
from desk.engine.export_runs import export_run_attempts, export_run_requests
from desk.engine.jobs import Job, on_own_connection
from desk.engine.ports.exports import ExportSource, Merger, OpenWorkerStore
from desk.store.errors import StoreError
from desk.store.merge import MergeReport


@dataclass(frozen=True)
class ExportParams:
    """Rated answers (csv, jsonl, parquet) or preference pairs (pairs) selected by `filters`,
    to a path (written whole or not at all) or an open text stream (not parquet). A CSV
    file starts with a UTF-8 byte order mark unless `excel_bom` is False."""

    format: str
    out: str | Path | IO[str]
    filters: RatingFilter | None = None
    excel_bom: bool = True


@dataclass(frozen=True)
class RunExportParams:
    """A run's requests: one row per logical request of a load run (csv, jsonl), or with
    `per_http_request` one row per HTTP request of a run of any kind (csv, jsonl, parquet)."""

    run_id: str
    format: str
    out: str | Path | IO[str]
    per_http_request: bool = False
    excel_bom: bool = True


class ExportService:
    def __init__(self, source: ExportSource, merger: Merger, open_worker: OpenWorkerStore) -> None:
        self.source = source
        self.merger = merger
        self.open_worker = open_worker  # a connection of its own, for work on another thread

    def export(self, params: ExportParams) -> ExportResult:
        """Write rated answers or preference pairs; ExportError says why one cannot be made."""
        return _export(self.source, params, None)

    async def export_in_background(self, params: ExportParams, job: Job) -> ExportResult:
        """`export` off the caller's thread, reporting rows to `job`; a cancel leaves no file."""
        return await on_own_connection(self.open_worker, job, lambda store: _export(store, params, job))

    def export_run(self, params: RunExportParams) -> ExportResult:
        """Write a run's requests (see RunExportParams); ExportError for an unknown run or format."""
        return _export_run(self.source, params)

    async def export_run_in_background(self, params: RunExportParams, job: Job) -> ExportResult:
        """`export_run` off the caller's thread; a cancel leaves no file."""
        def use(store: ExportSource) -> ExportResult:
            job.report(0, None, "reading the run")
            return _export_run(store, params)

        return await on_own_connection(self.open_worker, job, use)

    def merge(self, path: str | Path) -> MergeReport:
        """Bring another expert's store in, without duplicates (see Store.merge_from)."""
        try:
            return self.merger.merge_from(path)
        except StoreError as exc:
            raise EngineError(str(exc)) from None

    async def merge_in_background(self, path: str | Path, job: Job) -> MergeReport:
        """`merge` off the caller's thread, reporting each table to `job`; a cancel
        (JobCancelled) keeps what was copied (merging again completes it)."""
        return await on_own_connection(
            self.open_worker, job, lambda store: store.merge_from(path, step=lambda i, n, table: job.report(i, n, table)))


def _export(source: ExportSource, params: ExportParams, job: Job | None) -> ExportResult:
    return export_file(source, params.format, params.out, params.filters,
                       progress=job.report if job is not None else None, excel_bom=params.excel_bom)


def _export_run(source: ExportSource, params: RunExportParams) -> ExportResult:
    write = export_run_attempts if params.per_http_request else export_run_requests
    return write(source, params.run_id, params.format, params.out, excel_bom=params.excel_bom)
