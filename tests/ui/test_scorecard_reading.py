"""The scorecard window lets the user choose which verdict of the automatic constraint
checks counts, and says which one a violation rate used."""

from __future__ import annotations

import pytest

pytest.importorskip("PySide6")

from desk.core.ids import new_id
from desk.core.response import ResponseResult, Status, Usage
from desk.core.trial import TrialInput
from desk.ui.scorecard_view import COLUMNS, ScorecardDialog
from tests.ui.qt_helpers import run_until


def test_the_reading_chosen_is_counted_and_named(engine, qtbot, mw_loop):
    trial = engine.store.trials.create(TrialInput("use the keywords"))
    r = ResponseResult(id=new_id(), trial_id=trial, model="p/a", settings={}, status=Status.OK,
                       text="category", total_ms=100.0, ttft_ms=50.0, cost_usd=0.01, usage=Usage(1, 1))
    engine.store.responses.create(r)
    engine.store.responses.finish(r)
    # IFBench's checker says followed, desk's reading says violated.
    engine.store.suites.save_partial_rating(r.id, "auto", {"constraints": "followed"},
                                                 {"constraints_desk": "violated"})
    dialog = ScorecardDialog(engine)
    qtbot.addWidget(dialog)
    column = [c for c, _ in COLUMNS].index("Constraint violations")
    dialog.rater.setText("auto")
    dialog.refresh()
    run_until(mw_loop, lambda: not dialog.computing and dialog.table.rowCount() == 1)
    assert dialog.reading.currentData() == "official"  # the default
    assert dialog.table.item(0, column).text() == "0% (IFBench)"
    dialog.reading.setCurrentIndex(dialog.reading.findData("desk"))  # refreshes by itself
    run_until(mw_loop, lambda: not dialog.computing and dialog.table.item(0, column).text() != "0% (IFBench)")
    assert dialog.table.item(0, column).text() == "100% (desk's reading)"
