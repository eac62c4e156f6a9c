"""In the rating queue a judge's verdict and rationale appear under an answer only once the
person has rated it (issue 14): never before, so the blind rating is not anchored."""

from __future__ import annotations

import json

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
