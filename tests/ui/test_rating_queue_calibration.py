"""The rating queue's calibration-sample mode (issue 14), by keyboard only: Ctrl+M switches
from case by case to answers drawn one at a time uniformly at random from the run (seeded,
each draw recorded), blind, the judge's verdict shown only once the person rated; a drawn
answer cannot be skipped for another; only answers rated in the sample feed the combined
(PPI) figure, which says so while there are none."""

from __future__ import annotations

import json

import pytest

pytest.importorskip("PySide6")
pytest.importorskip("jsonschema")

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QLabel

from desk.core.trial import ModelRef
from tests.ui.test_judge_notes import VERDICT
from tests.ui.test_rating_queue import NAMES, open_queue, press, rate_focused, run_three, visible_text
from tests.vendor_server import Script

JUDGE = ModelRef("openai", "judge")
NONE_YET = "no answer of the calibration sample is rated by a person and the judge yet"


def to_unrated(qtbot, queue) -> None:
    """PgDn past drawn answers this rater rated already (case by case), to one not rated."""
    for _ in range(9):
        if queue.panes[0].rating.saved is None:
            return
        press(qtbot, Qt.Key.Key_PageDown)
    raise AssertionError("no unrated answer drawn")


def _combined_notes(window, run_id: str) -> dict[tuple[str, str], str]:
    return {(r.model, r.figure): r.combined_note for r in window.engine.judges.rates(run_id, JUDGE)}


def test_the_calibration_sample_is_a_mode_of_the_rating_queue(window, qtbot, vendor, mw_loop, tmp_path):
    panel = run_three(window, vendor, mw_loop, tmp_path)
    run_id = panel.current_run_id
    vendor.set_default("judge", Script(text_pieces=[json.dumps(VERDICT)]))
    mw_loop.run_until_complete(window.engine.judges.judge_run(run_id, JUDGE))
    queue = open_queue(panel, qtbot, "ann")
    assert not queue.calibrating and len(queue.panes) == 3
    # Answers rated case by case are people's ratings, but not a random sample: no combined figure.
    for _ in range(3):
        rate_focused(qtbot, "1113")
    assert set(_combined_notes(window, run_id).values()) == {NONE_YET}

    press(qtbot, Qt.Key.Key_M, modifier=Qt.KeyboardModifier.ControlModifier)
    assert queue.calibrating and queue.mode.currentIndex() == 1
    drawn = window.engine.judges.calibration_sample(run_id)
    assert len(drawn) == 1 and len(queue.panes) == 1 and queue.shown_order() == drawn
    assert "Calibration sample · answer 1 of 1 drawn" in queue.case_label.text()
    assert "only answers rated here feed" in queue.case_label.text()
    to_unrated(qtbot, queue)  # (a drawn answer rated case by case already is passed over)
    assert not any(name in visible_text(queue) for name in NAMES)  # blind
    verdict = queue.panes[0].findChild(QLabel, "judgeVerdict")
    assert verdict is not None and verdict.isHidden()  # nothing of the judge before the person rated
    # Rate the drawn answer: the judge's verdict shows now, and PgDn draws the next answer.
    first = queue.shown_order()[0]
    rate_focused(qtbot, "2223")
    assert not queue.panes[0].findChild(QLabel, "judgeVerdict").isHidden()
    press(qtbot, Qt.Key.Key_PageDown)
    to_unrated(qtbot, queue)
    drawn = window.engine.judges.calibration_sample(run_id)
    assert drawn[-1] != first and queue.shown_order() == [drawn[-1]]
    # A drawn answer is never skipped for another: PgDn stays and says why.
    press(qtbot, Qt.Key.Key_PageDown)
    assert window.engine.judges.calibration_sample(run_id) == drawn
    assert "Rate this answer of the calibration sample first" in queue.message.text()
    # Draws are seeded and recorded: every draw of the run has the seed of its first.
    seeds = {seed for _rid, seed in window.engine.store.calibration.drawn(run_id)}
    assert len(seeds) == 1
    # The combined figure uses only the drawn answers a person rated (in the sample, or before).
    rated = {r.response_id for r in window.engine.ratings.saved.current(drawn, rater="ann")}
    by_model = {r.model: r for r in window.engine.judges.rates(run_id, JUDGE) if r.figure == "success"}
    for model, rate in by_model.items():
        in_sample = sum(1 for d in rated if window.engine.trials.responses.get(d).model == model)
        if in_sample == 0:
            assert rate.combined is None and rate.combined_note == NONE_YET
        elif in_sample == 1:
            assert rate.combined is None and rate.combined_note.startswith("only 1 answer of the calibration sample")
        else:
            assert rate.combined is not None and rate.combined.n == in_sample

    # Back to case by case with Ctrl+M; the agreement view opens the queue in the sample mode,
    # at the drawn answer not rated yet.
    press(qtbot, Qt.Key.Key_M, modifier=Qt.KeyboardModifier.ControlModifier)
    assert not queue.calibrating and len(queue.panes) == 3
    window.engine.set_rater_name("ann")
    view = panel.judge.open_agreement()
    qtbot.addWidget(view)
    sample = view.rate_sample()
    qtbot.addWidget(sample)
    assert sample.calibrating and sample.shown_order() == [drawn[-1]]


def test_the_agreement_view_says_when_a_judge_did_not_see_the_images(window, qtbot, vendor, mw_loop, tmp_path):
    panel = run_three(window, vendor, mw_loop, tmp_path)
    store = window.engine.store
    answer = window.engine.suites.rating_queue(panel.current_run_id)[0].response_ids[0]
    store.verdicts.save_verdict(answer, "judge:openai/judge", {k: v for k, v in VERDICT.items() if k != "rationale"},
                                prompt_id=store.judge_prompts.default().id, rubric_id=store.rubrics.default().id,
                                rationale="", judge_response_id=None, run_id=None, images="withheld")
    view = panel.judge.open_agreement()
    qtbot.addWidget(view)
    assert "openai/judge did not see the images of 1 answer(s) whose task has images." in view.note.text()
