"""The Load tab: what happens when many users arrive at once, per model, side by side.

The run itself happens off the GUI thread (`LoadService.run_in_thread`, its own
event loop, HTTP client and store connection). Its callbacks run on that thread and touch
no Qt object at all: they only put outcomes in a `Mailbox` under a lock. A timer on the
GUI thread empties it every `REFRESH_MS` and redraws, so a run finishing 500 requests a
second repaints at most five times a second, one plot at a time (`STAGGER_MS` apart) with
axes that only grow, so no single frame holds the window long. While a run is on, the
objects alive at its start are frozen out of the garbage collector (`gc.freeze`): a full
collection of a big heap would otherwise stop every thread for ~100 ms, the window's and
the run's alike. (Collection itself only ever runs on the GUI thread: desk/ui/collector.py.)

The tab's state and rules (the form's values and their validation, the plan, the task sent,
the live statistics) live in `desk.engine.load_tab.LoadTabModel`, without Qt; this widget
lays them out and binds to them; starting, resuming and cancelling runs is
`desk.ui.load_running`, the form's "Where" `desk.ui.load_where`. The plots are `desk.ui.load_charts`.

Next to latency over time, two plots show what the vendors' rate-limit headers said was
left (requests, tokens) in the answer to each HTTP request, plotted at the instant it was
sent, with a dashed line where the first 429 came; the line under the table says at what
concurrency and request rate that was.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path
from typing import Any

import pyqtgraph as pg
from PySide6.QtCore import Qt, QTimer, Signal
from PySide6.QtWidgets import (
    QFileDialog,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QListWidget,
    QListWidgetItem,
    QProgressBar,
    QPushButton,
    QScrollArea,
    QSplitter,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from desk.core.dataset import DatasetError, load_prompts
from desk.core.load import RequestOutcome
from desk.core.load_report import (
    SUMMARY_HEADERS,
    SUMMARY_TIPS,
    cluster_lines,
    lag_line,
    summary_rows,
    throttling_line,
)
from desk.core.trial import TrialInput
from desk.engine.jobs import Job, JobCancelled
from desk.engine.load_tab import (
    NO_FALLBACK,
    RUN_EXPORT_CHOICES,
    LiveStats,
    LoadTabModel,
    export_format,
    parse_ramp,
    placement_of,
    run_title,
)
from desk.engine.services.exports import RunExportParams
from desk.engine.session import Engine, EngineError
from desk.ui import defs
from desk.ui.busy import BusyBar
from desk.ui.load_charts import LoadCharts
from desk.ui.load_form import LoadFormFields
from desk.ui.load_running import LoadRunning

__all__ = ["SUMMARY_HEADERS", "LoadPanel", "parse_ramp"]

REFRESH_MS = 200  # at most five redraws a second while a run streams in


class LoadPanel(LoadFormFields, LoadRunning, QWidget):
    """Settings, Start/Cancel, live plots, the per-model summary and past runs."""

    run_finished = Signal(str)  # the run id ("" when the run could not start)
    activity = Signal(str)  # what a running load run is doing, for the status bar ("" when done)
    trial_wanted = Signal()  # "use the Trials tab's task": the window answers with use_trial()

    def __init__(self, engine: Engine, db_path: str | Path, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("loadPanel")
        self.engine = engine
        self.db_path = db_path
        self.model = LoadTabModel()
        self.busy: BusyBar | None = None  # the window's status-bar bar, for exports (set by the window)
        self._cancel: Callable[[], None] | None = None
        self._refresh = QTimer(self)  # runs only while a run is on
        self._refresh.setInterval(REFRESH_MS)
        self._refresh.timeout.connect(self._drain)
        self.charts = LoadCharts(self, self.model)
        charts = self.charts
        self.cdf_plot, self.time_plot, self.step_plot = charts.cdf_plot, charts.time_plot, charts.step_plot
        self.limit_requests_plot, self.limit_tokens_plot = charts.limit_requests_plot, charts.limit_tokens_plot
        self._build()
        self._bind()
        self.refresh_models()
        self.refresh_runs()

    # --- what the model holds, as the window and tests ask for it -------------------------------
    @property
    def dataset(self) -> list[TrialInput] | None:
        return self.model.dataset

    @property
    def outcomes(self) -> list[RequestOutcome]:
        return self.model.outcomes

    @property
    def live(self) -> LiveStats:
        return self.model.live

    @property
    def current_run_id(self) -> str | None:
        return self.model.current_run_id

    @property
    def current_summary(self) -> dict[str, Any] | None:
        return self.model.current_summary

    @property
    def redraws(self) -> int:
        return self.charts.redraws

    # --- layout ----------------------------------------------------------------------------
    def _build(self) -> None:
        left = QWidget()
        lcol = QVBoxLayout(left)
        lcol.setContentsMargins(defs.MARGIN, defs.MARGIN, defs.MARGIN, defs.MARGIN)
        settings_scroll = QScrollArea()
        settings_scroll.setWidgetResizable(True)
        settings_scroll.setWidget(self._build_form())
        lcol.addWidget(settings_scroll, 3)
        lcol.addLayout(self._build_buttons())
        lcol.addWidget(self.message)
        lcol.addWidget(QLabel("<b>Past runs</b>"))
        self.runs = QListWidget()
        self.runs.setObjectName("loadRuns")
        self.runs.setToolTip("Past load runs, newest first: select one to reopen it")
        self.runs.itemSelectionChanged.connect(self._on_run_selected)
        lcol.addWidget(self.runs, 2)
        self.export_button = QPushButton("Export requests…")
        self.export_button.setObjectName("loadExport")
        self.export_button.setToolTip("Write every request of the open run to CSV or JSONL")
        self.export_button.setEnabled(False)
        self.export_button.clicked.connect(lambda: self.export_requests())
        run_buttons = QHBoxLayout()
        run_buttons.addWidget(self.export_button, 1)
        run_buttons.addWidget(self._build_resume())  # a run cut short goes on: desk load --resume
        lcol.addLayout(run_buttons)

        self.split = QSplitter(Qt.Orientation.Horizontal)
        self.split.addWidget(left)
        self.split.addWidget(self._build_results())
        self.split.setStretchFactor(0, 1)
        self.split.setStretchFactor(1, 3)
        self.split.setSizes([360, 1040])
        outer = QVBoxLayout(self)
        outer.setContentsMargins(0, 0, 0, 0)
        outer.addWidget(self.split)
        self._reset_view([], None)

    def _build_buttons(self) -> QHBoxLayout:
        self.start_button = QPushButton("Start")
        self.start_button.setObjectName("loadStart")
        self.start_button.clicked.connect(self.start)
        self.cancel_button = QPushButton("Cancel")
        self.cancel_button.setObjectName("loadCancel")
        self.cancel_button.setToolTip("Stop the run; what it measured is kept and stored as cancelled")
        self.cancel_button.setEnabled(False)
        self.cancel_button.clicked.connect(self.cancel)
        buttons = QHBoxLayout()
        buttons.addWidget(self.start_button, 1)
        buttons.addWidget(self.cancel_button)
        self.message = QLabel()
        self.message.setObjectName("loadMessage")
        self.message.setWordWrap(True)
        self.message.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.message.setVisible(False)
        return buttons

    def _build_results(self) -> QWidget:
        """Progress and status, the plots, and under them the summary table and its notes."""
        self.progress = QProgressBar()
        self.progress.setObjectName("loadProgress")
        self.progress.setRange(0, 1)
        self.progress.setValue(0)
        self.progress.setFormat("%v / %m")
        self.status = QLabel("Set up a run on the left and press Start.")
        self.status.setObjectName("loadStatus")
        self.status.setStyleSheet(f"color: {defs.muted()};")
        self.plots = self.charts.widget
        self.results_split = QSplitter(Qt.Orientation.Vertical)
        self.results_split.addWidget(self.plots)
        self.results_split.addWidget(self._build_summary())
        self.results_split.setStretchFactor(0, 3)
        self.results_split.setStretchFactor(1, 2)
        right = QWidget()
        rcol = QVBoxLayout(right)
        rcol.setContentsMargins(defs.MARGIN, defs.MARGIN, defs.MARGIN, defs.MARGIN)
        rcol.addWidget(self.progress)
        rcol.addWidget(self.status)
        rcol.addWidget(self.results_split, 1)
        return right

    def _build_summary(self) -> QWidget:
        self.table = QTableWidget(0, len(SUMMARY_HEADERS))
        self.table.setObjectName("loadSummaryTable")
        self.table.setHorizontalHeaderLabels(SUMMARY_HEADERS)
        for column, header in enumerate(SUMMARY_HEADERS):
            if header in SUMMARY_TIPS:
                self.table.horizontalHeaderItem(column).setToolTip(SUMMARY_TIPS[header])
        self.table.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        self.table.verticalHeader().setVisible(False)
        self.table.setEditTriggers(QTableWidget.EditTrigger.NoEditTriggers)
        # Room for three models and a scroll bar: the plots must not squeeze it to one row.
        self.table.setMinimumHeight(self.table.horizontalHeader().sizeHint().height()
                                    + 3 * self.table.verticalHeader().defaultSectionSize() + 24)
        self.lag = _note("loadLag", f"color: {defs.muted()};")
        self.lag_warning = _note("loadLagWarning", f"color: {defs.error_text()};")
        self.lag_warning.setVisible(False)
        # amber like the 429 markers, dark enough to read on a light window, light on a dark one
        self.throttle = _note("loadThrottling", f"color: {'#ffb74d' if defs.dark() else '#8d5a00'};")
        self.throttle.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.throttle.setVisible(False)
        bottom = QWidget()
        bcol = QVBoxLayout(bottom)
        bcol.setContentsMargins(0, 0, 0, 0)
        bcol.addWidget(self.table, 1)
        bcol.addWidget(self.throttle)
        bcol.addWidget(self.lag)
        bcol.addWidget(self.lag_warning)
        return bottom

    def _bind(self) -> None:
        """What the user types goes into the model's form; what the model says is drawn."""
        model = self.model

        def into(name: str, convert: Callable[[Any], Any] = lambda v: v) -> Callable[[Any], None]:
            return lambda value: model.edit(**{name: convert(value)})

        self.models.itemChanged.connect(lambda _item: model.edit(models=tuple(self.selected_names())))
        self.prompt.textChanged.connect(lambda: into("prompt")(self.prompt.toPlainText()))
        self.requests.valueChanged.connect(into("requests", lambda v: v or None))
        self.concurrency.valueChanged.connect(into("concurrency"))
        self.ramp.textChanged.connect(self.model.set_ramp)
        self.duration.valueChanged.connect(into("duration_s", lambda v: v or None))
        self.max_retries.valueChanged.connect(into("max_retries"))
        self.honour_retry_after.toggled.connect(into("honour_retry_after"))
        for box in ("backoff_base", "backoff_max", "first_token_timeout", "idle_timeout", "total_timeout",
                    "connect_timeout"):
            getattr(self, box).valueChanged.connect(into(box))
        self.fallback.currentTextChanged.connect(model.set_fallback)
        self.budget.valueChanged.connect(into("budget_ms", lambda v: float(v) or None))
        self.temperature.valueChanged.connect(into("temperature", lambda v: None if v < 0 else round(v, 2)))
        self.max_tokens.valueChanged.connect(into("max_tokens", lambda v: v or None))
        self.model.message_changed.connect(self._show_message)
        self.model.ramp_checked.connect(self._show_ramp)
        self.model.dataset_changed.connect(self._show_task)
        self.model.progressed.connect(self._show_progress)

    # --- messages --------------------------------------------------------------------------
    def show_error(self, text: str) -> None:
        self.model.say("error", text)

    def show_info(self, text: str) -> None:
        self.model.say("info", text)

    def clear_message(self) -> None:
        self.model.clear_message()

    def _show_message(self, kind: str | None, text: str) -> None:
        if kind is None:
            self.message.clear()
            self.message.setVisible(False)
            return
        colour = defs.error_text() if kind == "error" else defs.streaming_text()
        self.message.setStyleSheet(f"color: {colour};")
        self.message.setText(text)
        self.message.setVisible(True)

    # --- settings --------------------------------------------------------------------------
    def refresh_models(self) -> None:
        """Offer the configured models again, keeping what was checked."""
        checked = set(self.selected_names())
        fallback = self.fallback.currentText()
        self.models.clear()
        self.fallback.clear()
        self.fallback.addItem(NO_FALLBACK)
        for ref in self.engine.providers.configured_models():
            item = QListWidgetItem(str(ref))
            item.setFlags(Qt.ItemFlag.ItemIsUserCheckable | Qt.ItemFlag.ItemIsEnabled)
            item.setCheckState(Qt.CheckState.Checked if str(ref) in checked else Qt.CheckState.Unchecked)
            self.models.addItem(item)
            self.fallback.addItem(str(ref))
        index = self.fallback.findText(fallback)
        self.fallback.setCurrentIndex(max(index, 0))
        self.model.edit(models=tuple(self.selected_names()))

    def selected_names(self) -> list[str]:
        return [self.models.item(i).text() for i in range(self.models.count())
                if self.models.item(i).checkState() == Qt.CheckState.Checked]

    def set_checked(self, names: Iterable[str]) -> None:
        wanted = set(names)
        for i in range(self.models.count()):
            item = self.models.item(i)
            item.setCheckState(Qt.CheckState.Checked if item.text() in wanted else Qt.CheckState.Unchecked)
        self.model.edit(models=tuple(self.selected_names()))

    def _show_ramp(self, levels: list[int] | None) -> None:
        if levels is None:
            self.ramp.setStyleSheet(f"border: 1px solid {defs.ERROR_COLOUR};")
            return
        self.ramp.setStyleSheet("")
        self.concurrency.setEnabled(not levels)  # a ramp gives each step its own concurrency

    def choose_dataset(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self, "Prompts for the load run", "",
                                              "Datasets (*.csv *.tsv *.jsonl *.ndjson);;All files (*)")
        if path:
            self.load_dataset(path)

    def load_dataset(self, path: str | Path) -> asyncio.Future[bool]:
        """Read prompts from a CSV/JSONL file on a worker thread (up to 200 MiB: never on the GUI
        thread); on a problem say which line and keep the old ones. Returns the task."""

        async def go() -> bool:
            self.dataset_button.setEnabled(False)
            try:
                prompts = await asyncio.to_thread(load_prompts, path)
            except DatasetError as exc:
                self.show_error(f"Dataset not loaded: {exc}")
                return False
            finally:
                self.dataset_button.setEnabled(True)
            self.model.use_dataset(path, prompts)
            return True

        return asyncio.ensure_future(go())

    def use_trial(self, trial: TrialInput) -> bool:
        """Send this whole task (system prompt and attachments included) with every request."""
        return self.model.use_trial(trial)

    def _show_task(self) -> None:
        self.dataset_label.setText(self.model.dataset_text)
        self.dataset_label.setToolTip(self.model.dataset_tip)
        self.dataset_clear.setEnabled(self.model.dataset is not None)
        self.prompt.setEnabled(self.model.dataset is None)

    # --- views -----------------------------------------------------------------------------
    def _reset_view(self, models: Sequence[str], budget_ms: float | None) -> None:
        self.model.reset(models, budget_ms)
        self.charts.reset(budget_ms)
        self.table.setRowCount(0)
        self.lag.clear()
        self.lag_warning.clear()
        self.lag_warning.setVisible(False)
        self.throttle.clear()
        self.throttle.setVisible(False)

    def _show_summary(self, summary: dict[str, Any] | None, note: str | None = None) -> None:
        rows = summary_rows(summary)
        self.table.setRowCount(len(rows))
        for row, cells in enumerate(rows):
            for column, text in enumerate(cells):
                item = QTableWidgetItem(text)
                if column == 0:
                    item.setForeground(pg.mkColor(self.charts.colour(text)))
                self.table.setItem(row, column, item)
        throttle = throttling_line(summary)
        self.throttle.setText(throttle)
        self.throttle.setVisible(bool(throttle))
        text, warning = lag_line((summary or {}).get("event_loop_lag"))
        if note:
            text = f"{note}  {text}".strip()
        text = "\n".join([text, *cluster_lines(summary)]).strip()  # a cluster run: its workers and their clocks
        self.lag.setText(text)
        self.lag_warning.setText(warning or "")
        self.lag_warning.setVisible(bool(warning))

    def summary_cell(self, model: str, column: str) -> str | None:
        """The text of one summary cell (by model and header), for tests and accessibility."""
        col = SUMMARY_HEADERS.index(column)
        for row in range(self.table.rowCount()):
            item = self.table.item(row, 0)
            if item is not None and item.text() == model:
                cell = self.table.item(row, col)
                return cell.text() if cell is not None else None
        return None

    # --- past runs -------------------------------------------------------------------------
    def refresh_runs(self) -> None:
        runs = self.engine.loads.runs.list("load")
        self.runs.blockSignals(True)
        self.runs.clear()
        for info in runs:
            item = QListWidgetItem(run_title(info))
            item.setData(Qt.ItemDataRole.UserRole, info.id)
            item.setToolTip(f"run {info.id}\n{info.spec.get('source') or ''}")
            self.runs.addItem(item)
            if info.id == self.current_run_id:
                item.setSelected(True)
                self.runs.setCurrentItem(item)
        self.runs.blockSignals(False)

    def run_ids(self) -> list[str]:
        return [self.runs.item(i).data(Qt.ItemDataRole.UserRole) for i in range(self.runs.count())]

    def _on_run_selected(self) -> None:
        items = self.runs.selectedItems()
        if items:
            self.open_run(items[0].data(Qt.ItemDataRole.UserRole))

    def open_run(self, run_id: str) -> bool:
        """Show a stored run: its plots from the stored requests, its table from the summary."""
        if self.running:
            self.show_error("A run is in progress: cancel it or wait before opening another.")
            return False
        loaded = self.engine.loads.load(run_id)
        if loaded is None:
            self.show_error("That run is no longer in the store.")
            self.refresh_runs()
            return False
        info, outcomes = loaded
        self.clear_message()
        self._reset_view(list(info.spec.get("models") or []), info.spec.get("p95_budget_ms"))
        opened = self.model.open_stored(info, outcomes)
        self.progress.setRange(0, opened.planned or max(len(outcomes), 1))
        self.progress.setValue(min(len(outcomes), self.progress.maximum()))
        self.status.setText(self.model.opened_status(opened))
        self.charts.redraw(opened.summary)
        self._show_summary(opened.summary, opened.note)
        self.export_button.setEnabled(True)
        self.show_resumable(opened.resume_problem)
        if opened.resume_problem is None:  # Resume sends from where the run was sent, unless changed
            self.where_row.set_placement(*placement_of(info.spec))
        return True

    def export_requests(self, path: str | None = None, fmt: str | None = None) -> asyncio.Future[bool] | None:
        """Write the open run's requests (asks where when no path is given): `csv` / `jsonl`
        one row per request of the run; `http-csv` / `http-jsonl` one row per HTTP request,
        retries included, with its request id, timestamps and rate-limit headers as sent
        (what `desk export --run` writes). Off the GUI thread, with progress and Cancel in
        the status bar's busy bar; returns the task (None when nothing was started)."""
        if self.current_run_id is None:
            self.show_error("Open or finish a run first: there is nothing to export.")
            return None
        if path is None:
            path, chosen = QFileDialog.getSaveFileName(self, "Export the run's requests",
                                                       f"desk-load-{self.current_run_id}.csv",
                                                       ";;".join(RUN_EXPORT_CHOICES))
            if not path:
                return None
            fmt = RUN_EXPORT_CHOICES.get(chosen)
        fmt = export_format(path, fmt)
        if self.busy is None or self.busy.busy:
            self.show_error("desk is still busy with the work shown in the status bar: wait or cancel it.")
            return None
        busy, run_id, chosen_fmt, chosen_path = self.busy, self.current_run_id, fmt, str(path)
        what = "HTTP requests" if fmt.startswith("http-") else "requests"

        async def go() -> bool:
            job = Job(f"Exporting the run's {what}")
            try:
                result = await busy.run(f"Exporting the run's {what}", lambda: self.engine.exports.export_run_in_background(
                    RunExportParams(run_id, chosen_fmt.removeprefix("http-"), chosen_path,
                                    per_http_request=chosen_fmt.startswith("http-")), job), job)
            except JobCancelled:
                self.show_info("Export cancelled: no file was written.")
                return False
            except (ValueError, OSError, EngineError) as exc:
                self.show_error(f"Export failed: {exc}")
                return False
            self.show_info(f"Exported {result.rows} {what} to {result.path}.")
            return True

        return asyncio.ensure_future(go())


def _note(name: str, style: str) -> QLabel:
    """A wrapped line under the summary table."""
    label = QLabel()
    label.setObjectName(name)
    label.setWordWrap(True)
    label.setStyleSheet(style)
    return label
