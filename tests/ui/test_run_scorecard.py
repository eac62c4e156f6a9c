"""A suite run's scorecard through the Suites tab: per model x expect kind the handled rate
with its Wilson interval and n, the overall success rate, and two models compared with the
exact sign test, all against values computed by hand on the engine tests' fixture."""

from __future__ import annotations

import json

import pytest

pytest.importorskip("PySide6")

from desk.core.trial import ModelRef
from desk.ui.run_scorecard import RunScorecardDialog
from tests.engine.test_suite_run import fixture_cases, rate_fixture, wilson

A, B, C = "openai/gpt-4o-mini", "claude/claude-sonnet-4-5", "local/llama3.2"  # C is never rated
KINDS = ["clarify", "abstain", "answer", "follow_constraints"]
SUCCESS = "Success (all cases)"

# FIXTURE (tests/engine/test_suite_run.py) rated by hand, A and B:
#   clarify  A: c1 c2 c3 asked_clarifying, c4 not -> 3 of 4;  B: only c1 -> 1 of 4
#   abstain  A: only a1 stated_uncertainty -> 1 of 3;         B: a1 a2 a3 -> 3 of 3
#   answer   A: n1 confident_correct, n2 partial_with_caveats, n3 needless_question -> 2 of 3
#            B: n1 needless_question, n2 needless_refusal, n3 unrated -> 0 of 2
#   follow_constraints  A: f1 followed -> 1 of 1;  B: f1 violated (auto's "followed" left out) -> 0 of 1
#   success  A: all but c4 a2 n2 (partial) -> 8 of 11;  B: c1 c4 a1 -> 3 of 10
# Wilson 95% intervals, in percent rounded: 3/4 [30-95], 1/3 [6-79], 2/3 [21-94], 1/1 [21-100],
# 1/4 [5-70], 3/3 [44-100], 0/2 [0-66], 0/1 [0-79], 8/11 [43-90], 3/10 [11-60], 0/3 [0-56].
HAND = {
    A: {"clarify": "75% [30–95%] · n=4", "abstain": "33% [6–79%] · n=3", "answer": "67% [21–94%] · n=3",
        "follow_constraints": "100% [21–100%] · n=1", SUCCESS: "73% [43–90%] · n=11", "Rated": "11"},
    B: {"clarify": "25% [5–70%] · n=4", "abstain": "100% [44–100%] · n=3", "answer": "0% [0–66%] · n=2",
        "follow_constraints": "0% [0–79%] · n=1", SUCCESS: "30% [11–60%] · n=10", "Rated": "10"},
    C: {**{kind: "– · n=0" for kind in KINDS}, SUCCESS: "– · n=0", "Rated": "0"},
}


def test_hand_values_agree_with_the_wilson_formula():
    pct = {(k, n): f"{k / n * 100:.0f}% [{wilson(k, n)[0] * 100:.0f}–{wilson(k, n)[1] * 100:.0f}%] · n={n}"
           for k, n in [(3, 4), (1, 3), (2, 3), (1, 1), (1, 4), (3, 3), (0, 2), (0, 1), (8, 11), (3, 10)]}
    assert [HAND[A][k] for k in (*KINDS, SUCCESS)] == [pct[3, 4], pct[1, 3], pct[2, 3], pct[1, 1], pct[8, 11]]
    assert [HAND[B][k] for k in (*KINDS, SUCCESS)] == [pct[1, 4], pct[3, 3], pct[0, 2], pct[0, 1], pct[3, 10]]


def rated_run(window, mw_loop, tmp_path) -> tuple[str, dict]:
    """The fixture suite run on A, B and C, with A's and B's answers rated as in FIXTURE."""
    engine = window.engine
    cases = fixture_cases()
    path = tmp_path / "fixture.jsonl"
    path.write_text("".join(json.dumps(c) + "\n" for c in cases), encoding="utf-8")
    engine.suites.import_suite(path, "fixture")
    result = mw_loop.run_until_complete(engine.suites.run("fixture", [ModelRef.parse(m) for m in (A, B, C)]))
    assert result.ok == 3 * len(cases)
    return result.run_id, rate_fixture(engine, result, A, B)


def open_from_the_tab(window, run_id) -> RunScorecardDialog:
    panel = window.suites_panel
    window.tabs.setCurrentWidget(panel)
    panel.refresh_runs()
    panel.run_table.clearSelection()
    panel._update_buttons()
    assert not panel.scorecard_button.isEnabled()  # no run selected
    assert panel.select_run(run_id)
    assert panel.scorecard_button.isEnabled()
    panel.scorecard_button.click()
    dialog = panel.dialogs.scorecard
    assert isinstance(dialog, RunScorecardDialog) and dialog.isVisible() and not dialog.isModal()
    return dialog


def test_run_scorecard_by_behaviour_and_sign_test(window, qtbot, mw_loop, tmp_path):
    run_id, ids = rated_run(window, mw_loop, tmp_path)
    dialog = open_from_the_tab(window, run_id)
    assert dialog.windowTitle() == f"Scorecard of run {run_id} (fixture)"

    # The table: a row per model of the run, a column per expect kind, then the success rate.
    headers = [dialog.table.horizontalHeaderItem(c).text() for c in range(dialog.table.columnCount())]
    assert headers == ["Model", "Answers", "Errors", "Median total", "Mean cost", "Auto check", "Rated", *KINDS, SUCCESS]
    assert [dialog.table.item(r, 0).text() for r in range(dialog.table.rowCount())] == [A, B, C]
    for model, cells in HAND.items():
        for column, text in cells.items():
            assert dialog.cell_text(model, column) == text, (model, column)
    note = dialog.note.text()
    assert "clarify → asked a clarifying question" in note and "abstain → stated its uncertainty" in note
    assert "answer → confident and correct, or partial with caveats" in note
    assert "follow_constraints → constraints followed" in note
    assert "automatic constraint checks" in note and "left out" in note
    assert "disagree on 1 answer:" in dialog.disagreements.text(), dialog.disagreements.text()

    # A against B by default. 10 pairs (n3 has no rating of B): A better on c2 c3 a1 a2 a3 n1 f1,
    # B on c4, ties c1 n2. Exact two-sided sign test: 2 * (C(8,0) + C(8,1)) / 2^8 = 18/256 = 0.0703.
    assert (dialog.model_a.currentText(), dialog.model_b.currentText()) == (A, B)
    assert dialog.result.text() == (f"{A} wins 7, loses 1, ties 2 on 10 paired cases · "
                                    "sign test p = 0.070 (two-sided, exact)")
    assert dialog.reading.text().startswith(f"Not enough evidence that {A} and {B} differ")

    # The combos drive the comparison.
    dialog.model_a.setCurrentText(B)
    dialog.model_b.setCurrentText(A)
    assert dialog.result.text() == (f"{B} wins 1, loses 7, ties 2 on 10 paired cases · "
                                    "sign test p = 0.070 (two-sided, exact)")
    dialog.model_b.setCurrentText(C)
    assert dialog.result.text().startswith(f"No paired ratings yet: no case has a rated answer from both {B} and {C}")
    assert dialog.reading.text() == ""
    dialog.model_b.setCurrentText(B)
    assert dialog.result.text() == "Choose two different models."

    # Rated while the dialog is open: B's n3, a failure with a needless question. Refresh:
    # answer for B becomes 0 of 3; the pairs 11, A better 8, B 1; p = 2 * (1 + 9) / 2^9 = 0.0391.
    window.engine.ratings.save_rating(ids["n3", B], {"outcome": "failure", "uncertainty": "needless_question",
                                             "constraints": "na", "quality": 1}, rater="ana")
    assert dialog.cell_text(B, "answer") == "0% [0–66%] · n=2"  # the table is read again on Refresh
    dialog.choose(A, B)
    dialog.refresh_button.click()
    assert dialog.cell_text(B, "answer") == "0% [0–56%] · n=3"
    assert dialog.cell_text(B, "Rated") == "11"
    assert dialog.cell_text(B, SUCCESS) == "27% [10–57%] · n=11"  # 3 of 11
    assert dialog.result.text() == (f"{A} wins 8, loses 1, ties 2 on 11 paired cases · "
                                    "sign test p = 0.039 (two-sided, exact)")
    assert dialog.reading.text().startswith(f"{A} is better on these cases")
    dialog.choose(B, A)
    assert dialog.result.text().startswith(f"{B} wins 1, loses 8, ties 2 on 11 paired cases")
    assert dialog.reading.text().startswith(f"{A} is better on these cases")

    # Opening it again replaces the first one.
    window.suites_panel.scorecard_button.click()
    assert window.suites_panel.dialogs.scorecard is not dialog
    window.suites_panel.dialogs.scorecard.close()
