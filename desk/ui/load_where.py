"""The Load form's "Where": a run's requests sent from this process, from N worker processes
(`desk load --workers N`) or from a Ray cluster's actors (`desk load --cluster ADDRESS`).

It writes the choice into the tab model (`LoadTabModel.where`, the form's `workers` and
`cluster`); the plan is built from there by the rule the command uses (desk.engine.load_plan)."""

from __future__ import annotations

import os

from PySide6.QtWidgets import QComboBox, QHBoxLayout, QLineEdit, QSpinBox, QVBoxLayout, QWidget

from desk.core.load_split import STREAMS_PER_WORKER
from desk.engine.load_tab import CLUSTER, HERE, PROCESSES, LoadTabModel

CHOICES = ((HERE, "this process"), (PROCESSES, "worker processes"), (CLUSTER, "a Ray cluster"))


class WhereRow(QWidget):
    """A choice of where, the number of workers and the cluster's address."""

    def __init__(self, model: LoadTabModel, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.model = model
        cores = os.cpu_count() or 1
        self.choice = QComboBox()
        self.choice.setObjectName("loadWhere")
        for key, label in CHOICES:
            self.choice.addItem(label, key)
        self.choice.setToolTip("Where the requests are sent from: this process's event loop, worker processes "
                               "on this machine (each with its own loop), or Ray actors on a cluster")
        self.workers = QSpinBox()
        self.workers.setObjectName("loadWorkers")
        self.workers.setRange(0, 4096)
        self.workers.setSpecialValueText(f"auto (up to {cores})")
        self.workers.setToolTip(f"Worker processes (or the cluster's actors). auto, as desk load without --workers: "
                                f"one per {STREAMS_PER_WORKER} streams of the widest step, at most one per core "
                                f"({cores} here); on a cluster, by its CPUs")
        self.address = QLineEdit()
        self.address.setObjectName("loadClusterAddress")
        self.address.setPlaceholderText("ray://HOST:PORT or auto")
        self.address.setToolTip("The Ray cluster's address, or auto for the one this machine belongs to "
                                "(needs pip install 'desk[cluster]')")
        row = QHBoxLayout()
        row.setContentsMargins(0, 0, 0, 0)
        row.addWidget(self.workers)
        row.addWidget(self.address, 1)
        column = QVBoxLayout(self)
        column.setContentsMargins(0, 0, 0, 0)
        column.addWidget(self.choice)
        column.addLayout(row)
        self.set_placement(model.where, model.form.workers, model.form.cluster)
        self.choice.currentIndexChanged.connect(self._chosen)
        self.workers.valueChanged.connect(lambda n: model.edit(workers=n))
        self.address.textChanged.connect(lambda text: model.edit(cluster=text))

    def set_placement(self, where: str, workers: int, cluster: str) -> None:
        """Show (and take into the form) this choice, e.g. where a stored run was sent from."""
        self.choice.setCurrentIndex(max(0, self.choice.findData(where)))
        self.workers.setValue(workers)
        self.address.setText(cluster)
        self.model.set_placement(where, workers, cluster)
        self._show(where)

    def _chosen(self, index: int) -> None:
        self.model.where = self.choice.itemData(index)
        self._show(self.model.where)

    def _show(self, where: str) -> None:
        self.workers.setEnabled(where != HERE)
        self.address.setVisible(where == CLUSTER)
