"""The judge agreement view (issue 14): per judge and criterion, on the answers both a
person and the judge rated, the agreement, Cohen's kappa with its 95% bootstrap interval,
the confusion matrix, n, two people's kappa beside it, and whether the judge is calibrated
(n >= 30 and kappa's lower bound at or above the threshold set here). For a suite run, the
rate figures of the chosen judge beside people's and combined (desk.core.judged_rates)."""

from __future__ import annotations

from PySide6.QtWidgets import (
    QComboBox,
    QDialog,
    QDoubleSpinBox,
    QLabel,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from desk.core.judge_agreement import DEFAULT_THRESHOLD, AgreementReport, CriterionAgreement
from desk.core.judged_rates import JudgedRate
from desk.core.ppi import FIGURES
from desk.core.trial import ModelRef
from desk.engine.session import Engine, EngineError
from desk.ui import layout
from desk.ui.rating_queue import RatingQueue

HEADERS = ["judge", "criterion", "n", "agreement", "kappa", "95% interval", "people's kappa (n)", "calibrated",
           "confusion (person → judge)"]


def _num(x: float | None) -> str:
    return "–" if x is None else f"{x:.2f}"


RATE_HEADERS = ["model", "figure", "people (Wilson 95%)", "judge", "combined (PPI 95%)"]


def _pct(x: float | None) -> str:
    return "–" if x is None else f"{100 * x:.1f}%"


def rate_cells(r: JudgedRate) -> list[str]:
    people = f"{_pct(r.people_rate)} n={r.people_n}"
    if r.people_interval:
        people += f" [{_pct(r.people_interval[0])}, {_pct(r.people_interval[1])}]"
    judge = f"{_pct(r.judge_rate)} n={r.judge_n} ({'calibrated' if r.judge_calibrated else 'not calibrated'})"
    c = r.combined
    combined = (f"{_pct(c.estimate)} [{_pct(c.low)}, {_pct(c.high)}] n={c.n} of {c.n_judged}" if c is not None
                else r.combined_note)
    return [r.model, r.figure, people, judge, combined]


def row_cells(row: CriterionAgreement) -> list[str]:
    confusion = "; ".join(f"{label}: {' '.join(map(str, counts))}" for label, counts in
                          zip(row.labels, row.confusion, strict=True))
    return [row.judge.split(":", 1)[1], row.criterion, str(row.n), _num(row.agreement), _num(row.kappa),
            f"[{_num(row.kappa_low)}, {_num(row.kappa_high)}]", f"{_num(row.human_kappa)} ({row.human_n})",
            "yes" if row.calibrated else "no", f"{' '.join(map(str, row.labels))} | {confusion}"]


class JudgeAgreementDialog(QDialog):
    def __init__(self, engine: Engine, run_id: str | None, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("judgeAgreementDialog")
        self.setWindowTitle("Judge agreement" + (f" · run {run_id}" if run_id else ""))
        self.engine, self.run_id = engine, run_id
        self.threshold = QDoubleSpinBox()
        self.threshold.setObjectName("judgeThreshold")
        self.threshold.setRange(0.0, 1.0)
        self.threshold.setSingleStep(0.05)
        self.threshold.setValue(DEFAULT_THRESHOLD)
        self.threshold.valueChanged.connect(lambda _v: self.refresh())
        self.table = QTableWidget(0, len(HEADERS))
        self.table.setObjectName("judgeAgreement")
        self.table.setHorizontalHeaderLabels(HEADERS)
        self.table.horizontalHeader().setStretchLastSection(True)
        self.note = QLabel()
        self.note.setWordWrap(True)
        box = QVBoxLayout(self)
        box.addLayout(layout.row(QLabel("Calibrated when n ≥ 30 and kappa's lower bound ≥"), self.threshold, None))
        box.addWidget(self.table, 1)
        box.addWidget(self.note)
        self.judge_choice = QComboBox()
        self.judge_choice.setObjectName("judgeChoice")
        self.judge_choice.currentTextChanged.connect(lambda _t: self.refresh_rates())
        self.rates = QTableWidget(0, len(RATE_HEADERS))
        self.rates.setObjectName("judgeRates")
        self.rates.setHorizontalHeaderLabels(RATE_HEADERS)
        self.rates.horizontalHeader().setStretchLastSection(True)
        self.sample_button = layout.button("Rate the calibration sample…", "judgeCalibrate", self.rate_sample,
                                           "Rate answers of this run drawn uniformly at random: only these "
                                           "feed the combined rates")
        self.sample: RatingQueue | None = None
        self.plan_model, self.plan_figure = QComboBox(), QComboBox()
        self.plan_figure.addItems(list(FIGURES))
        self.plan_width = QDoubleSpinBox()
        self.plan_width.setRange(0.005, 0.5)
        self.plan_width.setSingleStep(0.01)
        self.plan_width.setValue(0.05)
        self.plan_result = QLabel()
        self.plan_result.setObjectName("judgePlan")
        self.plan_result.setWordWrap(True)
        for widget in (self.plan_model, self.plan_figure):
            widget.currentTextChanged.connect(lambda _t: self.refresh_plan())
        self.plan_width.valueChanged.connect(lambda _v: self.refresh_plan())
        if run_id is not None:  # rates are per run: its calibration sample
            box.addLayout(layout.row(QLabel("Rates of this run with the judge"), self.judge_choice, None,
                                     self.sample_button))
            box.addWidget(self.rates, 1)
            box.addLayout(layout.row(QLabel("Human ratings needed for"), self.plan_model, self.plan_figure,
                                     QLabel("within ±"), self.plan_width, None))
            box.addWidget(self.plan_result)
        self.resize(1100, 360 if run_id is None else 620)
        self.report: AgreementReport | None = None
        self.refresh()

    def refresh(self) -> None:
        self.report = self.engine.judges.agreement(self.run_id, threshold=self.threshold.value())
        self.table.setRowCount(len(self.report.rows))
        for r, row in enumerate(self.report.rows):
            for c, text in enumerate(row_cells(row)):
                self.table.setItem(r, c, QTableWidgetItem(text))
        self.table.resizeColumnsToContents()
        judges = sorted({row.judge.split(":", 1)[1] for row in self.report.rows})
        if judges != [self.judge_choice.itemText(i) for i in range(self.judge_choice.count())]:
            self.judge_choice.clear()
            self.judge_choice.addItems(judges)  # (refreshes the rates through currentTextChanged)
        self.note.setText("No judge verdicts yet: Judge run… first." if not self.report.rows else
                          "Compared on the answers both a person and the judge rated (the first person, where "
                          "several did); people's kappa is two people's on the answers both rated: the ceiling."
                          + "".join(f" {judge.split(':', 1)[1]} did not see the images of {n} answer(s) whose task "
                                    "has images." for judge, n in self.engine.judges.images_withheld().items()))

    def rate_sample(self) -> RatingQueue | None:
        """Open the run's rating queue in its calibration-sample mode (as the rater named in the settings)."""
        rater = self.engine.rater_name()
        if not rater or self.run_id is None:
            self.note.setText("Set your rater name first (Edit → Set rater name…).")
            return None
        try:
            self.sample = RatingQueue(self.engine, self.run_id, rater, calibration=True, parent=self)
        except EngineError as exc:
            self.note.setText(str(exc))
            return None
        self.sample.rating_saved.connect(lambda _r: self.refresh())
        self.sample.finished.connect(lambda _r: self.refresh())
        self.sample.show()
        return self.sample

    def refresh_rates(self) -> None:
        """People's, the judge's and the combined rate of each model and figure (combined only
        on the answers of the run's calibration sample: desk judge sample draws them)."""
        judge = self.judge_choice.currentText()
        found = self.engine.judges.rates(self.run_id, ModelRef.parse(judge)) if judge and self.run_id else []
        self.rates.setRowCount(len(found))
        for r, rate in enumerate(found):
            for c, text in enumerate(rate_cells(rate)):
                self.rates.setItem(r, c, QTableWidgetItem(text))
        self.rates.resizeColumnsToContents()
        models = list(dict.fromkeys(rate.model for rate in found))
        if models != [self.plan_model.itemText(i) for i in range(self.plan_model.count())]:
            self.plan_model.clear()
            self.plan_model.addItems(models)
        self.refresh_plan()

    def refresh_plan(self) -> None:
        """How many more human ratings the chosen figure needs, with the judge and without it."""
        judge, model = self.judge_choice.currentText(), self.plan_model.currentText()
        if not judge or not model or self.run_id is None:
            self.plan_result.clear()
            return
        plan = self.engine.judges.plan(self.run_id, ModelRef.parse(judge), model, self.plan_figure.currentText(),
                                       self.plan_width.value())
        with_judge = ("out of reach: the judge's own variance is too large" if plan.more_with_judge is None
                      else f"{plan.more_with_judge} more from the calibration sample")
        self.plan_result.setText(f"Without the judge: {plan.more_without_judge} more human ratings; "
                                 f"with {judge}: {with_judge} ({plan.rated} rated by people now).")
