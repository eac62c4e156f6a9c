"""The scorecard's "After a clarifying question" figures (issue 16), as `desk scorecard
--clarifying` prints them: per model, asked → then succeeded, asked needlessly, guessed →
succeeded and guessed → failed, each as k/n with its rate and 95% Wilson interval, and how
many tasks took an extra turn.

They read every conversation of the rated answers' trials on the window's thread, so they
are computed only while their box is ticked (a large store would otherwise stall the
scorecard that the dialog computes off the thread)."""

from __future__ import annotations

from collections.abc import Callable

from PySide6.QtWidgets import (
    QCheckBox,
    QHeaderView,
    QLabel,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from desk.core.clarification_scores import ClarificationScore
from desk.core.rating import RatingFilter
from desk.engine.session import Engine, EngineError

COLUMNS: list[tuple[str, Callable[[ClarificationScore], str]]] = [
    ("Model", lambda s: s.model),
    ("Asked → then succeeded", lambda s: str(s.asked_then_succeeded)),
    ("Asked needlessly", lambda s: str(s.asked_needlessly)),
    ("Guessed → succeeded", lambda s: str(s.guessed_succeeded)),
    ("Guessed → failed", lambda s: str(s.guessed_failed)),
    ("Extra turn", lambda s: str(s.extra_turns)),
]


class ClarifyingTable(QWidget):
    """A tick box and, while it is ticked, the table of the current filters' figures."""

    def __init__(self, engine: Engine, filters: Callable[[], RatingFilter], parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.engine = engine
        self._filters = filters
        col = QVBoxLayout(self)
        col.setContentsMargins(0, 0, 0, 0)
        self.toggle = QCheckBox("After a clarifying question (k/n, rate [95% Wilson interval])")
        self.toggle.setObjectName("scoreClarifying")
        self.toggle.setToolTip("Per model: of the tasks whose first answer asked a needed question and went on, "
                               "those that then succeeded; of those that asked, the needless questions; of those "
                               "that guessed, those that succeeded and failed (as desk scorecard --clarifying)")
        self.toggle.toggled.connect(lambda _on: self.refresh())
        self.table = QTableWidget(0, len(COLUMNS))
        self.table.setObjectName("scoreClarifyingTable")
        self.table.setHorizontalHeaderLabels([c for c, _ in COLUMNS])
        self.table.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        self.table.setEditTriggers(QTableWidget.EditTrigger.NoEditTriggers)
        self.table.setMaximumHeight(160)
        self.problem = QLabel()
        for w in (self.toggle, self.table, self.problem):
            col.addWidget(w)
        self.scores: list[ClarificationScore] = []
        self.refresh()

    def refresh(self) -> None:
        """Recompute for the current filters while ticked; hide the table otherwise."""
        on = self.toggle.isChecked()
        self.table.setVisible(on)
        self.problem.setVisible(False)
        if not on:
            return
        try:
            self.scores = self.engine.conversations.clarification_scores(self._filters())
        except EngineError as exc:
            self.problem.setText(f"Could not compute what came of asking: {exc}")
            self.problem.setVisible(True)
            self.scores = []
        self.table.setRowCount(len(self.scores))
        for row, score in enumerate(self.scores):
            for column, (_, get) in enumerate(COLUMNS):
                self.table.setItem(row, column, QTableWidgetItem(get(score)))
