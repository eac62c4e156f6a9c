"""The scorecard's cost-against-success chart: a readable y axis when every point has one
value, every model on it (coinciding ones share a labelled point), and caveats a line each."""

from __future__ import annotations

import pytest

pytest.importorskip("PySide6")

import pyqtgraph as pg

from desk.engine.scorecard import ModelScore, cost_success_chart
from desk.engine.session import Engine
from desk.store import open_store
from desk.ui import frame_queue
from desk.ui.scorecard_view import ScorecardDialog
from tests.ui.qt_helpers import run_until

COST = 0.0002975


def score(model: str, rate: float | None, cost: float | None, successes: int = 2) -> ModelScore:
    return ModelScore(model=model, n_rated=4, success_rate=rate, success_ci=(0.2, 0.9) if rate else None,
                      cost_per_success_usd=cost, successes=successes,
                      warnings=["success rate: fewer than 5 rated answers", "p95: too few answers"])


SCORES = [score("openai/gpt-4o-mini", 0.5, COST), score("claude/claude-sonnet-4-5", 0.5, COST),
          score("local/llama3.2", 0.0, None, successes=0), score("gemini/gemini-2.0-flash", None, None)]


def test_chart_points_and_range_rule():
    points, (low, high) = cost_success_chart(SCORES)
    assert (low, high) == (0.0, pytest.approx(COST * 1.3))
    shared, none = points
    assert shared.models == ("openai/gpt-4o-mini", "claude/claude-sonnet-4-5") and shared.y == COST
    assert none.models == ("local/llama3.2",) and none.cost is None and none.y == high
    assert "no success yet" in none.label


@pytest.fixture
def dialog(qtbot, tmp_path, mw_loop):
    store = open_store(tmp_path / "chart.db")
    engine = Engine(store)
    d = ScorecardDialog(engine)
    qtbot.addWidget(d)
    run_until(mw_loop, lambda: not d.computing)
    yield d
    mw_loop.run_until_complete(engine.aclose())
    store.close()


def test_the_plot_is_shown_once_there_are_figures(qtbot, tmp_path, mw_loop):
    # Until then a note holds its place: its empty axes painted as the dialog opened, and
    # again as the table filled, 15-26 ms each.
    store = open_store(tmp_path / "waiting.db")
    engine = Engine(store)
    d = ScorecardDialog(engine)
    qtbot.addWidget(d)
    d.show()
    assert d.computing and d.plot_place.currentWidget() is not d.plot
    assert "appears once the scorecard is computed" in d.plot_place.currentWidget().text()
    run_until(mw_loop, lambda: not d.computing)
    mw_loop.run_until_complete(frame_queue.idle())
    assert d.plot_place.currentWidget() is d.plot and d.plot.isVisible() and d.plot.updatesEnabled()
    mw_loop.run_until_complete(engine.aclose())
    store.close()


def texts(dialog) -> list[str]:
    return [item.toPlainText() for item in dialog.plot.getPlotItem().items if isinstance(item, pg.TextItem)]


def test_one_shared_value_gets_a_readable_axis_and_every_model(dialog, mw_loop):
    dialog.show_scores(SCORES)
    # The table now, the plot on the next turn of the loop (both at once held the window 30-40 ms).
    assert dialog.table.rowCount() == len(SCORES) and not texts(dialog)
    mw_loop.run_until_complete(frame_queue.idle())
    assert dialog.plot.updatesEnabled()  # made on one turn, painted on the next
    low, high = dialog.plot.getViewBox().viewRange()[1]
    assert low <= 0 and high >= COST * 1.3  # not a sliver around 0.0002975
    axis = dialog.plot.getAxis("left")
    ticks = [v for _spacing, values in axis.tickValues(low, high, 400) for v in values]
    labels = axis.tickStrings(ticks, 1.0, ticks[1] - ticks[0])
    assert len(set(labels)) == len(labels) > 2  # every tick says something different
    shown = "\n".join(texts(dialog))
    for model in ("openai/gpt-4o-mini", "claude/claude-sonnet-4-5", "local/llama3.2"):
        assert model in shown
    caveats = dialog.note.text().split("\n")
    assert len(caveats) == 8 and all(line.startswith("• ") for line in caveats)
