"""The Load tab's plots: latency CDF, latency over the run, what the vendor's rate-limit
headers said was left, p95 per concurrency step. They draw `LoadTabModel.live`; while a run
streams in, one plot per tick (`STAGGER_MS` apart) with axes that only grow, so no single
frame holds the window long."""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import Qt, QTimer
from PySide6.QtWidgets import QGridLayout, QVBoxLayout, QWidget

from desk.engine.load_tab import LoadTabModel
from desk.ui import defs

STAGGER_MS = 50  # one plot at a time, this far apart
MAX_SCATTER = 4000  # per series while drawing; the stored run keeps every request
RATE_LIMITED_COLOUR = "#f9a825"


def _thin(xs: Sequence[float], ys: Sequence[float], limit: int = MAX_SCATTER) -> tuple[np.ndarray, np.ndarray]:
    x, y = np.asarray(xs, dtype=float), np.asarray(ys, dtype=float)
    if len(x) > limit:
        stride = int(np.ceil(len(x) / limit))
        x, y = x[::stride], y[::stride]
    return x, y


class _PlotGrid(QWidget):
    """The four plots in one row where each gets room for its title and legend, else in two
    rows of two (a laptop screen): a pyqtgraph plot narrower than its title or legend draws
    them clipped."""

    ROW_MIN = 4 * 300  # below this width, two rows

    def __init__(self, widgets: list[QWidget]) -> None:
        super().__init__()
        self.widgets = widgets
        self._grid = QGridLayout(self)
        self._grid.setContentsMargins(0, 0, 0, 0)
        self._grid.setSpacing(4)
        self.across = 0
        self._place(len(widgets))

    def _place(self, across: int) -> None:
        if across == self.across:
            return
        self.across = across
        for widget in self.widgets:
            self._grid.removeWidget(widget)
        for i, widget in enumerate(self.widgets):
            self._grid.addWidget(widget, i // across, i % across)
        for c in range(len(self.widgets)):
            self._grid.setColumnStretch(c, 1 if c < across else 0)
        for r in range(len(self.widgets)):
            self._grid.setRowStretch(r, 1 if r < math.ceil(len(self.widgets) / across) else 0)

    def resizeEvent(self, event: Any) -> None:
        self._place(len(self.widgets) if self.width() >= self.ROW_MIN else 2)
        super().resizeEvent(event)


class LoadCharts:
    """The plots of the Load tab, laid out in `widget`, drawn from `model`."""

    def __init__(self, parent: QWidget, model: LoadTabModel) -> None:
        self.model = model
        self.redraws = 0
        self._stagger = QTimer(parent)
        self._stagger.setSingleShot(True)
        self._stagger.setInterval(STAGGER_MS)
        self._stagger.timeout.connect(self._draw_next)
        self._dirty: list[str] = []
        pg.setConfigOptions(background="w", foreground="k")
        self.cdf_plot = self._plot("loadCdfPlot", "Latency CDF (ok requests)", "total latency, ms",
                                   "fraction of requests")
        self.cdf_plot.setYRange(0, 1)
        self.time_plot = self._plot("loadTimePlot", "Latency over the run", "request start, ms since run start",
                                    "total latency, ms")
        self.step_plot = self._plot("loadStepPlot", "p95 total vs concurrency", "concurrency", "p95 total, ms")
        # The vendor's rate-limit headers over the run, next to latency: what it said was left.
        # Short titles: a pyqtgraph plot cannot get narrower than its title, and a wider plot
        # than its slot is drawn clipped, not shrunk.
        self.limit_requests_plot = self._plot("loadLimitRequestsPlot", "Requests left",
                                              "ms since run start", "requests")
        self.limit_tokens_plot = self._plot("loadLimitTokensPlot", "Tokens left",
                                            "ms since run start", "tokens")
        limits = QWidget()
        column = QVBoxLayout(limits)
        column.setContentsMargins(0, 0, 0, 0)
        for plot in (self.limit_requests_plot, self.limit_tokens_plot):
            plot.setToolTip("What the vendor's rate-limit headers said was left "
                            "(x-ratelimit-remaining-*, anthropic-ratelimit-*-remaining)")
            plot.setMinimumHeight(55)  # stacked, the pair is no taller than one plot at its minimum
            column.addWidget(plot, 1)
        self.widget = _PlotGrid([self.cdf_plot, self.time_plot, limits, self.step_plot])

    def draw_soon(self) -> None:
        """New requests arrived: redraw each plot in turn."""
        self._dirty = ["cdf", "time", "limits", "steps"]
        self._draw_next()

    @staticmethod
    def _plot(name: str, title: str, bottom: str, left: str) -> pg.PlotWidget:
        plot = pg.PlotWidget()
        plot.setObjectName(name)
        plot.setTitle(title)
        plot.setLabel("bottom", bottom)
        plot.setLabel("left", left)
        for axis in ("bottom", "left"):
            plot.getAxis(axis).enableAutoSIPrefix(False)
        plot.showGrid(x=True, y=True, alpha=0.3)
        plot.setMinimumSize(85, 120)  # four plots side by side fit where three of 120 did
        plot.addLegend(offset=(-10, 10))
        return plot

    def reset(self, budget_ms: float | None) -> None:
        """Empty plots for a new run (or a reopened one)."""
        self._stagger.stop()
        self._dirty = []
        for plot in (self.cdf_plot, self.time_plot, self.step_plot, self.limit_requests_plot,
                     self.limit_tokens_plot):
            plot.clear()
            plot.disableAutoRange()
            plot.setRange(xRange=(0, 1), yRange=(0, 1), padding=0)
        self._limit_curves: dict[tuple[str, str], pg.PlotDataItem] = {}
        # Where the first 429 came: one dashed line on the latency and rate-limit plots.
        self._first_429_lines: list[pg.InfiniteLine] = []
        for plot in (self.time_plot, self.limit_requests_plot, self.limit_tokens_plot):
            line = pg.InfiniteLine(angle=90, pen=pg.mkPen(RATE_LIMITED_COLOUR, width=2, style=Qt.PenStyle.DashLine),
                                   label="first 429", labelOpts={"position": 0.9, "color": RATE_LIMITED_COLOUR})
            line.setVisible(False)
            plot.addItem(line)
            self._first_429_lines.append(line)
        self._cdf_curves: dict[str, pg.PlotDataItem] = {}
        self._ok_scatter: dict[str, pg.ScatterPlotItem] = {}
        self._step_curves: dict[str, pg.PlotDataItem] = {}
        self._err_scatter = pg.ScatterPlotItem(symbol="x", size=9, pen=pg.mkPen(defs.ERROR_COLOUR, width=2),
                                               brush=pg.mkBrush(defs.ERROR_COLOUR), name="errors")
        self._limited_scatter = pg.ScatterPlotItem(symbol="t", size=11, pen=pg.mkPen(RATE_LIMITED_COLOUR),
                                                   brush=None, name="got a 429")
        self.time_plot.addItem(self._err_scatter)
        self.time_plot.addItem(self._limited_scatter)
        self._budget_line: pg.InfiniteLine | None = None
        if budget_ms is not None:
            self._budget_line = pg.InfiniteLine(
                pos=budget_ms, angle=0, pen=pg.mkPen(defs.ERROR_COLOUR, width=1, style=Qt.PenStyle.DashLine),
                label=f"p95 budget {budget_ms:,.0f} ms", labelOpts={"position": 0.1, "color": defs.ERROR_COLOUR},
            )
            self.step_plot.addItem(self._budget_line)

    def colour(self, model: str) -> str:
        if model not in self.model.live.models:
            self.model.live.models.append(model)
        return defs.CHART_COLOURS[self.model.live.models.index(model) % len(defs.CHART_COLOURS)]

    def redraw(self, summary: dict[str, Any] | None = None) -> None:
        """Draw all three plots now and fit them to their data (a finished or reopened run)."""
        self._stagger.stop()
        self._dirty.clear()
        self.redraws += 1
        self._draw_cdf(fit=True)
        self._draw_time(fit=True)
        self._draw_limits(fit=True)
        self._draw_steps(summary, fit=True)

    def _draw_next(self) -> None:
        """While a run streams in, one plot per tick: a repaint of the three at once (and
        pyqtgraph's second pass after a range change) would hold the GUI for a frame too long."""
        if not self._dirty:
            return
        which = self._dirty.pop(0)
        if which == "cdf":
            self.redraws += 1
            self._draw_cdf()
        elif which == "time":
            self._draw_time()
        elif which == "limits":
            self._draw_limits()
        else:
            self._draw_steps(None)
        if self._dirty:
            self._stagger.start()

    def _draw_cdf(self, fit: bool = False) -> None:
        top = 0.0
        for model in list(self.model.live.models):
            totals = sorted(self.model.live.ok_totals.get(model, []))
            if not totals:
                continue
            curve = self._cdf_curves.get(model)
            if curve is None:
                curve = self.cdf_plot.plot([], [], pen=pg.mkPen(self.colour(model), width=2), name=model)
                self._cdf_curves[model] = curve
            n = len(totals)
            curve.setData(np.asarray(totals, dtype=float), np.arange(1, n + 1, dtype=float) / n)
            top = max(top, totals[-1])
        self._fit(self.cdf_plot, top, 1.0, fit, fixed_top=True)

    def _draw_time(self, fit: bool = False) -> None:
        live = self.model.live
        right = top = 0.0
        for model in list(live.models):
            xs, ys = live.ok_points.get(model, ([], []))
            if not xs:
                continue
            scatter = self._ok_scatter.get(model)
            if scatter is None:
                colour = self.colour(model)
                scatter = pg.ScatterPlotItem(symbol="o", size=5, pen=None, brush=pg.mkBrush(colour), name=model)
                self.time_plot.addItem(scatter)
                self._ok_scatter[model] = scatter
            scatter.setData(*_thin(xs, ys))
            right, top = max(right, max(xs)), max(top, max(ys))
        for scatter, (xs, ys) in ((self._err_scatter, live.err_points), (self._limited_scatter, live.limited_points)):
            if xs:
                scatter.setData(*_thin(xs, ys))
                right, top = max(right, max(xs)), max(top, max(ys))
        self._fit(self.time_plot, right, top, fit)

    def _draw_limits(self, fit: bool = False) -> None:
        """Remaining requests and tokens per model over the run, and the first 429's line."""
        live = self.model.live
        first = live.first_429_ms
        for line in self._first_429_lines:
            if first is not None:
                line.setValue(first)
            line.setVisible(first is not None)
        for plot, series, kind in ((self.limit_requests_plot, live.left_requests, "requests"),
                                   (self.limit_tokens_plot, live.left_tokens, "tokens")):
            right = first or 0.0
            top = 0.0
            for model, (xs, ys) in list(series.items()):
                if not xs:
                    continue
                curve = self._limit_curves.get((kind, model))
                if curve is None:
                    colour = self.colour(model)
                    curve = plot.plot([], [], pen=pg.mkPen(colour, width=1.5), symbol="o", symbolSize=3,
                                      symbolBrush=colour, symbolPen=None, name=model)
                    self._limit_curves[(kind, model)] = curve
                x, y = np.asarray(xs, dtype=float), np.asarray(ys, dtype=float)
                order = np.argsort(x, kind="stable")  # outcomes arrive as they finish, not as they started
                curve.setData(*_thin(x[order], y[order]))
                right, top = max(right, float(x.max())), max(top, float(y.max()))
            self._fit(plot, right, top, fit)

    def limit_series(self, kind: str = "requests") -> dict[str, tuple[list[float], list[float]]]:
        """What is plotted as remaining `requests` or `tokens`: model -> (ms since start, value)."""
        series = self.model.live.left_requests if kind == "requests" else self.model.live.left_tokens
        return {m: (list(xs), list(ys)) for m, (xs, ys) in series.items() if xs}

    def _draw_steps(self, summary: dict[str, Any] | None, fit: bool = False) -> None:
        right = top = 0.0
        for model in list(self.model.live.models):
            points = self.model.step_points(model, summary)
            if not points:
                continue
            curve = self._step_curves.get(model)
            if curve is None:
                colour = self.colour(model)
                curve = self.step_plot.plot([], [], pen=pg.mkPen(colour, width=2), symbol="o", symbolBrush=colour,
                                            symbolPen=None, symbolSize=7, name=model)
                self._step_curves[model] = curve
            curve.setData([float(c) for c, _ in points], [p for _, p in points])
            right = max(right, max(c for c, _ in points))
            top = max(top, max(p for _, p in points))
        if self.model.budget_ms is not None:
            top = max(top, self.model.budget_ms)
        self._fit(self.step_plot, right, top, fit)

    @staticmethod
    def _fit(plot: pg.PlotWidget, right: float, top: float, exact: bool, *, fixed_top: bool = False) -> None:
        """Ranges from 0: exact at the end; during a run they only grow, with headroom, so
        most refreshes repaint the data without laying the axes out again. `fixed_top`: the
        y range is [0, top] whatever comes (a fraction)."""
        if right <= 0 and top <= 0:
            return
        (_, x1), (_, y1) = plot.getViewBox().viewRange()
        if exact:
            y_top = top * (1.02 if fixed_top else 1.05) or 1
            plot.setRange(xRange=(0, right * 1.05 or 1), yRange=(0, y_top), padding=0)
        elif right > x1 or top > y1:
            y_top = top * 1.02 if fixed_top else max(top * 1.3, y1)
            plot.setRange(xRange=(0, max(right * 1.3, x1)), yRange=(0, y_top), padding=0)

