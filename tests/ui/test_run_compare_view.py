"""The Suites tab's "Compare runs…": two weekly runs of a suite against the loopback vendor,
the second slower, served a new model version and no longer asking the clarifying questions
the cases need. The dialog opens on the selected run against the one before it, shows worse
figures in the error colour, the flipped cases side by side one click away, and the suite's
history plot with a star where the served model changed."""

from __future__ import annotations

import asyncio
import json

import pytest

pytest.importorskip("PySide6")
pytest.importorskip("pyqtgraph")

from PySide6.QtGui import QColor

from desk.core.trial import ModelRef
from desk.engine.run_compare_tab import COLUMNS
from desk.ui import defs
from desk.ui.run_compare_view import RunCompareDialog
from tests.vendor_server import Script

MODEL = "openai/gpt-4o-mini"
CASES = 12


def _week(window, mw_loop, vendor, script: Script, uncertainty: str) -> str:
    vendor.set_default("gpt-4o-mini", script)
    engine = window.engine
    result = mw_loop.run_until_complete(engine.suites.run("weekly", [ModelRef.parse(MODEL)]))
    assert result.ok == CASES
    for item in result.responses:
        engine.ratings.save_rating(item.response.id, {"outcome": "success", "uncertainty": uncertainty,
                                                      "constraints": "na", "quality": 3}, rater="ana")
    return result.run_id


@pytest.fixture
def two_weeks(window, mw_loop, vendor, tmp_path) -> tuple[str, str]:
    path = tmp_path / "weekly.jsonl"
    path.write_text("".join(json.dumps({"id": f"case-{i:02}", "prompt": f"Task {i}", "expect": "clarify"}) + "\n"
                            for i in range(CASES)), encoding="utf-8")
    window.engine.suites.import_suite(path, "weekly")
    first = _week(window, mw_loop, vendor, Script(fingerprint="fp_1"), "asked_clarifying")
    second = _week(window, mw_loop, vendor, Script(fingerprint="fp_2", first_token_delay_ms=300,
                                                   text_pieces=["Sure: ", "done."]), "confident_correct")
    return first, second


def _open(window, run_id) -> RunCompareDialog:
    panel = window.suites_panel
    window.tabs.setCurrentWidget(panel)
    panel.refresh_runs()
    assert panel.select_run(run_id)
    assert panel.compare_button.isEnabled()
    panel.compare_button.click()
    dialog = panel.dialogs.compare
    assert isinstance(dialog, RunCompareDialog) and dialog.isVisible() and not dialog.isModal()
    return dialog


def _cells(dialog, figure_label: str) -> list[str]:
    table = dialog.table
    for r in range(table.rowCount()):
        if table.item(r, 1).text() == figure_label:
            return [table.item(r, c).text() for c in range(table.columnCount())]
    raise AssertionError(figure_label)


def test_worse_figures_in_the_error_colour_with_the_flipped_cases_one_click_away(window, qtbot, two_weeks):
    first, second = two_weeks
    dialog = _open(window, second)
    assert (dialog.run_a.currentData(), dialog.run_b.currentData()) == (first, second)
    assert [dialog.table.horizontalHeaderItem(c).text() for c in range(len(COLUMNS))] == list(COLUMNS)

    asked = _cells(dialog, "Asked clarifying")
    assert asked[:6] == [MODEL, "Asked clarifying", "12", "100.0%", "0.0%", "-100.0%"]
    assert asked[COLUMNS.index("Flag")] == "WORSE" and asked[COLUMNS.index("Source")] == "people"
    assert asked[COLUMNS.index("p")] == f"{2 / 2**CASES:.2g}"
    assert asked[-1] == "gpt-4o-mini (fp_1) → gpt-4o-mini (fp_2)"
    assert _cells(dialog, "TTFT p50 (ms)")[COLUMNS.index("Flag")] == "WORSE"
    assert _cells(dialog, "Success")[COLUMNS.index("Flag")] == ""
    row = next(r for r in range(dialog.table.rowCount()) if dialog.table.item(r, 1).text() == "Asked clarifying")
    assert dialog.table.item(row, 3).foreground().color() == QColor(defs.error_text())
    ok_row = next(r for r in range(dialog.table.rowCount()) if dialog.table.item(r, 1).text() == "Success")
    assert dialog.table.item(ok_row, 3).foreground().color() != QColor(defs.error_text())
    assert "Worse: " in dialog.summary.text() and "asked clarifying" in dialog.summary.text()

    dialog.table.selectRow(row)  # the evidence: every case flipped, both answers side by side
    ev = dialog.evidence
    assert ev.rowCount() == CASES and "12 cases whose verdict flipped" in dialog.evidence_title.text()
    assert [ev.item(0, c).text() for c in range(3)] == ["case-00", "yes", "no"]
    assert ev.item(0, 3).text() == "Hello, world." and ev.item(0, 4).text() == "Sure: done."

    dialog.table.selectRow(next(r for r in range(dialog.table.rowCount())
                                if dialog.table.item(r, 1).text() == "TTFT p50 (ms)"))
    assert ev.rowCount() == CASES and float(ev.item(0, 2).text().replace(",", "")) >= 300


def test_the_history_plot_draws_a_line_per_model_with_bars_and_a_star_at_the_change(window, qtbot, two_weeks):
    _, second = two_weeks
    dialog = _open(window, second)
    dialog.tabs.setCurrentIndex(1)
    dialog.figure.setCurrentIndex(dialog.figure.findData("ttft_p50"))
    (series,) = dialog.history_series
    assert series.model == MODEL and len(series.xs) == 2 and series.ys[1] > 300 > series.ys[0]
    assert all(lo <= y <= hi for lo, y, hi in zip(series.lo, series.ys, series.hi, strict=True))
    assert series.changed == (1,) and "gpt-4o-mini (fp_1) → gpt-4o-mini (fp_2)" in dialog.history_note.text()
    kinds = [type(item).__name__ for item in dialog.plot.getPlotItem().items]
    assert kinds.count("PlotDataItem") == 1 and "ErrorBarItem" in kinds and "ScatterPlotItem" in kinds
    assert not dialog.plot.updatesEnabled()  # made in this turn of the loop, painted on the next
    qtbot.waitUntil(dialog.plot.updatesEnabled)

    dialog.figure.setCurrentIndex(dialog.figure.findData("asked_clarifying"))
    (series,) = dialog.history_series
    assert series.ys == (100.0, 0.0)


def test_a_suite_with_one_run_says_to_run_it_again(window, qtbot, mw_loop, vendor, tmp_path):
    path = tmp_path / "weekly.jsonl"
    path.write_text("".join(json.dumps({"id": f"case-{i:02}", "prompt": f"Task {i}"}) + "\n" for i in range(CASES)),
                    encoding="utf-8")
    window.engine.suites.import_suite(path, "weekly")
    only = _week(window, mw_loop, vendor, Script(), "confident_correct")
    dialog = _open(window, only)
    assert dialog.table.rowCount() == 0 and "one run so far" in dialog.summary.text()


def test_big_runs_are_compared_and_their_history_read_off_the_gui_thread(window, mw_loop, two_weeks, monkeypatch):
    """Runs of more than BIG_RUN answers (two 100,000-answer runs took 49 s to compare on the
    GUI thread) are compared, and the suite's timeline read, on a worker's own connection:
    the dialog says so, then shows what the small runs' path shows."""
    from desk.engine import suites_tab
    from tests.ui.test_suites_big_run import on_gui_connection

    first, second = two_weeks
    here = _open(window, second)  # small runs: read on the GUI thread
    expected = [[here.table.item(r, c).text() for c in range(here.table.columnCount())]
                for r in range(here.table.rowCount())]
    expected_series = here.history_series
    here.close()

    monkeypatch.setattr(suites_tab, "BIG_RUN", 5)  # these runs of 12 answers count as big
    store = window.engine.store
    on_gui = on_gui_connection(monkeypatch, store, "cell_figures")
    dialog = _open(window, second)
    assert dialog.summary.text() == "Comparing the two runs…" and dialog.table.rowCount() == 0
    assert dialog.history_note.text() == "Reading the suite's runs…"
    mw_loop.run_until_complete(asyncio.wait_for(dialog.reads.settled(), 10))
    assert [[dialog.table.item(r, c).text() for c in range(dialog.table.columnCount())]
            for r in range(dialog.table.rowCount())] == expected
    assert dialog.history_series == expected_series and dialog.history_series
    assert on_gui and not any(on_gui)  # read on the worker's own connection

    dialog.run_a.setCurrentIndex(dialog.run_a.findData(second))  # the same run twice: nothing to read
    assert dialog.summary.text() == "Choose two different runs of the suite."
    dialog.run_a.setCurrentIndex(dialog.run_a.findData(first))
    dialog.close()  # mid-read: nothing is shown
    mw_loop.run_until_complete(asyncio.wait_for(dialog.reads.settled(), 10))
    assert dialog.table.rowCount() == 0
