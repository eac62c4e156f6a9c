"""On a dark desktop every coloured label in the window stays readable (WCAG AA contrast)."""

from __future__ import annotations

import re

import pytest
from PySide6.QtCore import QSettings
from PySide6.QtGui import QColor, QGuiApplication, QPalette
from PySide6.QtWidgets import QLabel

from desk.engine.session import Engine
from desk.store.db import open_store
from desk.ui import defs
from desk.ui.main_window import MainWindow

COLOUR = re.compile(r"(?<![-\w])color:\s*(#[0-9a-fA-F]{6})")


def luminance(colour: QColor) -> float:
    def channel(c: float) -> float:
        return c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4

    return 0.2126 * channel(colour.redF()) + 0.7152 * channel(colour.greenF()) + 0.0722 * channel(colour.blueF())


def contrast(a: QColor, b: QColor) -> float:
    hi, lo = sorted((luminance(a), luminance(b)), reverse=True)
    return (hi + 0.05) / (lo + 0.05)


@pytest.fixture
def dark_palette(qapp):
    before = QGuiApplication.palette()
    palette = QPalette(before)
    for role, colour in ((QPalette.ColorRole.Window, "#2d2d2d"), (QPalette.ColorRole.Base, "#1e1e1e"),
                         (QPalette.ColorRole.WindowText, "#e0e0e0"), (QPalette.ColorRole.Text, "#e0e0e0")):
        palette.setColor(role, QColor(colour))
    qapp.setPalette(palette)
    yield palette
    qapp.setPalette(before)


@pytest.mark.parametrize("is_dark", [False, True])
def test_secondary_and_error_text_keep_aa_contrast(qapp, is_dark, request):
    if is_dark:
        request.getfixturevalue("dark_palette")
    background = QGuiApplication.palette().window().color()
    assert defs.dark() is is_dark
    for text in (defs.muted(), defs.error_text()):
        assert contrast(QColor(text), background) >= 4.5, (text, background.name())


def test_every_coloured_label_in_a_dark_window_is_readable(dark_palette, qtbot, tmp_path):
    store = open_store(tmp_path / "dark.db")
    window = MainWindow(Engine(store), QSettings(str(tmp_path / "ui.ini"), QSettings.Format.IniFormat),
                        show_welcome=False)
    qtbot.addWidget(window)
    window.show()
    assert window.load_panel is not None  # the Load tab is built on first use: build it to look at it too
    background = dark_palette.window().color()
    checked = 0
    for label in window.findChildren(QLabel):
        for colour in COLOUR.findall(label.styleSheet()):
            checked += 1
            assert contrast(QColor(colour), background) >= 3.0, (label.objectName(), label.text()[:40], colour)
    assert checked >= 3  # the status lines, hints and notes were really looked at
    window.close()
    store.close()
