"""History sidebar: every past trial, newest first, searchable by text."""

from __future__ import annotations

import datetime as dt

from PySide6.QtCore import Qt, QTimer, Signal
from PySide6.QtWidgets import QLineEdit, QListWidget, QListWidgetItem, QPushButton, QVBoxLayout, QWidget

from desk.engine.session import TrialSummary


class HistoryPanel(QWidget):
    trial_chosen = Signal(str)
    search_changed = Signal(str)
    run_again_requested = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        col = QVBoxLayout(self)
        col.setContentsMargins(0, 0, 0, 0)
        self.search = QLineEdit()
        self.search.setPlaceholderText("Search past trials…")
        self.search.setClearButtonEnabled(True)
        col.addWidget(self.search)
        self.list = QListWidget()
        self.list.setObjectName("historyList")
        self.list.setWordWrap(True)
        self.list.setAlternatingRowColors(True)
        self.list.itemActivated.connect(self._chosen)
        self.list.itemClicked.connect(self._chosen)
        col.addWidget(self.list, 1)
        self.run_again = QPushButton("Run again")
        self.run_again.setToolTip("Send the opened trial again as a new trial linked to it (Ctrl+R)")
        self.run_again.setEnabled(False)
        self.run_again.clicked.connect(self.run_again_requested)
        col.addWidget(self.run_again)
        # Debounce typing so each keystroke does not hit the store.
        self._debounce = QTimer(self)
        self._debounce.setSingleShot(True)
        self._debounce.setInterval(200)
        self._debounce.timeout.connect(lambda: self.search_changed.emit(self.search.text()))
        self.search.textChanged.connect(lambda _t: self._debounce.start())

    def set_trials(self, trials: list[TrialSummary], current: str | None = None) -> None:
        self.list.clear()
        for t in trials:
            when = dt.datetime.fromtimestamp(t.created_at).strftime("%Y-%m-%d %H:%M")
            preview = " ".join(t.prompt_preview.split())[:90] or "(attachments only)"
            models = ", ".join(m.split("/", 1)[-1] for m in t.models[:3])
            more = f" +{len(t.models) - 3}" if len(t.models) > 3 else ""
            item = QListWidgetItem(f"{preview}\n{when} · {models}{more}")
            item.setData(Qt.ItemDataRole.UserRole, t.id)
            item.setToolTip(t.prompt_preview)
            self.list.addItem(item)
            if t.id == current:
                item.setSelected(True)

    def _chosen(self, item: QListWidgetItem) -> None:
        self.trial_chosen.emit(item.data(Qt.ItemDataRole.UserRole))
