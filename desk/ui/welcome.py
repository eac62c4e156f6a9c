"""First run: say what desk is, offer the model servers found on this computer.

Discovery runs as an asyncio task on the qasync loop (loopback only, short timeouts), so
the dialog is on screen at once and fills in as the probes answer.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from typing import Any

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QDialog,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QTreeWidget,
    QTreeWidgetItem,
    QVBoxLayout,
    QWidget,
)

from desk.core.trial import ModelRef
from desk.engine.discover import (
    DEFAULT_CANDIDATES,
    Candidate,
    Found,
    add_found,
    describe_candidates,
    discover,
    with_models,
)
from desk.engine.session import Engine, EngineError

ROLE = Qt.ItemDataRole.UserRole
INTRO = (
    "desk sends one prompt to several AI models at once and shows their answers side by side. "
    "You rate the answers, and desk keeps every trial so you can compare models on your own material."
)


class WelcomeDialog(QDialog):
    """Shown when no provider is configured yet."""

    models_added = Signal(list)  # list[ModelRef] just configured
    providers_changed = Signal()  # the settings dialog was used

    def __init__(self, engine: Engine, parent: QWidget | None = None,
                 candidates: Sequence[Candidate] = DEFAULT_CANDIDATES) -> None:
        super().__init__(parent)
        self.engine = engine
        self.candidates = tuple(candidates)
        self.found: list[Found] = []
        self._task: asyncio.Future[Any] | None = None
        self._add_task: asyncio.Future[Any] | None = None
        self.setWindowTitle("Welcome to desk")
        self.setObjectName("welcomeDialog")
        self.resize(560, 420)

        col = QVBoxLayout(self)
        intro = QLabel(INTRO)
        intro.setWordWrap(True)
        col.addWidget(intro)
        self.status = QLabel()
        self.status.setObjectName("welcomeStatus")
        self.status.setWordWrap(True)
        col.addWidget(self.status)
        self.tree = QTreeWidget()
        self.tree.setObjectName("foundServers")
        self.tree.setHeaderHidden(True)
        self.tree.itemChanged.connect(lambda *_: self._update_buttons())
        col.addWidget(self.tree, 1)

        row = QHBoxLayout()
        self.rescan_button = QPushButton("Look again")
        self.rescan_button.clicked.connect(self.start_discovery)
        row.addWidget(self.rescan_button)
        row.addStretch(1)
        self.cloud_button = QPushButton("Add a cloud provider…")
        self.cloud_button.clicked.connect(self.open_settings)
        row.addWidget(self.cloud_button)
        self.add_button = QPushButton("Add selected")
        self.add_button.setObjectName("addSelected")
        self.add_button.setDefault(True)
        self.add_button.clicked.connect(self.add_selected)
        row.addWidget(self.add_button)
        self.skip_button = QPushButton("Skip")
        self.skip_button.clicked.connect(self.reject)
        row.addWidget(self.skip_button)
        col.addLayout(row)
        self._update_buttons()
        self.start_discovery()

    # --- discovery ----------------------------------------------------------------------
    def start_discovery(self) -> None:
        if self._task is not None and not self._task.done():
            return
        self.status.setText("Looking for model servers on this computer (127.0.0.1)…")
        self.rescan_button.setEnabled(False)
        self._task = asyncio.ensure_future(self._discover())

    def searching(self) -> bool:
        return self._task is not None and not self._task.done()

    async def _discover(self) -> None:
        try:
            found = await discover(candidates=self.candidates)
        finally:
            self.rescan_button.setEnabled(True)
        self.show_found(found)

    def show_found(self, found: list[Found]) -> None:
        self.found = list(found)
        self.tree.blockSignals(True)
        self.tree.clear()
        for server in self.found:
            top = QTreeWidgetItem([f"{server.server} — {server.base_url}"])
            top.setFlags(Qt.ItemFlag.ItemIsEnabled | Qt.ItemFlag.ItemIsUserCheckable
                         | Qt.ItemFlag.ItemIsAutoTristate)
            top.setCheckState(0, Qt.CheckState.Unchecked)
            top.setData(0, ROLE, server)
            for model in server.models:
                child = QTreeWidgetItem([model])
                child.setFlags(Qt.ItemFlag.ItemIsEnabled | Qt.ItemFlag.ItemIsUserCheckable)
                child.setCheckState(0, Qt.CheckState.Unchecked)
                child.setData(0, ROLE, model)
                top.addChild(child)
            self.tree.addTopLevelItem(top)
            top.setExpanded(True)
        self.tree.blockSignals(False)
        if self.found:
            n = len(self.found)
            self.status.setText(f"Found {n} model server{'s' if n > 1 else ''} on this computer: "
                                "tick the models to compare, then Add selected.")
        else:
            self.status.setText(
                f"No local model servers found on 127.0.0.1 ({describe_candidates(self.candidates)}). "
                "Start one and press Look again, or add a cloud provider with your API key."
            )
        self._update_buttons()

    def offered(self) -> dict[str, list[str]]:
        """Server name -> the models listed for it (what the user can tick)."""
        return {s.name: list(s.models) for s in self.found}

    def model_item(self, server: str, model: str) -> QTreeWidgetItem | None:
        for i in range(self.tree.topLevelItemCount()):
            top = self.tree.topLevelItem(i)
            if top.data(0, ROLE).name == server:
                for j in range(top.childCount()):
                    if top.child(j).data(0, ROLE) == model:
                        return top.child(j)
        return None

    def set_ticked(self, server: str, models: Sequence[str]) -> None:
        for model in models:
            item = self.model_item(server, model)
            if item is not None:
                item.setCheckState(0, Qt.CheckState.Checked)

    def selection(self) -> list[Found]:
        """The found servers, each with only its ticked models (servers with none left out)."""
        chosen = []
        for i in range(self.tree.topLevelItemCount()):
            top = self.tree.topLevelItem(i)
            ticked = [top.child(j).data(0, ROLE) for j in range(top.childCount())
                      if top.child(j).checkState(0) == Qt.CheckState.Checked]
            if ticked:
                chosen.append(with_models(top.data(0, ROLE), ticked))
        return chosen

    def _update_buttons(self) -> None:
        self.add_button.setEnabled(bool(self.selection()))

    # --- actions ------------------------------------------------------------------------
    def add_selected(self) -> None:
        chosen = self.selection()
        if not chosen:
            return
        self.add_button.setEnabled(False)
        self._add_task = asyncio.ensure_future(self._add(chosen))

    async def _add(self, chosen: list[Found]) -> None:
        refs: list[ModelRef] = []
        try:
            for server in chosen:
                name = await add_found(self.engine, server)
                refs.extend(ModelRef(name, m) for m in server.models)
        except (EngineError, ValueError) as exc:
            self.status.setText(f"Could not add: {exc}")
            self._update_buttons()
            if refs:
                self.models_added.emit(refs)
            return
        self.models_added.emit(refs)
        self.accept()

    def open_settings(self) -> None:
        from desk.ui.settings_dialog import SettingsDialog

        dialog = SettingsDialog(self.engine, self)
        dialog.exec()
        dialog.deleteLater()
        self.providers_changed.emit()
        if self.engine.providers():
            self.accept()

    def done(self, result: int) -> None:
        if self._task is not None and not self._task.done():
            self._task.cancel()
        super().done(result)
