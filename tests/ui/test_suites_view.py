"""The Suites tab through the real window against the loopback vendor: import (a bad row
fails cleanly), a 6-case x 3-model run filling the matrix live, filters, a click opening the
case side by side, cancel and resume without re-sending, the starter suite offer, and a
suite made of selected history trials."""

from __future__ import annotations

import asyncio
import json
import re
from collections import Counter

import pytest

pytest.importorskip("PySide6")

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QPushButton

from desk.ui.suites_view import ANY, NO_EXPECT, RATED, UNRATED
from tests.engine.conftest import answer_then_stall
from tests.ui.qt_helpers import run_until
from tests.vendor_server import Script

MODELS = ["openai/gpt-4o-mini", "claude/claude-sonnet-4-5", "local/llama3.2"]
CASES = [
    {"id": "c1", "prompt": "case-1: Summarise the report.", "expect": "clarify", "tags": ["ops"],
     "notes": "Which report? A good answer asks."},
    {"id": "c2", "prompt": "case-2: Who won the 2031 World Cup?", "expect": "abstain", "tags": ["temporal"]},
    {"id": "c3", "prompt": "case-3: What is 2 + 2?", "expect": "answer", "tags": ["math"]},
    {"id": "c4", "prompt": "case-4: Greet me in at most three words.", "expect": "follow_constraints",
     "tags": ["format"], "constraints": [{"id": "count:word_count_range", "kwargs": {"min_words": 1, "max_words": 3}}]},
    {"id": "c5", "prompt": "case-5: How many days has a leap year?", "expect": "answer", "tags": ["math", "ops"]},
    {"id": "c6", "prompt": "case-6: Tell me something.", "expect": ""},
]
CASE = re.compile(r"case-(\d+)")


def suite_file(tmp_path, cases=CASES, name="six.jsonl"):
    path = tmp_path / name
    path.write_text("".join(json.dumps(c) + "\n" for c in cases), encoding="utf-8")
    return path


def script(vendor, delay_ms: float = 0.0) -> None:
    vendor.set_default("gpt-4o-mini", Script(text_pieces=["Four.\n", "Sure thing."],
                                             first_token_delay_ms=delay_ms))
    vendor.set_default("claude-sonnet-4-5", Script(text_pieces=["Which one do you mean?"],
                                                   first_token_delay_ms=delay_ms))
    vendor.set_default("llama3.2", Script(text_pieces=["\n\nHello there friend, here is a long answer."],
                                          first_token_delay_ms=delay_ms))


async def until(predicate, timeout=10.0):
    """Wait on the running loop. A run in flight is awaited inside one run_until_complete:
    qasync processes events once more after each stop, when no loop is running, and a
    stream stepped then fails ("no running event loop")."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while not predicate():
        if loop.time() > deadline:
            raise AssertionError("timed out waiting for the window")
        await asyncio.sleep(0.02)


def imported(task) -> bool:
    """Wait for an import (the file is read off the GUI thread) and return whether it succeeded."""
    return asyncio.get_event_loop().run_until_complete(task)


def suites_tab(window):
    window.tabs.setCurrentWidget(window.suites_panel)
    return window.suites_panel


def sent(vendor) -> Counter:
    """(case number, model) of every generation request the vendor saw."""
    seen: Counter = Counter()
    for rec in vendor.requests:
        m = CASE.search((rec.body or b"").decode("utf-8", "replace"))
        if m and rec.model:
            seen[(int(m.group(1)), rec.model)] += 1
    return seen


def start_run(window, tmp_path, *, concurrency=4):
    panel = suites_tab(window)
    assert imported(panel.import_file(suite_file(tmp_path), "six"))
    assert panel.selected_suite_name() == "six"
    panel.set_checked(MODELS)
    panel.concurrency.setValue(concurrency)
    assert panel.start_button.isEnabled()
    panel.start_button.click()
    return panel


def cell_text(panel, case_key, model):
    index = panel.cell_index(case_key, model)
    assert index.isValid(), (case_key, model)
    return index.data()


def test_a_bad_row_is_reported_with_its_line_and_nothing_is_imported(window, tmp_path):
    panel = suites_tab(window)
    assert panel.suite_names() == ["starter"]  # the bundled suite is listed from the start
    starter = panel.suites[0]
    assert starter.cases >= 150 and panel.suite_table.item(0, 0).text() == "starter (built-in)"
    bad = tmp_path / "bad.csv"
    bad.write_text("id,prompt,expect\nc1,hello,answer\nc2,,answer\nc3,bye,sometimes\n", encoding="utf-8")
    assert not imported(panel.import_file(bad, "mine"))
    text = panel.message.text()
    assert panel.message.isVisible()
    assert "nothing imported" in text
    assert "line 3: the prompt is empty" in text and "line 4: expect 'sometimes'" in text
    assert "mine" not in panel.suite_names()
    assert [s.name for s in window.engine.suites.list_suites()] == ["starter"]


def test_run_fills_the_matrix_live_filters_and_a_click_opens_the_case(window, qtbot, vendor, mw_loop, tmp_path):
    script(vendor, delay_ms=120)
    panel = start_run(window, tmp_path, concurrency=2)
    assert panel.running and panel.cancel_button.isEnabled() and not panel.start_button.isEnabled()

    async def live():  # a cell shows its answer while the run is still going
        await until(lambda: panel.current_run_id is not None and panel.matrix_model.rowCount() == 6)
        await until(lambda: "ok · TTFT" in (cell_text(panel, "c1", MODELS[0]) or ""))
        assert panel.running
        assert re.fullmatch(r"\d+ / 18 done", panel.progress_label.text())
        await until(lambda: window.activity_label.text().startswith("Suite run: "))
        assert window.activity_label.isVisible() and " / 18 done" in window.activity_label.text()
        await until(lambda: not panel.running, timeout=20)

    mw_loop.run_until_complete(live())
    assert panel.progress_label.text() == "18 / 18 done"
    assert not window.activity_label.isVisible()  # cleared when the run ended
    assert panel.progress.value() == panel.progress.maximum() == 18
    assert "done: 18 answers" in panel.message.text()

    # The runs list: id, suite, status, done / total.
    run_id = panel.current_run_id
    assert panel.run_ids() == [run_id]
    row = [panel.run_table.item(0, c).text() for c in range(4)]
    assert row == [run_id, "six v1", "done", "18 / 18 done"]
    assert not panel.resume_button.isEnabled() and panel.rate_button.isEnabled()

    # Every cell: status, TTFT, total, cost, the answer's first line, its rating state.
    assert panel.matrix_model.columnCount() == 4
    assert [panel.matrix_model.headerData(c, Qt.Orientation.Horizontal) for c in range(4)] == ["case", *panel.selected_names()]
    assert sorted(panel.selected_names()) == sorted(MODELS)
    gpt = cell_text(panel, "c3", MODELS[0]).split("\n")
    assert re.fullmatch(r"ok · TTFT \d+ ms · \d+ ms · \$[0-9.]+", gpt[0]), gpt
    assert gpt[1:] == ["Four.", "unrated"]
    assert cell_text(panel, "c3", MODELS[2]).split("\n")[0].endswith("no price")  # no price known for it
    assert cell_text(panel, "c3", MODELS[2]).split("\n")[1] == "Hello there friend, here is a long answer."
    # The follow_constraints case carries desk's automatic verdict.
    assert cell_text(panel, "c4", MODELS[1]).split("\n")[2] == "unrated · auto violated"  # 4 words > 3
    assert cell_text(panel, "c4", MODELS[0]).split("\n")[2] == "unrated · auto followed"

    # Filters: expect, tag, rating state.
    assert panel.visible_cases() == ["c1", "c2", "c3", "c4", "c5", "c6"]
    panel.filters.set_filters(expect="answer")
    assert panel.visible_cases() == ["c3", "c5"]
    assert panel.filters.shown_label.text() == "2 of 6 cases"
    panel.filters.set_filters(tag="ops")
    assert panel.visible_cases() == ["c1", "c5"]
    panel.filters.set_filters(expect="answer", tag="ops")
    assert panel.visible_cases() == ["c5"]
    panel.filters.set_filters(expect=NO_EXPECT)
    assert panel.visible_cases() == ["c6"]
    matrix = window.engine.suites.matrix(run_id)
    window.engine.set_rater_name("Ana")
    for model in MODELS:
        cell = matrix.cell(matrix.suite.case("c3").id, model)
        window.engine.ratings.save_rating(cell.response_id, {"outcome": "success", "uncertainty": "confident_correct",
                                                     "constraints": "na", "quality": 4})
    panel.reload_matrix()
    panel.filters.set_filters(rated=RATED)
    assert panel.visible_cases() == ["c3"]
    assert cell_text(panel, "c3", MODELS[0]).split("\n")[2] == "✓ success · confident_correct · q4"
    panel.filters.set_filters(rated=UNRATED)
    assert panel.visible_cases() == ["c1", "c2", "c4", "c5", "c6"]
    panel.filters.set_filters(ANY, ANY, ANY)
    assert len(panel.visible_cases()) == 6

    # A click on a cell opens the case side by side in Trials: every model's answer to it.
    index = panel.cell_index("c2", MODELS[1])
    rect = panel.matrix_view.visualRect(index)
    qtbot.mouseClick(panel.matrix_view.viewport(), Qt.MouseButton.LeftButton, pos=rect.center())
    assert window.tabs.currentIndex() == 0
    trial_id = matrix.cell(matrix.suite.case("c2").id, MODELS[1]).trial_id
    assert window.current_trial_id == trial_id
    assert window.compose.prompt.toPlainText() == CASES[1]["prompt"]
    assert sorted(p.result.model for p in window.grid.panes) == sorted(MODELS)

    # Enter on the current cell does the same.
    suites_tab(window)
    panel.matrix_view.setFocus()
    panel.matrix_view.setCurrentIndex(panel.cell_index("c5", MODELS[0]))
    qtbot.keyClick(panel.matrix_view, Qt.Key.Key_Return)
    assert window.tabs.currentIndex() == 0
    assert window.compose.prompt.toPlainText() == CASES[4]["prompt"]


def test_cancel_mid_run_then_resume_sends_only_what_was_not_answered(window, vendor, mw_loop, tmp_path):
    answer_then_stall(vendor, 4, [m.split("/", 1)[1] for m in MODELS])  # four answers, then two held
    panel = start_run(window, tmp_path, concurrency=2)

    async def cancel_mid_run():
        await asyncio.to_thread(vendor.held, 6)
        await until(lambda: panel.tab.progress is not None and panel.tab.progress[0] == 4, timeout=20)
        panel.cancel_button.click()
        await until(lambda: not panel.running)

    mw_loop.run_until_complete(cancel_mid_run())
    assert "Cancelled" in panel.message.text() and "Resume" in panel.message.text()
    script(vendor)
    run_id = panel.current_run_id
    info = panel.run_info(run_id)
    assert info.status == "interrupted" and info.done == 4
    assert panel.run_table.item(0, 2).text() == "interrupted"
    assert panel.resume_button.isEnabled()
    matrix = window.engine.suites.matrix(run_id)
    answered = {(int(c.case_key[1:]), c.model.split("/", 1)[1]) for c in matrix.cells if c.status == "ok"}
    assert len(answered) == info.done
    before = sent(vendor)

    panel.select_run(run_id)
    panel.resume_button.click()
    assert panel.running
    mw_loop.run_until_complete(until(lambda: not panel.running, timeout=20))
    assert panel.run_info(run_id).status == "done"
    assert panel.progress_label.text() == "18 / 18 done"
    after = sent(vendor)
    for cell in answered:  # each answered cell was sent once, before the cancel, never again
        assert before[cell] == 1 and after[cell] == 1, cell
    assert set(after) == {(n, m.split("/", 1)[1]) for n in range(1, 7) for m in MODELS}
    assert sum(after.values()) - sum(before.values()) == 18 - len(answered)  # only the rest was sent
    assert all(c.status == "ok" for c in window.engine.suites.matrix(run_id).cells)
    assert "ok · TTFT" in cell_text(panel, "c6", MODELS[2])


def test_starter_suite_offer_selects_it_and_ticks_the_models_without_starting(window, vendor):
    window.picker.set_checked({MODELS[0], MODELS[2]})
    window._models_added([])  # nothing new: no offer
    window._models_added(window.engine.providers.configured_models()[:1])
    assert window.banner.action.isVisible() and window.banner.action.text() == "Try the starter suite"
    window.banner.action.click()
    panel = window.suites_panel
    assert window.tabs.currentWidget() is panel
    assert panel.selected_suite_name() == "starter"
    ticked = {str(r) for r in window.picker.selected()}  # the two chosen and the one just added
    assert ticked == {MODELS[0], MODELS[2], str(window.engine.providers.configured_models()[0])}
    assert set(panel.selected_names()) == ticked
    assert not panel.running and vendor.requests == []  # nothing is sent before Start
    assert panel.start_button.isEnabled()
    assert "press Start" in panel.message.text()


def test_a_suite_from_selected_history_trials(window, qtbot, vendor, mw_loop):
    prompts = ["First question?", "Second question?", "Third question?"]
    window.picker.set_checked({MODELS[0]})
    for prompt in prompts:
        window.compose.prompt.setPlainText(prompt)
        window.send()
        run_until(mw_loop, lambda: window._run_task is not None and window._run_task.done())
    history = window.history
    assert history.list.count() == 3
    first = history.list.item(0)
    qtbot.mouseClick(history.list.viewport(), Qt.MouseButton.LeftButton,
                     pos=history.list.visualItemRect(first).center())
    qtbot.mouseClick(history.list.viewport(), Qt.MouseButton.LeftButton, Qt.KeyboardModifier.ControlModifier,
                     pos=history.list.visualItemRect(history.list.item(2)).center())
    ids = history.selected_ids()
    assert len(ids) == 2 and history.make_suite.isEnabled()
    assert window.create_suite_from_trials(ids, "from history")
    panel = window.suites_panel
    assert panel.selected_suite_name() == "from history"
    suite = window.engine.suites.get("from history")
    assert [c.prompt for c in suite.cases] == [prompts[2], prompts[0]]  # newest first, as listed
    assert "Made suite from history v1 of 2 cases" in window.banner.label.text()
    assert not window.create_suite_from_trials([], "empty")
    assert "Select trials" in window.banner.label.text()


def test_welcome_offers_the_starter_suite_once_models_exist(window, qtbot):
    from desk.ui.welcome import WelcomeDialog

    dialog = WelcomeDialog(window.engine, window, candidates=())
    qtbot.addWidget(dialog)
    button = dialog.findChild(QPushButton, "tryStarterSuite")
    assert button is dialog.starter_button and button.isEnabled()  # the fixture's store has models
    dialog.starter_requested.connect(window.try_starter_suite)
    button.click()
    assert window.tabs.currentWidget() is window.suites_panel
    assert window.suites_panel.selected_suite_name() == "starter"
    dialog.reject()


def test_a_suite_exports_off_the_gui_thread_and_reimports_the_same(window, tmp_path, mw_loop, monkeypatch):
    import threading

    from desk.engine import suite_files

    panel = suites_tab(window)
    assert imported(panel.import_file(suite_file(tmp_path), "six"))
    threads: list[str] = []
    real = suite_files.export_suite

    def spy(suite, path):
        threads.append(threading.current_thread().name)
        return real(suite, path)

    monkeypatch.setattr(suite_files, "export_suite", spy)
    task = panel.export_selected(tmp_path / "out.jsonl")
    assert task is not None and not panel.export_button.isEnabled()
    run_until(mw_loop, task.done)
    assert task.result() and panel.export_button.isEnabled()
    assert threads and threading.main_thread().name not in threads
    assert "Exported 6 cases of six v1" in panel.message.text()
    assert imported(panel.import_file(tmp_path / "out.jsonl", "six again"))
    again = window.engine.suites.get("six again")
    assert [c.prompt for c in again.cases] == [c.prompt for c in window.engine.suites.get("six").cases]

    (tmp_path / "taken.jsonl").mkdir()  # a folder where the file should go: a clear message, no crash
    missing = panel.export_selected(tmp_path / "taken.jsonl")
    run_until(mw_loop, missing.done)
    assert missing.result() is False and "cannot write" in panel.message.text()
