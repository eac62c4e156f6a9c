"""The Load tab's settings form: the models, the task, the steps, where the requests are
sent from (desk.ui.load_where), retries, fallback and timeouts, laid out for
`desk.ui.load_view.LoadPanel` (which binds them to the tab model's form, a
`desk.engine.load_plan.LoadInput`, and whose tests reach the fields by these names)."""

from __future__ import annotations

from collections.abc import Callable

from PySide6.QtCore import SignalInstance
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDoubleSpinBox,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QListWidget,
    QPlainTextEdit,
    QPushButton,
    QSpinBox,
    QToolButton,
    QWidget,
)

from desk.engine.load_tab import LoadTabModel
from desk.ui import defs
from desk.ui.load_where import WhereRow
from desk.ui.model_picker import NO_TEMP


class LoadFormFields:
    """Builds the form's fields as attributes of the panel it is mixed into (LoadPanel)."""

    model: LoadTabModel
    trial_wanted: SignalInstance  # what the panel provides: its signal and its file dialog
    choose_dataset: Callable[[], None]

    def _build_task(self) -> QHBoxLayout:
        """The models, the prompt, and what else a run may send (a dataset, the Trials tab's task)."""
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
        self.dataset_label = QLabel(self.model.dataset_text)
        self.dataset_label.setObjectName("loadDatasetLabel")
        self.dataset_label.setWordWrap(True)
        self.dataset_label.setStyleSheet(f"color: {defs.muted()};")
        self.dataset_clear = QToolButton()
        self.dataset_clear.setText("✕")
        self.dataset_clear.setObjectName("loadDatasetClear")
        self.dataset_clear.setToolTip("Forget the dataset and send the prompt")
        self.dataset_clear.setEnabled(False)
        self.dataset_clear.clicked.connect(self.model.clear_dataset)
        self.trial_button = QPushButton("Trials tab's task")
        self.trial_button.setObjectName("loadTrialButton")
        self.trial_button.setToolTip("Send what the Trials tab holds (prompt, system prompt, images and files) "
                                     "with every request: a real task, not just a prompt")
        self.trial_button.clicked.connect(self.trial_wanted)
        row = QHBoxLayout()
        row.addWidget(self.dataset_button)
        row.addWidget(self.trial_button)
        row.addStretch(1)
        row.addWidget(self.dataset_clear)
        return row

    def _build_steps(self) -> None:
        """How many requests, how many at once, for how long."""
        form = self.model.form
        self.requests = _spin("loadRequests", 0, 1_000_000, form.requests or 0, "Requests per model in each step")
        self.requests.setSpecialValueText("no limit (by duration)")
        self.concurrency = _spin("loadConcurrency", 1, 5000, form.concurrency,
                                 "Requests in flight per model (ignored when a ramp is given)")
        self.ramp = QLineEdit(form.ramp)
        self.ramp.setObjectName("loadRamp")
        self.ramp.setPlaceholderText("optional ramp, e.g. 1,8,32,128")
        self.ramp.setToolTip("One step per concurrency level, each with the requests (or duration) above")
        self.duration = QDoubleSpinBox()
        self.duration.setObjectName("loadDuration")
        self.duration.setRange(0, 86_400)
        self.duration.setDecimals(1)
        self.duration.setSuffix(" s")
        self.duration.setSpecialValueText("off")
        self.duration.setValue(form.duration_s or 0)
        self.duration.setToolTip("Optional time limit per step (with a request count: whichever comes first)")
        self.budget = _spin("loadBudget", 0, 10_000_000, int(form.budget_ms or 0),
                            "p95 total latency budget: the knee is the first concurrency above it")
        self.budget.setSuffix(" ms")
        self.budget.setSpecialValueText("none")
        self.temperature = QDoubleSpinBox()
        self.temperature.setObjectName("loadTemperature")
        self.temperature.setRange(NO_TEMP, 2.0)
        self.temperature.setDecimals(2)
        self.temperature.setSingleStep(0.1)
        self.temperature.setSpecialValueText("default")
        self.temperature.setValue(NO_TEMP if form.temperature is None else form.temperature)
        self.max_tokens = _spin("loadMaxTokens", 0, 1_000_000, form.max_tokens or 0, "")
        self.max_tokens.setSpecialValueText("default")

    def _build_resilience(self) -> QHBoxLayout:
        """Retries, backoff, fallback and timeouts (the same defaults as `desk load`)."""
        form = self.model.form
        self.max_retries = _spin("loadMaxRetries", 0, 20, form.max_retries,
                                 "Retries of a failed request (connection errors, 429, 5xx) before it "
                                 "counts as an error or goes to the fallback model")
        self.honour_retry_after = QCheckBox("Honour Retry-After")
        self.honour_retry_after.setObjectName("loadHonourRetryAfter")
        self.honour_retry_after.setChecked(form.honour_retry_after)
        self.honour_retry_after.setToolTip("Wait as long as a 429/503's Retry-After header asks before retrying, "
                                           "instead of the backoff below")
        self.backoff_base = _seconds(
            "loadBackoffBase", form.backoff_base, 0.0,
            "Backoff before the first retry; it doubles with each retry (with jitter) up to the longest")
        self.backoff_max = _seconds("loadBackoffMax", form.backoff_max, 0.0, "Longest backoff between two retries")
        backoff_row = QHBoxLayout()
        backoff_row.addWidget(self.backoff_base, 1)
        backoff_row.addWidget(QLabel("to"))
        backoff_row.addWidget(self.backoff_max, 1)
        self.first_token_timeout = _seconds(
            "loadFirstTokenTimeout", form.first_token_timeout, 0.01,
            "Longest wait from sending a request to the first part of its answer (connecting included); "
            "then the attempt is a timeout error")
        self.idle_timeout = _seconds(
            "loadIdleTimeout", form.idle_timeout, 0.01,
            "Longest silence between two parts of an answer once it is streaming; "
            "then the request is a timeout error")
        self.total_timeout = _seconds("loadTotalTimeout", form.total_timeout, 0.01,
                                      "Longest a single attempt may take from start to the end of its answer")
        self.connect_timeout = _seconds("loadConnectTimeout", form.connect_timeout, 0.01,
                                        "Longest wait to open a connection to the vendor (DNS, TCP and TLS)")
        self.fallback = QComboBox()
        self.fallback.setObjectName("loadFallback")
        self.fallback.setToolTip("When a model's request fails (after its retries), ask this one")
        return backoff_row

    def _build_form(self) -> QWidget:
        dataset_row = self._build_task()
        self._build_steps()
        backoff_row = self._build_resilience()
        form_box = QWidget()
        form = QFormLayout(form_box)
        form.setContentsMargins(0, 0, 0, 0)
        form.addRow(QLabel("<b>Models</b>"))
        form.addRow(self.models)
        form.addRow("Prompt", self.prompt)
        form.addRow(dataset_row)
        form.addRow(self.dataset_label)  # its own row: a task's description wraps over lines
        for label, widget in (("Requests / step", self.requests), ("Concurrency", self.concurrency),
                              ("Ramp", self.ramp), ("Duration / step", self.duration),
                              ("Max retries", self.max_retries), ("", self.honour_retry_after)):
            form.addRow(label, widget)
        self.where_row = WhereRow(self.model)  # this process, worker processes or a Ray cluster
        form.addRow("Where", self.where_row)
        form.addRow("Backoff", backoff_row)
        settings_rows: tuple[tuple[str, QWidget], ...] = (
            ("Fallback model", self.fallback), ("p95 budget", self.budget),
            ("Temperature", self.temperature), ("Max tokens", self.max_tokens))
        for label, row_widget in settings_rows:
            form.addRow(label, row_widget)
        form.addRow(QLabel("<b>Timeouts</b>"))
        for label, widget in (("First token", self.first_token_timeout), ("Idle", self.idle_timeout),
                              ("Total", self.total_timeout), ("Connect", self.connect_timeout)):
            form.addRow(label, widget)
        self.form_box = form_box
        return form_box


def _spin(name: str, low: int, high: int, value: int, tip: str) -> QSpinBox:
    box = QSpinBox()
    box.setObjectName(name)
    box.setRange(low, high)
    box.setValue(value)
    if tip:
        box.setToolTip(tip)
    return box


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
