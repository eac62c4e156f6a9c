"""Providers, keys, models and prices: one dialog, talking only to the Engine.

Left: the configured providers. Right, in three tabs: the selected provider's connection
(name, kind, base URL, key), its models (listed from the server or typed by hand) and the
prices of its configured models. Network calls (Test, List models) run as asyncio tasks on
the qasync loop, so the window never freezes; their outcome is shown in the dialog.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Coroutine
from typing import Any

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QKeySequence, QShortcut, QShowEvent
from PySide6.QtWidgets import (
    QLabel,
    QListWidgetItem,
    QTableWidgetItem,
    QWidget,
)

from desk.core.provider import ProviderConfig, plain_http_to_remote
from desk.core.trial import ModelRef
from desk.engine.services.providers import KINDS, default_base_url, takes_api_version
from desk.engine.session import Engine, EngineError
from desk.engine.settings_tab import (
    ProviderForm,
    Said,
    SettingsModel,
    fmt_price,
    key_env_hint,
    url_for_kind,
)
from desk.ui.settings_layout import (
    COL_CACHED,
    COL_INPUT,
    COL_MODEL,
    COL_OUTPUT,
    COL_SOURCE,
    IMAGE_CHOICES,
    ROLE,
    SettingsLayout,
)


class SettingsDialog(SettingsLayout):
    """Add and edit providers, their keys, their models and the prices of those models."""

    models_changed = Signal()  # configured models were added or removed
    providers_changed = Signal()

    def __init__(self, engine: Engine, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.engine = engine
        self.model = SettingsModel(engine.providers)
        self.model.providers_changed.connect(self.providers_changed.emit)
        self.model.models_changed.connect(self.models_changed.emit)
        self.setObjectName("settingsDialog")
        self.setWindowTitle("Providers, models and prices")
        self.resize(980, 620)
        # Asked before anything is discarded or removed; tests may replace it.
        self.confirm: Callable[[str, str], bool] = self._ask
        self._loading = False
        self._closing = False
        self._busy: set[str] = set()
        self._tasks: set[asyncio.Task[Any]] = set()
        self._build()
        self._wire()
        providers = self.engine.providers.configs.all()
        if providers:
            self.select_provider(providers[0].name)
        else:
            self.new_provider()

    def _wire(self) -> None:
        self.provider_list.currentRowChanged.connect(self._row_changed)
        self.add_button.clicked.connect(self.new_provider)
        self.remove_button.clicked.connect(self.remove_selected)
        self.kind_combo.currentTextChanged.connect(self._kind_changed)
        self.base_url_edit.textChanged.connect(self._update_warning)
        self.key_env_edit.textChanged.connect(self._update_key_env_hint)
        for edit in (self.name_edit, self.base_url_edit, self.api_key_edit, self.key_env_edit,
                     self.api_version_edit):
            edit.textChanged.connect(self._form_edited)  # typed or set by code alike
            edit.returnPressed.connect(self.save)
        self.kind_combo.activated.connect(self._form_edited)
        self.save_button.clicked.connect(self.save)
        self.test_button.clicked.connect(self.test)
        QShortcut(QKeySequence(QKeySequence.StandardKey.Save), self, activated=self._save_shortcut)

        self.list_models_button.clicked.connect(self.list_models)
        self.model_filter.textChanged.connect(self._filter_models)
        self.model_list.itemChanged.connect(self._model_item_changed)
        self.model_list.currentItemChanged.connect(lambda _new, _old: self.show_model_images())
        self.model_images.activated.connect(lambda _i: self.set_model_images())
        self.apply_models_button.clicked.connect(self.apply_models)
        self.manual_model_edit.returnPressed.connect(self.add_manual_model)
        self.add_manual_button.clicked.connect(self.add_manual_model)

        self.price_table.itemChanged.connect(self._price_item_changed)
        self.save_prices_button.clicked.connect(self.save_prices)
        self.clear_price_button.clicked.connect(self.clear_selected_price)

    def current_name(self) -> str | None:
        """The saved provider being edited, or None for a new one."""
        return self.model.current_name()

    def busy(self) -> bool:
        """True while a Test or List models call is running."""
        return any(not t.done() for t in self._tasks)

    def _may_discard(self) -> bool:
        question = self.model.discard_question()
        return question is None or self.confirm("Discard changes?", question)

    def _tell(self, label: QLabel, said: Said) -> None:
        self._say(label, said.text, said.kind)

    def _update_buttons(self) -> None:
        saved = self.model.current is not None
        self.remove_button.setEnabled(saved)
        self.test_button.setEnabled("test" not in self._busy)
        self.list_models_button.setEnabled(saved and "list" not in self._busy)
        for i in (1, 2):
            self.tabs.setTabEnabled(i, saved)
        self.name_edit.setReadOnly(saved)
        self.name_edit.setToolTip(
            "A provider's name cannot change: it is part of every NAME/MODEL in your history"
            if saved else "Letters, digits, '.', '_' or '-'; you will pick models as NAME/MODEL"
        )
        self.api_version_edit.setEnabled(takes_api_version(self.kind_combo.currentText()))

    # --- providers ----------------------------------------------------------------------
    def _fill_list(self, select: str | None) -> None:
        self.provider_list.blockSignals(True)
        self.provider_list.clear()
        row_to_select = -1
        for config in self.engine.providers.configs.all():
            item = QListWidgetItem(config.name)
            item.setData(ROLE, config.name)
            item.setToolTip(f"{config.kind} · {config.base_url}")
            self.provider_list.addItem(item)
            if config.name == select:
                row_to_select = self.provider_list.count() - 1
        self.provider_list.setCurrentRow(row_to_select)
        self.provider_list.blockSignals(False)

    def _row_changed(self, row: int) -> None:
        item = self.provider_list.item(row) if row >= 0 else None
        name = item.data(ROLE) if item is not None else None
        if name == self.current_name():
            return
        if not self._may_discard():
            self._fill_list(self.current_name())  # put the selection back
            return
        if name is None:
            self._show(None)
        else:
            self.select_provider(name)

    def select_provider(self, name: str) -> None:
        """Show a saved provider (no unsaved-changes check: callers do that)."""
        config = self.engine.providers.configs.get(name)
        self._fill_list(name if config else None)
        self._show(config)

    def new_provider(self) -> None:
        if self.model.current is None and self.model.form_dirty:
            self.name_edit.setFocus()
            return  # already adding one
        if not self._may_discard():
            return
        self._fill_list(None)
        self._show(None)
        self.tabs.setCurrentIndex(0)
        self.name_edit.setFocus()

    def _show(self, config: ProviderConfig | None, *, lists: bool = True) -> None:
        """Load the form (and, unless lists=False, the models and prices tabs) for `config`."""
        self._loading = True
        self.model.select(config)
        kind = config.kind if config else KINDS[0]
        self.form_title.setText(f"<b>{config.name}</b> · {config.kind}" if config else "<b>New provider</b>")
        self.name_edit.setText(config.name if config else "")
        self.kind_combo.setCurrentText(kind)
        self.base_url_edit.setText(config.base_url if config else default_base_url(kind))
        self.key_env_edit.setText(config.key_env or "" if config else "")
        self.api_version_edit.setText(config.api_version or "" if config else "")
        self.api_key_edit.clear()
        self._update_key_placeholder()
        self._loading = False
        self.model.form_dirty = False
        self._say(self.provider_status, "")
        self._update_warning()
        self._update_key_env_hint()
        if lists:
            self._load_models()
            self._load_prices()
        self._update_buttons()

    def _update_key_placeholder(self) -> None:
        """Say whether a key is stored, or at once that none can be kept (no OS keyring); the
        keyring is asked off the event loop (it can be slow)."""
        self.api_key_edit.setPlaceholderText("checking the OS keyring…")
        task = asyncio.ensure_future(self._check_key(self.model.current))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _check_key(self, config: ProviderConfig | None) -> None:
        text = await asyncio.to_thread(self.model.key_placeholder, config)
        if self._closing or self.current_name() != (config.name if config else None):
            return
        self.api_key_edit.setPlaceholderText(text)

    def _form_edited(self, *_args: object) -> None:
        if not self._loading:
            self.model.form_dirty = True

    def _kind_changed(self, kind: str) -> None:
        if not self._loading:
            url = url_for_kind(kind, self.base_url_edit.text())
            if url is not None:
                self.base_url_edit.setText(url)
            self.model.form_dirty = True
        self._update_buttons()

    def _update_warning(self, *_args: object) -> None:
        self.insecure_warning.setVisible(plain_http_to_remote(self.base_url_edit.text()))

    def _update_key_env_hint(self, *_args: object) -> None:
        hint = key_env_hint(self.key_env_edit.text())
        self._tell(self.key_env_hint, hint or Said("", "info"))
        self.key_env_hint.setVisible(hint is not None)

    def _form(self) -> ProviderForm:
        return ProviderForm(self.name_edit.text(), self.kind_combo.currentText(), self.base_url_edit.text(),
                            self.key_env_edit.text(), self.api_version_edit.text())

    def _save_shortcut(self) -> None:
        index = self.tabs.currentIndex()
        if index == 2:
            self.save_prices()
        elif index == 1:
            self.apply_models()
        else:
            self.save()

    def save(self) -> bool:
        """Validate and save the form; on any problem say so in red and save nothing."""
        new = self.model.current is None
        key = self.api_key_edit.text().strip() or None
        said, key_lost = self.model.save(self._form(), key)
        if key_lost:  # stay on it, the key field emptied (it cannot be kept); the way out has the focus
            self.api_key_edit.clear()
            self.key_env_edit.setFocus()
        saved = self.model.current
        if said.kind != "ok" or saved is None:
            self._tell(self.provider_status, said)
            return False
        self._fill_list(saved.name)
        # Keep unsaved model checks and price edits of an existing provider.
        self._show(saved, lists=new)
        self._tell(self.provider_status, said)
        return True

    def _ensure_saved(self) -> str | None:
        """The provider's name once the form is saved (saving it first if needed)."""
        if self.model.current is None or self.model.form_dirty:
            return self.current_name() if self.save() else None
        return self.model.current.name

    def remove_selected(self) -> None:
        name = self.current_name()
        if name is None or not self.confirm("Remove provider?", self.model.remove_question(name)):
            return
        said = self.model.remove(name)
        if said.kind == "ok":
            providers = self.engine.providers.configs.all()
            if providers:
                self.select_provider(providers[0].name)
            else:
                self._fill_list(None)
                self._show(None)
        self._tell(self.provider_status, said)

    # --- async actions ------------------------------------------------------------------
    def _spawn(self, action: str, coro: Coroutine[Any, Any, None]) -> None:
        self._busy.add(action)
        self._update_buttons()
        task = asyncio.ensure_future(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    def _finish(self, action: str) -> None:
        self._busy.discard(action)
        if not self._closing:
            self._update_buttons()

    def test(self) -> None:
        if "test" in self._busy:
            return
        name = self._ensure_saved()
        if name is None:
            return
        self._say(self.provider_status, f"Testing {name}…", "busy")
        self._spawn("test", self._test(name))

    async def _test(self, name: str) -> None:
        try:
            said = await self.model.test(name)
        finally:
            self._finish("test")
        if self._closing:
            return
        prefix = "" if name == self.current_name() else f"{name}: "
        self._say(self.provider_status, prefix + said.text, said.kind)

    def list_models(self) -> None:
        if "list" in self._busy:
            return
        name = self._ensure_saved()
        if name is None:
            return
        self._say(self.models_status, f"Asking {name} for its models…", "busy")
        self._spawn("list", self._list(name))

    async def _list(self, name: str) -> None:
        try:
            models = await self.model.served_models(name)
        finally:
            self._finish("list")
        if self._closing or name != self.current_name():
            return
        if isinstance(models, Said):
            self._tell(self.models_status, models)
            return
        configured = self.model.configured(name)
        edits = self.model_items() if self.model.models_dirty else {}  # checks not applied yet
        self._fill_models(models, configured)
        changed = {m: on for m, on in edits.items() if on != (m in configured)}
        if changed:
            self.model_list.blockSignals(True)
            for model, on in changed.items():
                self.set_model_checked(model, on)
            self.model_list.blockSignals(False)
            self.model.models_dirty = True
        self._tell(self.models_status, self.model.listed_line(models, configured))

    # --- models -------------------------------------------------------------------------
    def _load_models(self) -> None:
        name = self.current_name()
        self._fill_models([], self.model.configured(name) if name else [])
        self._say(self.models_status, "" if name else "Save the provider first.")

    def _model_item(self, model: str, checked: bool) -> QListWidgetItem:
        item = QListWidgetItem(model)
        item.setData(ROLE, model)
        item.setFlags(Qt.ItemFlag.ItemIsUserCheckable | Qt.ItemFlag.ItemIsEnabled | Qt.ItemFlag.ItemIsSelectable)
        item.setCheckState(Qt.CheckState.Checked if checked else Qt.CheckState.Unchecked)
        return item

    def _fill_models(self, listed: list[str], configured: list[str]) -> None:
        self.model_list.blockSignals(True)
        self.model_list.clear()
        chosen = set(configured)
        shown = set(listed)
        for model in [*listed, *sorted(chosen - shown)]:
            item = self._model_item(model, model in chosen)
            if listed and model not in shown:
                item.setToolTip("In the picker, but the server did not list it")
            self.model_list.addItem(item)
        self.model_list.blockSignals(False)
        self.model.models_dirty = False
        self._filter_models(self.model_filter.text())

    def _filter_models(self, text: str) -> None:
        needle = text.strip().lower()
        for i in range(self.model_list.count()):
            item = self.model_list.item(i)
            item.setHidden(bool(needle) and needle not in item.text().lower())

    def _model_item_changed(self, _item: QListWidgetItem) -> None:
        self.model.models_dirty = True

    def model_items(self) -> dict[str, bool]:
        """Every model in the list and whether it is checked."""
        out = {}
        for i in range(self.model_list.count()):
            item = self.model_list.item(i)
            out[item.data(ROLE)] = item.checkState() == Qt.CheckState.Checked
        return out

    def set_model_checked(self, model: str, checked: bool) -> None:
        for i in range(self.model_list.count()):
            item = self.model_list.item(i)
            if item.data(ROLE) == model:
                item.setCheckState(Qt.CheckState.Checked if checked else Qt.CheckState.Unchecked)

    def _selected_ref(self) -> ModelRef | None:
        """The selected model of the list, if it is one the user added (checked and applied)."""
        name, item = self.current_name(), self.model_list.currentItem()
        if name is None or item is None or item.data(ROLE) not in self.model.configured(name):
            return None
        return ModelRef(name, item.data(ROLE))

    def show_model_images(self) -> None:
        """What desk assumes of the selected model and images, and on whose word."""
        ref = self._selected_ref()
        self.model_images.setEnabled(ref is not None)
        if ref is None:
            self.model_images_why.setText("Select a model you added to say whether it takes images.")
            return
        said = self.engine.providers.configs.takes_images(ref.provider, ref.model)
        self.model_images.setCurrentIndex(list(IMAGE_CHOICES.values()).index(said))
        self.model_images_why.setText(self.engine.providers.takes_images(ref)[1])

    def set_model_images(self) -> None:
        ref = self._selected_ref()
        if ref is None:
            return
        try:
            self.engine.providers.set_takes_images(ref, IMAGE_CHOICES[self.model_images.currentText()])
        except EngineError as exc:
            self._say(self.models_status, str(exc))
        self.show_model_images()

    def apply_models(self) -> None:
        name = self.current_name()
        if name is None:
            return
        said = self.model.apply_models(name, self.model_items())
        self._load_prices()
        self._tell(self.models_status, said)

    def add_manual_model(self) -> None:
        name = self.current_name()
        if name is None:
            return
        model = self.manual_model_edit.text().strip()
        said = self.model.add_model(name, model)
        if said.kind == "ok":
            self.manual_model_edit.clear()
            self.model_list.blockSignals(True)
            if model in self.model_items():
                self.set_model_checked(model, True)
            else:
                self.model_list.addItem(self._model_item(model, True))
            self.model_list.blockSignals(False)
            self._load_prices()
        self._tell(self.models_status, said)

    # --- prices -------------------------------------------------------------------------
    def _load_prices(self) -> None:
        name = self.current_name()
        table = self.price_table
        table.blockSignals(True)
        table.setRowCount(0)
        for model, own, source in self.model.price_rows(name) if name else []:
            row = table.rowCount()
            table.insertRow(row)
            label = QTableWidgetItem(model)
            label.setFlags(Qt.ItemFlag.ItemIsEnabled | Qt.ItemFlag.ItemIsSelectable)
            table.setItem(row, COL_MODEL, label)
            values = (
                (COL_INPUT, own.input_per_mtok if own else None),
                (COL_CACHED, own.cached_input_per_mtok if own else None),
                (COL_OUTPUT, own.output_per_mtok if own else None),
            )
            for col, value in values:
                cell = QTableWidgetItem(fmt_price(value))
                cell.setTextAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
                table.setItem(row, col, cell)
            src = QTableWidgetItem(source)
            src.setFlags(Qt.ItemFlag.ItemIsEnabled | Qt.ItemFlag.ItemIsSelectable)
            table.setItem(row, COL_SOURCE, src)
        table.blockSignals(False)
        self.model.prices_dirty = False
        self._say(self.prices_status,
                  "" if table.rowCount() or not name else "Add models first: prices are per model.")

    def _price_item_changed(self, _item: QTableWidgetItem) -> None:
        self.model.prices_dirty = True

    def save_prices(self) -> None:
        """Save every changed row, or none: any invalid cell is reported and nothing is written."""
        name = self.current_name()
        if name is None:
            return
        table = self.price_table
        rows = [(table.item(r, COL_MODEL).text(),
                 (table.item(r, COL_INPUT).text(), table.item(r, COL_CACHED).text(), table.item(r, COL_OUTPUT).text()))
                for r in range(table.rowCount())]
        said, written = self.model.save_prices(name, rows)
        if written:  # else the edits stay, to be put right
            self._load_prices()
        self._tell(self.prices_status, said)

    def clear_selected_price(self) -> None:
        name = self.current_name()
        row = self.price_table.currentRow()
        if name is None or row < 0:
            self._say(self.prices_status, "Select a model's row first.", "error")
            return
        said = self.model.clear_price(name, self.price_table.item(row, COL_MODEL).text())
        if said.kind == "ok":
            self._load_prices()
            self.price_table.setCurrentCell(row, COL_INPUT)
        self._tell(self.prices_status, said)

    # --- closing ------------------------------------------------------------------------
    def showEvent(self, event: QShowEvent) -> None:
        self._closing = False
        super().showEvent(event)

    def done(self, result: int) -> None:
        """Close (Close button, Esc, window close): ask before dropping unsaved edits."""
        if not self._may_discard():
            return
        self._closing = True
        for task in list(self._tasks):
            task.cancel()
        super().done(result)
