"""The Suites tab says which line of a CSV suite opens a quote that never closes, and
imports nothing."""

from __future__ import annotations

import pytest

pytest.importorskip("PySide6")

from tests.core.test_unterminated_quote import UNTERMINATED


def test_an_unterminated_quote_is_shown_with_its_line_and_nothing_is_imported(window, mw_loop, tmp_path):
    window.tabs.setCurrentWidget(window.suites_panel)
    panel = window.suites_panel
    bad = tmp_path / "cases.csv"
    bad.write_text(UNTERMINATED, encoding="utf-8")
    assert not mw_loop.run_until_complete(panel.import_file(bad, "mine"))  # read off the GUI thread
    assert panel.message.isVisible()
    text = panel.message.text()
    assert "nothing imported" in text and "line 3: a quoted cell starts on this line" in text
    assert [s.name for s in window.engine.suites.list_suites()] == ["starter"]
