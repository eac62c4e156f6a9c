"""Model output rendered as Markdown reads no local files and decodes no inline images.

A plain QTextBrowser shows each of these images (checked here too, so the fixture is
known to bite); desk's SafeBrowser must show none of them and must not follow a
clicked file:// link.
"""

from __future__ import annotations

import base64

import pytest

pytest.importorskip("PySide6")

from PySide6.QtCore import QPoint, Qt, QUrl
from PySide6.QtGui import QColor, QImage, QTextCursor, QTextDocument
from PySide6.QtWidgets import QMessageBox, QTextBrowser

from desk.ui.response_pane import SafeBrowser

RED = QColor(255, 0, 0)
HEIGHT = 300  # a tall picture: loaded, it makes the document taller than this


@pytest.fixture
def secret_png(tmp_path, monkeypatch):
    path = tmp_path / "secret.png"
    image = QImage(40, HEIGHT, QImage.Format.Format_RGB32)
    image.fill(RED)
    assert image.save(str(path))
    monkeypatch.chdir(tmp_path)  # so a relative name would resolve to it
    return path


def sources(path) -> dict[str, str]:
    data = "data:image/png;base64," + base64.b64encode(path.read_bytes()).decode()
    return {
        "file-url": QUrl.fromLocalFile(str(path)).toString(),
        "absolute-path": str(path),
        "relative": path.name,
        "data-url": data,
    }


def show(qtbot, browser: QTextBrowser, markdown: str, folder) -> QTextBrowser:
    qtbot.addWidget(browser)
    browser.setSearchPaths([str(folder)])
    browser.resize(300, 500)
    browser.show()
    browser.setMarkdown(markdown)
    qtbot.waitExposed(browser)
    return browser


def red_pixels(browser: QTextBrowser) -> int:
    shot = browser.viewport().grab().toImage()
    return sum(
        shot.pixelColor(x, y) == RED for x in range(0, shot.width(), 4) for y in range(0, shot.height(), 4)
    )


@pytest.mark.parametrize("form", ["file-url", "absolute-path", "relative", "data-url"])
def test_images_from_files_or_data_urls_are_not_shown(form, secret_png, qtbot):
    markdown = f"Look: ![chart]({sources(secret_png)[form]}) done."
    plain = show(qtbot, QTextBrowser(), markdown, secret_png.parent)
    assert plain.document().size().height() > HEIGHT and red_pixels(plain) > 0  # Qt alone shows it

    safe = show(qtbot, SafeBrowser(), markdown, secret_png.parent)
    assert safe.document().size().height() < 100
    assert red_pixels(safe) == 0
    assert "Look:" in safe.toPlainText() and "done." in safe.toPlainText()
    image = safe.document().resource(QTextDocument.ResourceType.ImageResource.value, QUrl(sources(secret_png)[form]))
    assert image is None or QImage(image).height() < HEIGHT


def test_other_resources_resolve_to_nothing(secret_png, qtbot):
    """Style sheets and any other resource a document asks for are empty, never the file."""
    safe = show(qtbot, SafeBrowser(), "text", secret_png.parent)
    for kind in QTextDocument.ResourceType.StyleSheetResource, QTextDocument.ResourceType.HtmlResource:
        got = safe.document().loadResource(kind.value, QUrl.fromLocalFile(str(secret_png)))
        assert not got


def test_a_clicked_file_link_is_not_followed(secret_png, qtbot, monkeypatch):
    notes = secret_png.parent / "notes.md"
    notes.write_text("# LOCAL FILE CONTENT\n")
    shown = []
    monkeypatch.setattr(QMessageBox, "information", lambda parent, title, text, *a: shown.append(text))
    markdown = f"See [the notes]({QUrl.fromLocalFile(str(notes)).toString()}) please."
    safe = show(qtbot, SafeBrowser(), markdown, secret_png.parent)

    cursor = safe.document().find("the notes")
    cursor.setPosition(cursor.selectionStart() + 2, QTextCursor.MoveMode.MoveAnchor)
    at: QPoint = safe.cursorRect(cursor).center()
    assert safe.anchorAt(at), "the click must land on the link"
    qtbot.mouseClick(safe.viewport(), Qt.MouseButton.LeftButton, pos=at)

    assert shown and "only opens web links" in shown[-1] and "notes.md" in shown[-1]
    assert "LOCAL FILE CONTENT" not in safe.toPlainText()
    assert safe.source().isEmpty()
