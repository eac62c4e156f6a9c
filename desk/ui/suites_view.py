"""The Suites tab: suites (import, export), suite runs (start, cancel, resume) and a run's
matrix of cases x models, which fills in live while the run streams.

The tab's state and rules (what may start, the run's plan, its live figures, what is said
when it ends) are desk.engine.suites_tab's SuitesTab; this widget lays them out and binds
them. Long work goes through desk.ui.command's Command. A run (and a judge run) streams on the
window's streaming thread as a trial does; its callbacks, told on the GUI thread, note what
changed, and a timer redraws a few times a second. The matrix is desk.ui.suite_matrix's.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable, Iterable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from PySide6.QtCore import QModelIndex, Qt, QTimer, Signal
from PySide6.QtWidgets import (
    QFileDialog,
    QFormLayout,
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
    imported_text,
    one_reason_a_line,
    outside_question,
    run_suite_text,
    run_tooltip,
)
from desk.engine.tab_events import Notice
from desk.ui import defs, layout
from desk.ui.command import Command, MessageLine, ask_from_task
from desk.ui.judge_action import JudgeRunAction
from desk.ui.matrix_reads import MatrixReads
from desk.ui.run_dialogs import RunDialogs
from desk.ui.suite_matrix import TRIAL_ROLE, MatrixFilter, MatrixFilterBar, MatrixModel, MatrixView

if TYPE_CHECKING:
    from desk.core.rubric import Rubric
    from desk.engine.engine_thread import EngineThread
    from desk.ui.rating_queue import RatingQueue
    from desk.ui.run_compare_view import RunCompareDialog
    from desk.ui.run_scorecard import RunScorecardDialog

__all__ = ["ANY", "NO_EXPECT", "RATED", "STARTER", "UNRATED", "SuitesPanel"]

STARTER = "starter"
REFRESH_MS = 250  # live matrix redraws: at most 4 a second


class SuitesPanel(QWidget):
    """Suites on the left with the run form; runs and the open run's matrix on the right."""

    open_trial_requested = Signal(str)  # a matrix cell was clicked: open that case side by side
    run_finished = Signal(str)  # run id
    activity = Signal(str)  # what a running suite run is doing, for the status bar ("" when done)

    def __init__(self, engine: Engine, parent: QWidget | None = None,
                 streams: EngineThread[Engine] | None = None) -> None:  # streams: where runs stream
        super().__init__(parent)
        self.setObjectName("suitesPanel")
        self.engine = engine
        self.tab = SuitesTab(engine, streams)
        self.tab.running_changed.connect(self._on_running)
        self.tab.run_started.connect(self._on_start)
        self.rubric: Rubric | None = None  # the window's rubric, for the rating queue (None: the engine's)
        # Awaited before a run starts with the models it sends to (the window starts the
        # built-in model here); False stops the run before anything is stored.
        self.before_run: Callable[[Sequence[ModelRef]], Awaitable[bool]] | None = None
        self.dialogs = RunDialogs(engine, self, self.show_error, self._rated, lambda: self.rubric,
                                  open_trial=self.open_trial_requested.emit, big=self.tab.is_big)
        self.run_command = Command(self.show_info, self.show_error, clear=self.clear_message,
                                   running_changed=self._on_run_task, refuse=None)
        self.importing = Command(self.show_info, self.show_error, refuse="Still reading the last suite: wait for it.",
                                 running_changed=lambda _r: self._update_buttons())
        self.exporting = Command(self.show_info, self.show_error, refuse="Still exporting: wait for it.",
                                 running_changed=lambda _r: self._update_buttons())
        self._refresh = QTimer(self)
        self._refresh.setInterval(REFRESH_MS)
        self._refresh.timeout.connect(self._tick)
        self._build()
        self.matrix_reads = MatrixReads(self, self.tab, self._show_matrix, self.show_error, self.matrix_title.setText)
        # Suites and runs are read when the tab is first shown (the starter is imported then).
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
        self.max_turns = QSpinBox()
        self.max_turns.setObjectName("suiteMaxTurns")
        self.max_turns.setRange(1, 20)
        self.max_turns.setValue(2)  # as desk suite run --max-turns
        self.max_turns.setToolTip("Turns per case: while an answer asks a question, the case's clarification "
                                  "is sent as the next turn, up to this many (1: never)")
        form = QFormLayout()
        form.setContentsMargins(0, 0, 0, 0)
        form.addRow("Repeat", self.repeat)
        form.addRow("Concurrency", self.concurrency)
        form.addRow("Max turns", self.max_turns)
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
        self.compare_button = layout.button("Compare runs…", "suiteCompare", self.open_run_compare,
                                            "This run against the suite's run before it, figure by figure "
                                            "with paired tests; and the suite's history over time")
        self.judge = JudgeRunAction(self.engine, self, lambda: self.selected_run_id() or self.current_run_id,
                                    self.tab.model_names, self.show_info, self.show_error, sending=self.tab.sending)
        head = layout.row(QLabel("<b>Runs</b>"), None, self.resume_button, self.rate_button, self.scorecard_button,
                          self.compare_button)
        judging = layout.row(None, self.judge.button, self.judge.cancel_button, self.judge.agreement_button)
        return layout.column(0, head, judging, (self.run_table, 1))

    def _build_matrix(self) -> QWidget:
        self.matrix_title = QLabel("Open a run to see its answers: cases down, models across.")
        self.matrix_title.setObjectName("suiteMatrixTitle")
        self.matrix_title.setWordWrap(True)
        self.matrix_model = MatrixModel(self)
        self.proxy = MatrixFilter(self.matrix_model, self)
        self.filters = MatrixFilterBar(self.proxy)
        self.matrix_view = MatrixView()
        self.matrix_view.setObjectName("suiteMatrix")
        self.matrix_view.setModel(self.proxy)
        self.matrix_view.clicked.connect(self._open_index)
        self.matrix_view.open_requested.connect(self._open_index)
        return layout.column(0, self.matrix_title, self.filters, (self.matrix_view, 1))

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
        return await self.tab.import_suite(path, name, self._allow_outside)

    def _imported(self, info: SuiteInfo) -> str:
        self.refresh_suites(select=info.name)
        return imported_text(info)

    async def _allow_outside(self, refused: EngineError) -> bool:
        """Ask whether the files from outside the suite's folder may be imported (default: no)."""
        self.show_error(str(refused))
        no, yes = QMessageBox.StandardButton.No, QMessageBox.StandardButton.Yes
        return await ask_from_task(lambda: QMessageBox.question(
            self, "Files outside the suite's folder", outside_question(refused.outside), yes | no, no) == yes)

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
        return self._begin(lambda: self.tab.plan_run(self.selected_suite(), self.selected_names(),
                                                     self.repeat.value(), self.concurrency.value(),
                                                     self.max_turns.value()))

    def resume(self, run_id: str | None = None) -> bool:
        """Send the cells of a run that have no answer yet."""
        return self._begin(lambda: self.tab.plan_resume(run_id or self.selected_run_id()))

    def cancel(self) -> None:
        self.run_command.cancel()

    def _begin(self, make: Callable[[], RunPlan]) -> bool:
        if self.running or self.run_command.busy:
            return False
        try:
            plan = make()
        except PlanError as exc:
            self.show_error(str(exc))
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
        now = time.monotonic()
        if self.tab.reload_due(now):
            self.tab.dirty = False
            self.reload_matrix()
            self.tab.reloaded(now, time.monotonic() - now)

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
            rid.setToolTip(run_tooltip(info))
            self.run_table.setItem(row, 0, rid)
            self.run_table.setItem(row, 1, QTableWidgetItem(run_suite_text(info)))
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
        return self.matrix_reads.reload()

    def _show_matrix(self, matrix: SuiteMatrix | None) -> bool:
        if matrix is None:
            self.matrix_model.set_matrix(None)
            return False
        fresh = self.matrix_model.matrix is None or self.matrix_model.matrix.run.run_id != matrix.run.run_id
        self.matrix_model.set_matrix(matrix, self.tab.rows_of(matrix))
        if fresh:
            self.filters.fill_tags(matrix)
            header = self.matrix_view.horizontalHeader()
            header.resizeSection(0, 240)
            for col in range(1, 1 + len(matrix.models)):
                header.resizeSection(col, 300)
        self.matrix_title.setText(self.tab.title(matrix))
        self.filters.show_counts()
        return True

    def visible_cases(self) -> list[str]:
        """The case keys the matrix shows now, top to bottom (after the filters)."""
        return self.proxy.case_keys()

    def cell_index(self, case_key: str, model: str, sample: int = 0) -> QModelIndex:
        """The view's index of a cell (invalid if filtered out)."""
        return self.proxy.cell_index(case_key, model, sample)

    def _open_index(self, index: QModelIndex) -> None:
        trial_id = self.proxy.trial_at(index)
        if trial_id:
            self.open_trial_requested.emit(trial_id)
        else:
            self.show_info("That case has no answer yet.")

    # --- rating ---------------------------------------------------------------------------
    def open_rating_queue(self, run_id: str | None = None, rater: str | None = None) -> RatingQueue | None:
        """Open the rating queue of a run (the selected one by default)."""
        run_id = run_id or self.selected_run_id() or self.current_run_id
        if run_id is None:
            self.show_error("Select a run to rate.")
            return None
        return self.dialogs.open_queue(run_id, rater)

    def open_run_scorecard(self, run_id: str | None = None) -> RunScorecardDialog | None:
        """Open the scorecard of a run (the selected one by default), beside the window."""
        run_id = run_id or self.selected_run_id() or self.current_run_id
        if run_id is None:
            self.show_error("Select a run to see its scorecard.")
            return None
        return self.dialogs.open_scorecard(run_id)

    def open_run_compare(self, run_id: str | None = None) -> RunCompareDialog | None:
        """Compare a run (the selected one) with its suite's run before it, beside the window."""
        info = self.tab.run_info(run_id or self.selected_run_id() or self.current_run_id)
        if info is None:
            self.show_error("Select a run to compare.")
            return None
        return self.dialogs.open_compare(info.suite, info.run_id)

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
        self.compare_button.setEnabled(self.tab.run_info(run_id) is not None)

    def shutdown(self) -> None:
        self.cancel()
        self.dialogs.close()
