"""The window's *Judge these answers…* / *Judge run…* dialog (issue 14) offers what `desk judge`
takes besides the model: the tasks' images (as the judge model takes them by default, or
sent, or not) and the temperature (0 by default, a number, or 'default': the vendor's own),
and the judge is sent what was chosen."""

from __future__ import annotations

import base64
import json

import pytest

pytest.importorskip("PySide6")
pytest.importorskip("jsonschema")

from PySide6.QtCore import QTimer

from desk.core.trial import ModelRef, TrialInput
from tests.engine.conftest import png_attachment
from tests.vendor_server import Script

VERDICT = {"outcome": "success", "uncertainty": "confident_correct", "constraints": "na", "quality": 4,
           "rationale": "Fine."}


def _judged(vendor) -> list:
    return [r for r in vendor.requests if r.method == "POST" and r.model == "judge"]


def _image_sent(request) -> bool:
    return base64.b64encode(png_attachment().data).decode()[:40] in json.dumps(request.json)


def _answer_dialog(window, choose) -> None:
    """Answer the modal dialog once it shows: `choose(dialog)` fills it in."""
    def answer() -> None:
        dialog = window.trial_judge.dialog
        if dialog is None or not dialog.isVisible():
            QTimer.singleShot(10, answer)
            return
        choose(dialog)

    QTimer.singleShot(0, answer)


@pytest.fixture
def pictured(window, vendor, mw_loop):
    vendor.set_default("gpt-4o-mini", Script(text_pieces=["A dot."]))
    vendor.set_default("judge", Script(text_pieces=[json.dumps(VERDICT)]))
    window.engine.store.providers.add_model("openai", "judge")
    outcome = mw_loop.run_until_complete(window.engine.trials.run(
        TrialInput("What is in the picture?", None, (png_attachment(),)), [ModelRef("openai", "gpt-4o-mini")]))
    window.open_trial(outcome.trial_id)
    return outcome.trial_id


def test_the_defaults_are_the_clis_images_as_the_model_takes_them_and_temperature_zero(window, vendor, mw_loop,
                                                                                       pictured):
    seen = {}

    def choose(dialog):
        dialog.model.setCurrentText("openai/judge")
        seen.update(images=dialog.images.currentText(), temperature=dialog.temperature.text(),
                    note=dialog.images_note.text())
        dialog.accept()

    _answer_dialog(window, choose)
    task = window.trial_judge.start()
    assert mw_loop.run_until_complete(task) is True
    assert seen["images"] == "As the judge model takes them" and seen["temperature"] == "0"
    assert "does not know whether openai/judge takes images" in seen["note"]  # what the default will do
    (request,) = _judged(vendor)
    assert request.json["temperature"] == 0.0 and not _image_sent(request)


def test_images_and_temperature_chosen_in_the_dialog_reach_the_judge(window, vendor, mw_loop, pictured):
    def choose(dialog):
        dialog.model.setCurrentText("openai/judge")
        dialog.images.setCurrentText("Send the images")
        dialog.temperature.setText("0.7")
        dialog._accept()

    _answer_dialog(window, choose)
    task = window.trial_judge.start()
    assert mw_loop.run_until_complete(task) is True
    (request,) = _judged(vendor)
    assert request.json["temperature"] == 0.7 and _image_sent(request)
    assert "Images withheld" not in window.banner.label.text()


def test_the_vendors_default_temperature_and_a_typo_is_refused(window, vendor, mw_loop, pictured):
    said = []

    def choose(dialog):
        dialog.model.setCurrentText("openai/judge")
        dialog.temperature.setText("warm")
        dialog._accept()  # refused: the dialog stays open and says why
        said.append((dialog.isVisible(), dialog.problem.text()))
        dialog.images.setCurrentText("Do not send images")
        dialog.temperature.setText("default")
        dialog._accept()

    _answer_dialog(window, choose)
    task = window.trial_judge.start()
    assert mw_loop.run_until_complete(task) is True
    assert said == [(True, "Temperature: not a number nor 'default': 'warm'")]
    (request,) = _judged(vendor)
    assert "temperature" not in request.json and not _image_sent(request)
