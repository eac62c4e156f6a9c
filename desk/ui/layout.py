"""Small builders for the tabs' layouts: columns and rows of widgets, buttons with their tip
and slot, read-only choice tables and combo boxes of (text, value) choices. They keep a
panel's layout code about what goes where rather than about Qt's setters."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from typing import Any

from PySide6.QtWidgets import (
    QAbstractItemView,
    QBoxLayout,
    QComboBox,
    QHBoxLayout,
    QHeaderView,
    QLayout,
    QPushButton,
    QTableWidget,
    QVBoxLayout,
    QWidget,
)

Item = QWidget | QLayout | tuple[QWidget, int] | None  # None: a stretch


def fill(layout: QBoxLayout, items: Sequence[Item]) -> None:
    for item in items:
        if item is None:
            layout.addStretch(1)
        elif isinstance(item, tuple):
            layout.addWidget(item[0], item[1])
        elif isinstance(item, QLayout):
            layout.addLayout(item)
        else:
            layout.addWidget(item)


def column(margin: int, *items: Item) -> QWidget:
    box = QWidget()
    col = QVBoxLayout(box)
    col.setContentsMargins(margin, margin, margin, margin)
    fill(col, items)
    return box


def row(*items: Item) -> QHBoxLayout:
    row = QHBoxLayout()
    fill(row, items)
    return row


def button(text: str, name: str, slot: Callable[[], Any], tip: str) -> QPushButton:
    button = QPushButton(text)
    button.setObjectName(name)
    button.setToolTip(tip)
    button.clicked.connect(lambda: slot())  # not slot(checked)
    return button


def choice_table(name: str, headers: list[str], stretch: int | None) -> QTableWidget:
    """A read-only table whose rows are chosen one at a time; column `stretch` takes the room."""
    table = QTableWidget(0, len(headers))
    table.setObjectName(name)
    table.setHorizontalHeaderLabels(headers)
    table.verticalHeader().setVisible(False)
    table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
    table.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
    table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
    for col in range(len(headers)):
        mode = QHeaderView.ResizeMode.Stretch if col == stretch else QHeaderView.ResizeMode.ResizeToContents
        table.horizontalHeader().setSectionResizeMode(col, mode)
    return table


def combo(name: str, choices: Iterable[tuple[str, str]]) -> QComboBox:
    combo = QComboBox()
    combo.setObjectName(name)
    for text, value in choices:
        combo.addItem(text, value)
    combo.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon)
    combo.setMinimumContentsLength(6)  # a narrow window keeps its width; the list shows all
    return combo
