"""The settings dialog's layout: the provider list, and the connection, models and prices
tabs of the provider selected, with their buttons and status lines. What they do is bound in
desk/ui/settings_dialog.py; the rules behind them live in desk/engine/settings_tab.py.
"""

from __future__ import annotations

import itertools

from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QAbstractItemView,
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QLineEdit,
    QListWidget,
    QMessageBox,
    QPushButton,
    QSplitter,
    QTableWidget,
    QTabWidget,
    QVBoxLayout,
    QWidget,
)

from desk.engine.services.providers import KINDS
from desk.ui import defs

# The model's images setting: as its vendor family is known (None), or the user's yes / no.
IMAGE_CHOICES = {"as its model family is known": None, "yes": True, "no": False}

WARN_COLOUR = "#a15c00"
ROLE = Qt.ItemDataRole.UserRole

# Price table columns.
COL_MODEL, COL_INPUT, COL_CACHED, COL_OUTPUT, COL_SOURCE = range(5)
PRICE_HEADERS = ["Model", "Input $/Mtok", "Cached input $/Mtok", "Output $/Mtok", "Source"]


class SettingsLayout(QDialog):
    """The widgets of the settings dialog, built and laid out; no behaviour beyond showing."""

    # --- layout -------------------------------------------------------------------------
    def _build(self) -> None:
        outer = QVBoxLayout(self)
        outer.setContentsMargins(defs.MARGIN, defs.MARGIN, defs.MARGIN, defs.MARGIN)
        outer.setSpacing(defs.SPACING)
        split = QSplitter(Qt.Orientation.Horizontal)
        split.setChildrenCollapsible(False)
        outer.addWidget(split, 1)

        # Left: providers.
        left = QWidget()
        lcol = QVBoxLayout(left)
        lcol.setContentsMargins(0, 0, 0, 0)
        heading = QLabel("<b>&Providers</b>")
        lcol.addWidget(heading)
        self.provider_list = QListWidget()
        self.provider_list.setObjectName("providerList")
        self.provider_list.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.provider_list.setAccessibleName("Providers")
        heading.setBuddy(self.provider_list)
        lcol.addWidget(self.provider_list, 1)
        lbuttons = QHBoxLayout()
        self.add_button = self._button("&Add", "addProviderButton", "Set up a new provider")
        self.remove_button = self._button(
            "&Remove…", "removeProviderButton",
            "Remove the selected provider with its models, prices and stored key (past trials stay)",
        )
        lbuttons.addWidget(self.add_button)
        lbuttons.addWidget(self.remove_button)
        lcol.addLayout(lbuttons)
        split.addWidget(left)

        # Right: the selected provider.
        right = QWidget()
        rcol = QVBoxLayout(right)
        rcol.setContentsMargins(0, 0, 0, 0)
        self.form_title = QLabel()
        self.form_title.setObjectName("formTitle")
        rcol.addWidget(self.form_title)
        self.tabs = QTabWidget()
        self.tabs.setObjectName("settingsTabs")
        self.tabs.addTab(self._build_connection(), "&Connection")
        self.tabs.addTab(self._build_models(), "&Models")
        self.tabs.addTab(self._build_prices(), "Pr&ices")
        rcol.addWidget(self.tabs, 1)
        split.addWidget(right)
        split.setStretchFactor(0, 1)
        split.setStretchFactor(1, 3)
        split.setSizes([220, 740])

        box = QDialogButtonBox()
        self.close_button = box.addButton("Close", QDialogButtonBox.ButtonRole.RejectRole)
        self.close_button.setObjectName("closeButton")
        self.close_button.setAutoDefault(False)
        self.close_button.clicked.connect(self.reject)
        outer.addWidget(box)

        self._set_tab_order()

    def _build_connection(self) -> QWidget:
        page = QWidget()
        col = QVBoxLayout(page)
        form = QFormLayout()
        form.setFieldGrowthPolicy(QFormLayout.FieldGrowthPolicy.AllNonFixedFieldsGrow)

        self.name_edit = QLineEdit()
        self.name_edit.setObjectName("nameEdit")
        self.name_edit.setPlaceholderText("e.g. openai, work-azure, local")
        self.kind_combo = QComboBox()
        self.kind_combo.setObjectName("kindCombo")
        self.kind_combo.addItems(list(KINDS))
        self.kind_combo.setToolTip("The wire protocol this endpoint speaks")
        self.base_url_edit = QLineEdit()
        self.base_url_edit.setObjectName("baseUrlEdit")
        self.base_url_edit.setPlaceholderText("https://…")
        self.insecure_warning = QLabel(
            "⚠ Plain http to a host that is not this machine: the API key and your prompts "
            "would travel unencrypted. Use https:// unless this is a network you trust."
        )
        self.insecure_warning.setObjectName("insecureWarning")
        self.insecure_warning.setWordWrap(True)
        self.insecure_warning.setStyleSheet(f"color: {WARN_COLOUR};")
        self.insecure_warning.setVisible(False)
        self.api_key_edit = QLineEdit()
        self.api_key_edit.setObjectName("apiKeyEdit")
        self.api_key_edit.setEchoMode(QLineEdit.EchoMode.Password)
        self.api_key_edit.setToolTip("Stored in the OS keyring, never in desk's database; never shown again")
        self.key_env_edit = QLineEdit()
        self.key_env_edit.setObjectName("keyEnvEdit")
        self.key_env_edit.setPlaceholderText("optional, e.g. OPENAI_API_KEY")
        self.key_env_edit.setToolTip(
            "Read the key from this environment variable when it is set (it wins over a stored key)"
        )
        self.key_env_hint = QLabel()
        self.key_env_hint.setObjectName("keyEnvHint")
        self.key_env_hint.setWordWrap(True)
        self.api_version_edit = QLineEdit()
        self.api_version_edit.setObjectName("apiVersionEdit")
        self.api_version_edit.setPlaceholderText("Azure OpenAI only, e.g. 2024-10-21")
        self.api_version_edit.setToolTip(
            "Azure OpenAI's api-version query parameter; leave empty for OpenAI and compatible servers"
        )

        form.addRow(self._label("&Name", self.name_edit), self.name_edit)
        form.addRow(self._label("&Kind", self.kind_combo), self.kind_combo)
        form.addRow(self._label("&Base URL", self.base_url_edit), self.base_url_edit)
        form.addRow("", self.insecure_warning)
        form.addRow(self._label("API ke&y", self.api_key_edit), self.api_key_edit)
        form.addRow(self._label("Key from &environment variable", self.key_env_edit), self.key_env_edit)
        form.addRow("", self.key_env_hint)
        form.addRow(self._label("Azure api-&version", self.api_version_edit), self.api_version_edit)
        col.addLayout(form)

        row = QHBoxLayout()
        self.save_button = self._button("&Save", "saveProviderButton", "Save this provider (Ctrl+S)")
        self.test_button = self._button(
            "&Test", "testProviderButton",
            "Save the form, then list the server's models as a health check",
        )
        row.addWidget(self.save_button)
        row.addWidget(self.test_button)
        row.addStretch(1)
        col.addLayout(row)
        self.provider_status = self._status_label("providerStatus")
        col.addWidget(self.provider_status)
        col.addStretch(1)
        return page

    def _build_models(self) -> QWidget:
        page = QWidget()
        col = QVBoxLayout(page)
        top = QHBoxLayout()
        self.list_models_button = self._button(
            "&List models", "listModelsButton", "Ask the server which models it serves"
        )
        top.addWidget(self.list_models_button)
        self.model_filter = QLineEdit()
        self.model_filter.setObjectName("modelFilter")
        self.model_filter.setPlaceholderText("Filter…")
        self.model_filter.setClearButtonEnabled(True)
        self.model_filter.setAccessibleName("Filter models")
        top.addWidget(self.model_filter, 1)
        col.addLayout(top)
        self.model_list = QListWidget()
        self.model_list.setObjectName("modelList")
        self.model_list.setAccessibleName("Models (checked ones are offered in the picker)")
        col.addWidget(self.model_list, 1)
        apply_row = QHBoxLayout()
        self.apply_models_button = self._button(
            "Add checked · remove unchecked", "applyModelsButton",
            "Offer the checked models in the picker; unchecked ones are removed from it",
        )
        apply_row.addWidget(self.apply_models_button)
        apply_row.addStretch(1)
        col.addLayout(apply_row)
        images = QHBoxLayout()
        self.model_images = QComboBox()
        self.model_images.setObjectName("modelImages")
        self.model_images.addItems(list(IMAGE_CHOICES))
        self.model_images.setToolTip("Whether the selected model takes images: a judge is shown a task's "
                                     "images only if so (desk never guesses)")
        self.model_images.setEnabled(False)
        images.addWidget(self._label("Selected model takes ima&ges", self.model_images))
        images.addWidget(self.model_images)
        self.model_images_why = QLabel()
        self.model_images_why.setObjectName("modelImagesWhy")
        self.model_images_why.setWordWrap(True)
        images.addWidget(self.model_images_why, 1)
        col.addLayout(images)
        manual = QHBoxLayout()
        self.manual_model_edit = QLineEdit()
        self.manual_model_edit.setObjectName("manualModelEdit")
        self.manual_model_edit.setPlaceholderText("model name, for servers that cannot list them")
        manual.addWidget(self._label("Add by &hand", self.manual_model_edit))
        manual.addWidget(self.manual_model_edit, 1)
        self.add_manual_button = self._button("A&dd", "addManualModelButton", "Add this model by name")
        manual.addWidget(self.add_manual_button)
        col.addLayout(manual)
        self.models_status = self._status_label("modelsStatus")
        col.addWidget(self.models_status)
        return page

    def _build_prices(self) -> QWidget:
        page = QWidget()
        col = QVBoxLayout(page)
        hint = QLabel(
            "USD per million tokens. Your prices win over the catalog's; leave a row empty "
            "to use the catalog (cached input defaults to the input price)."
        )
        hint.setWordWrap(True)
        hint.setStyleSheet(f"color: {defs.muted()};")
        col.addWidget(hint)
        self.price_table = QTableWidget(0, len(PRICE_HEADERS))
        self.price_table.setObjectName("priceTable")
        self.price_table.setHorizontalHeaderLabels(PRICE_HEADERS)
        self.price_table.verticalHeader().setVisible(False)
        self.price_table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectItems)
        self.price_table.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.price_table.setEditTriggers(
            QAbstractItemView.EditTrigger.DoubleClicked
            | QAbstractItemView.EditTrigger.EditKeyPressed
            | QAbstractItemView.EditTrigger.AnyKeyPressed
        )
        self.price_table.setTabKeyNavigation(False)  # Tab leaves the table; arrows move inside
        header = self.price_table.horizontalHeader()
        header.setSectionResizeMode(COL_MODEL, QHeaderView.ResizeMode.Stretch)
        for c in (COL_INPUT, COL_CACHED, COL_OUTPUT, COL_SOURCE):
            header.setSectionResizeMode(c, QHeaderView.ResizeMode.ResizeToContents)
        col.addWidget(self.price_table, 1)
        row = QHBoxLayout()
        self.save_prices_button = self._button("Sa&ve prices", "savePricesButton", "Save the edited rows")
        self.clear_price_button = self._button(
            "Cl&ear price", "clearPriceButton", "Forget your price for the selected model (the catalog's applies)"
        )
        row.addWidget(self.save_prices_button)
        row.addWidget(self.clear_price_button)
        row.addStretch(1)
        col.addLayout(row)
        self.prices_status = self._status_label("pricesStatus")
        col.addWidget(self.prices_status)
        return page

    def _set_tab_order(self) -> None:
        chain = [
            self.provider_list, self.add_button, self.remove_button, self.tabs,
            self.name_edit, self.kind_combo, self.base_url_edit, self.api_key_edit,
            self.key_env_edit, self.api_version_edit, self.save_button, self.test_button,
        ]
        for a, b in itertools.pairwise(chain):
            QWidget.setTabOrder(a, b)
        models = [self.list_models_button, self.model_filter, self.model_list,
                  self.apply_models_button, self.manual_model_edit, self.add_manual_button]
        for a, b in itertools.pairwise(models):
            QWidget.setTabOrder(a, b)
        prices = [self.price_table, self.save_prices_button, self.clear_price_button]
        for a, b in itertools.pairwise(prices):
            QWidget.setTabOrder(a, b)

    # --- small helpers ------------------------------------------------------------------
    def _button(self, text: str, name: str, tip: str) -> QPushButton:
        button = QPushButton(text)
        button.setObjectName(name)
        button.setToolTip(tip)
        button.setAutoDefault(False)  # Enter in a field must not close or trigger something else
        return button

    @staticmethod
    def _label(text: str, buddy: QWidget) -> QLabel:
        label = QLabel(text)
        label.setBuddy(buddy)
        return label

    @staticmethod
    def _status_label(name: str) -> QLabel:
        label = QLabel()
        label.setObjectName(name)
        label.setWordWrap(True)
        label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        label.setTextFormat(Qt.TextFormat.PlainText)
        return label

    @staticmethod
    def _say(label: QLabel, text: str, kind: str = "info") -> None:
        colour = {"ok": defs.ok_text(), "error": defs.error_text(), "busy": defs.streaming_text()}.get(
            kind, defs.muted()
        )
        label.setStyleSheet(f"color: {colour};")
        label.setProperty("kind", kind)
        label.setText(text)

    def _ask(self, title: str, text: str) -> bool:
        answer = QMessageBox.question(
            self, title, text,
            QMessageBox.StandardButton.Yes | QMessageBox.StandardButton.No,
            QMessageBox.StandardButton.No,
        )
        return answer == QMessageBox.StandardButton.Yes
