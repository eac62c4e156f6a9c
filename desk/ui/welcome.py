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
from desk.engine import local_model
from desk.engine.discover import (
    DEFAULT_CANDIDATES,
    Candidate,
    Found,
    describe_candidates,
    discover,
    with_models,
)
from desk.engine.session import Engine, EngineError
from desk.ui.command import Command

ROLE = Qt.ItemDataRole.UserRole
INTRO = (
    "desk sends one prompt to several AI models at once and shows their answers side by side. "
    "You rate the answers, and desk keeps every trial so you can compare models on your own material."
)


class WelcomeDialog(QDialog):
    """Shown when no provider is configured yet."""

    models_added = Signal(list)  # list[ModelRef] just configured
    builtin_requested = Signal()  # "Use the built-in model": the window starts it
    providers_changed = Signal()  # the settings dialog was used
    starter_requested = Signal()  # "Try the starter suite": the window shows it, ready to Start

    def __init__(self, engine: Engine, parent: QWidget | None = None,
                 candidates: Sequence[Candidate] = DEFAULT_CANDIDATES) -> None:
        super().__init__(parent)
        self.engine = engine
        self.candidates = tuple(candidates)
        self.found: list[Found] = []
        # Discovery: one search at a time, Look again disabled meanwhile, stopped on close.
        self.discovery = Command(self._say, self._say, refuse=None,
                                 running_changed=lambda busy: self.rescan_button.setEnabled(not busy))
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

        col.addLayout(self._builtin_row())
        col.addLayout(self._starter_row())
        col.addLayout(self._button_row())
        self._update_buttons()
        self.refresh_starter()
        self.start_discovery()

    def _builtin_row(self) -> QHBoxLayout:
        """No server and no key: the desk[local] extra's small model still gives a real answer."""
        builtin = QHBoxLayout()
        self.builtin_button = QPushButton("Use the built-in model (Gemma 3 270M)")
        self.builtin_button.setObjectName("builtinModel")
        self.builtin_button.clicked.connect(self.request_builtin)
        self.builtin_note = QLabel()
        self.builtin_note.setObjectName("builtinNote")
        self.builtin_note.setWordWrap(True)
        self.builtin_note.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        reason = local_model.missing()
        if reason is None:
            self.builtin_note.setText("A small model that runs on this computer: no key, no server to install. "
                                      "Good for trying desk, not for judging vendors.")
        else:
            self.builtin_button.setEnabled(False)
            self.builtin_note.setText(f"No server and no key? A small built-in model: {local_model.INSTALL_HINT}")
        builtin.addWidget(self.builtin_button)
        builtin.addWidget(self.builtin_note, 1)
        return builtin

    def _starter_row(self) -> QHBoxLayout:
        """Once there are models: the bundled starter suite, on them (it starts only on Start)."""
        starter = QHBoxLayout()
        self.starter_button = QPushButton("Try the starter suite")
        self.starter_button.setObjectName("tryStarterSuite")
        self.starter_button.setAutoDefault(False)
        self.starter_button.clicked.connect(self.starter_requested)
        self.starter_note = QLabel("160 real tasks (unclear, unanswerable, answerable and constrained requests) "
                                   "on the models you have: opens the Suites tab; nothing is sent until you "
                                   "press Start.")
        self.starter_note.setObjectName("starterNote")
        self.starter_note.setWordWrap(True)
        starter.addWidget(self.starter_button)
        starter.addWidget(self.starter_note, 1)
        return starter

    def _button_row(self) -> QHBoxLayout:
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
        return row

    # --- discovery ----------------------------------------------------------------------
    def start_discovery(self) -> None:
        task = self.discovery.start(lambda: discover(candidates=self.candidates), done=self.show_found,
                                    cancelled=None, errors=())  # closing cancels: nothing to say
        if task is not None:
            self.status.setText("Looking for model servers on this computer (127.0.0.1)…")

    def searching(self) -> bool:
        return self.discovery.running

    def _say(self, text: str) -> None:
        self.status.setText(text)

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

    def refresh_starter(self) -> None:
        """The starter suite is offered once some model is configured."""
        has_models = bool(self.engine.providers.configured_models())
        self.starter_button.setEnabled(has_models)
        self.starter_button.setToolTip("" if has_models else "Add a model first: the suite runs on your models")

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
                name = self.engine.providers.add_found(server)
                refs.extend(ModelRef(name, m) for m in server.models)
        except (EngineError, ValueError) as exc:
            self.status.setText(f"Could not add: {exc}")
            self._update_buttons()
            if refs:
                self.models_added.emit(refs)
            self.refresh_starter()
            return
        self.models_added.emit(refs)
        self.accept()

    def request_builtin(self) -> None:
        self.builtin_button.setEnabled(False)
        self.status.setText("Starting the built-in model: the first time, its weights are assembled "
                            "and checked (a few seconds)…")
        self.builtin_requested.emit()

    def builtin_failed(self) -> None:
        self.builtin_button.setEnabled(local_model.missing() is None)
        self.status.setText("The built-in model did not start: see the message in the window.")

    def open_settings(self) -> None:
        from desk.ui.settings_dialog import SettingsDialog

        dialog = SettingsDialog(self.engine, self)
        dialog.exec()
        dialog.deleteLater()
        self.providers_changed.emit()
        self.refresh_starter()
        if self.engine.providers.configs.all():
            self.accept()

    def done(self, result: int) -> None:
        self.discovery.cancel()
        super().done(result)
