"""The main window: compose on top, answers side by side below, history on the left.

It lays out and binds: the Trials tab's state and rules are desk.engine.trials_tab's
(bound in desk.ui.trial_view), rating the answers is desk.ui.window_rating's, the store-wide
work (export, merge, prices, another store) desk.ui.store_actions'."""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

from PySide6.QtCore import QByteArray, QSettings, Qt, QTimer, Signal
from PySide6.QtGui import QAction, QCloseEvent, QDragEnterEvent, QDropEvent, QKeySequence, QShortcut
from PySide6.QtWidgets import (
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

from desk.core.trial import ModelRef
from desk.engine import local_model
from desk.engine.keys import SecretStore, secret_store
from desk.engine.session import Engine, EngineError, TrialSummary
from desk.ui import defs, hotkeys
from desk.ui.about import show_about, show_help
from desk.ui.background import call_in_thread
from desk.ui.banner import Banner
from desk.ui.busy import BusyBar
from desk.ui.compose import ComposePanel
from desk.ui.history import HistoryPanel
from desk.ui.judge_action import JudgeRunAction
from desk.ui.model_picker import ModelPicker
from desk.ui.pane_grid import COLUMNS, LAYOUT_NAMES, LAYOUTS, PaneGrid
from desk.ui.preference_bar import PreferenceBar
from desk.ui.reply_view import ReplyView
from desk.ui.store_actions import StoreActions
from desk.ui.suites_view import STARTER, SuitesPanel
from desk.ui.trial_view import STATUS_MS, TrialView
from desk.ui.warm_imports import warm_when_idle
from desk.ui.window_rating import RatingView

if TYPE_CHECKING:
    from desk.ui.load_view import LoadPanel

__all__ = ["Banner", "MainWindow"]

NO_MODELS = "No models yet: open Providers… to add a provider and pick its models."
HISTORY_PAGE = 200  # trials listed at once; scrolling to the end lists the next page


log = logging.getLogger("desk.ui")


class MainWindow(TrialView, ReplyView, RatingView, StoreActions, QMainWindow):
    trial_finished = Signal(str)  # trial id
    response_finished = Signal(object)
    rating_saved = Signal(object)

    def __init__(self, engine: Engine, settings: QSettings | None = None, *, show_welcome: bool = True,
                 welcome_candidates: Sequence[tuple[str, str, int]] | None = None) -> None:
        super().__init__()
        self.engine = engine
        self.settings = settings or QSettings()
        self.local_server: local_model.LocalServer | None = None
        self._local_task: asyncio.Future[Any] | None = None
        self.rubric = engine.ratings.rubrics.default()
        self._bind_trials()
        self.setWindowTitle("desk — side-by-side model trials")
        self.setAcceptDrops(True)
        self._build()
        self._bind_panes()
        self._bind_store_actions()
        self._build_menu()
        self.refresh_models()
        self.refresh_history()
        self._restore_state()
        self.welcome: Any = None
        self._welcome_candidates = welcome_candidates
        if show_welcome and not engine.providers.configs.all():
            QTimer.singleShot(0, self.show_welcome)  # first run: offer local servers, non-blocking
        QTimer.singleShot(0, self, self._show_price_data)
        QTimer.singleShot(0, self, self._show_secret_store)
        warm_when_idle(self, lambda: self.tab.running or self.suites_panel.running)  # the plots' imports

    def _show_secret_store(self) -> None:
        """Say at startup where typed keys go (asked on a worker thread: the keyring's backend
        detection takes up to a second), once the background preload, which probes it too, is done."""
        if not self.engine.providers.price_data_ready():
            QTimer.singleShot(50, self, self._show_secret_store)
            return
        call_in_thread(self, secret_store, self._secret_store_found)

    def _secret_store_found(self, keys: SecretStore) -> None:
        log.info("secret store: %s", keys.description)
        self.secret_label.setText("keys: OS keyring" if keys.usable else "keys: no OS keyring ⚠")
        self.secret_label.setToolTip(keys.description[:1].upper() + keys.description[1:] + ".")

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

        self.top_split = QSplitter(Qt.Orientation.Horizontal)
        self.top_split.addWidget(self.compose)
        self.top_split.addWidget(self._build_picker())
        self.top_split.setStretchFactor(0, 3)
        self.top_split.setStretchFactor(1, 2)
        self._build_answers()
        self._build_tabs()
        self._build_status_bar()
        self._build_shortcuts()

    def _build_picker(self) -> QWidget:
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
        return picker_box

    def _build_answers(self) -> None:
        self.grid = PaneGrid(layout=str(self.settings.value("panes/layout", COLUMNS)))
        self.grid.layout_changed.connect(lambda mode: self.settings.setValue("panes/layout", mode))
        self.pane_scroll = self.grid.scroll

        self.preferences = PreferenceBar()
        self.preferences.preference_chosen.connect(self._save_preference)
        answers = QWidget()
        acol = QVBoxLayout(answers)
        acol.setContentsMargins(0, 0, 0, 0)
        acol.addWidget(self.grid, 1)
        acol.addWidget(self._build_reply_all())
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

    def _build_tabs(self) -> None:
        self.tabs = QTabWidget()
        self.tabs.setObjectName("mainTabs")
        self.tabs.addTab(self.side_split, "Trials")
        # The Load tab's plots import pyqtgraph (0.4-0.8 s): it is built the first time it is
        # shown or asked for (see load_panel), a placeholder holds its place until then.
        self._load_panel: LoadPanel | None = None
        self._load_placeholder: QWidget | None = QWidget()
        self.tabs.addTab(self._load_placeholder, "Load")
        self.suites_panel = SuitesPanel(self.engine, streams=self.tab.streams)
        self.suites_panel.rubric = self.rubric
        self.suites_panel.before_run = self._before_run
        self.suites_panel.open_trial_requested.connect(self.open_case)
        self.tabs.addTab(self.suites_panel, "Suites")
        self.history.suite_requested.connect(lambda ids: self.create_suite_from_trials(ids))
        self.tabs.currentChanged.connect(self._on_tab_changed)
        self.setCentralWidget(self.tabs)

    def _build_status_bar(self) -> None:
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

    def _build_shortcuts(self) -> None:
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
            panel.trial_wanted.connect(lambda: (task := self.task_for_load()) is not None and panel.use_trial(task))
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
        self._action(edit_menu, "Reply to &all models…", hotkeys.REPLY_ALL, self.reply_all_box.open)
        self._action(edit_menu, "Set &rater name…", None, self.ask_rater_name)
        self._action(edit_menu, "&Update price data (online)", None, self.update_prices)
        rate_menu = self.menuBar().addMenu("&Rate")
        self.blind_action = self._action(rate_menu, "&Blind rating (hide models until all are rated)",
                                         hotkeys.BLIND, lambda: self._on_blind_toggled())
        self.blind_action.setCheckable(True)
        self._action(rate_menu, "Rate the &next unrated answer", hotkeys.RATE, self.rate_next_unrated)
        self._action(rate_menu, "&Scorecard…", hotkeys.SCORECARD, self.open_scorecard)
        self._action(rate_menu, "Edit the &rubric…", None, self.open_rubric)
        self.trial_judge = JudgeRunAction(
            self.engine, self, lambda: self.current_trial_id, self.suites_panel.tab.model_names, self.banner_info,
            self.banner_error, judge=lambda engine: engine.judges.judge_trial, bar=self.busy, what="trial",
            sending=self.suites_panel.tab.sending)
        self._action(rate_menu, "&Judge these answers…", None, lambda: self.trial_judge.start())
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
            latest = self.grid.panes[index].latest()
            if latest.rating is not None and latest.is_turn:  # a conversation: its latest turn is rated next
                latest.rating.move_to(0)
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
        return self.engine.trials.history.list(search or None, limit=HISTORY_PAGE, offset=offset, runs=False)


    # --- drag and drop ------------------------------------------------------------------
    def dragEnterEvent(self, event: QDragEnterEvent) -> None:
        if event.mimeData().hasUrls() and any(u.isLocalFile() for u in event.mimeData().urls()):
            event.acceptProposedAction()

    def dropEvent(self, event: QDropEvent) -> None:
        paths = [u.toLocalFile() for u in event.mimeData().urls() if u.isLocalFile()]
        if paths:
            self.compose.add_files(paths)
            event.acceptProposedAction()

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
            info = self.engine.suites.from_trials(name, ids)
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
    # --- settings -----------------------------------------------------------------------
    def open_settings(self) -> None:
        from desk.ui.settings_dialog import SettingsDialog

        dialog = SettingsDialog(self.engine, self)
        dialog.exec()
        dialog.deleteLater()
        self.refresh_models()

    def show_about(self) -> None:
        show_about(self, str(self.engine.store.path), self.engine.providers.price_data())

    def open_rubric(self) -> None:
        from desk.ui.rubric_dialog import RubricDialog

        dialog = RubricDialog(self.engine, self)
        dialog.exec()
        dialog.deleteLater()
        self.rubric = self.engine.ratings.rubrics.default()  # panels made from now on use the new version
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
        if self.tab.streams is not None:  # cancelled streams store what arrived before it ends
            self.tab.streams.close()
        if self._load_panel is not None:
            self._load_panel.shutdown()
        self.suites_panel.shutdown()
        if self.local_server is not None:
            self.local_server.stop()  # the built-in model's server goes with the window
            self.local_server = None
        super().closeEvent(event)
