"""Edit the rubric: relabel criteria and options, add criteria. Saving makes a new version,
so ratings made under the old wording keep their meaning."""

from __future__ import annotations

import re
from dataclasses import replace

from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QTreeWidget,
    QTreeWidgetItem,
    QVBoxLayout,
    QWidget,
)

from desk.core.rubric import Criterion, Option, Rubric
from desk.engine.session import Engine, EngineError
from desk.ui import defs

_KEY = re.compile(r"^[a-z][a-z0-9_]{0,39}$")


class RubricDialog(QDialog):
    def __init__(self, engine: Engine, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.engine = engine
        self.rubric = engine.ratings.rubrics.default()
        self.setWindowTitle(f"Rubric — {self.rubric.name} v{self.rubric.version}")
        self.setObjectName("rubricDialog")
        self.resize(760, 560)
        col = QVBoxLayout(self)
        col.addWidget(QLabel("Double-click a label or hint to reword it. The keys of the four core "
                             "criteria are fixed (the scorecard is built on them); you can add criteria."))
        self.tree = QTreeWidget()
        self.tree.setObjectName("rubricTree")
        self.tree.setColumnCount(3)
        self.tree.setHeaderLabels(["Key", "Label", "Hint"])
        col.addWidget(self.tree, 1)
        self._fill(self.rubric)

        add = QFormLayout()
        self.new_key = QLineEdit()
        self.new_key.setPlaceholderText("e.g. cites_sources")
        self.new_label = QLineEdit()
        self.new_kind = QComboBox()
        self.new_kind.addItems(["choice", "scale", "text"])
        self.new_options = QLineEdit()
        self.new_options.setPlaceholderText("choice options, comma separated: yes, no, partly")
        add.addRow("New criterion key", self.new_key)
        add.addRow("Label", self.new_label)
        add.addRow("Kind", self.new_kind)
        add.addRow("Options", self.new_options)
        row = QHBoxLayout()
        add_button = QPushButton("Add criterion")
        add_button.setObjectName("addCriterion")
        add_button.clicked.connect(self.add_criterion)
        row.addWidget(add_button)
        row.addStretch(1)
        add.addRow(row)
        col.addLayout(add)
        self.status = QLabel()
        self.status.setObjectName("rubricStatus")
        self.status.setWordWrap(True)
        col.addWidget(self.status)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Save | QDialogButtonBox.StandardButton.Close)
        buttons.accepted.connect(self.save)
        buttons.rejected.connect(self.reject)
        col.addWidget(buttons)
        self._added: list[Criterion] = []

    def _fill(self, rubric: Rubric) -> None:
        self.tree.clear()
        for c in rubric.criteria:
            item = QTreeWidgetItem([c.key, c.label, f"{c.kind}" + (f" {c.low}–{c.high}" if c.kind == "scale" else "")])
            item.setFlags(item.flags() | Qt.ItemFlag.ItemIsEditable)
            item.setData(0, Qt.ItemDataRole.UserRole, c.key)
            for o in c.options:
                child = QTreeWidgetItem([o.key, o.label, o.hint])
                child.setFlags(child.flags() | Qt.ItemFlag.ItemIsEditable)
                item.addChild(child)
            self.tree.addTopLevelItem(item)
        self.tree.expandAll()
        self.tree.resizeColumnToContents(0)

    def add_criterion(self) -> None:
        key = self.new_key.text().strip()
        label = self.new_label.text().strip() or key
        kind = self.new_kind.currentText()
        existing = {c.key for c in self.current().criteria}
        if not _KEY.match(key):
            self._problem("The key must be lower-case letters, digits or _ (it is what exports use).")
            return
        if key in existing:
            self._problem(f"There is already a criterion {key!r}.")
            return
        options: tuple[Option, ...] = ()
        if kind == "choice":
            names = [o.strip() for o in self.new_options.text().split(",") if o.strip()]
            if len(names) < 2:
                self._problem("A choice needs at least two options.")
                return
            options = tuple(Option(re.sub(r"[^a-z0-9]+", "_", n.lower()).strip("_") or f"o{i}", n)
                            for i, n in enumerate(names))
        criterion = Criterion(key, label, kind, options, required=False)
        self._added.append(criterion)
        self._fill(self.current())
        for w in (self.new_key, self.new_label, self.new_options):
            w.clear()
        self.status.setText(f"Added {label}; Save makes a new rubric version.")

    def current(self) -> Rubric:
        """The rubric as edited in the tree."""
        criteria = []
        base = {c.key: c for c in [*self.rubric.criteria, *self._added]}
        for i in range(self.tree.topLevelItemCount()):
            item = self.tree.topLevelItem(i)
            c = base[item.data(0, Qt.ItemDataRole.UserRole)]
            options = tuple(
                replace(o, label=item.child(j).text(1), hint=item.child(j).text(2))
                for j, o in enumerate(c.options)
            )
            criteria.append(replace(c, label=item.text(1), options=options))
        for c in self._added:
            if c.key not in {x.key for x in criteria}:
                criteria.append(c)
        return replace(self.rubric, criteria=tuple(criteria))

    def save(self) -> None:
        try:
            saved = self.engine.ratings.save_rubric(self.current())
        except EngineError as exc:
            self._problem(str(exc))
            return
        self.rubric = saved
        self._added = []
        self.setWindowTitle(f"Rubric — {saved.name} v{saved.version}")
        self.status.setText(f"Saved as version {saved.version}. New ratings use it; old ratings keep theirs.")
        self.status.setStyleSheet(f"color: {defs.ok_text()};")

    def _problem(self, text: str) -> None:
        self.status.setText(text)
        self.status.setStyleSheet(f"color: {defs.error_text()};")

