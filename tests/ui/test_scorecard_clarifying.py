"""The scorecard window shows what came of asking (issue 16), as `desk scorecard
--clarifying` prints it: per model, asked → then succeeded, asked needlessly, guessed →
succeeded and guessed → failed, each k/n with its rate and 95% Wilson interval, computed
while its box is ticked and again for each refresh of the filters."""

from __future__ import annotations

import pytest

pytest.importorskip("PySide6")

from desk.core.conversation import TurnLink
from desk.core.ids import new_id
from desk.core.response import ResponseResult, Status, Usage
from desk.core.statistics import wilson_interval
from desk.core.trial import TrialInput
from desk.ui.clarifying_table import COLUMNS
from desk.ui.scorecard_view import ScorecardDialog
from tests.ui.qt_helpers import run_until

REST = {"constraints": "na", "quality": 3}


def _answer(store, trial: str, text: str, rater: str, outcome: str, uncertainty: str) -> str:
    r = ResponseResult(id=new_id(), trial_id=trial, model="p/a", settings={}, status=Status.OK, text=text,
                       total_ms=100.0, ttft_ms=50.0, cost_usd=0.01, usage=Usage(1, 1))
    store.responses.create(r)
    store.responses.finish(r)
    store.ratings.save(r.id, rater, {"outcome": outcome, "uncertainty": uncertainty, **REST})
    return r.id


def seed(store) -> None:
    """Model p/a: two tasks asked a needed question and went on (one then succeeded), one
    asked needlessly, three guessed (two succeeded); bo rated only one guess."""
    for after in ("success", "failure"):
        trial = store.trials.create(TrialInput("How did sales do?"))
        asked = _answer(store, trial, "Which quarter do you mean?", "ana", "failure", "asked_clarifying")
        told = _answer(store, trial, "Q3 grew 4%.", "ana", after, "confident_correct")
        store.turns.add(TurnLink(told, asked, 2, "The third."))
    _answer(store, store.trials.create(TrialInput("Add 2 and 2.")), "Do you want it in words?", "ana", "failure",
            "needless_question")
    for i, outcome in enumerate(("success", "success", "failure")):
        _answer(store, store.trials.create(TrialInput(f"Task {i}")), "Done.", "ana", outcome, "confident_correct")
    _answer(store, store.trials.create(TrialInput("Task bo")), "Done.", "bo", "failure", "confident_wrong")


def _row(dialog) -> dict[str, str]:
    table = dialog.clarifying.table
    return {title: table.item(0, c).text() for c, (title, _) in enumerate(COLUMNS)}


def _share(k: int, n: int) -> str:
    lo, hi = wilson_interval(k, n)
    return f"{k}/{n} {k / n:.0%} [{lo * 100:.0f}–{hi * 100:.0f}%]"


def test_the_clarifying_figures_with_n_and_wilson_intervals(engine, qtbot, mw_loop):
    seed(engine.store)
    dialog = ScorecardDialog(engine)
    qtbot.addWidget(dialog)
    dialog.show()
    run_until(mw_loop, lambda: not dialog.computing)
    assert not dialog.clarifying.table.isVisible()  # off until asked for: it reads on this thread
    dialog.clarifying.toggle.click()
    assert dialog.clarifying.table.isVisible() and dialog.clarifying.table.rowCount() == 1
    assert _row(dialog) == {
        "Model": "p/a", "Asked → then succeeded": _share(1, 2), "Asked needlessly": _share(1, 3),
        "Guessed → succeeded": _share(2, 4), "Guessed → failed": _share(2, 4), "Extra turn": "2"}
    assert _share(1, 2) == "1/2 50% [9–91%]"  # by hand: Wilson 95% of 1 in 2

    dialog.rater.setText("bo")  # a refresh recomputes them for the new filters
    run_until(mw_loop, lambda: not dialog.computing)
    dialog.refresh()
    run_until(mw_loop, lambda: not dialog.computing)
    assert _row(dialog)["Guessed → failed"] == _share(1, 1)
    assert _row(dialog)["Asked → then succeeded"] == "0/0 -"
