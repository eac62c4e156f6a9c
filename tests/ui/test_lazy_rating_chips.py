"""A rating panel makes its chips only when they are first shown (they show only while the
panel has the keyboard): the 16 panels made when 16 answers end cost a fraction of what
they did, and what the user sees once there is the same: the rubric's chips, numbered, the
choice checked, digits choosing, a saved rating shown."""

from __future__ import annotations

import pytest

pytest.importorskip("PySide6")

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QToolButton

from desk.core.rating import Rating
from desk.core.rubric import DEFAULT_RUBRIC
from desk.ui.rating_panel import RatingPanel


def shown_panel(qtbot, panel: RatingPanel | None = None) -> RatingPanel:
    panel = panel or RatingPanel(DEFAULT_RUBRIC)
    qtbot.addWidget(panel)
    panel.resize(360, 200)
    panel.show()
    panel.activateWindow()
    qtbot.waitUntil(panel.isActiveWindow)
    return panel


def test_no_chip_is_made_until_the_panel_takes_the_keyboard(qtbot):
    panel = RatingPanel(DEFAULT_RUBRIC)
    assert panel.findChildren(QToolButton) == []
    assert panel.values()["outcome"] is None
    shown_panel(qtbot, panel)
    panel.move_to(0)
    qtbot.waitUntil(lambda: panel.choice_rows["outcome"].isVisible())
    outcome = next(c for c in DEFAULT_RUBRIC.criteria if c.key == "outcome")
    chips = [b for b in panel.findChildren(QToolButton) if b.objectName().startswith("outcome:")]
    assert [b.objectName() for b in chips] == [f"outcome:{o.key}" for o in outcome.options]
    assert all(b.text().startswith(f"{i + 1} ") for i, b in enumerate(chips))
    # only the current criterion's chips exist: the others wait for their turn
    assert {b.objectName().split(":")[0] for b in panel.findChildren(QToolButton)} == {"outcome"}


def test_digits_choose_and_a_saved_rating_shows_before_and_after_the_chips_exist(qtbot):
    panel = RatingPanel(DEFAULT_RUBRIC)
    saved = Rating(id="x", response_id="r", rater="me", rubric_id="default", created_at=0.0,
                   values={"outcome": "partial", "quality": 4})
    panel.show_rating(saved, "me")  # no chips made yet
    assert panel.findChildren(QToolButton) == []
    assert panel.values()["outcome"] == "partial" and panel.values()["quality"] == 4
    assert "Partial" in panel.summary.text() and "saved" in panel.state.text()
    shown_panel(qtbot, panel)
    panel.move_to(0)
    qtbot.waitUntil(lambda: panel.choice_rows["outcome"].isVisible())
    assert panel.findChild(QToolButton, "outcome:partial").isChecked()
    qtbot.keyClick(panel, Qt.Key.Key_1)  # outcome: success, then on to the next row
    assert panel.values()["outcome"] == "success"
    assert panel.findChild(QToolButton, "outcome:success").isChecked()
    assert not panel.findChild(QToolButton, "outcome:partial").isChecked()
    panel.show_rating(None)
    assert panel.values()["outcome"] is None
    assert not panel.findChild(QToolButton, "outcome:success").isChecked()


def test_a_click_on_a_chip_chooses_it(qtbot):
    panel = shown_panel(qtbot)
    panel.move_to(0)
    qtbot.waitUntil(lambda: panel.choice_rows["outcome"].isVisible())
    qtbot.mouseClick(panel.findChild(QToolButton, "outcome:failure"), Qt.MouseButton.LeftButton)
    assert panel.values()["outcome"] == "failure"
