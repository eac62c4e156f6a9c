"""The judge agreement view (issue 14): per judge and criterion, on the answers both a
person and the judge rated, the agreement, Cohen's kappa with its 95% bootstrap interval,
the confusion matrix, n, two people's kappa beside it, and whether the judge is calibrated
(n >= 30 and kappa's lower bound at or above the threshold set here)."""

from __future__ import annotations

from PySide6.QtWidgets import (
    QDialog,
    QDoubleSpinBox,
    QLabel,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from desk.core.judge_agreement import DEFAULT_THRESHOLD, AgreementReport, CriterionAgreement
from desk.engine.session import Engine
from desk.ui import layout

HEADERS = ["judge", "criterion", "n", "agreement", "kappa", "95% interval", "people's kappa (n)", "calibrated",
           "confusion (person → judge)"]


def _num(x: float | None) -> str:
    return "–" if x is None else f"{x:.2f}"


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
        self.resize(1100, 360)
        self.report: AgreementReport | None = None
        self.refresh()

    def refresh(self) -> None:
        self.report = self.engine.judges.agreement(self.run_id, threshold=self.threshold.value())
        self.table.setRowCount(len(self.report.rows))
        for r, row in enumerate(self.report.rows):
            for c, text in enumerate(row_cells(row)):
                self.table.setItem(r, c, QTableWidgetItem(text))
        self.table.resizeColumnsToContents()
        self.note.setText("No judge verdicts yet: Judge run… first." if not self.report.rows else
                          "Compared on the answers both a person and the judge rated (the first person, where "
                          "several did); people's kappa is two people's on the answers both rated: the ceiling.")
