"""Room kept for panes still to come (PaneGrid.reserve, the rating queue's answers placed one
per turn): the first pane shows at its final width, and the rest take the room in order
without moving it."""

from __future__ import annotations

import pytest

pytest.importorskip("PySide6")

from desk.ui.pane_grid import PaneGrid


def test_the_panes_shown_keep_their_width_as_the_rest_arrive(qtbot):
    grid = PaneGrid()
    qtbot.addWidget(grid)
    grid.resize(1200, 500)
    grid.show()
    qtbot.waitExposed(grid)
    first = grid.add_pane("a")
    grid.reserve(2)
    qtbot.wait(20)
    assert grid.columns() == 3
    width = first.width()
    assert width < grid.width() / 2  # a third of the row, not all of it
    for title in ("b", "c"):
        grid.add_pane(title)
        qtbot.wait(20)
        assert abs(first.width() - width) <= 2
    assert grid.columns() == 3 and grid._arrangement.count() == 3  # the room is theirs now
    assert len({p.width() for p in grid.panes}) == 1 or max(p.width() for p in grid.panes) - min(
        p.width() for p in grid.panes) <= 2
    grid.clear()
    assert grid.columns() == 0
