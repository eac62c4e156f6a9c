"""Judge verdicts under the answers of the rating queue (issue 14), shown only once the
person has rated the answer: before, a verdict would anchor their judgement (and in
blind mode it could hint at the model). It never names the answering model."""

from __future__ import annotations

from collections.abc import Sequence
from html import escape

from PySide6.QtWidgets import QBoxLayout, QLabel, QWidget

from desk.core.judge import RATIONALE, is_judge, judged_criteria
from desk.core.rating import Rating
from desk.core.rubric import Rubric
from desk.engine.session import Engine
from desk.ui import defs
from desk.ui.response_pane import ResponsePane


class JudgeNotes:
    """One label per judge verdict of the answers on screen, hidden until the answer is rated."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self.verdicts: dict[str, list[tuple[Rating, str]]] = {}
        self.labels: dict[str, QLabel] = {}

    def load(self, response_ids: Sequence[str]) -> None:
        """The judges' verdicts (and rationales) of these answers; the old labels are gone with their panes."""
        self.labels = {}
        ids = list(response_ids)
        if not ids:
            self.verdicts = {}
            return
        why = {v.rating_id: v.rationale for v in self.engine.judges.verdicts.list(response_ids=ids) if v.rating_id}
        self.verdicts = {}
        for rating in self.engine.ratings.saved.current(ids):
            if is_judge(rating.rater):
                self.verdicts.setdefault(rating.response_id, []).append((rating, why.get(rating.id, "")))

    def attach(self, pane: ResponsePane, above: QWidget) -> None:
        """A hidden label for the answer of `pane`, placed just above `above` (its rating panel)."""
        if pane.result is None or pane.result.id not in self.verdicts:
            return
        label = QLabel()
        label.setObjectName("judgeVerdict")
        label.setWordWrap(True)
        label.setVisible(False)
        column = pane.layout()
        if not isinstance(column, QBoxLayout):  # pragma: no cover - a ResponsePane is a column
            return
        column.insertWidget(column.indexOf(above), label)
        self.labels[pane.result.id] = label

    def show(self, pane: ResponsePane, rubric: Rubric) -> None:
        """Reveal the verdicts under `pane`'s answer once the person's rating of it is saved."""
        if pane.result is None or (label := self.labels.get(pane.result.id)) is None:
            return
        saved = pane.rating.saved if pane.rating is not None else None
        if saved is None:
            label.setVisible(False)
            return
        lines = []
        for rating, rationale in self.verdicts[pane.result.id]:
            values = ", ".join(f"{c.label}: {rating.values.get(c.key)}" for c in judged_criteria(rubric)
                               if c.key != RATIONALE and rating.values.get(c.key) is not None)
            lines.append(f"Judge {escape(rating.rater.split(':', 1)[1])}: {escape(values)}"
                         + (f"<br><i>{escape(rationale)}</i>" if rationale else ""))
        label.setText("<br>".join(lines))
        label.setStyleSheet(f"color: {defs.muted()};")
        label.setVisible(True)
