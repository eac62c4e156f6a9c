"""A pasted image or an added file always shows where it landed, its size line whole."""

from __future__ import annotations

import pytest

pytest.importorskip("PySide6")

from PySide6.QtCore import QMimeData, QRect, Qt
from PySide6.QtGui import QColor, QGuiApplication, QImage

from desk.ui.compose import AttachmentChip


def whole_in_view(strip, widget) -> bool:
    viewport = strip.viewport()
    rect = QRect(widget.mapTo(viewport, widget.rect().topLeft()), widget.size())
    return QRect(0, 0, viewport.width(), viewport.height()).contains(rect)


def test_files_added_past_the_edge_scroll_into_view_and_flash(window, mw_loop, qtbot, tmp_path):
    window.resize(1024, 700)
    paths = []
    for i in range(9):
        path = tmp_path / f"export-{i}.csv"
        path.write_text("customer,plan,mrr,status\nInitech,pro,800,churned\nUmbrella,team,1150,churned\n")
        paths.append(str(path))
    mw_loop.run_until_complete(window.compose.add_files(paths))  # files are read off the GUI thread
    strip = window.compose.attachments
    chips = strip.findChildren(AttachmentChip)
    last = next(c for c in chips if c.attachment.name == "export-8.csv")
    qtbot.waitUntil(lambda: strip.horizontalScrollBar().value() > 0)  # it scrolled to the new one
    assert whole_in_view(strip, last) and whole_in_view(strip, last.meta)  # the size line too
    assert last.flashing
    first = next(c for c in chips if c.attachment.name == "export-0.csv")
    assert not whole_in_view(strip, first)
    qtbot.waitUntil(lambda: not last.flashing, timeout=3000)  # a moment, then back to normal
    for chip in chips:
        assert chip.meta.height() >= chip.meta.sizeHint().height()


def test_a_pasted_image_flashes_where_it_landed(window, mw_loop, qtbot, tmp_path):
    window.resize(1024, 700)
    for i in range(6):
        path = tmp_path / f"log-{i}.txt"
        path.write_text("line\n" * 3)
        mw_loop.run_until_complete(window.compose.add_files([str(path)]))
    strip = window.compose.attachments
    strip.horizontalScrollBar().setValue(0)  # the user looked back at the first ones
    image = QImage(40, 30, QImage.Format.Format_RGB32)
    image.fill(QColor("teal"))
    mime = QMimeData()
    mime.setImageData(image)
    QGuiApplication.clipboard().setMimeData(mime)
    window.compose.prompt.setFocus()
    qtbot.keyClick(window.compose.prompt, Qt.Key.Key_V, Qt.KeyboardModifier.ControlModifier)
    pasted = next(c for c in strip.findChildren(AttachmentChip) if c.attachment.kind == "image")
    assert pasted.flashing
    qtbot.waitUntil(lambda: whole_in_view(strip, pasted))
    assert whole_in_view(strip, pasted.meta)
