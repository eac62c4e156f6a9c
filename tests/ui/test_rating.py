"""Rating through the real widgets, keyboard only, in blind mode; the stored rows are checked."""

from __future__ import annotations

import pytest

pytest.importorskip("PySide6")

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QApplication

from desk.core.response import Status
from tests.ui.qt_helpers import run_until
from tests.vendor_server import Script

MODELS = {"openai/gpt-4o-mini", "claude/claude-sonnet-4-5", "local/llama3.2"}


def send_three(window, vendor, mw_loop):
    vendor.set_default("gpt-4o-mini", Script(text_pieces=["Revenue fell 4%."]))
    vendor.set_default("claude-sonnet-4-5", Script(text_pieces=["Which quarter do you mean?"]))
    vendor.set_default("llama3.2", Script(text_pieces=["Revenue rose 12% (source: Q3 report)."]))
    window.picker.set_checked(MODELS)
    window.compose.prompt.setPlainText("How did revenue change last quarter?")
    window.send()
    run_until(mw_loop, lambda: window.current_trial_id is not None)
    run_until(mw_loop, lambda: all(p.rating is not None for p in window.grid.panes))


def keys(qtbot, widget, sequence):
    for key in sequence:
        qtbot.keyClick(widget, key)


def test_blind_keyboard_only_rating_reveals_after_all_are_rated(window, qtbot, vendor, mw_loop):
    window.engine.set_rater_name("Ana Ruiz")
    window.blind_action.setChecked(True)
    window._on_blind_toggled()
    send_three(window, vendor, mw_loop)

    panes = window.grid.panes
    assert [p.title.text() for p in panes] == ["Answer A", "Answer B", "Answer C"]
    for pane in panes:  # nothing gives the model away
        visible = pane.title.text() + pane.status.text() + pane.error.text()
        assert not any(name in visible for name in ("gpt", "claude", "llama", "openai", "TTFT", "$"))
    assert window.preferences.left.itemText(0) == "Answer A"
    order = window.shown_order()

    # Keyboard only, from where the send left the focus (the prompt, whose Tab types a tab):
    # the Rate shortcut goes to the first rating; Tab and Shift+Tab go between the answers.
    window.compose.prompt.setFocus()
    qtbot.keyClick(window.compose.prompt, Qt.Key.Key_R, Qt.KeyboardModifier.ControlModifier | Qt.KeyboardModifier.ShiftModifier)
    assert QApplication.focusWidget() is panes[0].rating
    qtbot.keyClick(panes[0].rating, Qt.Key.Key_Tab)
    assert QApplication.focusWidget() is panes[1].rating
    qtbot.keyClick(panes[1].rating, Qt.Key.Key_Backtab, Qt.KeyboardModifier.ShiftModifier)
    assert QApplication.focusWidget() is panes[0].rating
    # Digits pick, each digit moves to the next row, Enter saves and jumps on.
    choices = {0: "1233", 1: "2122", 2: "3513"}  # outcome, uncertainty, constraints, quality
    for i in range(3):
        focused = QApplication.focusWidget()
        assert focused is panes[i].rating, f"pane {i} rating should have the focus"
        keys(qtbot, focused, [getattr(Qt.Key, f"Key_{d}") for d in choices[i]])
        qtbot.keyClick(QApplication.focusWidget(), Qt.Key.Key_Return)
        assert "saved" in panes[i].rating.state.text()
        if i < 2:
            assert panes[i + 1].title.text().startswith("Answer")  # still blind mid-way

    # All rated: identities revealed, in the same order.
    assert all(":" in p.title.text() and "/" in p.title.text() for p in panes)
    assert "TTFT" in panes[0].status.text()
    assert "revealed" in window.banner.label.text()

    stored = window.engine.ratings.saved.current([p.result.id for p in panes])
    by_id = {r.response_id: r for r in stored}
    first = by_id[panes[0].result.id]
    assert (first.outcome, first.uncertainty, first.constraints, first.quality) == \
        ("success", "stated_uncertainty", "na", 3)
    second = by_id[panes[1].result.id]
    assert (second.outcome, second.uncertainty, second.constraints, second.quality) == \
        ("partial", "asked_clarifying", "violated", 2)
    third = by_id[panes[2].result.id]
    assert (third.outcome, third.uncertainty, third.quality) == ("failure", "confident_wrong", 3)
    for r in stored:
        assert r.rater == "Ana Ruiz" and r.blind is True and list(r.shown_order) == order


def test_editing_a_rating_keeps_history_and_note_tags_by_keyboard(window, qtbot, vendor, mw_loop):
    window.engine.set_rater_name("Bo")
    send_three(window, vendor, mw_loop)
    pane = window.grid.panes[0]
    panel = pane.rating
    panel.move_to(0)
    keys(qtbot, panel, [Qt.Key.Key_1, Qt.Key.Key_3, Qt.Key.Key_3, Qt.Key.Key_5])
    assert QApplication.focusWidget() is panel.note  # digits walked down to the note row
    qtbot.keyClicks(panel.note, "clear and correct")
    qtbot.keyClick(panel.note, Qt.Key.Key_Down)
    qtbot.keyClicks(panel.tags, "finance, q3")
    qtbot.keyClick(panel.tags, Qt.Key.Key_Return)
    assert "saved" in panel.state.text()

    panel.move_to(0)
    qtbot.keyClick(panel, Qt.Key.Key_2)  # change outcome to partial
    qtbot.keyClick(panel, Qt.Key.Key_Return)
    history = window.engine.store.ratings.history(pane.result.id, "Bo")
    assert [h.outcome for h in history] == ["success", "partial"]
    assert history[1].supersedes == history[0].id
    assert history[1].note == "clear and correct" and history[1].tags == ("finance", "q3")
    assert "edited" in panel.state.text()


def test_invalid_rating_is_refused_in_the_pane(window, qtbot, vendor, mw_loop):
    window.engine.set_rater_name("Bo")
    send_three(window, vendor, mw_loop)
    panel = window.grid.panes[0].rating
    panel.move_to(0)
    qtbot.keyClick(panel, Qt.Key.Key_1)
    qtbot.keyClick(panel, Qt.Key.Key_Return)  # uncertainty, constraints, quality missing
    assert "not saved" in panel.state.text()
    assert window.engine.ratings.saved.current([window.grid.panes[0].result.id]) == []


def test_pairwise_preference_by_keyboard(window, qtbot, vendor, mw_loop):
    window.engine.set_rater_name("Cy")
    send_three(window, vendor, mw_loop)
    bar = window.preferences
    assert bar.isVisible()
    bar.left.setCurrentIndex(0)
    bar.right.setCurrentIndex(2)
    qtbot.keyClicks(bar.reason, "asks instead of guessing")
    qtbot.keyClick(bar.reason, Qt.Key.Key_Left, Qt.KeyboardModifier.AltModifier)  # left better
    prefs = window.engine.store.ratings.current_preferences("Cy")
    assert len(prefs) == 1
    p = prefs[0]
    assert (p.response_a, p.response_b) == (window.grid.panes[0].result.id, window.grid.panes[2].result.id)
    assert p.winner == "a" and p.reason == "asks instead of guessing"
    assert "saved" in bar.state.text()


def test_failed_answer_can_be_rated_as_failure(window, qtbot, vendor, mw_loop):
    window.engine.set_rater_name("Di")
    vendor.set_default("gpt-4o-mini", Script(status=400, error_message="context too long"))
    window.picker.set_checked({"openai/gpt-4o-mini"})
    window.compose.prompt.setPlainText("x")
    window.send()
    run_until(mw_loop, lambda: window.current_trial_id is not None)
    pane = window.grid.panes[0]
    assert pane.result.status == Status.ERROR and pane.rating is not None


def test_scorecard_dialog_shows_rated_models(window, qtbot, vendor, mw_loop):
    from desk.ui.scorecard_view import ScorecardDialog

    window.engine.set_rater_name("Ed")
    send_three(window, vendor, mw_loop)
    for i, pane in enumerate(window.grid.panes):
        values = {"outcome": "success" if i else "failure", "uncertainty": "confident_correct",
                  "constraints": "na", "quality": 4}
        window._save_rating(pane, values)
    dialog = ScorecardDialog(window.engine, window, (window.current_trial_id,))
    qtbot.addWidget(dialog)
    run_until(mw_loop, lambda: not dialog.computing)  # computed off the GUI thread
    assert dialog.table.rowCount() == 3
    models = {dialog.table.item(r, 0).text() for r in range(3)}
    assert models == MODELS
    assert "too few rated answers" in dialog.note.text()


def test_rubric_edit_makes_a_new_version_used_by_new_ratings(window, qtbot, vendor, mw_loop):
    from desk.ui.rubric_dialog import RubricDialog

    dialog = RubricDialog(window.engine, window)
    qtbot.addWidget(dialog)
    outcome = dialog.tree.topLevelItem(0)
    outcome.setText(1, "Did it get the job done?")
    dialog.new_key.setText("cites_sources")
    dialog.new_label.setText("Cites its sources")
    dialog.new_kind.setCurrentText("choice")
    dialog.new_options.setText("yes, no, partly")
    dialog.add_criterion()
    dialog.save()
    assert "version 2" in dialog.status.text()
    rubric = window.engine.ratings.rubrics.default()
    assert rubric.version == 2 and rubric.criterion("outcome").label == "Did it get the job done?"
    assert rubric.criterion("cites_sources").option_keys() == ("yes", "no", "partly")

    dialog.new_key.setText("Bad Key!")
    dialog.add_criterion()
    assert "lower-case" in dialog.status.text()

    window.rubric = window.engine.ratings.rubrics.default()
    window.engine.set_rater_name("Fa")
    send_three(window, vendor, mw_loop)
    pane = window.grid.panes[0]
    assert "cites_sources" in pane.rating.choice_rows
    window._save_rating(pane, {**pane.rating.values(), "outcome": "success", "uncertainty": "confident_correct",
                               "constraints": "na", "quality": 4, "cites_sources": "partly"})
    saved = window.engine.ratings.saved.current([pane.result.id])[0]
    assert saved.rubric_id == rubric.id and saved.values["cites_sources"] == "partly"


def test_file_menu_export_and_merge(window, qtbot, vendor, mw_loop, tmp_path):
    import csv

    from desk.store import open_store

    window.engine.set_rater_name("Gi")
    send_three(window, vendor, mw_loop)
    for pane in window.grid.panes:
        window._save_rating(pane, {"outcome": "success", "uncertainty": "confident_correct",
                                   "constraints": "na", "quality": 5, "note": "=cmd|' /C calc'!A0"})
    out = tmp_path / "ratings.csv"
    mw_loop.run_until_complete(window.export_ratings(str(out), "csv"))
    assert "Exported 3 rows" in window.banner.label.text()
    rows = list(csv.DictReader(out.open(encoding="utf-8-sig")))
    assert len(rows) == 3 and all(r["note"].startswith("'=") for r in rows)  # formula neutralised

    other = open_store(tmp_path / "other.db")
    from desk.core.trial import TrialInput

    other.trials.create(TrialInput("a colleague's trial"))
    other.close()
    mw_loop.run_until_complete(window.merge_store(str(tmp_path / "other.db")))
    assert "Merged" in window.banner.label.text() and "1 trials" in window.banner.label.text()
    assert any("colleague" in window.history.list.item(i).text() for i in range(window.history.list.count()))
    mw_loop.run_until_complete(window.merge_store(str(tmp_path / "missing.db")))
    assert "Merge failed" in window.banner.label.text()
