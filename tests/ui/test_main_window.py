"""The real main window, driven like a user would, against loopback vendor servers."""

from __future__ import annotations

import asyncio

import pytest

pytest.importorskip("PySide6")

from PySide6.QtCore import QMimeData, QPointF, QSettings, Qt, QUrl
from PySide6.QtGui import QDropEvent, QGuiApplication, QImage
from PySide6.QtWidgets import QToolButton

from desk.core.response import Status
from desk.ui.main_window import MainWindow
from tests.media import png
from tests.ui.qt_helpers import run_until
from tests.vendor_server import Script


def png_bytes(width: int = 2, height: int = 3) -> bytes:
    return png(width, height)


def drop_files(win, paths, wait=True):
    """Drop files on the window; with `wait`, until they are read (on a worker thread)."""
    mime = QMimeData()
    mime.setUrls([QUrl.fromLocalFile(str(p)) for p in paths])
    event = QDropEvent(QPointF(10, 10), Qt.DropAction.CopyAction, mime,
                       Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier)
    win.dropEvent(event)
    if wait:
        run_until(asyncio.get_event_loop(), lambda: not win.compose.loading())


def test_paste_drop_send_three_models_and_reopen_from_history(window, qtbot, vendor, mw_loop, tmp_path):
    vendor.set_default("gpt-4o-mini", Script(text_pieces=["| a | b |\n", "|---|---|\n", "| 1 | 2 |\n"],
                                             interval_ms=20))
    vendor.set_default("claude-sonnet-4-5", Script(text_pieces=["Which quarter", " do you mean?"],
                                                   first_token_delay_ms=50))
    vendor.set_default("llama3.2", Script(status=400, error_message="model 'llama3.2' does not support images"))

    # Paste a screenshot from the clipboard into the prompt.
    image = QImage(40, 30, QImage.Format.Format_RGB32)
    image.fill(0x3366CC)
    QGuiApplication.clipboard().setImage(image)
    window.compose.prompt.setFocus()
    qtbot.keyClicks(window.compose.prompt, "Which customers churned?\t(see CSV)")
    qtbot.keyClick(window.compose.prompt, Qt.Key.Key_V, Qt.KeyboardModifier.ControlModifier)
    atts = window.compose.attachments.attachments()
    assert [a.kind for a in atts] == ["image"] and atts[0].width == 40

    # Drop a CSV (Latin-1, ragged) onto the window.
    csv = tmp_path / "customers.csv"
    csv.write_bytes("name;mrr\nJosé;12\nZoë\n".encode("cp1252"))
    drop_files(window, [csv])
    atts = window.compose.attachments.attachments()
    assert [a.name for a in atts] == ["pasted-image-1.png", "customers.csv"]
    assert atts[1].encoding == "cp1252"

    window.picker.set_checked({"openai/gpt-4o-mini", "claude/claude-sonnet-4-5", "local/llama3.2"})
    qtbot.keyClick(window.compose.prompt, Qt.Key.Key_Return, Qt.KeyboardModifier.ControlModifier)
    # the status bar says what desk is doing while the answers stream, and how it went
    assert window.statusBar().currentMessage().startswith("Streaming: 0 of 3 answers done")
    run_until(mw_loop, lambda: window.current_trial_id is not None)
    assert window.statusBar().currentMessage() == "Trial done: 2 of 3 answers ok, 1 failed; stored · Ctrl+Shift+R rates them"

    panes = {p.result.model: p for p in window.grid.panes}
    assert set(panes) == {"openai/gpt-4o-mini", "claude/claude-sonnet-4-5", "local/llama3.2"}
    ok = panes["openai/gpt-4o-mini"]
    assert ok.result.status == Status.OK and ok.text() == "| a | b |\n|---|---|\n| 1 | 2 |\n"
    assert "TTFT" in ok.status.text() and "12 in / 4 out" in ok.status.text()
    assert "$" in ok.status.text()  # priced: 12 x 0.15 + 4 x 0.6 per million
    assert "no price" in panes["claude/claude-sonnet-4-5"].status.text() or "$" in panes["claude/claude-sonnet-4-5"].status.text()
    err = panes["local/llama3.2"]
    assert err.result.status == Status.ERROR and err.error.isVisible()
    assert "bad request" in err.error.text() and "does not support images" in err.error.text()

    # What reached the vendor: the prompt byte for byte (tab kept), the CSV verbatim, the image.
    req = next(r for r in vendor.requests if r.model == "gpt-4o-mini")
    parts = req.json["messages"][-1]["content"]
    texts = [p["text"] for p in parts if p["type"] == "text"]
    assert texts[-1] == "Which customers churned?\t(see CSV)"
    assert '<file name="customers.csv">\nname;mrr\nJosé;12\nZoë\n\n</file>' in texts[0]
    assert any(p["type"] == "image_url" for p in parts)

    # Start afresh, then reopen the trial from the history list.
    trial_id = window.current_trial_id
    window.new_trial()
    assert window.grid.panes == [] and window.compose.prompt.toPlainText() == ""
    item = window.history.list.item(0)
    assert item is not None
    window.history.list.itemClicked.emit(item)
    assert window.compose.prompt.toPlainText() == "Which customers churned?\t(see CSV)"
    assert [a.name for a in window.compose.attachments.attachments()] == ["pasted-image-1.png", "customers.csv"]
    reopened = {p.result.model: p.result.status for p in window.grid.panes}
    assert reopened["openai/gpt-4o-mini"] == Status.OK and reopened["local/llama3.2"] == Status.ERROR

    # Run again: a new trial linked to the old one.
    window.history.run_again.click()
    run_until(mw_loop, lambda: window.current_trial_id not in (None, trial_id))
    stored = window.engine.trials.load(window.current_trial_id)
    assert stored[0].parent_trial_id == trial_id


def test_cancel_keeps_what_arrived(window, qtbot, vendor, mw_loop):
    vendor.set_default("gpt-4o-mini", Script(text_pieces=["first part. "] + ["more "] * 50, interval_ms=100))
    window.picker.set_checked({"openai/gpt-4o-mini"})
    window.compose.prompt.setPlainText("Write a long answer")
    window.send()
    run_until(mw_loop, lambda: window.grid.panes and "first part." in window.grid.panes[0].text())
    window.cancel_button.click()
    run_until(mw_loop, lambda: window._run_task.done())
    assert window.statusBar().currentMessage() == "Cancelled: what arrived is stored"
    pane = window.grid.panes[0]
    assert pane.result.status == Status.INTERRUPTED
    assert pane.text().startswith("first part.")
    stored = window.engine.store.responses.get(pane.result.id)
    assert stored.status == Status.INTERRUPTED and stored.text.startswith("first part.")


def test_bad_input_is_a_message_in_the_window(window, qtbot, tmp_path):
    window.picker.set_checked(set())
    window.compose.prompt.setPlainText("hello")
    window.send()
    assert window.banner.isVisible() and "Pick at least one model" in window.banner.label.text()

    binary = tmp_path / "tool.bin"
    binary.write_bytes(b"\x00\x01\x02MZ" * 100)
    broken = tmp_path / "shot.png"
    broken.write_bytes(png_bytes()[:-20])
    drop_files(window, [binary, broken])
    text = window.banner.label.text()
    assert "tool.bin" in text and "binary" in text and "shot.png" in text
    assert window.compose.attachments.attachments() == []


def test_variants_make_model_by_variant_panes(window, qtbot, vendor, mw_loop):
    window.picker.set_checked({"openai/gpt-4o-mini", "claude/claude-sonnet-4-5"})
    window.compose.show_system()
    window.compose.variants.widget(0).setPlainText("Answer tersely.")
    window.compose.variants.add_variant("Ask a clarifying question when the task is ambiguous.")
    window.compose.prompt.setPlainText("Summarise the log")
    window.send()
    run_until(mw_loop, lambda: window.current_trial_id is not None)
    titles = sorted(p.title.text() for p in window.grid.panes)
    assert len(titles) == 4 and sum("variant B" in t for t in titles) == 2
    systems = {r.json.get("system") for r in vendor.requests if r.protocol == "anthropic"}
    assert systems == {"Answer tersely.", "Ask a clarifying question when the task is ambiguous."}


def test_selection_and_geometry_persist(window, qtbot, tmp_path, vendor):
    window.picker.set_checked({"claude/claude-sonnet-4-5"})
    window.resize(700, 500)  # within the offscreen screen, which clamps restored geometry
    window.side_split.setSizes([150, 550])
    sizes = window.side_split.sizes()
    window.close()
    settings = QSettings(str(tmp_path / "ui.ini"), QSettings.Format.IniFormat)
    again = MainWindow(window.engine, settings)
    qtbot.addWidget(again)
    assert [str(r) for r in again.picker.selected()] == ["claude/claude-sonnet-4-5"]
    assert (again.size().width(), again.size().height()) == (700, 500)
    again.show()
    assert again.side_split.sizes() == sizes


def test_markdown_loads_nothing_remote_and_raw_and_copy_work(window, qtbot, vendor, mw_loop):
    pixel = f"{vendor.base_url}/tracking-pixel.png"
    answer = f"Here:\n\n![logo]({pixel})\n\n```python\nprint('hi')\n```\n\n[docs](https://example.com/docs)\n"
    vendor.set_default("gpt-4o-mini", Script(text_pieces=[answer]))
    window.picker.set_checked({"openai/gpt-4o-mini"})
    window.compose.prompt.setPlainText("show me")
    window.send()
    run_until(mw_loop, lambda: window.current_trial_id is not None)
    pane = window.grid.panes[0]
    run_until(mw_loop, lambda: "print('hi')" in pane.rendered.toPlainText())
    assert pane.views.currentWidget() is pane.rendered
    assert not any("tracking-pixel" in r.path for r in vendor.requests)  # no tracking pixel fetched
    pane.raw_toggle.click()
    assert pane.views.currentWidget() is pane.raw and pane.raw.toPlainText() == answer
    pane.copy_button.click()
    assert QGuiApplication.clipboard().text() == answer


def test_details_show_each_attempts_request_id_times_and_rate_limit_headers(window, qtbot, vendor, mw_loop):
    limits = {"anthropic-ratelimit-requests-limit": "50", "anthropic-ratelimit-requests-remaining": "0",
              "anthropic-ratelimit-requests-reset": "2025-01-31T09:15:03Z", "retry-after-ms": "20"}
    vendor.enqueue("claude-sonnet-4-5", Script(status=429, headers=limits),
                   Script(headers={"anthropic-ratelimit-requests-remaining": "49"}))
    window.picker.set_checked({"claude/claude-sonnet-4-5"})
    window.compose.prompt.setPlainText("hi")
    window.send()
    run_until(mw_loop, lambda: window.current_trial_id is not None)
    pane = window.grid.panes[0]
    r = pane.result
    assert r.status == Status.OK and [a.http_status for a in r.attempts] == [429, 200]
    assert pane.details_button.isEnabled()
    text = pane.details_text()
    first, second = [rec.request_id for rec in vendor.requests if rec.method == "POST"]
    assert text.index("attempt 1: HTTP 429 rate_limited") < text.index(f"request id:  {first}") \
        < text.index("attempt 2: HTTP 200 ok") < text.index(f"request id:  {second}")
    for a in r.attempts:
        assert f"unix {a.started_at:.6f}" in text and f"unix {a.ended_at:.6f}" in text
    assert f"first token: {pane_time(r.attempts[1].first_token_at)}" in text
    assert "    anthropic-ratelimit-requests-remaining: 0\n" in text  # as sent, on the failed attempt
    assert "    anthropic-ratelimit-requests-reset: 2025-01-31T09:15:03Z" in text
    assert "    retry-after-ms: 20" in text and "    anthropic-ratelimit-requests-remaining: 49" in text
    dialog = pane.show_details()
    assert dialog is not None and dialog.isVisible() and dialog.text.toPlainText() == text
    dialog.close()
    pane.set_blind("A")  # nothing that gives the model away while rating blind
    assert not pane.details_button.isEnabled() and pane.details_text() is None


def pane_time(ts: float) -> str:
    from desk.ui.response_pane import fmt_instant

    return fmt_instant(ts)


def test_per_model_settings_reach_the_vendor_and_are_stored(window, qtbot, vendor, mw_loop):
    window.picker.set_checked({"openai/gpt-4o-mini", "claude/claude-sonnet-4-5"})
    row = [str(r) for r in window.picker.refs()].index("openai/gpt-4o-mini")
    window.picker.cellWidget(row, 1).setValue(0.3)
    window.picker.cellWidget(row, 2).setValue(64)
    window.compose.prompt.setPlainText("settings")
    window.send()
    run_until(mw_loop, lambda: window.current_trial_id is not None)
    body = next(r.json for r in vendor.requests if r.model == "gpt-4o-mini")
    assert body["temperature"] == 0.3 and body["max_tokens"] == 64
    claude = next(r.json for r in vendor.requests if r.model == "claude-sonnet-4-5")
    assert "temperature" not in claude  # "default" sends nothing
    stored = {r.model: r.settings for r in window.engine.trials.load(window.current_trial_id)[1]}
    assert stored["openai/gpt-4o-mini"]["temperature"] == 0.3


def test_remove_attachment_with_one_click_and_history_search(window, qtbot, vendor, mw_loop, tmp_path):
    data = tmp_path / "app.log"
    data.write_text("ERROR disk full\n")
    mw_loop.run_until_complete(window.compose.add_files([str(data)]))
    chip = window.compose.attachments._chips[0]
    remove = [b for b in chip.findChildren(QToolButton) if b.accessibleName() == "Remove app.log"]
    assert remove, "the chip has a remove button"
    remove[0].click()
    assert window.compose.attachments.attachments() == []

    window.picker.set_checked({"openai/gpt-4o-mini"})
    for prompt in ("invoice totals for March", "summarise the incident log"):
        window.compose.prompt.setPlainText(prompt)
        window.send()
        run_until(mw_loop, lambda: window._run_task.done())
    assert window.history.list.count() == 2
    window.refresh_history("incident")
    assert window.history.list.count() == 1
    assert "incident" in window.history.list.item(0).text()


def test_links_open_only_after_showing_the_target(qtbot, monkeypatch):
    from PySide6.QtGui import QDesktopServices
    from PySide6.QtWidgets import QMessageBox

    from desk.ui.response_pane import SafeBrowser

    browser = SafeBrowser()
    qtbot.addWidget(browser)
    browser.setMarkdown("[report](https://example.com/q3?utm=track) and ![pixel](https://t.example/p.gif)")
    asked, opened = [], []
    monkeypatch.setattr(QDesktopServices, "openUrl", lambda url: opened.append(url.toString()))

    def answer(reply):
        def question(parent, title, text, *a, **k):
            asked.append(text)
            return reply
        return question

    monkeypatch.setattr(QMessageBox, "question", answer(QMessageBox.StandardButton.No))
    browser.anchorClicked.emit(QUrl("https://example.com/q3?utm=track"))
    assert "https://example.com/q3?utm=track" in asked[-1] and opened == []  # shown, not opened
    monkeypatch.setattr(QMessageBox, "question", answer(QMessageBox.StandardButton.Yes))
    browser.anchorClicked.emit(QUrl("https://example.com/q3?utm=track"))
    assert opened == ["https://example.com/q3?utm=track"]
    # Nothing is fetched by itself: the image resource resolves to nothing.
    assert browser.loadResource(2, QUrl("https://t.example/p.gif")) is None


def test_help_about_and_price_data_are_shown(window, monkeypatch, mw_loop):
    from PySide6.QtWidgets import QMessageBox

    from desk.ui.about import about_text, shortcuts_html

    run_until(mw_loop, lambda: "loading" not in window.price_label.text())
    assert "price data bundled with genai-prices" in window.price_label.text()
    text = about_text(str(window.engine.store.path), window.engine.providers.price_data())
    assert str(window.engine.store.path) in text and "PySide6" in text and "desk" in text
    assert "F1" in shortcuts_html() and "Ctrl+Return" in shortcuts_html()
    shown = []
    monkeypatch.setattr(QMessageBox, "about", lambda parent, title, body: shown.append(body))
    window.show_about()
    assert shown and "Store:" in shown[0]


def test_open_another_store_and_refuse_a_foreign_file(window, tmp_path, vendor, mw_loop):
    window.picker.set_checked({"openai/gpt-4o-mini"})
    window.compose.prompt.setPlainText("in the first store")
    window.send()
    run_until(mw_loop, lambda: window.current_trial_id is not None)
    assert window.history.list.count() == 1

    fresh = tmp_path / "project-b.db"
    window.open_store(str(fresh))
    assert "Now working in" in window.banner.label.text()
    assert window.history.list.count() == 0 and window.picker.refs() == []
    assert str(window.engine.store.path) == str(fresh)

    junk = tmp_path / "notes.db"
    junk.write_bytes(b"this is not sqlite" * 100)
    window.open_store(str(junk))
    assert "Cannot open that store" in window.banner.label.text()
    assert str(window.engine.store.path) == str(fresh)  # still working in the good one


def test_the_status_bar_names_price_data_fetched_earlier(qtbot, tmp_path, mw_loop, monkeypatch):
    """After `desk prices update`, the next start must say "fetched <date>": the copy is
    installed by a background preload, which the window once raced and lost."""
    import json
    import time

    from genai_prices import data_snapshot

    import desk.engine.pricing as pricing
    from desk.engine.session import Engine
    from desk.store import open_store

    raw = [{"id": "testco", "name": "TestCo", "api_pattern": r"https://api\.testco\.example",
            "models": [{"id": "m1", "match": {"equals": "m1"}, "prices": {"input_mtok": 1, "output_mtok": 2}}]}]
    (tmp_path / "prices.json").write_text(json.dumps({"fetched_at": time.time(), "providers": raw}))
    # a fresh process: the preload has not run, and it is slow (the catalog import takes ~0.1 s)
    real_load = pricing._catalog_price

    def slow_catalog_price(*args):
        time.sleep(0.3)
        return real_load(*args)

    monkeypatch.setattr(pricing, "_catalog_price", slow_catalog_price)
    monkeypatch.setattr(pricing, "_preload_started", type(pricing._preload_started)())
    monkeypatch.setattr(pricing, "_preload_done", type(pricing._preload_done)())
    store = open_store(tmp_path / "prices.db")
    engine = Engine(store)
    try:
        win = MainWindow(engine, QSettings(str(tmp_path / "ui.ini"), QSettings.Format.IniFormat), show_welcome=False)
        qtbot.addWidget(win)
        run_until(mw_loop, lambda: "loading" not in win.price_label.text())
        assert "price data fetched " + time.strftime("%Y-%m-%d") in win.price_label.text()
        assert "1 vendors" in win.price_label.text()
    finally:
        pricing.wait_for_preload()
        data_snapshot.set_custom_snapshot(None)  # the catalog is process-wide: leave it bundled
        mw_loop.run_until_complete(engine.aclose())
        store.close()


def test_every_past_trial_is_reachable_by_scrolling_the_history(window, qtbot):
    from desk.core.trial import TrialInput
    from desk.ui.main_window import HISTORY_PAGE

    for i in range(HISTORY_PAGE * 2 + 50):
        window.engine.store.trials.create(TrialInput(f"question number {i}"))
    window.refresh_history()
    listed = window.history.list
    assert listed.count() == HISTORY_PAGE
    bar = listed.verticalScrollBar()
    seen_max = 0
    for expected in (HISTORY_PAGE * 2, HISTORY_PAGE * 2 + 50):
        qtbot.waitUntil(lambda m=seen_max: bar.maximum() > m)  # the new rows are laid out
        seen_max = bar.maximum()
        bar.setValue(bar.maximum())  # the user scrolls to the end
        assert listed.count() == expected
    qtbot.waitUntil(lambda m=seen_max: bar.maximum() > m)
    bar.setValue(bar.maximum())
    assert listed.count() == HISTORY_PAGE * 2 + 50 and not window.history.has_more  # nothing older
    assert "question number 0" in listed.item(listed.count() - 1).text()  # the oldest one
    ids = [listed.item(i).data(Qt.ItemDataRole.UserRole) for i in range(listed.count())]
    assert len(set(ids)) == len(ids)  # pages do not overlap


def test_a_long_model_name_wraps_whole_under_its_provider(window, qtbot):
    from PySide6.QtWidgets import QVBoxLayout, QWidget

    from desk.ui.response_pane import PaneTitle

    title = PaneTitle("anthropic/claude-sonnet-4-5-20250929-with-a-long-deployment-name")
    box = QWidget()
    col = QVBoxLayout(box)
    col.addWidget(title.provider)
    col.addWidget(title.name)
    qtbot.addWidget(box)
    box.resize(160, 200)
    box.show()
    assert title.provider.text() == "anthropic"  # the provider on a line of its own
    assert title.name.text().replace("\u200b", "") == "claude-sonnet-4-5-20250929-with-a-long-deployment-name"
    full = title.name.fontMetrics().horizontalAdvance(title.name.text())
    assert title.name.width() < full  # narrower than the name: it wraps, nothing is cut
    assert title.name.height() >= title.name.heightForWidth(title.name.width()) > title.name.fontMetrics().height() * 2
    assert title.name.minimumSizeHint().width() < 160
    assert title.name.toolTip() == title.text()
    title.setText("A: openai/gpt-4o-mini")
    assert (title.provider.text(), title.name.text().replace("\u200b", "")) == ("A: openai", "gpt-4o-mini")
    title.setText("Answer B")
    assert (title.provider.text(), title.name.text(), title.text()) == ("", "Answer B", "Answer B")
