"""At laptop sizes the Load tab's plots show their titles and legends whole."""

from __future__ import annotations

import pytest

pytest.importorskip("PySide6")

from tests.ui.qt_helpers import run_until
from tests.ui.test_load_view import CLAUDE, OPENAI, fill, start
from tests.vendor_server import LoadProfile


def cut_parts(plot) -> list[str]:
    """The title or legend of `plot` that is wider than the plot itself."""
    item = plot.getPlotItem()
    width = plot.width()
    bad = []
    title = item.titleLabel.item.boundingRect().width()
    if title > width:
        bad.append(f"{plot.objectName()} title {title:.0f} > {width}")
    legend = item.legend
    if legend is not None and legend.items:
        box = legend.mapRectToScene(legend.boundingRect())
        scene = plot.sceneRect() if hasattr(plot, "sceneRect") else plot.scene().sceneRect()
        if box.left() < scene.left() - 1 or box.right() > scene.right() + 1:
            bad.append(f"{plot.objectName()} legend {box.left():.0f}..{box.right():.0f} outside 0..{width}")
    return bad


@pytest.mark.parametrize("size", [(1024, 700), (1366, 768)])
def test_plot_titles_and_legends_fit_at_laptop_sizes(window, qtbot, vendor, mw_loop, size):
    vendor.set_load("gpt-4o-mini", LoadProfile(error_rate=0.3, seed=0))  # errors: the scatter's longer legend
    panel = window.load_panel
    window.resize(*size)
    fill(panel, qtbot, {OPENAI, CLAUDE}, requests=12, concurrency=4)
    finished = start(panel, qtbot)
    run_until(mw_loop, lambda: finished, timeout=15)
    qtbot.wait(100)
    plots = [panel.cdf_plot, panel.time_plot, panel.step_plot, panel.limit_requests_plot, panel.limit_tokens_plot]
    assert [bad for plot in plots for bad in cut_parts(plot)] == []
