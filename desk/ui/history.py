"""History sidebar: every past trial, newest first, searchable by text.

Several trials can be selected (Ctrl/Shift+click) to make a suite of them.
"""

from __future__ import annotations

import datetime as dt

from PySide6.QtCore import QPoint, Qt, QTimer, Signal
from PySide6.QtGui import QMouseEvent
from PySide6.QtWidgets import (
    QAbstractItemView,
    QHBoxLayout,
    QLineEdit,
    QListWidget,
    QListWidgetItem,
    QMenu,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from desk.core.trial import history_models, history_title, history_turns
from desk.engine.session import TrialSummary


class _TrialList(QListWidget):
    """Remembers the modifiers of the last mouse press: Ctrl/Shift+click selects, a plain click opens."""

    SELECTING = Qt.KeyboardModifier.ControlModifier | Qt.KeyboardModifier.ShiftModifier | Qt.KeyboardModifier.MetaModifier

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.selecting = False

    def mousePressEvent(self, event: QMouseEvent) -> None:
        self.selecting = bool(event.modifiers() & self.SELECTING)
        super().mousePressEvent(event)


class HistoryPanel(QWidget):
    trial_chosen = Signal(str)
    search_changed = Signal(str)
    run_again_requested = Signal()
    suite_requested = Signal(list)  # the selected trial ids, newest first: make a suite of them
    more_requested = Signal()  # scrolled to the end of a full page: older trials wanted

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        col = QVBoxLayout(self)
        col.setContentsMargins(0, 0, 0, 0)
        self.search = QLineEdit()
        self.search.setPlaceholderText("Search past trials…")
        self.search.setClearButtonEnabled(True)
        col.addWidget(self.search)
        self.list = _TrialList()
        self.list.setObjectName("historyList")
        self.list.setWordWrap(True)
        self.list.setAlternatingRowColors(True)
        self.list.setSelectionMode(QAbstractItemView.SelectionMode.ExtendedSelection)
        self.list.itemActivated.connect(self._chosen)
        self.list.itemClicked.connect(self._clicked)
        self.list.itemSelectionChanged.connect(self._selection_changed)
        self.list.setContextMenuPolicy(Qt.ContextMenuPolicy.CustomContextMenu)
        self.list.customContextMenuRequested.connect(self._context_menu)
        col.addWidget(self.list, 1)
        self.has_more = False  # the last page filled up, so older trials may exist
        self.blind = False  # while rating blind, entries do not name the models
        self.list.verticalScrollBar().valueChanged.connect(self._scrolled)
        buttons = QHBoxLayout()
        self.run_again = QPushButton("Run again")
        self.run_again.setToolTip("Send the opened trial again as a new trial linked to it (Ctrl+R)")
        self.run_again.setEnabled(False)
        self.run_again.clicked.connect(self.run_again_requested)
        buttons.addWidget(self.run_again, 1)
        self.make_suite = QPushButton("Suite…")
        self.make_suite.setObjectName("historyMakeSuite")
        self.make_suite.setToolTip("Create a suite from the selected trials (Ctrl/Shift+click selects several): "
                                   "each one's prompt, system prompt and files become a case")
        self.make_suite.setEnabled(False)
        self.make_suite.clicked.connect(lambda: self.suite_requested.emit(self.selected_ids()))
        buttons.addWidget(self.make_suite)
        col.addLayout(buttons)
        # Debounce typing so each keystroke does not hit the store.
        self._debounce = QTimer(self)
        self._debounce.setSingleShot(True)
        self._debounce.setInterval(200)
        self._debounce.timeout.connect(lambda: self.search_changed.emit(self.search.text()))
        self.search.textChanged.connect(lambda _t: self._debounce.start())

    def set_trials(self, trials: list[TrialSummary], current: str | None = None, *, has_more: bool = False) -> None:
        self.list.clear()
        self.append_trials(trials, current, has_more=has_more)

    def append_trials(self, trials: list[TrialSummary], current: str | None = None, *, has_more: bool = False) -> None:
        """Add the next (older) page below what is listed."""
        self.has_more = has_more
        for t in trials:
            when = dt.datetime.fromtimestamp(t.created_at).strftime("%Y-%m-%d %H:%M")
            models = history_models(t.models, blind=self.blind)
            item = QListWidgetItem(f"{history_title(t.prompt_preview)}\n{when} · {models}{history_turns(t.turns)}")
            item.setData(Qt.ItemDataRole.UserRole, t.id)
            item.setToolTip(t.prompt_preview)
            self.list.addItem(item)
            if t.id == current:
                item.setSelected(True)

    def _scrolled(self, value: int) -> None:
        bar = self.list.verticalScrollBar()
        if self.has_more and value >= bar.maximum() - 2:
            self.has_more = False  # one request per page; the reply says whether more remain
            self.more_requested.emit()

    def selected_ids(self) -> list[str]:
        """The selected trials' ids, in list order (newest first)."""
        return [self.list.item(i).data(Qt.ItemDataRole.UserRole) for i in range(self.list.count())
                if self.list.item(i).isSelected()]

    def select_ids(self, ids: list[str]) -> None:
        wanted = set(ids)
        for i in range(self.list.count()):
            item = self.list.item(i)
            item.setSelected(item.data(Qt.ItemDataRole.UserRole) in wanted)

    def _selection_changed(self) -> None:
        self.make_suite.setEnabled(bool(self.list.selectedItems()))

    def _context_menu(self, pos: QPoint) -> None:
        ids = self.selected_ids()
        if not ids:
            return
        menu = QMenu(self)
        n = len(ids)
        action = menu.addAction(f"Create suite from {n} selected trial{'s' if n != 1 else ''}…")
        action.triggered.connect(lambda _checked=False: self.suite_requested.emit(ids))
        menu.exec(self.list.viewport().mapToGlobal(pos))

    def _clicked(self, item: QListWidgetItem) -> None:
        # Ctrl/Shift+click grows the selection (for a suite); a plain click opens the trial.
        selecting, self.list.selecting = self.list.selecting, False
        if not selecting:
            self._chosen(item)

    def _chosen(self, item: QListWidgetItem) -> None:
        self.trial_chosen.emit(item.data(Qt.ItemDataRole.UserRole))
