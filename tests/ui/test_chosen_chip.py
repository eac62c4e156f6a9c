"""The chosen rating option is unmistakable in light and dark palettes: a filled chip in the
highlight colour, far from the unchosen ones, its label readable on it."""

from __future__ import annotations

import pytest

pytest.importorskip("PySide6")

from PySide6.QtCore import Qt
from PySide6.QtGui import QColor
from PySide6.QtWidgets import QToolButton

from desk.core.rubric import DEFAULT_RUBRIC
from desk.ui.rating_panel import RatingPanel
from tests.ui.test_dark_palette import contrast, dark_palette  # noqa: F401


def fill_colour(button: QToolButton) -> QColor:
    """The most common colour inside the chip, away from its border and label."""
    image = button.grab().toImage()
    counts: dict[int, int] = {}
    for x in range(3, image.width() - 3):
        for y in (3, image.height() - 4):
            rgb = image.pixel(x, y)
            counts[rgb] = counts.get(rgb, 0) + 1
    return QColor.fromRgb(max(counts, key=counts.get))


def darkest_or_lightest(button: QToolButton, fill: QColor) -> QColor:
    """The label's colour: the pixel that differs most from the fill."""
    image = button.grab().toImage()
    pixels = (QColor.fromRgb(image.pixel(x, y)) for x in range(image.width()) for y in range(image.height()))
    return max(pixels, key=lambda c: contrast(c, fill))


@pytest.mark.parametrize("is_dark", [False, True])
def test_the_chosen_option_stands_out(qtbot, is_dark, request):
    if is_dark:
        request.getfixturevalue("dark_palette")
    panel = RatingPanel(DEFAULT_RUBRIC)
    qtbot.addWidget(panel)
    panel.resize(320, 200)
    panel.show()
    panel.activateWindow()
    qtbot.waitUntil(panel.isActiveWindow)
    panel.move_to(0)
    qtbot.keyClick(panel, Qt.Key.Key_2)  # outcome: partial; the strip moves on
    panel.move_to(0)  # back to outcome, to see the choice
    qtbot.waitUntil(lambda: panel.choice_rows["outcome"].isVisible())
    chosen = panel.findChild(QToolButton, "outcome:partial")
    other = panel.findChild(QToolButton, "outcome:success")
    assert chosen.isChecked() and chosen.isVisible() and not other.isChecked()
    chosen_fill, other_fill = fill_colour(chosen), fill_colour(other)
    assert contrast(chosen_fill, other_fill) >= 2.5, (chosen_fill.name(), other_fill.name())
    assert contrast(darkest_or_lightest(chosen, chosen_fill), chosen_fill) >= 4.5
    assert "Partial" in panel.summary.text()
