"""The Suites tab's *Max turns* (issue 16): 2 by default, as `desk suite run --max-turns`;
a case whose answer asks gets its clarification as a second turn, the matrix marks the
cell's turn and counts the answers that needed the extra turn; 1 never sends it."""

from __future__ import annotations

import json

import pytest

pytest.importorskip("PySide6")

from tests.ui.test_suites_view import imported, suites_tab, until
from tests.vendor_server import Script

ASKS, GUESSES = "claude/claude-sonnet-4-5", "openai/gpt-4o-mini"
CASES = [{"id": "c1", "prompt": "Which region sold most?", "expect": "clarify", "clarification": "By revenue."},
         {"id": "c2", "prompt": "What is 2 + 2?", "expect": "answer", "clarification": "Just the number."}]


def _run(window, mw_loop, vendor, tmp_path, max_turns: int | None):
    vendor.set_default("gpt-4o-mini", Script(text_pieces=["Four."]))
    vendor.enqueue("claude-sonnet-4-5", Script(text_pieces=["Do you mean by revenue or by units?"]),
                   Script(text_pieces=["North."]), Script(text_pieces=["Four."]))
    panel = suites_tab(window)
    path = tmp_path / "clar.jsonl"
    path.write_text("".join(json.dumps(c) + "\n" for c in CASES), encoding="utf-8")
    assert imported(panel.import_file(path, "clar"))
    panel.set_checked([ASKS, GUESSES])
    panel.concurrency.setValue(1)  # the asking model's scripts are taken in case order
    assert panel.max_turns.value() == 2  # the default, as the CLI's
    if max_turns is not None:
        panel.max_turns.setValue(max_turns)
    panel.start_button.click()
    mw_loop.run_until_complete(until(lambda: not panel.running, timeout=20))
    return panel


def _cell(panel, case_key, model) -> str:
    index = panel.cell_index(case_key, model)
    assert index.isValid()
    return index.data()


def test_the_default_two_turns_send_the_clarification_and_the_matrix_says_so(window, mw_loop, vendor, tmp_path):
    panel = _run(window, mw_loop, vendor, tmp_path, None)
    assert _cell(panel, "c1", ASKS).startswith("ok · turn 2 · TTFT") and "North." in _cell(panel, "c1", ASKS)
    assert _cell(panel, "c2", ASKS).startswith("ok · TTFT") and _cell(panel, "c1", GUESSES).startswith("ok · TTFT")
    assert panel.filters.shown_label.text() == f"2 cases; extra turn: 1 ({ASKS} 1)"
    tip = panel.cell_index("c1", ASKS).data(3)  # Qt.ToolTipRole
    assert "turn 2: answered after the case's clarification" in tip and "answers stored" not in tip
    (run,) = window.engine.suites.list_runs(10)
    assert len([c for c in window.engine.suites.matrix(run.run_id).cells if c.turn == 2]) == 1


def test_one_turn_never_sends_the_clarification(window, mw_loop, vendor, tmp_path):
    panel = _run(window, mw_loop, vendor, tmp_path, 1)
    assert _cell(panel, "c1", ASKS).startswith("ok · TTFT") and "Do you mean" in _cell(panel, "c1", ASKS)
    assert panel.filters.shown_label.text() == "2 cases"
    posts = [r for r in vendor.requests if r.method == "POST" and r.model == "claude-sonnet-4-5"]
    assert len(posts) == 2
