"""The scorecard of one suite run: how often each model showed the behaviour each kind of
case expects, and a paired comparison of two models on the same cases (a sign test).

Only engine calls: engine.suites.run_reading for all it shows at once and
engine.suites.compare_models for another pair (the rules are in desk.engine.scorecard); a
big run's are read off the GUI thread (seconds at 100,000 answers).
"""

from __future__ import annotations

import html

from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QComboBox,
    QDialog,
    QGroupBox,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QPushButton,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from desk.core.suite import EXPECT_KINDS
from desk.engine.paired import PairedComparison
from desk.engine.run_scoring import RunReading
from desk.engine.scorecard import ExpectScore, ModelScore
from desk.engine.session import Engine, EngineError
from desk.engine.suite_records import Disagreement
from desk.ui import defs
from desk.ui.latest_reads import LatestReads
from desk.ui.response_pane import fmt_cost
from desk.ui.tool_use_view import ToolUseBox

ALPHA = 0.05  # below this p-value the comparison says which model is better

# expect kind -> what a rated answer must show to count as handled
HANDLED_TEXT = {
    "clarify": "asked a clarifying question",
    "abstain": "stated its uncertainty",
    "answer": "confident and correct, or partial with caveats",
    "follow_constraints": "constraints followed",
}

NOTE = (
    "Handled: the share of a model's rated answers to the cases of that kind that showed the "
    "expected behaviour — {rules}. Success: answers rated a success, over every rated answer of "
    "the run. In brackets the 95% Wilson interval; n = rated answers. Only people's ratings "
    "count: desk's automatic constraint checks (rater “auto”) are left out."
)


def rate_text(rate: float | None, ci: tuple[float, float] | None, n: int) -> str:
    """"62% [41–79%] · n=21"; "– · n=0" when nothing was rated."""
    if rate is None:
        return f"– · n={n}"
    interval = f" [{ci[0] * 100:.0f}–{ci[1] * 100:.0f}%]" if ci else ""
    return f"{rate * 100:.0f}%{interval} · n={n}"


def measured_cells(score: ModelScore | None) -> list[str]:
    """Answers, errors, median total, mean cost and the automatic constraint verdicts."""
    if score is None:
        return ["0", "0", "–", "–", "–"]
    total = "–" if score.median_total_ms is None else f"{score.median_total_ms / 1000:,.2f} s"
    cost = "–" if score.mean_cost_usd is None else fmt_cost(score.mean_cost_usd)
    auto = score.auto_checks
    checks = "–" if auto is None or not auto.checked else f"{auto.violated} of {auto.checked} violated"
    return [str(score.n_answers), str(score.n_errors), total, cost, checks]


def p_text(p: float) -> str:
    return "p < 0.001" if p < 0.001 else f"p = {p:.3f}"


def comparison_text(c: PairedComparison) -> str:
    return (f"{c.model_a} wins {c.wins}, loses {c.losses}, ties {c.ties} on {c.pairs} paired "
            f"case{'' if c.pairs == 1 else 's'} · sign test {p_text(c.p_value)} (two-sided, exact)"
            + c.extra_turn_text.replace(";", " ·", 1))


def reading_text(c: PairedComparison) -> str:
    if c.p_value >= ALPHA or c.wins == c.losses:
        return f"Not enough evidence that {c.model_a} and {c.model_b} differ on these cases."
    better = c.model_a if c.wins > c.losses else c.model_b
    return f"{better} is better on these cases (p < {ALPHA:g})."


class RunScorecardDialog(QDialog):
    """Per model x expect kind: handled rate with its interval and n; and model A against B."""

    def __init__(self, engine: Engine, run_id: str, parent: QWidget | None = None, *, big: bool = False) -> None:
        super().__init__(parent)
        self.engine = engine
        self.run_id = run_id
        self.big = big  # read off the GUI thread, shown once read
        self.reads = LatestReads(self, lambda busy: self.refresh_button.setEnabled(not busy))
        info = engine.suites.run_info(run_id)
        if info is None:
            raise EngineError(f"no suite run {run_id}")
        self.info = info
        self.models: list[str] = list(info.models)
        self.scores: list[ModelScore] = []
        self.kinds: list[str] = []
        self.comparison: PairedComparison | None = None
        self.setObjectName("runScorecardDialog")
        self.setWindowTitle(f"Scorecard of run {run_id} ({info.suite})")
        self.setModal(False)
        self.resize(1000, 520)

        col = QVBoxLayout(self)
        self.title = QLabel()
        self.title.setObjectName("runScoreTitle")
        self.title.setWordWrap(True)
        col.addWidget(self.title)

        col.addWidget(QLabel("<b>By expected behaviour</b> (share of rated answers handled)"))
        self.table = QTableWidget(0, 0)
        self.table.setObjectName("runScoreTable")
        self.table.setEditTriggers(QTableWidget.EditTrigger.NoEditTriggers)
        self.table.setSelectionMode(QTableWidget.SelectionMode.NoSelection)
        self.table.verticalHeader().setVisible(False)
        self.table.setStyleSheet("QTableWidget::item { padding: 2px 8px; }")  # no colour: palette-safe
        col.addWidget(self.table, 1)
        self.note = QLabel()
        self.note.setObjectName("runScoreNote")
        self.note.setWordWrap(True)
        self.note.setStyleSheet(f"color: {defs.muted()};")
        col.addWidget(self.note)

        self.tool_use = ToolUseBox()  # shown for a run with tool cases answered
        col.addWidget(self.tool_use)

        col.addWidget(self._build_comparison())

        # Where desk's constraint check and a person disagree: the checker misread the
        # constraint, or the rater missed a violation. Either way, worth a second look.
        self.disagreements = QLabel()
        self.disagreements.setObjectName("runDisagreements")
        self.disagreements.setWordWrap(True)
        self.disagreements.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        col.addWidget(self.disagreements)

        buttons = QHBoxLayout()
        self.refresh_button = QPushButton("Refresh")
        self.refresh_button.setObjectName("runScoreRefresh")
        self.refresh_button.setToolTip("Read the ratings again (rating goes on while this is open)")
        self.refresh_button.clicked.connect(self.refresh)
        close = QPushButton("Close")
        close.clicked.connect(self.close)
        buttons.addWidget(self.refresh_button)
        buttons.addStretch(1)
        buttons.addWidget(close)
        col.addLayout(buttons)
        for combo in (self.model_a, self.model_b):
            combo.currentIndexChanged.connect(lambda _i: self.update_comparison())
        self.title.setText(f"<b>{info.suite} v{info.suite_version}</b> · run {run_id} · reading its scorecard…")
        if big:
            self.note.setText(f"Reading the {info.total:,} answers of this run and their ratings: a few seconds.")
        self.refresh()
        self._fit_width()
        self.model_a.setFocus()

    def _build_comparison(self) -> QGroupBox:
        """Model A against model B: the two pickers, the result and how to read it."""
        box = QGroupBox("Compare two models")
        bcol = QVBoxLayout(box)
        pick = QHBoxLayout()
        self.model_a = QComboBox()
        self.model_a.setObjectName("runCompareA")
        self.model_b = QComboBox()
        self.model_b.setObjectName("runCompareB")
        for combo in (self.model_a, self.model_b):
            combo.addItems(self.models)
        if len(self.models) > 1:
            self.model_b.setCurrentIndex(1)
        pick.addWidget(QLabel("Model A"))
        pick.addWidget(self.model_a, 1)
        pick.addWidget(QLabel("against model B"))
        pick.addWidget(self.model_b, 1)
        bcol.addLayout(pick)
        self.result = QLabel()
        self.result.setObjectName("runCompareResult")
        self.result.setWordWrap(True)
        self.result.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        bcol.addWidget(self.result)
        self.reading = QLabel()
        self.reading.setObjectName("runCompareReading")
        self.reading.setWordWrap(True)
        bcol.addWidget(self.reading)
        self.compare_note = QLabel(
            "A pair is one case (and sample) both models have a rated answer to. A wins when its "
            "outcome is better (success > partial > failure), or, with equal outcomes, its quality is "
            "higher; anything else is a tie. The sign test weighs wins against losses, ties left out.")
        self.compare_note.setObjectName("runCompareNote")
        self.compare_note.setWordWrap(True)
        self.compare_note.setStyleSheet(f"color: {defs.muted()};")
        bcol.addWidget(self.compare_note)
        return box


    # --- the table ------------------------------------------------------------------------
    def refresh(self) -> None:
        """Read the run's scorecard, the comparison, the disagreements and the tool use again."""
        pair = self._pair()
        if self.big:
            self.reads.start("run", lambda job: self.engine.suites.run_reading_in_background(job, self.run_id, pair),
                             self.show_reading, lambda error: self.title.setText(html.escape(error)))
        else:
            self.show_reading(self.engine.suites.run_reading(self.run_id, pair))

    def show_reading(self, reading: RunReading) -> None:
        self.info, self.scores = reading.info, reading.scores
        by_model = {s.model: s for s in self.scores}
        models = self.models + [s.model for s in self.scores if s.model not in self.models]
        self.kinds = [k for k in EXPECT_KINDS if any(k in (s.by_expect or {}) for s in self.scores)]
        # What the run measured needs no rater: shown from the start, before anyone rated.
        measured = ["Answers", "Errors", "Median total", "Mean cost", "Auto check"]
        headers = ["Model", *measured, "Rated", *self.kinds, "Success (all cases)"]
        self.table.clear()
        self.table.setColumnCount(len(headers))
        self.table.setHorizontalHeaderLabels(headers)
        for i, kind in enumerate(self.kinds, start=2):
            self.table.horizontalHeaderItem(i).setToolTip(f"{kind}: handled = {HANDLED_TEXT[kind]}")
        self.table.setRowCount(len(models))
        for row, model in enumerate(models):
            score = by_model.get(model)
            n_rated = score.n_rated if score else 0
            cells = [model, *measured_cells(score), str(n_rated)]
            tips = ["", "", "answers that failed (errors, rate limits after their retries, timeouts)",
                    "median total time of the answers that finished ok", "mean cost of an answer",
                    "desk's own constraint checks: answers judged, and how many violated", ""]
            for kind in self.kinds:
                e = (score.by_expect or {}).get(kind) if score else None
                e = e or ExpectScore(0, 0, None, None)
                cells.append(rate_text(e.handled_rate, e.handled_ci, e.n_rated))
                tips.append(f"{e.handled} of {e.n_rated} rated {kind} answers: {HANDLED_TEXT[kind]}")
            if score is not None:
                cells.append(rate_text(score.success_rate, score.success_ci, score.n_rated))
                tips.append(f"{score.successes} of {score.n_rated} rated answers were a success")
            else:
                cells.append(rate_text(None, None, 0))
                tips.append("")
            for column, (text, tip) in enumerate(zip(cells, tips, strict=True)):
                item = QTableWidgetItem(text)
                if column >= 1:
                    item.setTextAlignment(Qt.AlignmentFlag.AlignCenter)
                if tip:
                    item.setToolTip(tip)
                self.table.setItem(row, column, item)
        header = self.table.horizontalHeader()
        header.setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        header.setStretchLastSection(False)
        rules = "; ".join(f"{k} → {HANDLED_TEXT[k]}" for k in self.kinds) or "this suite has no expect kinds"
        self.note.setText(NOTE.format(rules=rules))
        run = self.info
        self.title.setText(f"<b>{run.suite} v{run.suite_version}</b> · run {run.run_id} · "
                           f"{len(models)} models · {run.status} · {run.done} / {run.total} answers")
        if reading.pair is not None and reading.pair == self._pair():
            self.show_comparison(reading.comparison, reading.refused)
        else:  # none to compare (says why), or the pair changed while the run was read
            self.update_comparison()
        self.show_disagreements(reading.disagreements)
        self.tool_use.show_scores(reading.tool_use)

    def done(self, result: int) -> None:
        self.reads.cancel()  # nobody is left to show what they read
        super().done(result)

    def show_disagreements(self, found: list[Disagreement], limit: int = 8) -> None:
        if not found:
            self.disagreements.setText("Automatic constraint checks: no disagreement with a person's verdict.")
            return
        lines = [f"{d.case_key} · {d.model}: desk says {d.auto}, {d.rater} says {d.human}" for d in found[:limit]]
        more = f"<br>… and {len(found) - limit} more (desk suite disagreements {self.run_id})" if len(found) > limit else ""
        self.disagreements.setText(f"<b>Automatic check and person disagree on {len(found)} answer"
                                   f"{'s' if len(found) > 1 else ''}:</b><br>" + "<br>".join(
                                       html.escape(line) for line in lines) + more)

    def _fit_width(self) -> None:
        """Wide enough to show every column without scrolling (within reason)."""
        header = self.table.horizontalHeader()
        needed = sum(header.sectionSize(c) for c in range(self.table.columnCount()))
        margins = self.layout().contentsMargins()
        needed += 2 * self.table.frameWidth() + margins.left() + margins.right() + 4
        self.resize(max(self.width(), min(needed, 1600)), self.height())

    def cell_text(self, model: str, column: str) -> str:
        """The text of a model's cell under a column header ("clarify", "Success (all cases)"…)."""
        headers = [self.table.horizontalHeaderItem(c).text() for c in range(self.table.columnCount())]
        for row in range(self.table.rowCount()):
            if self.table.item(row, 0).text() == model:
                return self.table.item(row, headers.index(column)).text()
        raise KeyError(model)

    # --- the comparison -------------------------------------------------------------------
    def choose(self, model_a: str, model_b: str) -> None:
        """Pick the two models to compare (as a user would in the combo boxes)."""
        self.model_a.setCurrentText(model_a)
        self.model_b.setCurrentText(model_b)

    def _pair(self) -> tuple[str, str] | None:
        """The two models chosen, when they can be compared."""
        a, b = self.model_a.currentText(), self.model_b.currentText()
        return (a, b) if len(self.models) > 1 and a != b else None

    def update_comparison(self) -> None:
        self.comparison = None
        self.reading.setText("")
        pair = self._pair()
        if pair is None:
            self.result.setText("This run has one model: there is nothing to compare it with."
                                if len(self.models) < 2 else "Choose two different models.")
            return
        if self.big:
            self.result.setText(f"Comparing {pair[0]} with {pair[1]}…")
            self.reads.start("comparison", lambda job: self.engine.suites.compare_in_background(job, self.run_id, *pair),
                             lambda c: self.show_comparison(c, None), lambda error: self.show_comparison(None, error))
            return
        try:
            self.show_comparison(self.engine.suites.compare_models(self.run_id, *pair), None)
        except EngineError as exc:
            self.show_comparison(None, str(exc))

    def show_comparison(self, c: PairedComparison | None, refused: str | None) -> None:
        self.comparison = c
        self.reading.setText("")
        if c is None:
            self.result.setText(refused or "")
            return
        if c.pairs == 0:
            self.result.setText(f"No paired ratings yet: no case has a rated answer from both {c.model_a} and "
                                f"{c.model_b}. Rate this run to compare them.")
            return
        self.result.setText(comparison_text(c))
        warnings = f" ({'; '.join(c.warnings)})" if c.warnings else ""
        self.reading.setText(reading_text(c) + warnings)
