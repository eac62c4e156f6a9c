"""The model picker: every configured model with a checkbox and its own settings."""

from __future__ import annotations

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QAbstractItemView,
    QDoubleSpinBox,
    QHeaderView,
    QSpinBox,
    QTableWidget,
    QTableWidgetItem,
    QWidget,
)

from desk.core.trial import GenerationSettings, ModelRef

NO_TEMP = -0.01  # the spin box's "vendor default" value


class ModelPicker(QTableWidget):
    """Rows of PROVIDER/MODEL with a checkbox, temperature and max output tokens."""

    selection_changed = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(0, 3, parent)
        self.setHorizontalHeaderLabels(["Model", "Temp.", "Max tokens"])
        self.horizontalHeader().setSectionResizeMode(0, QHeaderView.ResizeMode.Stretch)
        self.horizontalHeader().setSectionResizeMode(1, QHeaderView.ResizeMode.ResizeToContents)
        self.horizontalHeader().setSectionResizeMode(2, QHeaderView.ResizeMode.ResizeToContents)
        self.verticalHeader().setVisible(False)
        self.setSelectionMode(QAbstractItemView.SelectionMode.NoSelection)
        self.setObjectName("modelPicker")
        self.itemChanged.connect(lambda _item: self.selection_changed.emit())
        self._refs: list[ModelRef] = []

    def set_models(self, refs: list[ModelRef], checked: set[str], settings: dict[str, dict]) -> None:
        self.blockSignals(True)
        self.setRowCount(0)
        self._refs = list(refs)
        for row, ref in enumerate(refs):
            self.insertRow(row)
            item = QTableWidgetItem(str(ref))
            item.setFlags(Qt.ItemFlag.ItemIsUserCheckable | Qt.ItemFlag.ItemIsEnabled)
            item.setCheckState(Qt.CheckState.Checked if str(ref) in checked else Qt.CheckState.Unchecked)
            self.setItem(row, 0, item)
            saved = settings.get(str(ref), {})
            temp = QDoubleSpinBox()
            temp.setRange(NO_TEMP, 2.0)
            temp.setSingleStep(0.1)
            temp.setDecimals(2)
            temp.setSpecialValueText("default")
            temp.setValue(saved["temperature"] if saved.get("temperature") is not None else NO_TEMP)
            temp.setToolTip("Temperature sent to this model ('default' sends none)")
            self.setCellWidget(row, 1, temp)
            max_tokens = QSpinBox()
            max_tokens.setRange(0, 1_000_000)
            max_tokens.setSpecialValueText("default")
            max_tokens.setValue(saved.get("max_tokens") or 0)
            max_tokens.setToolTip("Max output tokens for this model ('default' sends none)")
            self.setCellWidget(row, 2, max_tokens)
        self.blockSignals(False)
        self.selection_changed.emit()

    def refs(self) -> list[ModelRef]:
        return list(self._refs)

    def selected(self) -> list[ModelRef]:
        return [ref for row, ref in enumerate(self._refs)
                if self.item(row, 0).checkState() == Qt.CheckState.Checked]

    def set_checked(self, names: set[str]) -> None:
        for row, ref in enumerate(self._refs):
            self.item(row, 0).setCheckState(
                Qt.CheckState.Checked if str(ref) in names else Qt.CheckState.Unchecked
            )

    def settings_for(self, ref: ModelRef) -> GenerationSettings:
        row = self._refs.index(ref)
        temp: QDoubleSpinBox = self.cellWidget(row, 1)  # type: ignore[assignment]
        max_tokens: QSpinBox = self.cellWidget(row, 2)  # type: ignore[assignment]
        return GenerationSettings(
            temperature=None if temp.value() < 0 else round(temp.value(), 2),
            max_tokens=max_tokens.value() or None,
        )

    def set_default_max_tokens(self, ref: ModelRef, max_tokens: int) -> None:
        """Give `ref` a max-tokens cap unless the user already chose one."""
        if ref in self._refs:
            box: QSpinBox = self.cellWidget(self._refs.index(ref), 2)  # type: ignore[assignment]
            if not box.value():
                box.setValue(max_tokens)

    def all_settings(self) -> dict[str, dict]:
        return {str(ref): self.settings_for(ref).as_dict() for ref in self._refs}
