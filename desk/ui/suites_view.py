"""The Suites tab: suites (import, export), suite runs (start, cancel, resume) and a run's
matrix of cases x models, which fills in live while the run streams.

The tab's state and rules (what may start, the run's plan, its live figures, what is said
when it ends) are desk.engine.suites_tab's SuitesTab; this widget lays them out and binds
them. Long work (import, export, the run) goes through desk.ui.command's Command. The run is
an asyncio task on the qasync loop (as a trial is): every engine callback arrives on the GUI
thread and only notes what changed; a timer on the GUI thread redraws at most a few times a
second, so a fast run never floods the window. The matrix itself is desk.ui.suite_matrix's.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable, Iterable, Sequence
from pathlib import Path
from typing import Any

from PySide6.QtCore import QModelIndex, Qt, QTimer, Signal
from PySide6.QtWidgets import (
    QFileDialog,
    QFormLayout,
    QHBoxLayout,
    QInputDialog,
    QLabel,
    QListWidget,
    QListWidgetItem,
    QMessageBox,
    QProgressBar,
    QSpinBox,
    QSplitter,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from desk.core.suite import EXPECT_KINDS
from desk.core.trial import ModelRef
from desk.engine.session import Engine, EngineError, SuiteInfo, SuiteMatrix, SuiteRunInfo
from desk.engine.suite_records import SuiteRunResult, progress_text
from desk.engine.suites_tab import (
    ANY,
    NO_EXPECT,
    RATED,
    UNRATED,
    PlanError,
    RunPlan,
    SuitesTab,
    matrix_tags,
    one_reason_a_line,
    shown_text,
)
from desk.engine.tab_events import Notice
from desk.ui import defs, layout
from desk.ui.command import Command, MessageLine, ask_from_task
from desk.ui.suite_matrix import TRIAL_ROLE, MatrixFilter, MatrixModel, MatrixView

__all__ = ["ANY", "NO_EXPECT", "RATED", "STARTER", "UNRATED", "SuitesPanel"]

STARTER = "starter"
REFRESH_MS = 250  # live matrix redraws: at most 4 a second
RELOAD_BUDGET = 0.1  # ... and reading the matrix back may use at most a tenth of the GUI's time


class SuitesPanel(QWidget):
    """Suites on the left with the run form; runs and the open run's matrix on the right."""

    open_trial_requested = Signal(str)  # a matrix cell was clicked: open that case side by side
    run_finished = Signal(str)  # run id
    activity = Signal(str)  # what a running suite run is doing, for the status bar ("" when done)

    def __init__(self, engine: Engine, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("suitesPanel")
        self.engine = engine
        self.tab = SuitesTab(engine)
        self.tab.running_changed.connect(self._on_running)
        self.tab.run_started.connect(self._on_start)
        self.rubric: Any = None  # the window's rubric, for the rating queue (None: the engine's)
        # Awaited before a run starts with the models it sends to (the window starts the
        # built-in model here); False stops the run before anything is stored.
        self.before_run: Callable[[Sequence[ModelRef]], Awaitable[bool]] | None = None
        self.queue: Any = None  # the open rating queue dialog
        self.scorecard: Any = None  # the open run scorecard dialog
        self.run_command = Command(self.show_info, self.show_error, clear=self.clear_message,
                                   running_changed=self._on_run_task, refuse=None)
        self.importing = Command(self.show_info, self.show_error, refuse="Still reading the last suite: wait for it.",
                                 running_changed=lambda _r: self._update_buttons())
        self.exporting = Command(self.show_info, self.show_error, refuse="Still exporting: wait for it.",
                                 running_changed=lambda _r: self._update_buttons())
        self._next_reload = 0.0
        self._refresh = QTimer(self)
        self._refresh.setInterval(REFRESH_MS)
        self._refresh.timeout.connect(self._tick)
        self._build()
        # Suites and runs are read when the tab is first shown (refresh_suites imports the
        # bundled starter suite into the store on first use: not at every window start).
        self.refresh_models()

    # The tab's state, as the window and the tests know it.
    @property
    def suites(self) -> list[SuiteInfo]:
        return self.tab.suites

    @property
    def current_run_id(self) -> str | None:
        return self.tab.current_run_id

    @property
    def running(self) -> bool:
        """A run (or its start) is under way: from Start until the task's last step."""
        return self.tab.running

    # --- layout ---------------------------------------------------------------------------
    def _build(self) -> None:
        self.right_split = QSplitter(Qt.Orientation.Vertical)
        self.right_split.addWidget(self._build_runs())
        self.right_split.addWidget(self._build_matrix())
        self.right_split.setStretchFactor(0, 1)
        self.right_split.setStretchFactor(1, 4)
        self.right_split.setSizes([150, 650])
        self.split = QSplitter(Qt.Orientation.Horizontal)
        self.split.addWidget(self._build_left())
        self.split.addWidget(layout.column(defs.MARGIN, (self.right_split, 0)))
        self.split.setStretchFactor(0, 1)
        self.split.setStretchFactor(1, 4)
        self.split.setSizes([320, 1080])
        outer = QVBoxLayout(self)
        outer.setContentsMargins(0, 0, 0, 0)
        outer.addWidget(self.split)
        self._update_buttons()

    def _build_left(self) -> QWidget:
        """The suites, and the form that runs the selected one."""
        self.suite_table = layout.choice_table("suiteList", ["suite", "version", "cases"], stretch=0)
        self.suite_table.itemSelectionChanged.connect(self._update_buttons)
        self.import_button = layout.button(
            "Import…", "suiteImport", self.import_file,
            "Read a CSV or JSONL file of cases: 'prompt' is required; id, system, expect, tags, attachments "
            "and notes are optional. A bad row is reported with its line number and nothing is imported.")
        self.export_button = layout.button("Export…", "suiteExport", self.export_selected,
                                     "Write the selected suite to JSONL (one case per line)")
        self.models = QListWidget()
        self.models.setObjectName("suiteModels")
        self.models.setMinimumHeight(60)
        self.models.itemChanged.connect(lambda _item: self._update_buttons())
        self.start_button = layout.button("Start", "suiteStart", self.start,
                                    "Send every case of the selected suite to every ticked model")
        self.cancel_button = layout.button("Cancel", "suiteCancel", self.cancel,
                                     "Stop the run: what arrived is kept; Resume sends only the rest")
        self.progress = QProgressBar()
        self.progress.setObjectName("suiteProgress")
        self.progress.setRange(0, 1)
        self.progress.setValue(0)
        self.progress.setTextVisible(False)
        self.progress_label = QLabel("No run yet.")
        self.progress_label.setObjectName("suiteProgressText")
        self.message = MessageLine("suiteMessage")
        return layout.column(defs.MARGIN, QLabel("<b>Suites</b>"), (self.suite_table, 2),
                       layout.row(self.import_button, self.export_button, None),
                       QLabel("<b>Run the selected suite on</b>"), (self.models, 1), self._build_form(),
                       layout.row((self.start_button, 1), self.cancel_button),
                       self.progress, self.progress_label, self.message)

    def _build_form(self) -> QFormLayout:
        self.repeat = QSpinBox()
        self.repeat.setObjectName("suiteRepeat")
        self.repeat.setRange(1, 100)
        self.repeat.setToolTip("Samples per case and model (answers vary: several show how much)")
        self.concurrency = QSpinBox()
        self.concurrency.setObjectName("suiteConcurrency")
        self.concurrency.setRange(1, 256)
        self.concurrency.setValue(4)
        self.concurrency.setToolTip("Requests in flight at once, across all models")
        form = QFormLayout()
        form.setContentsMargins(0, 0, 0, 0)
        form.addRow("Repeat", self.repeat)
        form.addRow("Concurrency", self.concurrency)
        return form

    def _build_runs(self) -> QWidget:
        self.run_table = layout.choice_table("suiteRuns", ["run", "suite", "status", "progress"], stretch=None)
        self.run_table.horizontalHeader().setStretchLastSection(True)
        self.run_table.itemSelectionChanged.connect(self._on_run_selected)
        self.resume_button = layout.button("Resume", "suiteResume", self.resume,
                                     "Send only the cells of the selected run that have no answer yet "
                                     "(nothing already answered is sent, or billed, twice)")
        self.rate_button = layout.button("Rate this run…", "suiteRate", self.open_rating_queue,
                                   "Walk the cases one by one: every model's answer side by side, blind "
                                   "and shuffled, keyboard only")
        self.scorecard_button = layout.button("Scorecard…", "suiteScorecard", self.open_run_scorecard,
                                        "Per model and expected behaviour: how often the answers showed it; "
                                        "and two models compared on the same cases (sign test)")
        head = layout.row(QLabel("<b>Runs</b>"), None, self.resume_button, self.rate_button, self.scorecard_button)
        return layout.column(0, head, (self.run_table, 1))

    def _build_filters(self) -> QHBoxLayout:
        self.expect_filter = layout.combo("suiteExpectFilter", [("any expect", ANY), *((k, k) for k in EXPECT_KINDS),
                                                          ("no expect", NO_EXPECT)])
        self.tag_filter = layout.combo("suiteTagFilter", [("any tag", ANY)])
        self.rated_filter = layout.combo("suiteRatedFilter", [("rated or not", ANY), ("rated", RATED),
                                                        ("unrated", UNRATED)])
        self.rated_filter.setToolTip("rated: every answer of the case has a rating; "
                                     "unrated: some answer of it has none yet")
        for combo in (self.expect_filter, self.tag_filter, self.rated_filter):
            combo.currentIndexChanged.connect(lambda _i: self.apply_filters())
        self.shown_label = QLabel()
        self.shown_label.setObjectName("suiteShown")
        return layout.row(QLabel("Show"), self.expect_filter, self.tag_filter, self.rated_filter, None, self.shown_label)

    def _build_matrix(self) -> QWidget:
        self.matrix_title = QLabel("Open a run to see its answers: cases down, models across.")
        self.matrix_title.setObjectName("suiteMatrixTitle")
        self.matrix_title.setWordWrap(True)
        filters = self._build_filters()
        self.matrix_model = MatrixModel(self)
        self.proxy = MatrixFilter(self)
        self.proxy.setSourceModel(self.matrix_model)
        self.matrix_view = MatrixView()
        self.matrix_view.setObjectName("suiteMatrix")
        self.matrix_view.setModel(self.proxy)
        self.matrix_view.clicked.connect(self._open_index)
        self.matrix_view.open_requested.connect(self._open_index)
        return layout.column(0, self.matrix_title, filters, (self.matrix_view, 1))

    # --- messages -------------------------------------------------------------------------
    def show_error(self, text: str) -> None:
        self.message.show_error(one_reason_a_line(text))

    def show_info(self, text: str) -> None:
        self.message.show_info(text)

    def clear_message(self) -> None:
        self.message.clear_message()

    # --- suites ---------------------------------------------------------------------------
    def refresh_suites(self, select: str | None = None) -> None:
        keep = select or self.selected_suite_name()
        problem = self.tab.load_suites()
        if problem is not None:
            self.show_error(problem.text)
        self.suite_table.setRowCount(len(self.suites))
        for row, info in enumerate(self.suites):
            name = QTableWidgetItem(f"{info.name} (built-in)" if info.builtin else info.name)
            name.setData(TRIAL_ROLE, info.name)
            name.setToolTip(info.source or info.name)
            self.suite_table.setItem(row, 0, name)
            self.suite_table.setItem(row, 1, QTableWidgetItem(f"v{info.version}"))
            cases = QTableWidgetItem(str(info.cases))
            cases.setTextAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
            self.suite_table.setItem(row, 2, cases)
        if keep:
            self.select_suite(keep)
        elif self.suites and not self.suite_table.selectedItems():
            self.suite_table.selectRow(0)
        self._update_buttons()

    def suite_names(self) -> list[str]:
        return [s.name for s in self.suites]

    def selected_suite(self) -> SuiteInfo | None:
        rows = self.suite_table.selectionModel().selectedRows() if self.suite_table.selectionModel() else []
        if not rows:
            return None
        row = rows[0].row()
        return self.suites[row] if 0 <= row < len(self.suites) else None

    def selected_suite_name(self) -> str | None:
        info = self.selected_suite()
        return info.name if info is not None else None

    def select_suite(self, name: str) -> bool:
        for row, info in enumerate(self.suites):
            if info.name == name:
                self.suite_table.selectRow(row)
                return True
        return False

    def import_file(self, path: str | Path | None = None, name: str | None = None) -> asyncio.Future[bool] | None:
        """Import a CSV or JSONL suite (asking for the file and name when not given), the file
        and its attachments read off the GUI thread; returns the task (None if cancelled)."""
        if path is None:
            path, _ = QFileDialog.getOpenFileName(self, "Import a suite", "",
                                                  "Suites (*.csv *.tsv *.jsonl *.ndjson *.json);;All files (*)")
            if not path:
                return None
        if name is None:
            name, ok = QInputDialog.getText(self, "Suite name",
                                            "Name of the suite (a name used before gets its next version):",
                                            text=Path(path).stem)
            if not ok:
                return None
        chosen, chosen_name = path, name
        task = self.importing.start(lambda: self._import(chosen, chosen_name), done=self._imported)
        if task is not None:
            self.show_info(f"Reading {Path(path).name}…")
        return task

    async def _import(self, path: str | Path, name: str) -> SuiteInfo:
        try:
            return await self.engine.suites.import_in_background(path, name)
        except EngineError as exc:
            # Attachments outside the suite's folder are imported only if the user says so.
            outside = exc.outside
            if not outside:
                raise
            self.show_error(str(exc))
            if not await ask_from_task(lambda: self._allow_outside(outside)):
                raise
        return await self.engine.suites.import_in_background(path, name, allow_outside=outside)

    def _imported(self, info: SuiteInfo) -> str:
        self.refresh_suites(select=info.name)
        return f"Imported {info.cases} case{'s' if info.cases != 1 else ''} as {info.name} v{info.version}."

    def _allow_outside(self, paths: Sequence[str]) -> bool:
        """Ask whether these files from outside the suite's folder may be imported (default: no)."""
        shown = "\n".join(paths[:10]) + (f"\n… and {len(paths) - 10} more" if len(paths) > 10 else "")
        answer = QMessageBox.question(
            self, "Files outside the suite's folder",
            "The suite attaches files from outside its own folder; a suite someone sent you could "
            f"reach any file you can read this way:\n\n{shown}\n\nImport them with the suite?",
            QMessageBox.StandardButton.Yes | QMessageBox.StandardButton.No, QMessageBox.StandardButton.No)
        return answer == QMessageBox.StandardButton.Yes

    def export_selected(self, path: str | Path | None = None) -> asyncio.Future[bool] | None:
        """Export the selected suite to JSONL (attachments beside it), the writing off the
        GUI thread; returns the task (None when nothing was started)."""
        info = self.selected_suite()
        if info is None:
            self.show_error("Select a suite to export first.")
            return None
        if path is None:
            path, _ = QFileDialog.getSaveFileName(self, "Export the suite", f"{info.name}.jsonl",
                                                  "JSON Lines (*.jsonl)")
            if not path:
                return None
        target = str(path)
        task = self.exporting.start(
            lambda: self.engine.suites.export_in_background(info.name, target, info.version),
            done=lambda n: f"Exported {n} cases of {info.name} v{info.version} to {target}.")
        if task is not None:
            self.show_info(f"Exporting {info.name} v{info.version}…")
        return task

    # --- models ---------------------------------------------------------------------------
    def refresh_models(self) -> None:
        """Offer the configured models again, keeping what was ticked."""
        checked = set(self.selected_names())
        self.models.blockSignals(True)
        self.models.clear()
        for name in self.tab.model_names():
            item = QListWidgetItem(name)
            item.setFlags(Qt.ItemFlag.ItemIsUserCheckable | Qt.ItemFlag.ItemIsEnabled)
            item.setCheckState(Qt.CheckState.Checked if name in checked else Qt.CheckState.Unchecked)
            self.models.addItem(item)
        self.models.blockSignals(False)
        self._update_buttons()

    def selected_names(self) -> list[str]:
        return [self.models.item(i).text() for i in range(self.models.count())
                if self.models.item(i).checkState() == Qt.CheckState.Checked]

    def set_checked(self, names: Iterable[str]) -> None:
        wanted = set(names)
        self.models.blockSignals(True)
        for i in range(self.models.count()):
            item = self.models.item(i)
            item.setCheckState(Qt.CheckState.Checked if item.text() in wanted else Qt.CheckState.Unchecked)
        self.models.blockSignals(False)
        self._update_buttons()

    # --- running --------------------------------------------------------------------------
    def start(self) -> bool:
        """Start a run of the selected suite on the ticked models."""
        if self.running:
            return False
        try:
            plan = self.tab.plan_run(self.selected_suite(), self.selected_names(), self.repeat.value(),
                                     self.concurrency.value())
        except PlanError as exc:
            self.show_error(str(exc))
            return False
        return self._begin(plan)

    def resume(self, run_id: str | None = None) -> bool:
        """Send the cells of a run that have no answer yet."""
        if self.running:
            return False
        try:
            plan = self.tab.plan_resume(run_id or self.selected_run_id())
        except PlanError as exc:
            self.show_error(str(exc))
            return False
        return self._begin(plan)

    def cancel(self) -> None:
        self.run_command.cancel()

    def _begin(self, plan: RunPlan) -> bool:
        if self.run_command.busy:
            return False
        self.tab.begin(plan)
        self.progress.setRange(0, max(plan.total, 1))
        self.progress.setValue(0)
        self.progress_label.setText(plan.text)
        task = self.run_command.start(lambda: self.tab.run(plan, self.before_run), done=self._run_done,
                                      cancelled=self.tab.cancelled, failed=self.tab.failed_to_run,
                                      errors=(Exception,), title="suite run")
        return task is not None

    def _run_done(self, result: SuiteRunResult | None) -> Notice | None:
        if result is None:  # before_run said no: nothing was stored
            return None
        self.run_finished.emit(result.run_id)
        return self.tab.finished(result)

    def _on_running(self, running: bool) -> None:
        if running:
            self._refresh.start()
        else:
            self._refresh.stop()
        self._update_buttons()

    def _on_run_task(self, running: bool) -> None:
        if not running:
            self._finish()

    def _finish(self) -> None:
        """The run's task ended (done, cancelled, refused or broken): show where it got to."""
        self._apply_progress()
        run_id = self.tab.end()
        self.activity.emit("")
        self.refresh_runs(select=run_id or self.current_run_id)
        if run_id is not None and run_id == self.current_run_id:
            self.reload_matrix()

    def _on_start(self, run_id: str) -> None:
        self.refresh_runs(select=run_id)
        self.open_run(run_id)

    def _tick(self) -> None:
        """A few times a second while running: progress, the run's row, and the matrix."""
        self._apply_progress()
        tab = self.tab
        if tab.dirty and tab.running_run_id is not None and tab.running_run_id == tab.current_run_id:
            now = time.monotonic()
            if now >= self._next_reload:
                tab.dirty = False
                self.reload_matrix()
                took = time.monotonic() - now
                self._next_reload = now + took / RELOAD_BUDGET  # a slow read waits longer before the next

    def _apply_progress(self) -> None:
        self.progress_label.setText(self.tab.status)
        text = self.tab.live_progress()
        if self.tab.progress is None or text is None:  # no figures before the first answer
            return
        done, total = self.tab.progress
        self.progress.setRange(0, max(total, 1))
        self.progress.setValue(done)
        if self.tab.running_run_id is not None:
            self.activity.emit(f"Suite run: {text}")
        row = self._run_row(self.tab.running_run_id)
        if row is not None:
            self.run_table.item(row, 3).setText(text)

    # --- runs -----------------------------------------------------------------------------
    def refresh_runs(self, select: str | None = None) -> None:
        keep = select or self.selected_run_id()
        self.tab.load_runs()
        self.run_table.blockSignals(True)
        self.run_table.setRowCount(len(self.tab.runs))
        for row, info in enumerate(self.tab.runs):
            rid = QTableWidgetItem(info.run_id)
            rid.setData(TRIAL_ROLE, info.run_id)
            rid.setToolTip(f"{info.run_id}\nmodels: {', '.join(info.models)}\nrepeat {info.repeat}, "
                           f"concurrency {info.concurrency}" + (f"\n{info.failed} failed" if info.failed else ""))
            self.run_table.setItem(row, 0, rid)
            version = f" v{info.suite_version}" if info.suite_version is not None else ""
            self.run_table.setItem(row, 1, QTableWidgetItem(f"{info.suite}{version}"))
            self.run_table.setItem(row, 2, QTableWidgetItem(info.status))
            self.run_table.setItem(row, 3, QTableWidgetItem(progress_text(info.done, info.total, info.failed)))
        row = self._run_row(keep)
        if row is not None:
            self.run_table.selectRow(row)
        self.run_table.blockSignals(False)
        self._update_buttons()

    def run_ids(self) -> list[str]:
        return [r.run_id for r in self.tab.runs]

    def run_info(self, run_id: str) -> SuiteRunInfo | None:
        return self.tab.run_info(run_id)

    def _run_row(self, run_id: str | None) -> int | None:
        if run_id is None:
            return None
        for row in range(self.run_table.rowCount()):
            item = self.run_table.item(row, 0)
            if item is not None and item.data(TRIAL_ROLE) == run_id:
                return row
        return None

    def selected_run_id(self) -> str | None:
        model = self.run_table.selectionModel()
        rows = model.selectedRows() if model is not None else []
        if not rows:
            return None
        item = self.run_table.item(rows[0].row(), 0)
        return item.data(TRIAL_ROLE) if item is not None else None

    def select_run(self, run_id: str) -> bool:
        row = self._run_row(run_id)
        if row is None:
            return False
        self.run_table.selectRow(row)  # opens it (selection changed)
        if self.current_run_id != run_id:
            self.open_run(run_id)
        return True

    def _on_run_selected(self) -> None:
        run_id = self.selected_run_id()
        if run_id is not None and run_id != self.current_run_id:
            self.open_run(run_id)
        self._update_buttons()

    def open_run(self, run_id: str) -> bool:
        """Show a run's matrix."""
        self.tab.current_run_id = run_id
        ok = self.reload_matrix()
        self._update_buttons()
        return ok

    def reload_matrix(self) -> bool:
        try:
            matrix = self.tab.read_matrix()
        except EngineError as exc:
            self.show_error(str(exc))
            return False
        if matrix is None:
            self.matrix_model.set_matrix(None)
            return False
        fresh = self.matrix_model.matrix is None or self.matrix_model.matrix.run.run_id != matrix.run.run_id
        self.matrix_model.set_matrix(matrix)
        if fresh:
            self._fill_tags(matrix)
            header = self.matrix_view.horizontalHeader()
            header.resizeSection(0, 240)
            for col in range(1, 1 + len(matrix.models)):
                header.resizeSection(col, 300)
        self.matrix_title.setText(self.tab.title(matrix))
        self._show_counts()
        return True

    def _fill_tags(self, matrix: SuiteMatrix) -> None:
        current = self.tag_filter.currentData()
        self.tag_filter.blockSignals(True)
        self.tag_filter.clear()
        self.tag_filter.addItem("any tag", ANY)
        for tag in matrix_tags(matrix):
            self.tag_filter.addItem(tag, tag)
        index = self.tag_filter.findData(current)
        self.tag_filter.setCurrentIndex(max(index, 0))
        self.tag_filter.blockSignals(False)
        self.apply_filters()

    def apply_filters(self) -> None:
        self.proxy.set_filters(self.expect_filter.currentData() or ANY, self.tag_filter.currentData() or ANY,
                               self.rated_filter.currentData() or ANY)
        self._show_counts()

    def set_filters(self, expect: str = ANY, tag: str = ANY, rated: str = ANY) -> None:
        """Choose the filters (ANY: no filter; NO_EXPECT: cases without an expect)."""
        for combo, value in ((self.expect_filter, expect), (self.tag_filter, tag), (self.rated_filter, rated)):
            combo.blockSignals(True)
            combo.setCurrentIndex(max(combo.findData(value), 0))
            combo.blockSignals(False)
        self.apply_filters()

    def _show_counts(self) -> None:
        self.shown_label.setText(shown_text(self.proxy.rowCount(), self.matrix_model.rowCount()))

    def visible_cases(self) -> list[str]:
        """The case keys the matrix shows now, top to bottom (after the filters)."""
        out = []
        for r in range(self.proxy.rowCount()):
            source = self.proxy.mapToSource(self.proxy.index(r, 0))
            out.append(self.matrix_model.rows[source.row()].case.key)
        return out

    def cell_index(self, case_key: str, model: str, sample: int = 0) -> QModelIndex:
        """The view's index of a cell (invalid if filtered out)."""
        if model not in self.matrix_model.models:
            return QModelIndex()
        col = 1 + self.matrix_model.models.index(model)
        for r, row in enumerate(self.matrix_model.rows):
            if row.case.key == case_key and row.sample == sample:
                return self.proxy.mapFromSource(self.matrix_model.index(r, col))
        return QModelIndex()

    def _open_index(self, index: QModelIndex) -> None:
        trial_id = index.data(TRIAL_ROLE) if index.isValid() else None
        if not trial_id:
            source = self.proxy.mapToSource(index) if index.isValid() else QModelIndex()
            if source.isValid():
                trial_id = self.matrix_model.rows[source.row()].trial_id
        if trial_id:
            self.open_trial_requested.emit(trial_id)
        else:
            self.show_info("That case has no answer yet.")

    # --- rating ---------------------------------------------------------------------------
    def open_rating_queue(self, run_id: str | None = None, rater: str | None = None) -> Any:
        """Open the rating queue of a run (the selected one by default)."""
        from desk.ui.rating_queue import RatingQueue

        run_id = run_id or self.selected_run_id() or self.current_run_id
        if run_id is None:
            self.show_error("Select a run to rate.")
            return None
        rater = rater or self._ask_rater()
        if not rater:
            return None
        self.queue = self._replace(self.queue, lambda: RatingQueue(self.engine, run_id, rater, rubric=self.rubric,
                                                                  parent=self))
        if self.queue is not None:
            self.queue.rating_saved.connect(lambda _r: self._rated(run_id))
            self.queue.focus_current()
        return self.queue

    def _ask_rater(self) -> str | None:
        """The rater's name: the one stored, else asked for (and stored); None if not given."""
        rater = self.engine.rater_name()
        if rater:
            return rater
        name, ok = QInputDialog.getText(self, "Your name as a rater", "Your name is stored with every rating you make:")
        if not ok or not name.strip():
            return None
        try:
            self.engine.set_rater_name(name)
        except EngineError as exc:
            self.show_error(str(exc))
            return None
        return self.engine.rater_name() or ""

    def open_run_scorecard(self, run_id: str | None = None) -> Any:
        """Open the scorecard of a run (the selected one by default), beside the window."""
        from desk.ui.run_scorecard import RunScorecardDialog

        run_id = run_id or self.selected_run_id() or self.current_run_id
        if run_id is None:
            self.show_error("Select a run to see its scorecard.")
            return None
        self.scorecard = self._replace(self.scorecard, lambda: RunScorecardDialog(self.engine, run_id, parent=self))
        return self.scorecard

    def _replace(self, old: Any, make: Callable[[], Any]) -> Any:
        """Close a run's dialog and open another in front (None, said, if the run cannot be read)."""
        if old is not None:
            old.close()
            old.deleteLater()
        try:
            dialog = make()
        except EngineError as exc:
            self.show_error(str(exc))
            return None
        dialog.show()
        dialog.raise_()
        dialog.activateWindow()
        return dialog

    def _rated(self, run_id: str) -> None:
        if run_id == self.current_run_id and not self.running:
            self.tab.dirty = True
            QTimer.singleShot(REFRESH_MS, self._reload_if_dirty)

    def _reload_if_dirty(self) -> None:
        if self.tab.dirty and not self.running:
            self.tab.dirty = False
            self.reload_matrix()

    # --- state ----------------------------------------------------------------------------
    def _update_buttons(self) -> None:
        suite, run_id = self.selected_suite(), self.selected_run_id()
        self.start_button.setEnabled(self.tab.can_start(suite, self.selected_names()))
        self.cancel_button.setEnabled(self.running)
        self.import_button.setEnabled(not self.importing.running)
        self.export_button.setEnabled(suite is not None and not self.exporting.running)
        self.resume_button.setEnabled(self.tab.can_resume(run_id))
        self.rate_button.setEnabled(self.tab.can_rate(run_id))
        self.scorecard_button.setEnabled(self.tab.run_info(run_id) is not None)

    def shutdown(self) -> None:
        self.cancel()
        if self.queue is not None:
            self.queue.close()
        if self.scorecard is not None:
            self.scorecard.close()
