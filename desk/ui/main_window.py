"""The main window: compose on top, answers side by side below, history on the left."""

from __future__ import annotations

import asyncio
import json
import logging
import random
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from PySide6.QtCore import QByteArray, QSettings, Qt, QTimer, Signal
from PySide6.QtGui import QAction, QCloseEvent, QDragEnterEvent, QDropEvent, QKeySequence, QShortcut
from PySide6.QtWidgets import (
    QFileDialog,
    QHBoxLayout,
    QInputDialog,
    QLabel,
    QMainWindow,
    QPushButton,
    QSplitter,
    QTabWidget,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from desk.core.rating import Rating
from desk.core.response import Attempt, ResponseResult, Status
from desk.core.trial import ModelRef, TrialInput, Variant
from desk.engine import local_model
from desk.engine.jobs import Job, JobCancelled
from desk.engine.keys import secret_store
from desk.engine.session import Engine, EngineError, TrialSummary
from desk.ui import defs, frame_queue, hotkeys
from desk.ui.about import show_about, show_help
from desk.ui.background import call_in_thread
from desk.ui.busy import BusyBar
from desk.ui.compose import ComposePanel
from desk.ui.history import HistoryPanel
from desk.ui.model_picker import ModelPicker
from desk.ui.pane_grid import COLUMNS, LAYOUT_NAMES, LAYOUTS, PaneGrid
from desk.ui.preference_bar import PreferenceBar
from desk.ui.rating_panel import RatingPanel
from desk.ui.response_pane import ResponsePane, fmt_ms
from desk.ui.suites_view import STARTER, SuitesPanel

if TYPE_CHECKING:
    from desk.ui.load_view import LoadPanel

NO_MODELS = "No models yet: open Providers… to add a provider and pick its models."
MAX_OPEN_PANES = 200  # as many as a send may fan out to (the 200-model selection)
HISTORY_PAGE = 200  # trials listed at once; scrolling to the end lists the next page
STATUS_MS = 10_000  # how long a "done" note stays in the status bar


log = logging.getLogger("desk.ui")


class _WindowSink:
    """Engine progress -> panes. Ignores events from a superseded send (generation check)."""

    def __init__(self, window: MainWindow, generation: int) -> None:
        self._window = window
        self._generation = generation
        # Text that arrived before its pane was built (panes are built one per turn).
        self._early: dict[str, list[str]] = {}

    def _current(self) -> bool:
        return self._generation == self._window.generation

    def response_started(self, result: ResponseResult) -> None:
        if self._current():
            # A send starts every stream in one turn; building eight panes there (5-15 ms
            # each) froze the window: one pane per turn of the loop instead.
            self._early[result.id] = []
            frame_queue.later(self._window, lambda: self._add_pane(result))

    def _add_pane(self, result: ResponseResult) -> None:
        early = self._early.pop(result.id, [])
        if not self._current():
            return
        pane = self._window.pane_for(result)
        for delta in early:
            pane.queue_text(delta)
        if len(self._window.grid.panes) == self._window.expected_panes:
            self._window.arrange_panes(result.trial_id)

    def text_received(self, result: ResponseResult, delta: str, parts: list[str]) -> None:
        if self._current():
            pane = self._window.panes_by_id.get(result.id)
            if pane is not None:
                pane.queue_text(delta)
            elif result.id in self._early:
                self._early[result.id].append(delta)

    def attempt_finished(self, result: ResponseResult, attempt: Attempt) -> None:
        if self._current() and attempt.error_kind is not None:
            pane = self._window.panes_by_id.get(result.id)
            if pane is not None:
                pane.tick()  # "429 · retry 1 of 2 in 1.0 s" at once, then counting down

    def response_finished(self, result: ResponseResult) -> None:
        if result.id in self._early:  # its pane is still to be built: finish it after that
            frame_queue.later(self._window, lambda: self.response_finished(result))
            return
        if self._current():
            pane = self._window.panes_by_id.get(result.id)
            if pane is not None:
                pane.finish(result)
                # A rating panel costs 10-40 ms to make and place: made on one turn of the
                # loop and placed on another, one pane's at a time.
                made: list[RatingPanel] = []
                frame_queue.later(pane, lambda w=self._window, p=pane: made.append(w.rating_panel(p)))
                frame_queue.later(pane, lambda w=self._window, p=pane: w.add_rating(p, [], made[0] if made else None))
            self._window.response_finished.emit(result)


class Banner(QWidget):
    """A non-modal message strip: problems are said in the window, never by a crash."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        row = QHBoxLayout(self)
        row.setContentsMargins(8, 4, 4, 4)
        self.label = QLabel()
        self.label.setWordWrap(True)
        self.label.setObjectName("bannerText")
        self.label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        row.addWidget(self.label, 1)
        self.action = QPushButton()  # an offer that goes with the message ("Try the starter suite")
        self.action.setObjectName("bannerAction")
        self.action.setVisible(False)
        self.action.clicked.connect(self._act)
        self._on_action: Callable[[], Any] | None = None
        row.addWidget(self.action)
        close = QToolButton()
        close.setText("✕")
        close.setToolTip("Dismiss")
        close.clicked.connect(lambda: self.setVisible(False))
        row.addWidget(close)
        self.setAutoFillBackground(True)
        self.setVisible(False)

    def show_message(self, text: str, *, error: bool = True,
                     action: tuple[str, Callable[[], Any]] | None = None) -> None:
        colour = defs.error_tint() if error else defs.info_tint()
        self.setStyleSheet(f"Banner {{ background: {colour}; border-radius: 4px; }}")
        self.label.setText(text)
        self._on_action = action[1] if action else None
        self.action.setText(action[0] if action else "")
        self.action.setVisible(action is not None)
        self.setVisible(True)

    def _act(self) -> None:
        callback = self._on_action
        self.setVisible(False)
        if callback is not None:
            callback()


class MainWindow(QMainWindow):
    trial_finished = Signal(str)  # trial id
    response_finished = Signal(object)
    rating_saved = Signal(object)

    def __init__(self, engine: Engine, settings: QSettings | None = None, *, show_welcome: bool = True,
                 welcome_candidates: Sequence[tuple[str, str, int]] | None = None) -> None:
        super().__init__()
        self.engine = engine
        self.settings = settings or QSettings()
        self.generation = 0
        self.panes_by_id: dict[str, ResponsePane] = {}
        self.current_trial_id: str | None = None
        self._run_task: asyncio.Task[Any] | None = None
        self.local_server: local_model.LocalServer | None = None
        self._local_task: asyncio.Future[Any] | None = None
        self._open_models: list[ModelRef] = []
        self.expected_panes = 0
        self.rubric = engine.rubric()
        self.setWindowTitle("desk — side-by-side model trials")
        self.setAcceptDrops(True)
        self._build()
        self._build_menu()
        self._frame = QTimer(self)
        self._frame.setInterval(defs.FRAME_MS)
        self._frame.timeout.connect(self._flush_panes)
        self._clock = QTimer(self)
        self._clock.setInterval(100)
        self._clock.timeout.connect(self._tick_panes)
        self.refresh_models()
        self.refresh_history()
        self._restore_state()
        self.welcome: Any = None
        self._welcome_candidates = welcome_candidates
        if show_welcome and not engine.providers.configs.all():
            QTimer.singleShot(0, self.show_welcome)  # first run: offer local servers, non-blocking
        QTimer.singleShot(0, self, self._show_price_data)
        QTimer.singleShot(0, self, self._show_secret_store)

    def _show_secret_store(self) -> None:
        """Say at startup where typed keys go (asked on a worker thread: the keyring's backend
        detection takes up to a second), once the background preload, which probes it too, is done."""
        if not self.engine.providers.price_data_ready():
            QTimer.singleShot(50, self, self._show_secret_store)
            return
        call_in_thread(self, secret_store, self._secret_store_found)

    def _secret_store_found(self, store: Any) -> None:
        log.info("secret store: %s", store.description)
        self.secret_label.setText("keys: OS keyring" if store.usable else "keys: no OS keyring ⚠")
        self.secret_label.setToolTip(store.description[:1].upper() + store.description[1:] + ".")

    def _show_activity(self, text: str) -> None:
        self.activity_label.setText(text)
        self.activity_label.setVisible(bool(text))

    def _show_price_data(self) -> None:
        """Name the price data in use once the background preload has loaded it (the catalog
        import and any fetched copy are not ready at construction, and must not block it)."""
        if not self.engine.providers.price_data_ready():
            QTimer.singleShot(50, self, self._show_price_data)
            return
        # naming it walks the whole catalog (40-200 ms): not on the GUI thread
        call_in_thread(self, self.engine.providers.price_data, self.price_label.setText)

    # --- layout --------------------------------------------------------------------------
    def _build(self) -> None:
        self.history = HistoryPanel()
        self.history.trial_chosen.connect(self.open_trial)
        self.history.search_changed.connect(lambda text: self.refresh_history(text))
        self.history.more_requested.connect(self._more_history)
        self.history.run_again_requested.connect(self.run_again)

        self.compose = ComposePanel()
        self.compose.problem.connect(self.banner_error)
        self.picker = ModelPicker()
        self.picker.selection_changed.connect(self._update_send_state)

        picker_box = QWidget()
        pcol = QVBoxLayout(picker_box)
        pcol.setContentsMargins(0, 0, 0, 0)
        head = QHBoxLayout()
        head.addWidget(QLabel("<b>Models</b>"))
        head.addStretch(1)
        manage = QToolButton()
        manage.setText("Providers…")
        manage.setToolTip("Add providers, keys, models and prices")
        manage.clicked.connect(self.open_settings)
        head.addWidget(manage)
        pcol.addLayout(head)
        pcol.addWidget(self.picker, 1)
        buttons = QHBoxLayout()
        self.send_button = QPushButton("Send  (Ctrl+Enter)")
        self.send_button.setObjectName("sendButton")
        self.send_button.setDefault(True)
        self.send_button.clicked.connect(self.send)
        buttons.addWidget(self.send_button, 1)
        self.cancel_button = QPushButton("Cancel")
        self.cancel_button.setObjectName("cancelButton")
        self.cancel_button.setToolTip("Stop every stream and keep what arrived (Esc)")
        self.cancel_button.setEnabled(False)
        self.cancel_button.clicked.connect(self.cancel)
        buttons.addWidget(self.cancel_button)
        pcol.addLayout(buttons)

        self.top_split = QSplitter(Qt.Orientation.Horizontal)
        self.top_split.addWidget(self.compose)
        self.top_split.addWidget(picker_box)
        self.top_split.setStretchFactor(0, 3)
        self.top_split.setStretchFactor(1, 2)

        self.grid = PaneGrid(layout=str(self.settings.value("panes/layout", COLUMNS)))
        self.grid.layout_changed.connect(lambda mode: self.settings.setValue("panes/layout", mode))
        self.pane_scroll = self.grid.scroll

        self.preferences = PreferenceBar()
        self.preferences.preference_chosen.connect(self._save_preference)
        answers = QWidget()
        acol = QVBoxLayout(answers)
        acol.setContentsMargins(0, 0, 0, 0)
        acol.addWidget(self.grid, 1)
        acol.addWidget(self.preferences)

        self.main_split = QSplitter(Qt.Orientation.Vertical)
        self.main_split.addWidget(self.top_split)
        self.main_split.addWidget(answers)
        self.main_split.setStretchFactor(0, 2)
        self.main_split.setStretchFactor(1, 3)

        self.banner = Banner()
        right = QWidget()
        rcol = QVBoxLayout(right)
        rcol.setContentsMargins(defs.MARGIN, defs.MARGIN, defs.MARGIN, defs.MARGIN)
        rcol.addWidget(self.banner)
        rcol.addWidget(self.main_split, 1)

        self.side_split = QSplitter(Qt.Orientation.Horizontal)
        self.side_split.addWidget(self.history)
        self.side_split.addWidget(right)
        self.side_split.setStretchFactor(0, 1)
        self.side_split.setStretchFactor(1, 5)
        self.tabs = QTabWidget()
        self.tabs.setObjectName("mainTabs")
        self.tabs.addTab(self.side_split, "Trials")
        # The Load tab's plots import pyqtgraph (0.4-0.8 s): it is built the first time it is
        # shown or asked for (see load_panel), a placeholder holds its place until then.
        self._load_panel: LoadPanel | None = None
        self._load_placeholder: QWidget | None = QWidget()
        self.tabs.addTab(self._load_placeholder, "Load")
        self.suites_panel = SuitesPanel(self.engine)
        self.suites_panel.rubric = self.rubric
        self.suites_panel.before_run = self._before_suite_run
        self.suites_panel.open_trial_requested.connect(self.open_case)
        self.tabs.addTab(self.suites_panel, "Suites")
        self.history.suite_requested.connect(lambda ids: self.create_suite_from_trials(ids))
        self.tabs.currentChanged.connect(self._on_tab_changed)
        self.setCentralWidget(self.tabs)
        self.statusBar().showMessage(f"Store: {self.engine.store.path}")
        self.price_label = QLabel("price data: loading…")
        self.price_label.setObjectName("priceDataLabel")
        self.price_label.setToolTip("Catalog prices in use; your own prices (Providers…) always win. "
                                    "Refresh with Edit → Update price data")
        self.busy = BusyBar()
        # Load and suite runs go on while the user works in another tab: say so down here.
        self.activity_label = QLabel()
        self.activity_label.setObjectName("activityLabel")
        self.activity_label.setVisible(False)
        self.statusBar().addPermanentWidget(self.activity_label)
        self.suites_panel.activity.connect(self._show_activity)
        self.statusBar().addPermanentWidget(self.busy)
        self.statusBar().addPermanentWidget(self.price_label)
        self.blind_indicator = QLabel(f"Blind rating on ({hotkeys.BLIND})")
        self.blind_indicator.setObjectName("blindIndicator")
        self.blind_indicator.setToolTip("Models, timing and cost are hidden until every answer is rated")
        self.blind_indicator.setVisible(False)
        self.statusBar().addPermanentWidget(self.blind_indicator)
        self.secret_label = QLabel()
        self.secret_label.setObjectName("secretStoreLabel")
        self.statusBar().addPermanentWidget(self.secret_label)

        for key in (hotkeys.SEND, hotkeys.SEND_ALT):
            QShortcut(QKeySequence(key), self, activated=self.send)
        QShortcut(QKeySequence(hotkeys.CANCEL), self, activated=self.cancel)
        QShortcut(QKeySequence(hotkeys.FIND_HISTORY), self, activated=self.history.search.setFocus)
        QShortcut(QKeySequence(hotkeys.RUN_AGAIN), self, activated=self.run_again)
        QShortcut(QKeySequence(hotkeys.TAB_TRIALS), self, activated=lambda: self.tabs.setCurrentIndex(0))
        QShortcut(QKeySequence(hotkeys.TAB_LOAD), self, activated=lambda: self.tabs.setCurrentWidget(self.load_panel))
        # Alt+3 is the Suites menu's own shortcut (a second binding would make both ambiguous: neither fires)

    @property
    def load_panel(self) -> LoadPanel:
        """The Load tab, built (and put in its placeholder's place) on first use."""
        if self._load_panel is None:
            from desk.ui.load_view import LoadPanel

            panel = self._load_panel = LoadPanel(self.engine, self.engine.store.path)
            panel.trial_wanted.connect(lambda: panel.use_trial(self.current_input()[0]))
            panel.busy = self.busy
            panel.activity.connect(self._show_activity)
            placeholder, self._load_placeholder = self._load_placeholder, None
            index = self.tabs.indexOf(placeholder)
            current = self.tabs.currentIndex() == index
            self.tabs.blockSignals(True)  # the swap is not the user changing tabs
            self.tabs.removeTab(index)
            self.tabs.insertTab(index, panel, "Load")
            if current:
                self.tabs.setCurrentIndex(index)
            self.tabs.blockSignals(False)
            placeholder.deleteLater()
        return self._load_panel

    def _on_tab_changed(self, index: int) -> None:
        widget = self.tabs.widget(index)
        if widget is not None and (widget is self._load_placeholder or widget is self._load_panel) \
                and not self.load_panel.running:
            self.load_panel.refresh_models()  # models added in Providers… since
            self.load_panel.refresh_runs()
        if self.tabs.widget(index) is self.suites_panel and not self.suites_panel.running:
            self.suites_panel.refresh_models()
            self.suites_panel.refresh_suites()
            self.suites_panel.refresh_runs()

    def _build_menu(self) -> None:
        file_menu = self.menuBar().addMenu("&File")
        self._action(file_menu, "&New trial", hotkeys.NEW_TRIAL, self.new_trial)
        self._action(file_menu, "&Open or create a store…", hotkeys.OPEN_STORE, self.open_store)
        self._action(file_menu, "&Attach files…", hotkeys.ATTACH, self.compose.choose_files)
        file_menu.addSeparator()
        self._action(file_menu, "&Export ratings…", hotkeys.EXPORT, self.export_ratings)
        self._action(file_menu, "&Merge another desk store…", None, self.merge_store)
        file_menu.addSeparator()
        self._action(file_menu, "&Quit", hotkeys.QUIT, self.close)
        edit_menu = self.menuBar().addMenu("&Edit")
        self._action(edit_menu, "&Providers, models and prices…", hotkeys.SETTINGS, self.open_settings)
        self._action(edit_menu, "Add system prompt &variant", None, self._add_variant)
        self._action(edit_menu, "Set &rater name…", None, self.ask_rater_name)
        self._action(edit_menu, "&Update price data (online)", None, self.update_prices)
        rate_menu = self.menuBar().addMenu("&Rate")
        self.blind_action = self._action(rate_menu, "&Blind rating (hide models until all are rated)",
                                         hotkeys.BLIND, lambda: self._on_blind_toggled())
        self.blind_action.setCheckable(True)
        self._action(rate_menu, "Rate the &next unrated answer", hotkeys.RATE, self.rate_next_unrated)
        self._action(rate_menu, "&Scorecard…", hotkeys.SCORECARD, self.open_scorecard)
        self._action(rate_menu, "Edit the &rubric…", None, self.open_rubric)
        suites_menu = self.menuBar().addMenu("&Suites")
        self._action(suites_menu, "&Suites tab", hotkeys.TAB_SUITES, lambda: self.tabs.setCurrentWidget(self.suites_panel))
        self._action(suites_menu, "&Import a suite (CSV or JSONL)…", None, self._import_suite)
        self._action(suites_menu, "&Create suite from selected trials…", None, self.create_suite_from_trials)
        self._action(suites_menu, "&Try the starter suite", None, self.try_starter_suite)
        self._action(suites_menu, "&Rate the selected run…", None, self._rate_suite_run)
        self._build_view_menu()
        help_menu = self.menuBar().addMenu("&Help")
        self._action(help_menu, "&Keyboard shortcuts", hotkeys.HELP, lambda: show_help(self))
        self._action(help_menu, "&About desk", None, self.show_about)
        self.blind_action.setChecked(self.settings.value("rate/blind", "false") == "true")
        self.blind_indicator.setVisible(self.blind)  # remembered from the last session: said at once

    def _build_view_menu(self) -> None:
        """How the answers are laid out: the layout for many models (remembered), scrolling
        them together, one answer maximised."""
        view_menu = self.menuBar().addMenu("&View")
        self.layout_actions: dict[str, QAction] = {}
        for mode in LAYOUTS:
            action = self._action(view_menu, LAYOUT_NAMES[mode], None, lambda m=mode: self.grid.set_layout(m))
            action.setCheckable(True)
            self.layout_actions[mode] = action
        self._action(view_menu, "Next &layout for many answers", hotkeys.PANE_LAYOUT, self.grid.next_layout)
        self.grid.layout_changed.connect(self._show_layout)
        self._show_layout(self.grid.mode)
        view_menu.addSeparator()
        self.link_action = self._action(view_menu, "Scroll answers &together", hotkeys.LINK_SCROLL,
                                        lambda: self._set_linked(self.link_action.isChecked()))
        self.link_action.setCheckable(True)
        self.link_action.setChecked(self.settings.value("panes/linked", "false") == "true")
        self.grid.set_linked(self.link_action.isChecked())
        for n in range(1, 10):
            QShortcut(QKeySequence(f"{hotkeys.MAXIMISE}+{n}"), self,
                      activated=lambda i=n - 1: self.toggle_maximised(i))

    def _show_layout(self, mode: str) -> None:
        for key, action in self.layout_actions.items():
            action.setChecked(key == mode)

    def _set_linked(self, linked: bool) -> None:
        self.grid.set_linked(linked)
        self.settings.setValue("panes/linked", "true" if linked else "false")

    def toggle_maximised(self, index: int) -> None:
        if self.grid.toggle_maximised(index):
            self.statusBar().showMessage(f"Answer {index + 1} maximised · {hotkeys.MAXIMISE}+{index + 1} "
                                         "brings the others back", STATUS_MS)

    def _action(self, menu: Any, text: str, shortcut: str | None, slot: Callable[[], Any]) -> QAction:
        action = QAction(text, self)
        if shortcut:
            action.setShortcut(QKeySequence(shortcut))
        action.triggered.connect(lambda _checked=False: slot())
        menu.addAction(action)
        return action

    def _add_variant(self) -> None:
        self.compose.show_system()
        self.compose.variants.add_variant("")

    # --- messages -----------------------------------------------------------------------
    def banner_error(self, text: str) -> None:
        self.banner.show_message(text, error=True)

    def banner_info(self, text: str) -> None:
        self.banner.show_message(text, error=False)

    # --- models and history -------------------------------------------------------------
    def refresh_models(self) -> None:
        refs = self.engine.providers.configured_models()
        checked = set(self._setting_list("picker/selected"))
        try:
            saved = json.loads(str(self.settings.value("picker/settings", "{}")))
        except ValueError:
            saved = {}
        self.picker.set_models(refs, checked, saved)
        if not refs:
            self.banner_info(NO_MODELS)
        elif self.banner.label.text() == NO_MODELS:  # models came: the banner is out of date
            self.banner.setVisible(False)

    def refresh_history(self, search: str | None = None) -> None:
        text = search if search is not None else self.history.search.text()
        # Load and suite runs live in their own tabs; here, the trials the user sent.
        page = self._history_page(text, 0)
        self.history.blind = self.blind
        self.history.set_trials(page, self.current_trial_id, has_more=len(page) == HISTORY_PAGE)

    def _more_history(self) -> None:
        """Every past trial is reachable by scrolling: the next page when the end shows."""
        page = self._history_page(self.history.search.text(), self.history.list.count())
        self.history.append_trials(page, self.current_trial_id, has_more=len(page) == HISTORY_PAGE)

    def _history_page(self, search: str, offset: int) -> list[TrialSummary]:
        return self.engine.list_trials(search or None, limit=HISTORY_PAGE, offset=offset, runs=False)

    def _update_send_state(self, running: bool | None = None) -> None:
        if running is None:
            running = self._run_task is not None and not self._run_task.done()
        self.send_button.setEnabled(not running)
        self.cancel_button.setEnabled(running)

    # --- drag and drop ------------------------------------------------------------------
    def dragEnterEvent(self, event: QDragEnterEvent) -> None:
        if event.mimeData().hasUrls() and any(u.isLocalFile() for u in event.mimeData().urls()):
            event.acceptProposedAction()

    def dropEvent(self, event: QDropEvent) -> None:
        paths = [u.toLocalFile() for u in event.mimeData().urls() if u.isLocalFile()]
        if paths:
            self.compose.add_files(paths)
            event.acceptProposedAction()

    # --- sending ------------------------------------------------------------------------
    def current_input(self) -> tuple[TrialInput, list[Variant] | None]:
        variants = self.compose.variants.variants()
        system = None if variants else self.compose.variants.system()
        trial = TrialInput(self.compose.prompt.toPlainText(), system,
                           tuple(self.compose.attachments.attachments()))
        return trial, variants

    def send(self, parent_trial_id: str | None = None, models: list[ModelRef] | None = None) -> None:
        """Send the composed trial to every checked model (x variant)."""
        if self._run_task is not None and not self._run_task.done():
            return
        if self.compose.loading():
            self.banner_error("Still reading the attached files: send again in a moment.")
            return
        trial, variants = self.current_input()
        models = models if models is not None else self.picker.selected()
        if not models:
            self.banner_error("Pick at least one model on the right before sending.")
            return
        if not trial.prompt.strip() and not trial.attachments:
            self.banner_error("The prompt is empty: write or paste the task first.")
            return
        self.banner.setVisible(False)
        self._save_picker()
        self.generation += 1
        self.grid.clear()
        self.panes_by_id = {}
        self.expected_panes = len(models) * (len(variants) if variants else 1)
        self.preferences.clear_pair()
        known = self.picker.refs()
        settings = {ref: self.picker.settings_for(ref) for ref in models if ref in known}
        self._run_task = asyncio.ensure_future(
            self._run(trial, models, settings, variants, parent_trial_id, self.generation)
        )
        self._update_send_state()
        self._frame.start()
        self._clock.start()
        self._tick_panes()

    async def _run(self, trial: TrialInput, models: list[ModelRef], settings: dict[ModelRef, Any],
                   variants: list[Variant] | None, parent: str | None, generation: int) -> None:
        try:
            if any(m.provider == local_model.LOCAL_PROVIDER for m in models) and not await self.ensure_local_model():
                return
            outcome = await self.engine.run_trial(
                trial, models, settings, parent_trial_id=parent,
                sink=_WindowSink(self, generation), variants=variants,
            )
        except EngineError as exc:
            self.statusBar().clearMessage()
            self.banner_error(str(exc))
            return
        except asyncio.CancelledError:
            self.statusBar().showMessage("Cancelled: what arrived is stored", STATUS_MS)
            self.banner_info("Cancelled: every stream was stopped; what arrived is kept and stored.")
            self.refresh_history()  # the cancelled trial is stored: listed at once
            return
        finally:
            self._flush_panes()
            if generation == self.generation:
                self._frame.stop()
                self._clock.stop()
            self._update_send_state(running=False)
        await frame_queue.idle()  # every pane built, rendered and ratable before the trial says it is done
        ok = sum(r.status == Status.OK for r in outcome.responses)
        failed = f", {len(outcome.responses) - ok} failed" if ok < len(outcome.responses) else ""
        self.statusBar().showMessage(f"Trial done: {ok} of {len(outcome.responses)} answers ok{failed}; stored · "
                                     f"{hotkeys.RATE} rates them",
                                     STATUS_MS)
        unstored = [r for r in outcome.responses if r.store_error]
        if unstored:  # shown on screen is not saved: say so, never "stored"
            self.statusBar().clearMessage()
            self.banner_error("; ".join(f"{r.model}: {r.store_error}" for r in unstored))
        self.current_trial_id = outcome.trial_id
        self._open_models = list(models)
        self.history.run_again.setEnabled(True)
        self.refresh_history()
        self.trial_finished.emit(outcome.trial_id)

    def cancel(self) -> None:
        if self._run_task is not None and not self._run_task.done():
            self._run_task.cancel()

    async def ensure_local_model(self) -> ModelRef | None:
        """Start the built-in model's server if nothing answers for it yet (desk[local])."""
        self.statusBar().showMessage("Starting the built-in model (Gemma 3 270M) on this computer…")
        try:
            ref, server = await self.engine.providers.ensure_local(self.local_server)
        except (local_model.LocalModelError, OSError, ValueError, EngineError) as exc:
            self.statusBar().clearMessage()
            self.banner_error(f"The built-in model could not start: {exc}")
            return None
        if server is not None:
            self.local_server = server
        self.statusBar().showMessage(f"The built-in model {ref} is running on 127.0.0.1.", 8000)
        return ref

    def start_builtin_model(self) -> None:
        """The welcome's offer: add the built-in model, start it, select it."""
        async def go() -> None:
            ref = await self.ensure_local_model()
            if ref is not None:
                self._models_added([ref])
                # A 270M model often runs on until its context is full: minutes on a laptop.
                self.picker.set_default_max_tokens(ref, local_model.DEFAULT_MAX_TOKENS)
                if self.welcome is not None:
                    self.welcome.accept()
            elif self.welcome is not None:
                self.welcome.builtin_failed()
        self._local_task = asyncio.ensure_future(go())

    def pane_for(self, result: ResponseResult) -> ResponsePane:
        title = result.model + (f"  ·  variant {result.variant.label}" if result.variant else "")
        pane = self.grid.add_pane(title)
        pane.start(result)
        self.panes_by_id[result.id] = pane
        return pane

    def _flush_panes(self) -> None:
        for pane in self.grid.panes:
            pane.flush()

    def _tick_panes(self) -> None:
        for pane in self.grid.panes:
            pane.tick()
        done = sum(pane.is_finished for pane in self.grid.panes)
        self.statusBar().showMessage(f"Streaming: {done} of {self.expected_panes} answers done · Esc cancels")

    # --- rating -------------------------------------------------------------------------
    @property
    def blind(self) -> bool:
        return self.blind_action.isChecked()

    def _on_blind_toggled(self) -> None:
        self.settings.setValue("rate/blind", "true" if self.blind else "false")
        self.blind_indicator.setVisible(self.blind)
        self.refresh_history()  # entries name their models only when not blind
        if not self.blind:
            for pane in self.grid.panes:
                pane.reveal()
        elif self.grid.panes and self.current_trial_id is not None and not self._all_rated():
            self.arrange_panes(self.current_trial_id)

    def arrange_panes(self, trial_id: str) -> None:
        """In blind mode, shuffle the panes (fixed per trial) and label them A, B, C…"""
        if not self.blind:
            return
        order = list(self.grid.panes)
        random.Random(trial_id).shuffle(order)
        self.grid.reorder(order)
        for i, pane in enumerate(order):
            pane.set_blind(chr(65 + i) if i < 26 else str(i + 1))
        self.preferences.set_panes(self.grid.panes)

    def shown_order(self) -> list[str]:
        return [p.result.id for p in self.grid.panes if p.result is not None]

    def rating_panel(self, pane: ResponsePane) -> RatingPanel:
        """A rating panel wired to `pane` (a finished one), not yet placed under it."""
        assert pane.result is not None
        panel = RatingPanel(self.rubric, failed=pane.result.failed)
        panel.save_requested.connect(lambda values, p=pane: self._save_rating(p, values))
        panel.focus_next_pane.connect(lambda forward, p=pane: self._focus_rating(p, forward))
        return panel

    def add_rating(self, pane: ResponsePane, ratings: list[Rating], panel: RatingPanel | None = None) -> None:
        """Put a rating panel (`panel`, made beforehand, or a new one) under a finished pane,
        showing this rater's current rating."""
        if pane.result is None:
            return
        if pane.rating is None:
            pane.attach_rating(panel or self.rating_panel(pane))
        mine = next((r for r in ratings if r.response_id == pane.result.id), None)
        pane.rating.show_rating(mine, mine.rater if mine else "")
        self.preferences.set_panes(self.grid.panes)

    def _focus_rating(self, pane: ResponsePane, forward: bool) -> None:
        rated = [p for p in self.grid.panes if p.rating is not None]
        if not rated:
            return
        i = rated.index(pane) if pane in rated else -1
        self._start_rating(rated[(i + (1 if forward else -1)) % len(rated)])

    def rate_next_unrated(self) -> None:
        """Keyboard-first rating starts here: focus the first answer's rating that is not
        saved yet (else the first), wherever the focus was (the prompt keeps Tab for text)."""
        rated = [p for p in self.grid.panes if p.rating is not None]
        if not rated:
            self.statusBar().showMessage("Nothing to rate yet: a finished answer gets a rating under it", STATUS_MS)
            return
        self._start_rating(next((p for p in rated if p.rating.saved is None), rated[0]))

    def _start_rating(self, pane: ResponsePane) -> None:
        self._favour_answers()
        self.grid.bring_into_view(pane)
        pane.rating.move_to(0)

    def _favour_answers(self) -> None:
        """Rating reads the answers: the prompt gives way to them (to its smallest useful size,
        on a short screen folded up to the bar above the answers; a drag brings it back)."""
        top, answers = self.main_split.sizes()
        total = top + answers
        if top > total / 5:
            low = self.top_split.minimumSizeHint().height()
            low = low if low <= total / 4 else 0
            self.main_split.setSizes([low, total - low])
            if not low:
                self.statusBar().showMessage("The prompt is folded up while you rate: drag the bar above "
                                             "the answers to see it", STATUS_MS)

    def ask_rater_name(self) -> bool:
        name, ok = QInputDialog.getText(self, "Your name as a rater",
                                        "Your name is stored with every rating you make:",
                                        text=self.engine.rater_name() or "")
        if ok and name.strip():
            self.engine.set_rater_name(name)
            return True
        return False

    def _save_rating(self, pane: ResponsePane, values: dict[str, Any]) -> None:
        if pane.result is None or pane.rating is None:
            return
        if not self.engine.rater_name() and not self.ask_rater_name():
            pane.rating.show_problem("not saved: set your rater name first")
            return
        try:
            rating = self.engine.save_rating(pane.result.id, values, blind=pane.blind_label is not None,
                                             shown_order=self.shown_order())
        except (EngineError, ValueError) as exc:
            pane.rating.show_problem(str(exc))
            return
        pane.rating.show_rating(rating, rating.rater)
        self.rating_saved.emit(rating)
        if pane.blind_label is not None and self._all_rated():
            for p in self.grid.panes:
                p.reveal()
            self.preferences.set_panes(self.grid.panes)
            self.banner_info("Every answer is rated: the models are revealed.")
        else:
            self._focus_rating(pane, True)

    def _all_rated(self) -> bool:
        return all(p.rating is not None and p.rating.saved is not None for p in self.grid.panes)

    def _save_preference(self, left: ResponsePane, right: ResponsePane, winner: str, reason: str) -> None:
        if left.result is None or right.result is None:
            return
        if not self.engine.rater_name() and not self.ask_rater_name():
            return
        try:
            pref = self.engine.save_preference(
                left.result.id, right.result.id, winner, reason=reason,
                blind=left.blind_label is not None, shown_order=self.shown_order(),
            )
        except (EngineError, ValueError) as exc:
            self.preferences.show_problem(f"not saved: {exc}")
            return
        self.preferences.show_saved(pref)

    # --- history ------------------------------------------------------------------------
    def open_trial(self, trial_id: str) -> None:
        """Restore a past trial: its prompt, attachments and answers."""
        if self._run_task is not None and not self._run_task.done():
            self.banner_error("A trial is still running: cancel it or wait before opening another.")
            return
        loaded = self.engine.load_trial(trial_id)
        if loaded is None:
            self.banner_error("That trial is no longer in the store.")
            return
        stored, responses = loaded
        if len(responses) > MAX_OPEN_PANES:
            # A load run's trial holds one answer per request: hundreds of panes would hold the
            # window for seconds and say less than the Load tab's plots.
            self.banner_error(f"This trial holds {len(responses):,} answers (a load run): "
                              "open it in the Load tab's list of runs instead.")
            return
        self.generation += 1
        self.current_trial_id = trial_id
        self.compose.prompt.setPlainText(stored.input.prompt)
        variants: list[Variant] = []
        for r in responses:
            if r.variant is not None and r.variant not in variants:
                variants.append(r.variant)
        self.compose.variants.set_variants(stored.input.system, variants)
        if stored.input.system or variants:
            self.compose.show_system()
        self.compose.attachments.set_attachments(list(stored.input.attachments))
        self.grid.clear()
        self.panes_by_id = {}
        self.expected_panes = len(responses)
        self.preferences.clear_pair()
        for r in responses:
            self.pane_for(r).finish(r)
        rater = self.engine.rater_name()
        mine = self.engine.current_ratings([r.id for r in responses], rater=rater) if rater else []
        for pane in self.grid.panes:
            self.add_rating(pane, mine)
        if responses and not self._all_rated():
            self.arrange_panes(trial_id)
        seen: list[ModelRef] = []
        for r in responses:
            ref = ModelRef.parse(r.model)
            if ref not in seen:
                seen.append(ref)
        self._open_models = seen
        self.picker.set_checked({str(m) for m in seen})
        self.history.run_again.setEnabled(True)
        self.statusBar().showMessage(
            f"Opened trial {trial_id} · {len(responses)} answers · "
            f"slowest total {fmt_ms(max((r.total_ms or 0 for r in responses), default=None))}"
        )

    def run_again(self) -> None:
        if self.current_trial_id is None:
            return
        self.send(parent_trial_id=self.current_trial_id, models=self._open_models or None)

    def new_trial(self) -> None:
        if self._run_task is not None and not self._run_task.done():
            return
        self.generation += 1
        self.current_trial_id = None
        self.compose.prompt.clear()
        self.compose.variants.set_variants(None, [])
        self.compose.attachments.set_attachments([])
        self.grid.clear()
        self.panes_by_id = {}
        self.history.run_again.setEnabled(False)

    # --- first run ----------------------------------------------------------------------
    def show_welcome(self) -> None:
        """The welcome dialog: what desk is, the model servers found on this computer."""
        from desk.ui.welcome import WelcomeDialog

        if self.welcome is not None and self.welcome.isVisible():
            return
        kwargs = {} if self._welcome_candidates is None else {"candidates": self._welcome_candidates}
        self.welcome = WelcomeDialog(self.engine, self, **kwargs)
        self.welcome.models_added.connect(self._models_added)
        self.welcome.builtin_requested.connect(self.start_builtin_model)
        self.welcome.providers_changed.connect(self.refresh_models)
        self.welcome.starter_requested.connect(self.try_starter_suite)
        self.welcome.open()

    def _models_added(self, refs: list[ModelRef]) -> None:
        selected = [str(r) for r in self.picker.selected()]
        selected += [str(r) for r in refs if str(r) not in selected]
        self.settings.setValue("picker/selected", selected)
        self.refresh_models()
        self.picker.set_checked(set(selected))
        if refs:
            self.banner.show_message(
                f"Added {len(refs)} model{'s' if len(refs) > 1 else ''}: {', '.join(str(r) for r in refs)}. "
                "Type a prompt and send, or try the starter suite: 160 real tasks that show how each model "
                "handles unclear, unanswerable and constrained requests.",
                error=False, action=("Try the starter suite", self.try_starter_suite))

    # --- suites -------------------------------------------------------------------------
    def try_starter_suite(self) -> None:
        """Show the Suites tab with the starter suite selected and the user's models ticked;
        the run starts only when the user presses Start."""
        panel = self.suites_panel
        if not panel.running:
            panel.refresh_models()
            panel.refresh_suites(select=STARTER)
            chosen = [str(r) for r in self.picker.selected()] or [str(r) for r in self.engine.providers.configured_models()]
            panel.set_checked(chosen)
        if not panel.select_suite(STARTER):
            panel.show_error("The starter suite is not in this installation of desk.")
        elif not panel.running:
            panel.show_info("The starter suite is selected and your models are ticked: press Start to send "
                            "every case to them (Cancel stops, Resume goes on later).")
        if self.welcome is not None and self.welcome.isVisible():
            self.welcome.accept()
        self.tabs.setCurrentWidget(panel)

    def open_case(self, trial_id: str) -> None:
        """A matrix cell was chosen: the case's answers from every model, side by side."""
        self.tabs.setCurrentIndex(0)
        self.open_trial(trial_id)

    def create_suite_from_trials(self, trial_ids: list[str] | None = None, name: str | None = None) -> bool:
        """Make a suite of the trials selected in the history (each one's prompt becomes a case)."""
        ids = list(trial_ids) if trial_ids is not None else self.history.selected_ids()
        if not ids:
            self.banner_error("Select trials in the history first (Ctrl/Shift+click selects several).")
            return False
        if name is None:
            name, ok = QInputDialog.getText(self, "New suite",
                                            f"Name of the suite of {len(ids)} trial{'s' if len(ids) != 1 else ''} "
                                            "(a name used before gets its next version):")
            if not ok:
                return False
        try:
            info = self.engine.suite_from_trials(name, ids)
        except EngineError as exc:
            self.banner_error(f"No suite made: {exc}")
            return False
        self.suites_panel.refresh_suites(select=info.name)
        self.banner_info(f"Made suite {info.name} v{info.version} of {info.cases} cases: run it in the Suites tab.")
        return True

    def _import_suite(self) -> None:
        self.tabs.setCurrentWidget(self.suites_panel)
        self.suites_panel.import_file()

    def _rate_suite_run(self) -> None:
        self.tabs.setCurrentWidget(self.suites_panel)
        self.suites_panel.open_rating_queue()

    async def _before_suite_run(self, models: Sequence[ModelRef]) -> bool:
        """The built-in model is started (if the run uses it) before the run is stored."""
        if any(m.provider == local_model.LOCAL_PROVIDER for m in models):
            return await self.ensure_local_model() is not None
        return True

    # --- settings -----------------------------------------------------------------------
    def open_settings(self) -> None:
        from desk.ui.settings_dialog import SettingsDialog

        dialog = SettingsDialog(self.engine, self)
        dialog.exec()
        dialog.deleteLater()
        self.refresh_models()

    def export_ratings(self, path: str | None = None, fmt: str | None = None) -> asyncio.Future[Any] | None:
        """Export every current rating (CSV, JSONL, preference pairs or Parquet), off the GUI
        thread with progress and Cancel in the status bar; returns the task (None if nothing)."""
        filters = {"CSV — one row per rated answer (*.csv)": "csv",
                   "JSONL — nested records (*.jsonl)": "jsonl",
                   "Preference pairs JSONL — chosen/rejected (*.pairs.jsonl)": "pairs",
                   "Parquet (*.parquet)": "parquet"}
        if path is None:
            path, chosen = QFileDialog.getSaveFileName(self, "Export ratings", "desk-ratings.csv",
                                                       ";;".join(filters))
            if not path:
                return None
            fmt = filters.get(chosen, "csv")
        if self.busy.busy:
            self.banner_error("desk is still busy with the work shown in the status bar: wait or cancel it.")
            return None
        chosen_path, chosen_fmt = path, fmt or "csv"

        async def go() -> None:
            job = Job("Exporting ratings")
            try:
                result = await self.busy.run(
                    "Exporting ratings", lambda: self.engine.export_in_background(chosen_fmt, chosen_path, job), job)
            except JobCancelled:
                self.banner_info("Export cancelled: no file was written.")
                return
            except (ValueError, OSError) as exc:
                self.banner_error(f"Export failed: {exc}")
                return
            skipped = sum(result.skipped.values())
            extra = f" ({skipped} ties or mismatched pairs skipped)" if skipped else ""
            self.banner_info(f"Exported {result.rows} rows to {result.path}{extra}.")

        return asyncio.ensure_future(go())

    def merge_store(self, path: str | None = None) -> asyncio.Future[Any] | None:
        """Pool another expert's store into this one, off the GUI thread, cancellable (what
        was copied stays; merging again completes it); returns the task (None if nothing to do)."""
        if path is None:
            path, _ = QFileDialog.getOpenFileName(self, "Merge another desk store", "",
                                                  "desk stores (*.db);;All files (*)")
            if not path:
                return None
        if self.busy.busy:
            self.banner_error("desk is still busy with the work shown in the status bar: wait or cancel it.")
            return None
        return asyncio.ensure_future(self._merge(path))

    def update_prices(self) -> asyncio.Future[Any] | None:
        """Fetch the maintained price list (the one network call desk makes on its own
        behalf, and only when asked); cancellable; the status bar then shows its date."""
        if self.busy.busy:
            self.banner_error("desk is still busy with the work shown in the status bar: wait or cancel it.")
            return None

        async def go() -> None:
            try:
                description = await self.busy.run("Fetching the latest price data", self.engine.providers.update_price_data)
            except JobCancelled:
                self.banner_info("Price update cancelled: the price data in use is unchanged.")
                return
            except EngineError as exc:
                self.banner_error(f"Price update failed: {exc}")
                return
            self.price_label.setText(self.engine.providers.price_data())
            self.banner_info(f"Price data updated: {description}.")

        return asyncio.ensure_future(go())

    async def _merge(self, path: str) -> None:
        job = Job(f"Merging {Path(path).name}")
        try:
            report = await self.busy.run(job.label, lambda: self.engine.merge_in_background(path, job), job)
        except JobCancelled:
            self.banner_info("Merge cancelled: what was copied so far stays; merge again to complete it.")
            return
        except EngineError as exc:
            self.banner_error(f"Merge failed: {exc}")
            return
        added = ", ".join(f"{n} {table}" for table, n in report.added.items() if n) or "nothing new"
        conflicts = f" Conflicts kept ours: {'; '.join(report.conflicts)}" if report.conflicts else ""
        left = (f" Not added (configuration, add by hand if you trust it): {'; '.join(report.not_added)}"
                if report.not_added else "")
        self.banner_info(f"Merged {path}: {added}.{conflicts}{left}")
        self.refresh_history()
        self.refresh_models()

    def open_store(self, path: str | None = None) -> None:
        """Switch to another desk store (a team's shared file, a fresh one for a project)."""
        if self._run_task is not None and not self._run_task.done():
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
        self.rubric = self.engine.rubric()
        self.suites_panel.rubric = self.rubric
        self.suites_panel.tab.current_run_id = None  # a run of the store left behind is no longer open
        self.suites_panel.reload_matrix()
        self.suites_panel.refresh_suites()
        self.suites_panel.refresh_runs()
        self.new_trial()
        self.current_trial_id = None
        self.refresh_models()
        self.refresh_history()
        self.statusBar().showMessage(f"Store: {self.engine.store.path}")
        self.banner_info(" ".join([f"Now working in {path}.", *notes]))

    def show_about(self) -> None:
        show_about(self, str(self.engine.store.path), self.engine.providers.price_data())

    def open_rubric(self) -> None:
        from desk.ui.rubric_dialog import RubricDialog

        dialog = RubricDialog(self.engine, self)
        dialog.exec()
        dialog.deleteLater()
        self.rubric = self.engine.rubric()  # panels made from now on use the new version
        self.suites_panel.rubric = self.rubric

    def open_scorecard(self) -> None:
        from desk.ui.scorecard_view import ScorecardDialog

        trials = (self.current_trial_id,) if self.current_trial_id else ()
        dialog = ScorecardDialog(self.engine, self, trials)
        dialog.exec()
        dialog.deleteLater()

    # --- persistence --------------------------------------------------------------------
    def _setting_list(self, key: str) -> list[str]:
        value = self.settings.value(key, [])
        if isinstance(value, str):
            return [value] if value else []
        return [str(v) for v in value or []]

    def _save_picker(self) -> None:
        self.settings.setValue("picker/selected", [str(r) for r in self.picker.selected()])
        self.settings.setValue("picker/settings", json.dumps(self.picker.all_settings()))

    def _restore_state(self) -> None:
        geometry = self.settings.value("window/geometry")
        if isinstance(geometry, QByteArray):
            self.restoreGeometry(geometry)
        else:
            self.resize(1400, 900)
        for key, split in (("window/side", self.side_split), ("window/main", self.main_split),
                           ("window/top", self.top_split)):
            state = self.settings.value(key)
            if isinstance(state, QByteArray):
                split.restoreState(state)
            elif split is self.side_split:
                split.setSizes([200, 1200])  # a laptop screen keeps room for four answers
            elif split is self.main_split:
                split.setSizes([240, 660])  # the answers are what people came for

    def save_state(self) -> None:
        self.settings.setValue("window/geometry", self.saveGeometry())
        self.settings.setValue("window/side", self.side_split.saveState())
        self.settings.setValue("window/main", self.main_split.saveState())
        self.settings.setValue("window/top", self.top_split.saveState())
        self._save_picker()
        self.settings.sync()

    def closeEvent(self, event: QCloseEvent) -> None:
        self.save_state()
        self.cancel()
        if self._load_panel is not None:
            self._load_panel.shutdown()
        self.suites_panel.shutdown()
        if self.local_server is not None:
            self.local_server.stop()  # the built-in model's server goes with the window
            self.local_server = None
        super().closeEvent(event)
