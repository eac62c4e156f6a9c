"""A suite run's tool use in the window (issue 17): the run's scorecard, opened from the
Suites tab, gives each model's rates (called when it should, valid arguments, schema-valid,
expected call matched) with n and the 95% Wilson interval, the values `desk suite tool-use`
gives; each failure is clickable and opens its case's answers side by side."""

from __future__ import annotations

import json

import pytest

pytest.importorskip("PySide6")

from desk.core.trial import ModelRef
from tests.engine.test_suite_run import wilson
from tests.test_cli_suite_tools import CASES, anthropic_call, openai_call
from tests.ui.test_run_scorecard import open_from_the_tab
from tests.vendor_server import Script

A, B = "openai/gpt-4o-mini", "claude/claude-sonnet-4-5"


def _pct(k: int, n: int) -> str:
    low, high = wilson(k, n)
    return f"{k}/{n} {k / n * 100:.0f}% [{low * 100:.0f}–{high * 100:.0f}%]"


def test_the_scorecard_shows_tool_use_and_opens_the_failures(window, vendor, mw_loop, tmp_path, qtbot):
    engine = window.engine
    path = tmp_path / "tools.jsonl"
    path.write_text("".join(json.dumps(c) + "\n" for c in CASES), encoding="utf-8")
    engine.suites.import_suite(path, "tools")
    # A calls right, then calls where it should ask, then answers; B gets the city's case wrong.
    vendor.enqueue("gpt-4o-mini", openai_call('{"city": "Paris"}'), openai_call('{"city": "London"}'),
                   Script(text_pieces=["Bonjour."]))
    vendor.enqueue("claude-sonnet-4-5", anthropic_call({"city": "paris"}), Script(text_pieces=["Which city?"]),
                   Script(text_pieces=["Bonjour."]))
    result = mw_loop.run_until_complete(engine.suites.run("tools", [ModelRef.parse(m) for m in (A, B)],
                                                          concurrency=1))
    assert result.ok == 6
    dialog = open_from_the_tab(window, result.run_id)
    box = dialog.tool_use
    assert box.isVisible()
    assert [box.cell_text(A, m) for m in ("called_right", "valid_arguments", "schema_valid", "expected_matched")] \
        == [_pct(2, 3), _pct(2, 2), _pct(2, 2), _pct(1, 1)]
    assert [box.cell_text(B, m) for m in ("called_right", "valid_arguments", "schema_valid", "expected_matched")] \
        == [_pct(3, 3), _pct(1, 1), _pct(1, 1), _pct(0, 1)]
    failures = [box.failures.item(i) for i in range(box.failures.count())]
    assert [f.text().split(" · answer ")[0] for f in failures] == [
        f"{A} · called when it should: failed · case ambiguous", f"{B} · expected call: failed · case clear"]

    opened: list[str] = []
    window.suites_panel.open_trial_requested.connect(opened.append)
    rect = box.failures.visualItemRect(failures[1])
    from PySide6.QtCore import Qt

    qtbot.mouseClick(box.failures.viewport(), Qt.MouseButton.LeftButton, pos=rect.center())
    clear_trial = next(t for c, _s, t in engine.suites.tables.run_trials(result.run_id)
                       if engine.suites.tables.get_suite_by_id(engine.suites.run_info(result.run_id).suite_id)
                       .cases[0].id == c)
    assert opened == [clear_trial]
    assert window.tabs.currentIndex() == 0 and window.current_trial_id == clear_trial  # side by side
    assert {p.result.model for p in window.grid.panes} == {A, B}


def test_a_run_without_tool_cases_shows_no_tool_use(window, mw_loop, tmp_path):
    engine = window.engine
    path = tmp_path / "plain.jsonl"
    path.write_text(json.dumps({"id": "p", "prompt": "Hi"}) + "\n", encoding="utf-8")
    engine.suites.import_suite(path, "plain")
    result = mw_loop.run_until_complete(engine.suites.run("plain", [ModelRef.parse(A)]))
    dialog = open_from_the_tab(window, result.run_id)
    assert not dialog.tool_use.isVisible()
