"""The Load tab: what happens when many users arrive at once, per model, side by side.

The run itself happens off the GUI thread (`desk.engine.load.run_load_in_thread`, its own
event loop, HTTP client and store connection). Its callbacks run on that thread and touch
no Qt object at all: they only put outcomes in a `_Mailbox` under a lock. A timer on the
GUI thread empties it every `REFRESH_MS` and redraws, so a run finishing 500 requests a
second repaints at most five times a second, one plot at a time (`STAGGER_MS` apart) with
axes that only grow, so no single frame holds the window long. While a run is on, the
objects alive at its start are frozen out of the garbage collector (`gc.freeze`): a full
collection of a big heap would otherwise stop every thread for ~100 ms, the window's and
the run's alike. (Collection itself only ever runs on the GUI thread: desk/ui/collector.py.)

Next to latency over time, two plots show what the vendors' rate-limit headers said was
left (requests, tokens) in the answer to each HTTP request, plotted at the instant it was
sent, with a dashed line where the first 429 came; the line under the table says at what
concurrency and request rate that was.
"""

from __future__ import annotations

import asyncio
import gc
import math
import threading
import time
from collections import defaultdict, deque
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path
from time import perf_counter
from typing import Any

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import Qt, QTimer, Signal
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDoubleSpinBox,
    QFileDialog,
    QFormLayout,
    QGridLayout,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QLineEdit,
    QListWidget,
    QListWidgetItem,
    QPlainTextEdit,
    QProgressBar,
    QPushButton,
    QScrollArea,
    QSpinBox,
    QSplitter,
    QTableWidget,
    QTableWidgetItem,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from desk.core.dataset import DatasetError, load_prompts
from desk.core.load import LoadStep, RequestOutcome, ramp, summarize, throttling
from desk.core.load_report import SUMMARY_HEADERS, SUMMARY_TIPS, lag_line, summary_rows, throttling_line
from desk.core.statistics import percentile
from desk.core.trial import GenerationSettings, ModelRef, TrialInput
from desk.engine.jobs import Job, JobCancelled
from desk.engine.load import LoadPlan, LoadResult, run_load_in_thread
from desk.engine.policy import RetryPolicy, Timeouts
from desk.engine.session import Engine, EngineError, RunInfo
from desk.ui import defs
from desk.ui.busy import BusyBar
from desk.ui.model_picker import NO_TEMP

REFRESH_MS = 200  # at most five redraws a second while a run streams in
STAGGER_MS = 50  # ...one plot at a time, this far apart
MAX_SCATTER = 4000  # per series while drawing; the stored run keeps every request
COLOURS = ["#1565c0", "#2e7d32", "#6a1b9a", "#ef6c00", "#00838f", "#5d4037", "#ad1457", "#9e9d24"]
RATE_LIMITED_COLOUR = "#f9a825"
NO_FALLBACK = "(none)"
# The same defaults as `desk load` (its flags default to these too).
DEFAULT_RETRY = RetryPolicy()
DEFAULT_TIMEOUTS = Timeouts()


def parse_ramp(text: str) -> list[int]:
    """Concurrency levels: "1, 8,32 ,128" -> [1, 8, 32, 128]; "" -> [] (no ramp); else ValueError."""
    if not text.strip():
        return []
    levels = []
    for part in text.replace(";", ",").split(","):
        part = part.strip()
        if not part.isdigit() or int(part) < 1:
            shown = part or "an empty level"
            raise ValueError(f"ramp: {shown!r} is not a whole number of at least 1; "
                             "write concurrency levels like 1,8,32,128")
        levels.append(int(part))
    return levels


# --- what has arrived so far, ready to plot ---------------------------------------------


class _Live:
    """Outcomes received so far, kept in the shapes the plots need."""

    def __init__(self, models: Iterable[str] = ()) -> None:
        self.models: list[str] = list(models)
        self.ok_totals: dict[str, list[float]] = defaultdict(list)
        self.ok_points: dict[str, tuple[list[float], list[float]]] = defaultdict(lambda: ([], []))
        self.err_points: tuple[list[float], list[float]] = ([], [])
        self.limited_points: tuple[list[float], list[float]] = ([], [])
        self.step_totals: dict[tuple[str, int], list[float]] = defaultdict(list)
        self.step_concurrency: dict[int, int] = {}
        # what the vendors' rate-limit headers said was left, per model called: (ms since start, value)
        self.left_requests: dict[str, tuple[list[float], list[float]]] = defaultdict(lambda: ([], []))
        self.left_tokens: dict[str, tuple[list[float], list[float]]] = defaultdict(lambda: ([], []))
        self.first_429_ms: float | None = None
        self.n = self.ok = self.errors = 0
        self._ends: deque[float] = deque()
        self._latest_end = 0.0

    def add(self, outcomes: Iterable[RequestOutcome]) -> None:
        for o in outcomes:
            if o.model not in self.models:
                self.models.append(o.model)
            self.n += 1
            self.step_concurrency.setdefault(o.step, o.concurrency)
            for m in o.marks:
                at = m.start_s * 1000
                for series, value in ((self.left_requests, m.remaining_requests),
                                      (self.left_tokens, m.remaining_tokens)):
                    if value is not None:
                        xs, ys = series[m.model]
                        xs.append(at)
                        ys.append(value)
                if m.http_status == 429 and (self.first_429_ms is None or at < self.first_429_ms):
                    self.first_429_ms = at
            total = o.total_ms if o.total_ms is not None else 0.0
            if o.status == "interrupted":  # cut short by a cancel: counted, but no latency to show
                self.errors += 1
                continue
            if o.status == "ok":
                self.ok += 1
                self.ok_totals[o.model].append(total)
                xs, ys = self.ok_points[o.model]
                self.step_totals[(o.model, o.step)].append(total)
            else:
                self.errors += 1
                xs, ys = self.err_points
            xs.append(o.start_offset_ms)
            ys.append(total)
            if o.rate_limited:
                self.limited_points[0].append(o.start_offset_ms)
                self.limited_points[1].append(total)
            end = o.start_offset_ms + total
            self._latest_end = max(self._latest_end, end)
            self._ends.append(end)
        while self._ends and self._ends[0] < self._latest_end - 1000:
            self._ends.popleft()

    def current_rps(self) -> float:
        """Requests finished in the last second of the run (by the run's own clock)."""
        return float(sum(1 for e in self._ends if e >= self._latest_end - 1000))

    def p95_by_step(self, model: str) -> dict[int, tuple[int, float]]:
        """step -> (its concurrency, p95 total of the model's ok requests so far)."""
        out = {}
        for step, concurrency in sorted(self.step_concurrency.items()):
            p95 = percentile(self.step_totals.get((model, step), []), 95)
            if p95 is not None:
                out[step] = (concurrency, p95)
        return out


def _thin(xs: Sequence[float], ys: Sequence[float], limit: int = MAX_SCATTER) -> tuple[np.ndarray, np.ndarray]:
    x, y = np.asarray(xs, dtype=float), np.asarray(ys, dtype=float)
    if len(x) > limit:
        stride = int(np.ceil(len(x) / limit))
        x, y = x[::stride], y[::stride]
    return x, y


class _Mailbox:
    """What the load thread hands the GUI thread. Plain Python on purpose: the worker must
    never call into Qt (nor hold the last reference to a Qt object), so the GUI polls this."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._outcomes: list[RequestOutcome] = []
        self._counts = (0, 0)
        self._end: tuple[LoadResult | None, BaseException | None] | None = None

    def put(self, outcome: RequestOutcome, done: int, planned: int) -> None:  # load thread
        with self._lock:
            self._outcomes.append(outcome)
            self._counts = (done, planned)

    def finish(self, result: LoadResult | None, error: BaseException | None) -> None:  # load thread
        with self._lock:
            self._end = (result, error)

    def take(self) -> tuple[list[RequestOutcome], tuple[int, int],
                            tuple[LoadResult | None, BaseException | None] | None]:  # GUI thread
        with self._lock:
            batch, self._outcomes = self._outcomes, []
            return batch, self._counts, self._end


class _PlotGrid(QWidget):
    """The four plots in one row where each gets room for its title and legend, else in two
    rows of two (a laptop screen): a pyqtgraph plot narrower than its title or legend draws
    them clipped."""

    ROW_MIN = 4 * 300  # below this width, two rows

    def __init__(self, widgets: list[QWidget]) -> None:
        super().__init__()
        self.widgets = widgets
        self._grid = QGridLayout(self)
        self._grid.setContentsMargins(0, 0, 0, 0)
        self._grid.setSpacing(4)
        self.across = 0
        self._place(len(widgets))

    def _place(self, across: int) -> None:
        if across == self.across:
            return
        self.across = across
        for widget in self.widgets:
            self._grid.removeWidget(widget)
        for i, widget in enumerate(self.widgets):
            self._grid.addWidget(widget, i // across, i % across)
        for c in range(len(self.widgets)):
            self._grid.setColumnStretch(c, 1 if c < across else 0)
        for r in range(len(self.widgets)):
            self._grid.setRowStretch(r, 1 if r < math.ceil(len(self.widgets) / across) else 0)

    def resizeEvent(self, event: Any) -> None:
        self._place(len(self.widgets) if self.width() >= self.ROW_MIN else 2)
        super().resizeEvent(event)


class LoadPanel(QWidget):
    """Settings, Start/Cancel, live plots, the per-model summary and past runs."""

    run_finished = Signal(str)  # the run id ("" when the run could not start)
    activity = Signal(str)  # what a running load run is doing, for the status bar ("" when done)
    trial_wanted = Signal()  # "use the Trials tab's task": the window answers with use_trial()

    def __init__(self, engine: Engine, db_path: str | Path, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("loadPanel")
        self.engine = engine
        self.db_path = db_path
        self.dataset: list[TrialInput] | None = None
        self.dataset_path: str | None = None
        self.busy: BusyBar | None = None  # the window's status-bar bar, for exports (set by the window)
        self.current_run_id: str | None = None
        self.current_summary: dict[str, Any] | None = None
        self.outcomes: list[RequestOutcome] = []
        self.live = _Live()
        self.budget_ms: float | None = None
        self.redraws = 0
        self._cancel: Callable[[], None] | None = None
        self._mailbox = _Mailbox()
        self._started_at = 0.0
        self._refresh = QTimer(self)  # runs only while a run is on
        self._refresh.setInterval(REFRESH_MS)
        self._refresh.timeout.connect(self._drain)
        self._stagger = QTimer(self)
        self._stagger.setSingleShot(True)
        self._stagger.setInterval(STAGGER_MS)
        self._stagger.timeout.connect(self._draw_next)
        self._dirty: list[str] = []
        self._build()
        self.refresh_models()
        self.refresh_runs()

    # --- layout ----------------------------------------------------------------------------
    def _build(self) -> None:
        self.models = QListWidget()
        self.models.setObjectName("loadModels")
        self.models.setMaximumHeight(120)
        self.prompt = QPlainTextEdit()
        self.prompt.setObjectName("loadPrompt")
        self.prompt.setPlaceholderText("The prompt every request sends (or choose a dataset below)")
        self.prompt.setMaximumHeight(90)
        self.dataset_button = QPushButton("Dataset…")
        self.dataset_button.setObjectName("loadDatasetButton")
        self.dataset_button.setToolTip("CSV with a 'prompt' column, or JSONL with a 'prompt' field "
                                       "(and optionally 'system'); requests cycle through the rows")
        self.dataset_button.clicked.connect(lambda: self.choose_dataset())
        self.dataset_label = QLabel("no dataset: every request sends the prompt above")
        self.dataset_label.setObjectName("loadDatasetLabel")
        self.dataset_label.setWordWrap(True)
        self.dataset_label.setStyleSheet(f"color: {defs.muted()};")
        self.dataset_clear = QToolButton()
        self.dataset_clear.setText("✕")
        self.dataset_clear.setObjectName("loadDatasetClear")
        self.dataset_clear.setToolTip("Forget the dataset and send the prompt")
        self.dataset_clear.setEnabled(False)
        self.dataset_clear.clicked.connect(self.clear_dataset)
        self.trial_button = QPushButton("Trials tab's task")
        self.trial_button.setObjectName("loadTrialButton")
        self.trial_button.setToolTip("Send what the Trials tab holds (prompt, system prompt, images and files) "
                                     "with every request: a real task, not just a prompt")
        self.trial_button.clicked.connect(self.trial_wanted)
        dataset_row = QHBoxLayout()
        dataset_row.addWidget(self.dataset_button)
        dataset_row.addWidget(self.trial_button)
        dataset_row.addStretch(1)
        dataset_row.addWidget(self.dataset_clear)

        self.requests = QSpinBox()
        self.requests.setObjectName("loadRequests")
        self.requests.setRange(0, 1_000_000)
        self.requests.setSpecialValueText("no limit (by duration)")
        self.requests.setValue(20)
        self.requests.setToolTip("Requests per model in each step")
        self.concurrency = QSpinBox()
        self.concurrency.setObjectName("loadConcurrency")
        self.concurrency.setRange(1, 5000)
        self.concurrency.setValue(8)
        self.concurrency.setToolTip("Requests in flight per model (ignored when a ramp is given)")
        self.ramp = QLineEdit()
        self.ramp.setObjectName("loadRamp")
        self.ramp.setPlaceholderText("optional ramp, e.g. 1,8,32,128")
        self.ramp.setToolTip("One step per concurrency level, each with the requests (or duration) above")
        self.ramp.textChanged.connect(self._check_ramp)
        self.duration = QDoubleSpinBox()
        self.duration.setObjectName("loadDuration")
        self.duration.setRange(0, 86_400)
        self.duration.setDecimals(1)
        self.duration.setSuffix(" s")
        self.duration.setSpecialValueText("off")
        self.duration.setToolTip("Optional time limit per step (with a request count: whichever comes first)")
        self.max_retries = QSpinBox()
        self.max_retries.setObjectName("loadMaxRetries")
        self.max_retries.setRange(0, 20)
        self.max_retries.setValue(2)
        self.honour_retry_after = QCheckBox("Honour Retry-After")
        self.honour_retry_after.setObjectName("loadHonourRetryAfter")
        self.honour_retry_after.setChecked(True)
        self.honour_retry_after.setToolTip("Wait as long as a 429/503's Retry-After header asks before retrying, "
                                           "instead of the backoff below")
        self.max_retries.setToolTip("Retries of a failed request (connection errors, 429, 5xx) before it "
                                    "counts as an error or goes to the fallback model")
        self.backoff_base = self._seconds(
            "loadBackoffBase", DEFAULT_RETRY.base_delay, 0.0,
            "Backoff before the first retry; it doubles with each retry (with jitter) up to the longest")
        self.backoff_max = self._seconds(
            "loadBackoffMax", DEFAULT_RETRY.max_delay, 0.0, "Longest backoff between two retries")
        backoff_row = QHBoxLayout()
        backoff_row.addWidget(self.backoff_base, 1)
        backoff_row.addWidget(QLabel("to"))
        backoff_row.addWidget(self.backoff_max, 1)
        self.first_token_timeout = self._seconds(
            "loadFirstTokenTimeout", DEFAULT_TIMEOUTS.first_token, 0.01,
            "Longest wait from sending a request to the first part of its answer (connecting included); "
            "then the attempt is a timeout error")
        self.idle_timeout = self._seconds(
            "loadIdleTimeout", DEFAULT_TIMEOUTS.idle, 0.01,
            "Longest silence between two parts of an answer once it is streaming; "
            "then the request is a timeout error")
        self.total_timeout = self._seconds(
            "loadTotalTimeout", DEFAULT_TIMEOUTS.total, 0.01,
            "Longest a single attempt may take from start to the end of its answer")
        self.connect_timeout = self._seconds(
            "loadConnectTimeout", DEFAULT_TIMEOUTS.connect, 0.01,
            "Longest wait to open a connection to the vendor (DNS, TCP and TLS)")
        self.fallback = QComboBox()
        self.fallback.setObjectName("loadFallback")
        self.fallback.setToolTip("When a model's request fails (after its retries), ask this one")
        self.budget = QSpinBox()
        self.budget.setObjectName("loadBudget")
        self.budget.setRange(0, 10_000_000)
        self.budget.setSuffix(" ms")
        self.budget.setSpecialValueText("none")
        self.budget.setToolTip("p95 total latency budget: the knee is the first concurrency above it")
        self.temperature = QDoubleSpinBox()
        self.temperature.setObjectName("loadTemperature")
        self.temperature.setRange(NO_TEMP, 2.0)
        self.temperature.setDecimals(2)
        self.temperature.setSingleStep(0.1)
        self.temperature.setSpecialValueText("default")
        self.temperature.setValue(NO_TEMP)
        self.max_tokens = QSpinBox()
        self.max_tokens.setObjectName("loadMaxTokens")
        self.max_tokens.setRange(0, 1_000_000)
        self.max_tokens.setSpecialValueText("default")

        form_box = QWidget()
        form = QFormLayout(form_box)
        form.setContentsMargins(0, 0, 0, 0)
        form.addRow(QLabel("<b>Models</b>"))
        form.addRow(self.models)
        form.addRow("Prompt", self.prompt)
        form.addRow(dataset_row)
        form.addRow(self.dataset_label)  # its own row: a task's description wraps over lines
        form.addRow("Requests / step", self.requests)
        form.addRow("Concurrency", self.concurrency)
        form.addRow("Ramp", self.ramp)
        form.addRow("Duration / step", self.duration)
        form.addRow("Max retries", self.max_retries)
        form.addRow("", self.honour_retry_after)
        form.addRow("Backoff", backoff_row)
        form.addRow("Fallback model", self.fallback)
        form.addRow("p95 budget", self.budget)
        form.addRow("Temperature", self.temperature)
        form.addRow("Max tokens", self.max_tokens)
        form.addRow(QLabel("<b>Timeouts</b>"))
        form.addRow("First token", self.first_token_timeout)
        form.addRow("Idle", self.idle_timeout)
        form.addRow("Total", self.total_timeout)
        form.addRow("Connect", self.connect_timeout)
        self.form_box = form_box

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

        self.runs = QListWidget()
        self.runs.setObjectName("loadRuns")
        self.runs.setToolTip("Past load runs, newest first: select one to reopen it")
        self.runs.itemSelectionChanged.connect(self._on_run_selected)
        self.export_button = QPushButton("Export requests…")
        self.export_button.setObjectName("loadExport")
        self.export_button.setToolTip("Write every request of the open run to CSV or JSONL")
        self.export_button.setEnabled(False)
        self.export_button.clicked.connect(lambda: self.export_requests())

        settings_scroll = QScrollArea()
        settings_scroll.setWidgetResizable(True)
        settings_scroll.setWidget(form_box)
        left = QWidget()
        lcol = QVBoxLayout(left)
        lcol.setContentsMargins(defs.MARGIN, defs.MARGIN, defs.MARGIN, defs.MARGIN)
        lcol.addWidget(settings_scroll, 3)
        lcol.addLayout(buttons)
        lcol.addWidget(self.message)
        lcol.addWidget(QLabel("<b>Past runs</b>"))
        lcol.addWidget(self.runs, 2)
        lcol.addWidget(self.export_button)

        self.progress = QProgressBar()
        self.progress.setObjectName("loadProgress")
        self.progress.setRange(0, 1)
        self.progress.setValue(0)
        self.progress.setFormat("%v / %m")
        self.status = QLabel("Set up a run on the left and press Start.")
        self.status.setObjectName("loadStatus")
        self.status.setStyleSheet(f"color: {defs.muted()};")

        pg.setConfigOptions(background="w", foreground="k")
        self.cdf_plot = self._plot("loadCdfPlot", "Latency CDF (ok requests)", "total latency, ms",
                                   "fraction of requests")
        self.cdf_plot.setYRange(0, 1)
        self.time_plot = self._plot("loadTimePlot", "Latency over the run", "request start, ms since run start",
                                    "total latency, ms")
        self.step_plot = self._plot("loadStepPlot", "p95 total vs concurrency", "concurrency", "p95 total, ms")
        # The vendor's rate-limit headers over the run, next to latency: what it said was left.
        # Short titles: a pyqtgraph plot cannot get narrower than its title, and a wider plot
        # than its slot is drawn clipped, not shrunk.
        self.limit_requests_plot = self._plot("loadLimitRequestsPlot", "Requests left",
                                              "ms since run start", "requests")
        self.limit_tokens_plot = self._plot("loadLimitTokensPlot", "Tokens left",
                                            "ms since run start", "tokens")
        for plot in (self.limit_requests_plot, self.limit_tokens_plot):
            plot.setToolTip("What the vendor's rate-limit headers said was left "
                            "(x-ratelimit-remaining-*, anthropic-ratelimit-*-remaining)")
        limits = QWidget()
        lcol_plots = QVBoxLayout(limits)
        lcol_plots.setContentsMargins(0, 0, 0, 0)
        for plot in (self.limit_requests_plot, self.limit_tokens_plot):
            plot.setMinimumHeight(55)  # stacked, the pair is no taller than one plot at its minimum
            lcol_plots.addWidget(plot, 1)
        plots = _PlotGrid([self.cdf_plot, self.time_plot, limits, self.step_plot])
        self.plots = plots

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
        self.lag = QLabel()
        self.lag.setObjectName("loadLag")
        self.lag.setWordWrap(True)
        self.lag.setStyleSheet(f"color: {defs.muted()};")
        self.lag_warning = QLabel()
        self.lag_warning.setObjectName("loadLagWarning")
        self.lag_warning.setWordWrap(True)
        self.lag_warning.setStyleSheet(f"color: {defs.error_text()};")
        self.lag_warning.setVisible(False)
        self.throttle = QLabel()
        self.throttle.setObjectName("loadThrottling")
        self.throttle.setWordWrap(True)
        self.throttle.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        # amber like the 429 markers, dark enough to read on a light window, light on a dark one
        self.throttle.setStyleSheet(f"color: {'#ffb74d' if defs.dark() else '#8d5a00'};")
        self.throttle.setVisible(False)
        bottom = QWidget()
        bcol = QVBoxLayout(bottom)
        bcol.setContentsMargins(0, 0, 0, 0)
        bcol.addWidget(self.table, 1)
        bcol.addWidget(self.throttle)
        bcol.addWidget(self.lag)
        bcol.addWidget(self.lag_warning)

        self.results_split = QSplitter(Qt.Orientation.Vertical)
        self.results_split.addWidget(plots)
        self.results_split.addWidget(bottom)
        self.results_split.setStretchFactor(0, 3)
        self.results_split.setStretchFactor(1, 2)
        right = QWidget()
        rcol = QVBoxLayout(right)
        rcol.setContentsMargins(defs.MARGIN, defs.MARGIN, defs.MARGIN, defs.MARGIN)
        rcol.addWidget(self.progress)
        rcol.addWidget(self.status)
        rcol.addWidget(self.results_split, 1)

        self.split = QSplitter(Qt.Orientation.Horizontal)
        self.split.addWidget(left)
        self.split.addWidget(right)
        self.split.setStretchFactor(0, 1)
        self.split.setStretchFactor(1, 3)
        self.split.setSizes([360, 1040])
        outer = QVBoxLayout(self)
        outer.setContentsMargins(0, 0, 0, 0)
        outer.addWidget(self.split)
        self._reset_view([], None)

    @staticmethod
    def _seconds(name: str, value: float, minimum: float, tip: str) -> QDoubleSpinBox:
        box = QDoubleSpinBox()
        box.setObjectName(name)
        box.setRange(minimum, 3600.0)
        box.setDecimals(2)
        box.setSingleStep(0.5)
        box.setSuffix(" s")
        box.setValue(value)
        box.setToolTip(tip)
        return box

    @staticmethod
    def _plot(name: str, title: str, bottom: str, left: str) -> pg.PlotWidget:
        plot = pg.PlotWidget()
        plot.setObjectName(name)
        plot.setTitle(title)
        plot.setLabel("bottom", bottom)
        plot.setLabel("left", left)
        for axis in ("bottom", "left"):
            plot.getAxis(axis).enableAutoSIPrefix(False)
        plot.showGrid(x=True, y=True, alpha=0.3)
        plot.setMinimumSize(85, 120)  # four plots side by side fit where three of 120 did
        plot.addLegend(offset=(-10, 10))
        return plot

    # --- messages --------------------------------------------------------------------------
    def show_error(self, text: str) -> None:
        self.message.setStyleSheet(f"color: {defs.error_text()};")
        self.message.setText(text)
        self.message.setVisible(True)

    def show_info(self, text: str) -> None:
        self.message.setStyleSheet(f"color: {defs.streaming_text()};")
        self.message.setText(text)
        self.message.setVisible(True)

    def clear_message(self) -> None:
        self.message.clear()
        self.message.setVisible(False)

    # --- settings --------------------------------------------------------------------------
    def refresh_models(self) -> None:
        """Offer the configured models again, keeping what was checked."""
        checked = set(self.selected_names())
        fallback = self.fallback.currentText()
        self.models.clear()
        self.fallback.clear()
        self.fallback.addItem(NO_FALLBACK)
        for ref in self.engine.configured_models():
            item = QListWidgetItem(str(ref))
            item.setFlags(Qt.ItemFlag.ItemIsUserCheckable | Qt.ItemFlag.ItemIsEnabled)
            item.setCheckState(Qt.CheckState.Checked if str(ref) in checked else Qt.CheckState.Unchecked)
            self.models.addItem(item)
            self.fallback.addItem(str(ref))
        index = self.fallback.findText(fallback)
        self.fallback.setCurrentIndex(max(index, 0))

    def selected_names(self) -> list[str]:
        return [self.models.item(i).text() for i in range(self.models.count())
                if self.models.item(i).checkState() == Qt.CheckState.Checked]

    def set_checked(self, names: Iterable[str]) -> None:
        wanted = set(names)
        for i in range(self.models.count()):
            item = self.models.item(i)
            item.setCheckState(Qt.CheckState.Checked if item.text() in wanted else Qt.CheckState.Unchecked)

    def _check_ramp(self) -> bool:
        try:
            levels = parse_ramp(self.ramp.text())
        except ValueError as exc:
            self.ramp.setStyleSheet(f"border: 1px solid {defs.ERROR_COLOUR};")
            self.show_error(str(exc))
            return False
        self.ramp.setStyleSheet("")
        self.concurrency.setEnabled(not levels)  # a ramp gives each step its own concurrency
        if self.message.text().startswith("ramp:"):
            self.clear_message()
        return True

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
            self._use_dataset(path, prompts)
            return True

        return asyncio.ensure_future(go())

    def _use_dataset(self, path: str | Path, prompts: list[TrialInput]) -> None:
        self.dataset, self.dataset_path = prompts, str(path)
        self.dataset_label.setText(f"{len(prompts)} prompts from {Path(path).name}: requests cycle through them")
        self.dataset_label.setToolTip(str(path))
        self.dataset_clear.setEnabled(True)
        self.prompt.setEnabled(False)
        self.show_info(f"Loaded {len(prompts)} prompts from {Path(path).name}.")

    def use_trial(self, trial: TrialInput) -> bool:
        """Send this whole task (system prompt and attachments included) with every request."""
        if not trial.prompt.strip() and not trial.attachments:
            self.show_error("The Trials tab has no task yet: write a prompt (and attach files) there first.")
            return False
        extras = [f"{len(trial.attachments)} file(s)"] if trial.attachments else []
        if trial.system:
            extras.append("a system prompt")
        preview = " ".join(trial.prompt.split())[:60] or "(files only)"
        described = f"the Trials tab's task: “{preview}”" + (f" with {' and '.join(extras)}" if extras else "")
        self.dataset, self.dataset_path = [trial], "trials tab"
        self.dataset_label.setText(f"{described}: every request sends it")
        self.dataset_label.setToolTip(trial.prompt[:2000])
        self.dataset_clear.setEnabled(True)
        self.prompt.setEnabled(False)
        return True

    def clear_dataset(self) -> None:
        self.dataset = self.dataset_path = None
        self.dataset_label.setText("no dataset: every request sends the prompt above")
        self.dataset_label.setToolTip("")
        self.dataset_clear.setEnabled(False)
        self.prompt.setEnabled(True)

    def build_plan(self) -> LoadPlan:
        """The plan the form describes, or ValueError with a sentence for the user."""
        names = self.selected_names()
        if not names:
            raise ValueError("Check at least one model to load.")
        models = tuple(ModelRef.parse(n) for n in names)
        if self.dataset:
            inputs, source = tuple(self.dataset), self.dataset_path or "dataset"
        else:
            prompt = self.prompt.toPlainText()
            if not prompt.strip():
                raise ValueError("The prompt is empty: write one, or choose a dataset.")
            inputs, source = (TrialInput(prompt),), "prompt"
        levels = parse_ramp(self.ramp.text())
        requests = self.requests.value() or None
        duration = self.duration.value() or None
        if requests is None and duration is None:
            raise ValueError("Give each step a number of requests or a duration.")
        steps = (ramp(levels, requests=requests, duration_s=duration) if levels
                 else (LoadStep(self.concurrency.value(), requests, duration),))
        temperature = self.temperature.value()
        settings = GenerationSettings(temperature=None if temperature < 0 else round(temperature, 2),
                                      max_tokens=self.max_tokens.value() or None)
        base, longest = self.backoff_base.value(), self.backoff_max.value()
        if longest < base:
            raise ValueError(f"Backoff: the longest wait ({longest:g} s) cannot be shorter than the first "
                             f"({base:g} s).")
        retry = RetryPolicy(max_retries=self.max_retries.value(), base_delay=base, max_delay=longest,
                            honour_retry_after=self.honour_retry_after.isChecked())
        timeouts = Timeouts(connect=self.connect_timeout.value(), first_token=self.first_token_timeout.value(),
                            idle=self.idle_timeout.value(), total=self.total_timeout.value())
        fallback_name = self.fallback.currentText()
        fallback = (ModelRef.parse(fallback_name),) if fallback_name and fallback_name != NO_FALLBACK else ()
        return LoadPlan(models=models, inputs=inputs, steps=steps, settings=settings, retry=retry,
                        timeouts=timeouts, fallback=fallback, p95_budget_ms=float(self.budget.value()) or None, source=source)

    # --- running ---------------------------------------------------------------------------
    @property
    def running(self) -> bool:
        return self._cancel is not None

    def start(self) -> bool:
        """Start the run the form describes on its own thread; False (with a message) if it cannot."""
        if self.running:
            return False
        try:
            plan = self.build_plan()
        except ValueError as exc:
            self.show_error(str(exc))
            return False
        self.clear_message()
        # A fresh mailbox per run: a cancelled run that still reports cannot leak into this one.
        mailbox = self._mailbox = _Mailbox()
        self.current_run_id = None
        self.current_summary = None
        self._reset_view([str(m) for m in plan.models], plan.p95_budget_ms)
        planned = 0 if any(s.requests is None for s in plan.steps) else \
            sum(s.requests or 0 for s in plan.steps) * len(plan.models)
        self.progress.setRange(0, planned)  # 0..0: busy, the run goes by time
        self.progress.setValue(0)
        self.status.setText("Starting: resolving keys, warming up one connection per model…")
        self._set_running(True)
        self._started_at = perf_counter()
        # A full garbage collection of the whole heap holds the GIL for ~50-100 ms: it would
        # freeze the window and show up in the run's latencies. Until the run ends, it only
        # looks at objects made since the start (unfrozen in _on_finished).
        gc.collect()
        gc.freeze()
        # The callbacks are the mailbox's own methods: nothing on the load thread refers to
        # this widget, so it can never be the one to call Qt or drop a Qt object.
        self._cancel = run_load_in_thread(self.db_path, plan, progress=mailbox.put, done=mailbox.finish)
        self._refresh.start()
        return True

    def cancel(self) -> None:
        if self._cancel is not None:
            self.status.setText("Cancelling: stopping every request in flight…")
            self.cancel_button.setEnabled(False)
            self._cancel()

    def shutdown(self) -> None:
        """The window is closing: stop a run in progress (it is stored as cancelled)."""
        self.cancel()

    def _set_running(self, running: bool) -> None:
        self.form_box.setEnabled(not running)
        self.start_button.setEnabled(not running)
        self.cancel_button.setEnabled(running)
        self.runs.setEnabled(not running)
        self.export_button.setEnabled(not running and self.current_run_id is not None)

    def _drain(self) -> None:
        """Every REFRESH_MS while a run is on: take what the load thread reported."""
        batch, (done, planned), end = self._mailbox.take()
        if batch:
            self._show_progress(batch, done, planned)
        if end is not None:
            self._on_finished(*end)

    def _show_progress(self, batch: list[RequestOutcome], done: int, planned: int) -> None:
        self.outcomes.extend(batch)
        self.live.add(batch)
        if planned:
            self.progress.setRange(0, planned)
            self.progress.setValue(min(done, planned))
        self.status.setText(self._status_text(done, planned))
        self.activity.emit("Load run: " + self._status_text(done, planned))
        self._dirty = ["cdf", "time", "limits", "steps"]
        self._draw_next()

    def _status_text(self, done: int, planned: int, elapsed: float | None = None) -> str:
        elapsed = perf_counter() - self._started_at if elapsed is None else elapsed
        count = f"{done} / {planned} done" if planned else f"{done} done"
        return (f"{count} · {self.live.ok} ok · {self.live.errors} errors · "
                f"{self.live.current_rps():.0f} req/s now · {elapsed:.1f} s")

    def _on_finished(self, result: LoadResult | None, error: BaseException | None) -> None:
        self._refresh.stop()
        self.activity.emit("")
        self._cancel = None
        gc.unfreeze()
        if result is None:
            self._set_running(False)
            cancelled = error is None or isinstance(error, asyncio.CancelledError)
            text = ("Cancelled before anything was measured." if cancelled
                    else f"The run failed: {error}")
            self.status.setText(text)
            if cancelled:
                self.show_info(text)
            else:
                self.show_error(text)
            self.refresh_runs()
            self.run_finished.emit("")
            return
        self.current_run_id = result.run_id
        self.current_summary = result.summary
        self.outcomes = list(result.outcomes)
        self.live = _Live(self.live.models)
        self.live.add(self.outcomes)
        done = len(self.outcomes)
        planned = self.progress.maximum()
        if planned:
            self.progress.setValue(min(done, planned))
        else:
            self.progress.setRange(0, max(done, 1))
            self.progress.setValue(done)
        wall = result.summary.get("wall_s")
        self.status.setText(f"{'Cancelled' if result.status == 'cancelled' else 'Done'}: "
                            + self._status_text(done, planned, wall))
        self._redraw(result.summary)
        self._show_summary(result.summary)
        if error is not None:
            self.show_error(f"The run finished with a problem: {error}")
        elif result.status == "cancelled":
            self.show_info(f"Cancelled: the {done} requests measured are stored with the run.")
        self._set_running(False)
        self.refresh_runs()
        self.run_finished.emit(result.run_id)

    # --- views -----------------------------------------------------------------------------
    def _reset_view(self, models: Sequence[str], budget_ms: float | None) -> None:
        self.outcomes = []
        self.live = _Live(models)
        self.budget_ms = budget_ms
        self._stagger.stop()
        self._dirty = []
        for plot in (self.cdf_plot, self.time_plot, self.step_plot, self.limit_requests_plot,
                     self.limit_tokens_plot):
            plot.clear()
            plot.disableAutoRange()
            plot.setRange(xRange=(0, 1), yRange=(0, 1), padding=0)
        self._limit_curves: dict[tuple[str, str], pg.PlotDataItem] = {}
        # Where the first 429 came: one dashed line on the latency and rate-limit plots.
        self._first_429_lines: list[pg.InfiniteLine] = []
        for plot in (self.time_plot, self.limit_requests_plot, self.limit_tokens_plot):
            line = pg.InfiniteLine(angle=90, pen=pg.mkPen(RATE_LIMITED_COLOUR, width=2, style=Qt.PenStyle.DashLine),
                                   label="first 429", labelOpts={"position": 0.9, "color": RATE_LIMITED_COLOUR})
            line.setVisible(False)
            plot.addItem(line)
            self._first_429_lines.append(line)
        self._cdf_curves: dict[str, pg.PlotDataItem] = {}
        self._ok_scatter: dict[str, pg.ScatterPlotItem] = {}
        self._step_curves: dict[str, pg.PlotDataItem] = {}
        self._err_scatter = pg.ScatterPlotItem(symbol="x", size=9, pen=pg.mkPen(defs.ERROR_COLOUR, width=2),
                                               brush=pg.mkBrush(defs.ERROR_COLOUR), name="errors")
        self._limited_scatter = pg.ScatterPlotItem(symbol="t", size=11, pen=pg.mkPen(RATE_LIMITED_COLOUR),
                                                   brush=None, name="got a 429")
        self.time_plot.addItem(self._err_scatter)
        self.time_plot.addItem(self._limited_scatter)
        self._budget_line: pg.InfiniteLine | None = None
        if budget_ms is not None:
            self._budget_line = pg.InfiniteLine(
                pos=budget_ms, angle=0, pen=pg.mkPen(defs.ERROR_COLOUR, width=1, style=Qt.PenStyle.DashLine),
                label=f"p95 budget {budget_ms:,.0f} ms", labelOpts={"position": 0.1, "color": defs.ERROR_COLOUR},
            )
            self.step_plot.addItem(self._budget_line)
        self.table.setRowCount(0)
        self.lag.clear()
        self.lag_warning.clear()
        self.lag_warning.setVisible(False)
        self.throttle.clear()
        self.throttle.setVisible(False)

    def _colour(self, model: str) -> str:
        if model not in self.live.models:
            self.live.models.append(model)
        return COLOURS[self.live.models.index(model) % len(COLOURS)]

    def _redraw(self, summary: dict[str, Any] | None = None) -> None:
        """Draw all three plots now and fit them to their data (a finished or reopened run)."""
        self._stagger.stop()
        self._dirty.clear()
        self.redraws += 1
        self._draw_cdf(fit=True)
        self._draw_time(fit=True)
        self._draw_limits(fit=True)
        self._draw_steps(summary, fit=True)

    def _draw_next(self) -> None:
        """While a run streams in, one plot per tick: a repaint of the three at once (and
        pyqtgraph's second pass after a range change) would hold the GUI for a frame too long."""
        if not self._dirty:
            return
        which = self._dirty.pop(0)
        if which == "cdf":
            self.redraws += 1
            self._draw_cdf()
        elif which == "time":
            self._draw_time()
        elif which == "limits":
            self._draw_limits()
        else:
            self._draw_steps(None)
        if self._dirty:
            self._stagger.start()

    def _draw_cdf(self, fit: bool = False) -> None:
        top = 0.0
        for model in list(self.live.models):
            totals = sorted(self.live.ok_totals.get(model, []))
            if not totals:
                continue
            curve = self._cdf_curves.get(model)
            if curve is None:
                curve = self.cdf_plot.plot([], [], pen=pg.mkPen(self._colour(model), width=2), name=model)
                self._cdf_curves[model] = curve
            n = len(totals)
            curve.setData(np.asarray(totals, dtype=float), np.arange(1, n + 1, dtype=float) / n)
            top = max(top, totals[-1])
        self._fit(self.cdf_plot, top, 1.0, fit, fixed_top=True)

    def _draw_time(self, fit: bool = False) -> None:
        live = self.live
        right = top = 0.0
        for model in list(live.models):
            xs, ys = live.ok_points.get(model, ([], []))
            if not xs:
                continue
            scatter = self._ok_scatter.get(model)
            if scatter is None:
                colour = self._colour(model)
                scatter = pg.ScatterPlotItem(symbol="o", size=5, pen=None, brush=pg.mkBrush(colour), name=model)
                self.time_plot.addItem(scatter)
                self._ok_scatter[model] = scatter
            scatter.setData(*_thin(xs, ys))
            right, top = max(right, max(xs)), max(top, max(ys))
        for scatter, (xs, ys) in ((self._err_scatter, live.err_points), (self._limited_scatter, live.limited_points)):
            if xs:
                scatter.setData(*_thin(xs, ys))
                right, top = max(right, max(xs)), max(top, max(ys))
        self._fit(self.time_plot, right, top, fit)

    def _draw_limits(self, fit: bool = False) -> None:
        """Remaining requests and tokens per model over the run, and the first 429's line."""
        live = self.live
        first = live.first_429_ms
        for line in self._first_429_lines:
            if first is not None:
                line.setValue(first)
            line.setVisible(first is not None)
        for plot, series, kind in ((self.limit_requests_plot, live.left_requests, "requests"),
                                   (self.limit_tokens_plot, live.left_tokens, "tokens")):
            right = first or 0.0
            top = 0.0
            for model, (xs, ys) in list(series.items()):
                if not xs:
                    continue
                curve = self._limit_curves.get((kind, model))
                if curve is None:
                    colour = self._colour(model)
                    curve = plot.plot([], [], pen=pg.mkPen(colour, width=1.5), symbol="o", symbolSize=3,
                                      symbolBrush=colour, symbolPen=None, name=model)
                    self._limit_curves[(kind, model)] = curve
                x, y = np.asarray(xs, dtype=float), np.asarray(ys, dtype=float)
                order = np.argsort(x, kind="stable")  # outcomes arrive as they finish, not as they started
                curve.setData(*_thin(x[order], y[order]))
                right, top = max(right, float(x.max())), max(top, float(y.max()))
            self._fit(plot, right, top, fit)

    def limit_series(self, kind: str = "requests") -> dict[str, tuple[list[float], list[float]]]:
        """What is plotted as remaining `requests` or `tokens`: model -> (ms since start, value)."""
        series = self.live.left_requests if kind == "requests" else self.live.left_tokens
        return {m: (list(xs), list(ys)) for m, (xs, ys) in series.items() if xs}

    def _draw_steps(self, summary: dict[str, Any] | None, fit: bool = False) -> None:
        right = top = 0.0
        for model in list(self.live.models):
            points = self._step_points(model, summary)
            if not points:
                continue
            curve = self._step_curves.get(model)
            if curve is None:
                colour = self._colour(model)
                curve = self.step_plot.plot([], [], pen=pg.mkPen(colour, width=2), symbol="o", symbolBrush=colour,
                                            symbolPen=None, symbolSize=7, name=model)
                self._step_curves[model] = curve
            curve.setData([float(c) for c, _ in points], [p for _, p in points])
            right = max(right, max(c for c, _ in points))
            top = max(top, max(p for _, p in points))
        if self.budget_ms is not None:
            top = max(top, self.budget_ms)
        self._fit(self.step_plot, right, top, fit)

    @staticmethod
    def _fit(plot: pg.PlotWidget, right: float, top: float, exact: bool, *, fixed_top: bool = False) -> None:
        """Ranges from 0: exact at the end; during a run they only grow, with headroom, so
        most refreshes repaint the data without laying the axes out again. `fixed_top`: the
        y range is [0, top] whatever comes (a fraction)."""
        if right <= 0 and top <= 0:
            return
        (_, x1), (_, y1) = plot.getViewBox().viewRange()
        if exact:
            y_top = top * (1.02 if fixed_top else 1.05) or 1
            plot.setRange(xRange=(0, right * 1.05 or 1), yRange=(0, y_top), padding=0)
        elif right > x1 or top > y1:
            y_top = top * 1.02 if fixed_top else max(top * 1.3, y1)
            plot.setRange(xRange=(0, max(right * 1.3, x1)), yRange=(0, y_top), padding=0)

    def _step_points(self, model: str, summary: dict[str, Any] | None) -> list[tuple[int, float]]:
        """p95 total per step: from the run's per-step summaries where it has them (a finished
        step), else from the outcomes received so far (a step still running, or cut short)."""
        by_step = self.live.p95_by_step(model)
        for s in (summary or {}).get("steps", []):
            p95 = ((s.get("models") or {}).get(model) or {}).get("total_ms", {}).get("p95")
            if p95 is not None:
                by_step[s["step"]] = (s["concurrency"], p95)
        return [by_step[k] for k in sorted(by_step)]

    def _show_summary(self, summary: dict[str, Any] | None, note: str | None = None) -> None:
        rows = summary_rows(summary)
        self.table.setRowCount(len(rows))
        for row, cells in enumerate(rows):
            for column, text in enumerate(cells):
                item = QTableWidgetItem(text)
                if column == 0:
                    item.setForeground(pg.mkColor(self._colour(text)))
                self.table.setItem(row, column, item)
        throttle = throttling_line(summary)
        self.throttle.setText(throttle)
        self.throttle.setVisible(bool(throttle))
        text, warning = lag_line((summary or {}).get("event_loop_lag"))
        if note:
            text = f"{note}  {text}".strip()
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
        runs = self.engine.list_runs("load")
        self.runs.blockSignals(True)
        self.runs.clear()
        for info in runs:
            item = QListWidgetItem(self._run_title(info))
            item.setData(Qt.ItemDataRole.UserRole, info.id)
            item.setToolTip(f"run {info.id}\n{info.spec.get('source') or ''}")
            self.runs.addItem(item)
            if info.id == self.current_run_id:
                item.setSelected(True)
                self.runs.setCurrentItem(item)
        self.runs.blockSignals(False)

    @staticmethod
    def _run_title(info: RunInfo) -> str:
        when = time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(info.created_at))
        models = info.spec.get("models") or []
        levels = ",".join(str(s.get("concurrency")) for s in info.spec.get("steps") or [])
        n = sum(m.get("requests", 0) for m in ((info.summary or {}).get("models") or {}).values())
        name = f"{info.name} · " if info.name else ""
        return (f"{name}{when} · {info.status} · {len(models)} model{'s' if len(models) != 1 else ''} · "
                f"{n} requests · concurrency {levels}")

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
        loaded = self.engine.load_run(run_id)
        if loaded is None:
            self.show_error("That run is no longer in the store.")
            self.refresh_runs()
            return False
        info, outcomes = loaded
        self.clear_message()
        self._reset_view(list(info.spec.get("models") or []), info.spec.get("p95_budget_ms"))
        self.current_run_id = info.id
        self.outcomes = list(outcomes)
        self.live.add(self.outcomes)
        summary, note = info.summary, None
        if summary is None:  # still running elsewhere, or interrupted: figure it from what is stored
            wall = max((o.start_offset_ms + (o.total_ms or 0) for o in outcomes), default=0.0) / 1000
            summary = {"models": {m: summarize([o for o in outcomes if o.model == m], wall)
                                  for m in self.live.models}}
            note = f"Run {info.status}: figures computed from its {len(outcomes)} stored requests."
        if "throttling" not in summary:  # stored before desk summarised throttling: rebuild it
            summary = {**summary, "throttling": throttling(outcomes),
                       "models": {m: {**f, "throttling": throttling(outcomes, m)}
                                  for m, f in (summary.get("models") or {}).items()}}
        self.current_summary = summary
        planned = sum((s.get("requests") or 0) for s in info.spec.get("steps") or []) * \
            len(info.spec.get("models") or [])
        if any(s.get("requests") is None for s in info.spec.get("steps") or []):
            planned = 0
        self.progress.setRange(0, planned or max(len(outcomes), 1))
        self.progress.setValue(min(len(outcomes), self.progress.maximum()))
        self.status.setText(f"Run of {time.strftime('%Y-%m-%d %H:%M', time.localtime(info.created_at))} "
                            f"({info.status}): " + self._status_text(len(outcomes), planned,
                                                                    (summary or {}).get("wall_s") or 0.0))
        self._redraw(summary)
        self._show_summary(summary, note)
        self.export_button.setEnabled(True)
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
            filters = {"CSV — one row per request (*.csv)": "csv", "JSONL — one object per request (*.jsonl)": "jsonl",
                       "JSONL — one object per HTTP request: request ids, rate-limit headers (*.jsonl)": "http-jsonl",
                       "CSV — one row per HTTP request: request ids, rate-limit headers (*.csv)": "http-csv"}
            path, chosen = QFileDialog.getSaveFileName(self, "Export the run's requests",
                                                       f"desk-load-{self.current_run_id}.csv", ";;".join(filters))
            if not path:
                return None
            fmt = filters.get(chosen)
        fmt = fmt or ("jsonl" if str(path).lower().endswith((".jsonl", ".ndjson")) else "csv")
        if self.busy is None or self.busy.busy:
            self.show_error("desk is still busy with the work shown in the status bar: wait or cancel it.")
            return None
        busy, run_id, chosen_fmt, chosen_path = self.busy, self.current_run_id, fmt, str(path)
        what = "HTTP requests" if fmt.startswith("http-") else "requests"

        async def go() -> bool:
            job = Job(f"Exporting the run's {what}")
            try:
                result = await busy.run(f"Exporting the run's {what}", lambda: self.engine.export_run_in_background(
                    run_id, chosen_fmt, chosen_path, job), job)
            except JobCancelled:
                self.show_info("Export cancelled: no file was written.")
                return False
            except (ValueError, OSError, EngineError) as exc:
                self.show_error(f"Export failed: {exc}")
                return False
            self.show_info(f"Exported {result.rows} {what} to {result.path}.")
            return True

        return asyncio.ensure_future(go())
