"""Rate the run's calibration sample (issue 14): one answer at a time, drawn uniformly at
random from the run (seeded, every draw recorded: JudgeService.draw_calibration), shown as a
blind rater sees it (the task and the answer, never the model, its timing or cost). Only
answers rated this way feed the prediction-powered combined rates. Once rated, the judges'
verdicts of the answer are shown beside the rating (never before)."""

from __future__ import annotations

from PySide6.QtWidgets import QDialog, QLabel, QPlainTextEdit, QVBoxLayout, QWidget

from desk.engine.session import Engine, EngineError
from desk.ui import layout
from desk.ui.rating_panel import RatingPanel


class CalibrationRatingDialog(QDialog):
    def __init__(self, engine: Engine, run_id: str, rater: str, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("calibrationRating")
        self.setWindowTitle(f"Calibration sample · run {run_id}")
        self.engine, self.run_id, self.rater = engine, run_id, rater
        self.response_id: str | None = None
        self.heading = QLabel()
        self.task = QPlainTextEdit(readOnly=True)
        self.task.setObjectName("calibrationTask")
        self.answer = QPlainTextEdit(readOnly=True)
        self.answer.setObjectName("calibrationAnswer")
        self.verdicts = QLabel()
        self.verdicts.setObjectName("calibrationVerdicts")
        self.verdicts.setWordWrap(True)
        self.rating = RatingPanel(engine.ratings.rubrics.default())
        self.rating.save_requested.connect(self._save)
        self.next_button = layout.button("Draw the next answer", "calibrationNext", self.draw,
                                         "Another answer of this run, drawn uniformly at random")
        box = QVBoxLayout(self)
        for widget in (self.heading, self.task, self.answer, self.verdicts, self.rating):
            box.addWidget(widget)
        box.addLayout(layout.row(None, self.next_button))
        self.resize(900, 700)
        self.draw()

    def draw(self) -> None:
        """Show the next drawn answer (or say the sample holds every answer of the run)."""
        try:
            self.response_id = self.engine.judges.draw_calibration(self.run_id)
        except EngineError as exc:
            self.heading.setText(str(exc))
            return
        self.verdicts.clear()
        if self.response_id is None:
            self.heading.setText("Every answer of this run is in its calibration sample.")
            self.rating.setEnabled(False)
            return
        answer = self.engine.trials.responses.get(self.response_id)
        loaded = self.engine.trials.load(answer.trial_id) if answer is not None else None
        self.heading.setText("An answer of this run drawn at random for its calibration sample: rate it as you "
                             "would any answer (the judges' verdicts show once you have).")
        self.task.setPlainText("" if loaded is None else "\n\n".join(
            x for x in ((f"System: {loaded[0].input.system}" if loaded[0].input.system else ""),
                        loaded[0].input.prompt) if x))
        self.answer.setPlainText(answer.text if answer is not None else "")
        self.rating.show_rating(None)
        self.rating.setEnabled(True)

    def _save(self, values: dict[str, object]) -> None:
        if self.response_id is None:
            return
        try:
            saved = self.engine.ratings.save_rating(self.response_id, dict(values), rater=self.rater, blind=True)
        except (EngineError, ValueError) as exc:
            self.rating.show_problem(str(exc))
            return
        self.rating.show_rating(saved, saved.rater)
        self.verdicts.setText(self._judged())

    def _judged(self) -> str:
        """The judges' verdicts of this answer, now that the person has rated it."""
        ids = [self.response_id] if self.response_id else []
        found = self.engine.judges.verdicts.list(response_ids=ids)
        ratings = {r.id: r for r in self.engine.ratings.saved.current(ids)}
        lines = []
        for v in found:
            rating = ratings.get(v.rating_id or "")
            said = ", ".join(f"{k}: {val}" for k, val in rating.values.items()) if rating else f"judge error: {v.error}"
            lines.append(f"{v.judge.split(':', 1)[1]} — {said}" + (f" ({v.rationale})" if v.rationale else ""))
        return "\n".join(lines)
