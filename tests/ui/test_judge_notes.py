"""In the rating queue a judge's verdict and rationale appear under an answer only once the
person has rated it (issue 14): never before, so the blind rating is not anchored."""

from __future__ import annotations

import json
import os

import pytest

pytest.importorskip("PySide6")
pytest.importorskip("jsonschema")

from PySide6.QtWidgets import QLabel

from desk.core.trial import ModelRef
from tests.ui.test_rating_queue import NAMES, open_queue, rate_focused, run_three, visible_text
from tests.vendor_server import Script

VERDICT = {"outcome": "failure", "uncertainty": "confident_wrong", "constraints": "na", "quality": 2,
           "rationale": "It invents a report."}


def test_the_judges_verdict_shows_only_after_the_person_rated(window, qtbot, vendor, mw_loop, tmp_path):
    panel = run_three(window, vendor, mw_loop, tmp_path)
    vendor.set_default("judge", Script(text_pieces=[json.dumps(VERDICT)]))
    summary = mw_loop.run_until_complete(window.engine.judges.judge_run(panel.current_run_id,
                                                                       ModelRef("openai", "judge")))
    assert summary.verdicts == 9
    queue = open_queue(panel, qtbot, "ann")
    labels = [p.findChild(QLabel, "judgeVerdict") for p in queue.panes]
    assert all(label is not None and label.isHidden() for label in labels)  # blind: nothing before rating
    assert "It invents" not in visible_text(queue)
    rate_focused(qtbot, "1113")
    shown = queue.panes[0].findChild(QLabel, "judgeVerdict")
    assert not shown.isHidden()
    assert "Judge openai/judge: Outcome: failure" in shown.text() and "It invents a report." in shown.text()
    assert not any(name in shown.text().replace("openai/judge", "") for name in NAMES)  # never the answering model
    assert queue.panes[1].findChild(QLabel, "judgeVerdict").isHidden()  # not yet rated


def test_the_agreement_view_lists_each_criterion_and_follows_the_threshold(window, qtbot, vendor, mw_loop, tmp_path):
    panel = run_three(window, vendor, mw_loop, tmp_path)
    vendor.set_default("judge", Script(text_pieces=[json.dumps(VERDICT)]))
    mw_loop.run_until_complete(window.engine.judges.judge_run(panel.current_run_id, ModelRef("openai", "judge")))
    ids = [rid for item in window.engine.suites.rating_queue(panel.current_run_id) for rid in item.response_ids]
    for i, rid in enumerate(ids):  # a person calls two of three answers failures, as the judge does
        outcome = "success" if i % 3 == 0 else "failure"
        window.engine.ratings.save_rating(rid, {"outcome": outcome, "uncertainty": "confident_wrong",
                                                "constraints": "na", "quality": 2}, rater="ann")
    dialog = panel.judge.open_agreement()
    qtbot.addWidget(dialog)
    table = dialog.table
    assert table.rowCount() == 4
    cells = [table.item(0, c).text() for c in range(table.columnCount())]
    assert cells[:4] == ["openai/judge", "outcome", "9", f"{6 / 9:.2f}"]
    assert cells[7] == "no"  # 9 shared answers: never calibrated below 30
    assert cells[8].startswith("failure success | failure: 6 0; success: 3 0")
    dialog.threshold.setValue(0.0)
    assert dialog.report.threshold == 0.0
    # The run's rates with that judge: people's, the judge's (calibrated or not), combined or why not.
    assert dialog.judge_choice.currentText() == "openai/judge"
    rates = dialog.rates
    assert rates.rowCount() == 3 * 4  # three models x four figures
    first = [rates.item(0, c).text() for c in range(rates.columnCount())]
    assert first[1] == "success" and first[3] == "0.0% n=3 (not calibrated)"
    assert first[4] == "no answer of the calibration sample is rated by a person and the judge yet"
    # How much human oversight a figure needs, with the judge and without it.
    dialog.plan_figure.setCurrentText("fabrication")
    dialog.plan_width.setValue(0.1)
    assert dialog.plan_result.text().startswith("Without the judge: ")
    assert "with openai/judge: " in dialog.plan_result.text()
    dialog.threshold.setValue(0.6)
    if os.environ.get("DESK_JUDGE_SCREENSHOT"):  # README's image: DESK_JUDGE_SCREENSHOT=resources/judge_agreement.png
        dialog.resize(1150, 700)
        assert dialog.grab().save(os.environ["DESK_JUDGE_SCREENSHOT"])
