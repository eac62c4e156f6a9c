"""The window's store-wide work: export ratings, merge another store, update price data, open
another store (a mixin of the main window). The long ones run through one desk.ui.command
Command on the status bar's BusyBar: it refuses a second start, shows progress and Cancel,
and says in the banner how the work ended."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

from PySide6.QtWidgets import QFileDialog

from desk.engine.jobs import Job
from desk.engine.services.exports import ExportParams
from desk.engine.session import EngineError
from desk.engine.tab_events import Notice
from desk.ui.command import Command

# A mixin of MainWindow, using its attributes; typed loosely because naming the window
# here would make the two modules import each other.
_Base: Any = object

EXPORT_FORMATS = {"CSV — one row per rated answer (*.csv)": "csv",
                  "JSONL — nested records (*.jsonl)": "jsonl",
                  "Preference pairs JSONL — chosen/rejected (*.pairs.jsonl)": "pairs",
                  "Parquet (*.parquet)": "parquet"}


class StoreActions(_Base):
    """Export, merge, price update and store switching for the main window."""

    def _bind_store_actions(self) -> None:
        """Made once the status bar's BusyBar exists."""
        self.long_work = Command(self.banner_info, self.banner_error, bar=self.busy)

    def export_ratings(self, path: str | None = None, fmt: str | None = None) -> asyncio.Future[Any] | None:
        """Export every current rating (CSV, JSONL, preference pairs or Parquet), off the GUI
        thread with progress and Cancel in the status bar; returns the task (None if nothing)."""
        if path is None:
            path, chosen = QFileDialog.getSaveFileName(self, "Export ratings", "desk-ratings.csv",
                                                       ";;".join(EXPORT_FORMATS))
            if not path:
                return None
            fmt = EXPORT_FORMATS.get(chosen, "csv")
        chosen_path, chosen_fmt = path, fmt or "csv"
        job = Job("Exporting ratings")

        def done(result: Any) -> str:
            skipped = sum(result.skipped.values())
            extra = f" ({skipped} ties or mismatched pairs skipped)" if skipped else ""
            return f"Exported {result.rows} rows to {result.path}{extra}."

        return self.long_work.start(
            lambda: self.engine.exports.export_in_background(ExportParams(chosen_fmt, chosen_path), job), done=done,
            cancelled="Export cancelled: no file was written.",
            failed=lambda exc: Notice(f"Export failed: {exc}", error=True),
            errors=(ValueError, OSError), title="Exporting ratings", job=job)

    def merge_store(self, path: str | None = None) -> asyncio.Future[Any] | None:
        """Pool another expert's store into this one, off the GUI thread, cancellable (what
        was copied stays; merging again completes it); returns the task (None if nothing to do)."""
        if path is None:
            path, _ = QFileDialog.getOpenFileName(self, "Merge another desk store", "",
                                                  "desk stores (*.db);;All files (*)")
            if not path:
                return None
        chosen = path
        job = Job(f"Merging {Path(chosen).name}")
        return self.long_work.start(
            lambda: self.engine.exports.merge_in_background(chosen, job), done=lambda report: self._merged(chosen, report),
            cancelled="Merge cancelled: what was copied so far stays; merge again to complete it.",
            failed=lambda exc: Notice(f"Merge failed: {exc}", error=True), title=job.label, job=job)

    def _merged(self, path: str, report: Any) -> str:
        added = ", ".join(f"{n} {table}" for table, n in report.added.items() if n) or "nothing new"
        conflicts = f" Conflicts kept ours: {'; '.join(report.conflicts)}" if report.conflicts else ""
        left = (f" Not added (configuration, add by hand if you trust it): {'; '.join(report.not_added)}"
                if report.not_added else "")
        self.refresh_history()
        self.refresh_models()
        return f"Merged {path}: {added}.{conflicts}{left}"

    def update_prices(self) -> asyncio.Future[Any] | None:
        """Fetch the maintained price list (the one network call desk makes on its own
        behalf, and only when asked); cancellable; the status bar then shows its date."""
        def done(description: str) -> str:
            self.price_label.setText(self.engine.providers.price_data())
            return f"Price data updated: {description}."

        return self.long_work.start(
            self.engine.providers.update_price_data, done=done,
            cancelled="Price update cancelled: the price data in use is unchanged.",
            failed=lambda exc: Notice(f"Price update failed: {exc}", error=True),
            title="Fetching the latest price data")

    def open_store(self, path: str | None = None) -> None:
        """Switch to another desk store (a team's shared file, a fresh one for a project)."""
        if self.tab.running:
            self.banner_error("A trial is still running: cancel it or wait before switching stores.")
            return
        if self.suites_panel.running:
            self.banner_error("A suite run is still running: cancel it or wait before switching stores.")
            return
        if path is None:
            path, _ = QFileDialog.getSaveFileName(
                self, "Open or create a desk store", str(self.engine.store.path),
                "desk stores (*.db);;All files (*)", options=QFileDialog.Option.DontConfirmOverwrite)
            if not path:
                return
        try:
            notes = self.engine.switch_store(path)
        except EngineError as exc:
            self.banner_error(f"Cannot open that store: {exc}")
            return
        if self._load_panel is not None:  # else built on the new store when first shown
            self._load_panel.db_path = path
        self.rubric = self.engine.ratings.rubrics.default()
        self.suites_panel.rubric = self.rubric
        self.suites_panel.tab.current_run_id = None  # a run of the store left behind is no longer open
        self.suites_panel.reload_matrix()
        self.suites_panel.refresh_suites()
        self.suites_panel.refresh_runs()
        self.new_trial()
        self.refresh_models()
        self.refresh_history()
        self.statusBar().showMessage(f"Store: {self.engine.store.path}")
        self.banner_info(" ".join([f"Now working in {path}.", *notes]))
