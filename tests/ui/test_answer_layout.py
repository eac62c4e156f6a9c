"""The answer area at laptop sizes: four and six models with long names, while rating.

Every shown pane names its model in full, its answer keeps at least 60% of its height with
the rating strip open, and no widget anywhere in the window is smaller than it needs to be.
"""

from __future__ import annotations

import pytest

pytest.importorskip("PySide6")

from PySide6.QtCore import QRect, QSettings, Qt
from PySide6.QtWidgets import QApplication, QHeaderView, QLabel, QScrollBar, QSplitter, QWidget

from desk.core.provider import ProviderConfig
from desk.engine.session import Engine
from desk.store.db import open_store
from desk.ui.main_window import MainWindow
from desk.ui.pane_grid import ROWS, TABS
from tests.ui.qt_helpers import run_until
from tests.ui.windows import open_window
from tests.vendor_server import Script

MODELS = [("openai", "gpt-4o-mini-2024-07-18"), ("openai", "gpt-4o-2024-08-06"),
          ("anthropic", "claude-sonnet-4-5-20250929"), ("ollama", "llama3.2:3b-instruct-q4_K_M"),
          ("anthropic", "claude-haiku-4-5-20251001"), ("ollama", "qwen2.5:7b-instruct")]
ANSWER = ["Three customers churned in Q3:\n\n", "| customer | MRR lost |\n|---|---:|\n",
          "| Initech | $800 |\n| Umbrella | $1,150 |\n\n", "Globex has no status, so I left it out. " * 8]


@pytest.fixture
def laptop(qtbot, tmp_path, vendor, mw_loop):
    store = open_store(tmp_path / "layout.db")
    for name, protocol, suffix in (("openai", "openai", "/v1"), ("anthropic", "anthropic", ""),
                                   ("ollama", "ollama", "")):
        store.providers.add(ProviderConfig(name, protocol, vendor.base_url + suffix))
    for provider, model in MODELS:
        store.providers.add_model(provider, model)
        vendor.set_default(model, Script(text_pieces=ANSWER))
    engine = Engine(store)
    engine.set_rater_name("Ana")
    with open_window(qtbot, mw_loop, engine, tmp_path, show_welcome=False) as win:
        # Under a real X server with no window manager nothing activates a new window; focus
        # and window shortcuts need an active one, as on a desktop.
        qtbot.waitExposed(win)
        win.activateWindow()
        qtbot.waitActive(win)
        yield win


def send(window, mw_loop, count):
    window.picker.set_checked({f"{p}/{m}" for p, m in MODELS[:count]})
    window.compose.prompt.setPlainText("Which customers churned last quarter?")
    window.send()
    run_until(mw_loop, lambda: window.current_trial_id is not None)
    run_until(mw_loop, lambda: all(p.rating is not None for p in window.grid.panes))


def settle(qtbot, window, size):
    window.resize(*size)
    qtbot.waitUntil(lambda: (window.width(), window.height()) == size)
    qtbot.wait(50)  # deferred Markdown and layout


def shown_panes(window):
    """Panes wholly inside the answer area's viewport (the others wait behind the cue)."""
    viewport = window.grid.scroll.viewport()
    area = QRect(0, 0, viewport.width(), viewport.height())
    shown = []
    for pane in window.grid.panes:
        if not pane.isVisible():
            continue
        rect = QRect(pane.mapTo(viewport, pane.rect().topLeft()), pane.size())
        if area.contains(rect):
            shown.append(pane)
    return shown


def name_shown_whole(pane) -> bool:
    provider, model = pane.title.provider, pane.title.name
    expected = pane.title.text()
    shown = (provider.text() + "/" if provider.text() else "") + model.text().replace("\u200b", "")
    return (shown == expected and provider.width() >= provider.sizeHint().width()
            and model.height() >= model.heightForWidth(model.width()))


def folded(widget) -> bool:
    """Inside a splitter section the user (or rating) folded to nothing: shown on demand."""
    while widget is not None:
        if isinstance(widget.parentWidget(), QSplitter) and (widget.width() == 0 or widget.height() == 0):
            return True
        widget = widget.parentWidget()
    return False


def clipped_widgets(window):
    """Every shown widget smaller than its minimum size hint (or, wrapping, than the height
    its width needs): text cut off, buttons squashed, fields too short."""
    bad = []
    for widget in window.findChildren(QWidget):
        # Scroll bars and item-view headers report minimum hints their views never honour.
        if not widget.isVisible() or isinstance(widget, QScrollBar | QHeaderView) or widget.isWindow():
            continue
        if folded(widget) or widget.objectName().startswith("qt_"):
            continue  # folded away on purpose; or a Qt-internal part its owner sizes
        hint = widget.minimumSizeHint()
        if isinstance(widget, QLabel) and widget.wordWrap():
            need_h = widget.heightForWidth(widget.width())
            if widget.height() + 1 < need_h:
                bad.append(f"{type(widget).__name__} {widget.objectName()!r} {widget.text()[:40]!r}: "
                           f"height {widget.height()} < {need_h}")
            continue
        if widget.width() + 1 < hint.width() or widget.height() + 1 < hint.height():
            bad.append(f"{type(widget).__name__} {widget.objectName()!r}: {widget.width()}x{widget.height()} "
                       f"< {hint.width()}x{hint.height()}")
    return bad


@pytest.mark.parametrize("size", [(1024, 700), (1366, 768)])
@pytest.mark.parametrize("count", [4, 6])
def test_every_shown_answer_has_its_full_name_and_most_of_its_height_while_rating(
        laptop, qtbot, mw_loop, size, count):
    window = laptop
    send(window, mw_loop, count)
    settle(qtbot, window, size)
    assert window.minimumSizeHint().width() <= 1024
    window.rate_next_unrated()
    qtbot.wait(50)
    first = window.grid.panes[0]
    assert QApplication.focusWidget() is first.rating
    assert first.rating.isVisible() and any(row.isVisible() for row in first.rating.choice_rows.values())

    shown = shown_panes(window)
    assert len(shown) == 4  # four share the width; the rest scroll in
    assert window.grid.hidden_right() == count - 4
    assert window.grid.more.isVisible() == (count > 4)
    if count > 4:
        assert window.grid.more.text() == f"{count - 4} more →"
    for pane in shown:
        assert name_shown_whole(pane), pane.title.text()
        answer = pane.answer_view()
        assert answer.isVisible() and answer.height() >= 0.6 * pane.height(), \
            (pane.title.text(), answer.height(), pane.height())
    assert clipped_widgets(window) == []

    # Every criterion in turn, the longest (uncertainty: seven options) included.
    for row in range(len(first.rating.rows)):
        first.rating.move_to(row)
        qtbot.wait(10)
        answer = first.answer_view()
        assert answer.height() >= 0.6 * first.height(), (row, answer.height(), first.height())
        assert clipped_widgets(window) == [], row
    first.rating.move_to(0)

    # Tab walks the ratings; the next pane is brought in whole, never scrolled up or down.
    for _ in range(count - 1):
        window._focus_rating(QApplication.focusWidget().parent(), True)
        qtbot.wait(10)
        pane = next(p for p in window.grid.panes if p.rating is QApplication.focusWidget())
        assert pane in shown_panes(window)
        assert pane.answer_view().height() >= 0.6 * pane.height()


@pytest.mark.parametrize("size", [(1024, 700), (1366, 768)])
def test_no_tab_is_clipped_at_laptop_sizes(laptop, qtbot, mw_loop, size):
    send(laptop, mw_loop, 4)
    settle(qtbot, laptop, size)
    for index in range(laptop.tabs.count()):
        laptop.tabs.setCurrentIndex(index)
        qtbot.wait(30)
        bad = clipped_widgets(laptop)
        assert bad == [], (laptop.tabs.tabText(index), "\n".join(bad))


def test_layout_choice_maximise_and_linked_scrolling(laptop, qtbot, vendor, mw_loop, tmp_path):
    window = laptop
    for _, model in MODELS:  # answers long enough to scroll
        vendor.set_default(model, Script(text_pieces=ANSWER * (3 + len(model) % 4)))
    send(window, mw_loop, 6)
    settle(qtbot, window, (1366, 768))
    grid = window.grid
    # Ctrl+Shift+L: two rows of three, then tabs; the choice is remembered.
    qtbot.keyClick(window, Qt.Key.Key_L, Qt.KeyboardModifier.ControlModifier | Qt.KeyboardModifier.ShiftModifier)
    assert grid.mode == ROWS and window.settings.value("panes/layout") == ROWS
    qtbot.waitUntil(lambda: len(shown_panes(window)) == 6)
    assert not grid.more.isVisible()
    assert all(name_shown_whole(p) for p in grid.panes)
    grid.next_layout()
    assert grid.mode == TABS and grid.tabs.count() == 6
    assert grid.tabs.tabToolTip(2) == grid.panes[2].title.text()
    window.rate_next_unrated()
    assert grid.tabs.currentWidget() is grid.panes[0]
    window._focus_rating(grid.panes[0], True)
    assert grid.tabs.currentWidget() is grid.panes[1]  # the rated answer is the one shown
    window.settings.sync()
    again = MainWindow(window.engine, QSettings(str(tmp_path / "ui.ini"), QSettings.Format.IniFormat),
                       show_welcome=False)
    qtbot.addWidget(again)
    assert again.grid.mode == TABS
    grid.set_layout("columns")

    # Ctrl+3 shows the third answer alone; Ctrl+3 again brings the row back.
    ctrl = Qt.KeyboardModifier.ControlModifier
    qtbot.keyClick(window, Qt.Key.Key_3, ctrl)
    qtbot.wait(20)
    assert grid.visible_panes() == [grid.panes[2]] and grid.panes[2].width() > 1000
    qtbot.keyClick(window, Qt.Key.Key_3, ctrl)
    qtbot.wait(20)
    assert len(shown_panes(window)) == 4 and grid.maximised is None
    # The tabs moved to Alt+digit, making room for the panes.
    for key, panel in ((Qt.Key.Key_2, window.load_panel), (Qt.Key.Key_3, window.suites_panel),
                       (Qt.Key.Key_1, window.side_split)):
        qtbot.keyClick(window, key, Qt.KeyboardModifier.AltModifier)
        assert window.tabs.currentWidget() is panel

    # Linked scrolling: one answer scrolled to its end takes the others with it.
    window.link_action.setChecked(True)
    window._set_linked(True)
    bars = [p.answer_view().verticalScrollBar() for p in grid.panes[:4]]
    scrollable = [b for b in bars if b.maximum() > 0]
    assert len(scrollable) >= 2
    scrollable[0].setValue(scrollable[0].maximum())
    assert all(b.value() == b.maximum() for b in scrollable)
    window._set_linked(False)
    scrollable[0].setValue(0)
    assert scrollable[1].value() == scrollable[1].maximum()
