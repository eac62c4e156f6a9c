"""The answer area: panes that share the width, resizable by dragging, in one of three layouts.

Up to four panes sit side by side in a splitter and share the width. With more, the user
chooses (and desk remembers) how they are shown: columns four to a screen with a
horizontal scroll and an "n more →" cue, two rows of columns, or one tab per answer. One
pane can be maximised and brought back to the row; all panes can scroll together.
"""

from __future__ import annotations

import math

from PySide6.QtCore import QEvent, Qt, QTimer, Signal
from PySide6.QtWidgets import (
    QAbstractScrollArea,
    QFrame,
    QLabel,
    QScrollArea,
    QScrollBar,
    QSplitter,
    QStackedWidget,
    QTabWidget,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from desk.ui import defs, frame_queue
from desk.ui.response_pane import ResponsePane

COLUMNS, ROWS, TABS = "columns", "rows", "tabs"
LAYOUTS = (COLUMNS, ROWS, TABS)
LAYOUT_NAMES = {COLUMNS: "Columns (scroll sideways)", ROWS: "Two rows", TABS: "Tabs"}
SIDE_BY_SIDE = 4  # panes across one screen before the rest scroll in
MAX_SPARES = 32  # panes made ahead, while the window is idle, for the next send


class PaneGrid(QWidget):
    """Panes side by side (or in two rows, or in tabs); `scroll` is the area that holds them."""

    layout_changed = Signal(str)

    def __init__(self, parent: QWidget | None = None, layout: str = COLUMNS) -> None:
        super().__init__(parent)
        self.panes: list[ResponsePane] = []
        self.mode = layout if layout in LAYOUTS else COLUMNS
        self.maximised: ResponsePane | None = None
        self.linked = False
        self._syncing = False
        col = QVBoxLayout(self)
        col.setContentsMargins(0, 0, 0, 0)
        self.stack = QStackedWidget()
        col.addWidget(self.stack)

        self.scroll = QScrollArea()
        self.scroll.setObjectName("paneScroll")
        self.scroll.setWidgetResizable(True)
        self.scroll.setFrameShape(QFrame.Shape.NoFrame)
        self.scroll.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAsNeeded)
        # Panes always fit the height (their answers scroll inside): scrolling the area up
        # and down would take a pane's header and answer out of view while rating.
        self.scroll.setVerticalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.body = QWidget()
        self._body = QVBoxLayout(self.body)
        self._body.setContentsMargins(0, 0, 0, 0)
        self.placeholder = QLabel("Answers appear here side by side. Pick models on the right, "
                                  "write or paste a prompt, and press Ctrl+Enter.")
        self.placeholder.setStyleSheet(f"color: {defs.muted()}; padding: 24px;")
        self.placeholder.setWordWrap(True)
        self.placeholder.setAlignment(Qt.AlignmentFlag.AlignTop | Qt.AlignmentFlag.AlignLeft)
        self._body.addWidget(self.placeholder)
        self.scroll.setWidget(self.body)
        self.stack.addWidget(self.scroll)
        self.tabs = QTabWidget()
        self.tabs.setObjectName("paneTabs")
        self.tabs.setDocumentMode(True)
        self.stack.addWidget(self.tabs)
        self._parking = QWidget()  # never shown: holds the panes a maximised one hides
        self._slots: list[QWidget] = []  # room kept for panes still to come (reserve)
        self._arrangement: QWidget | None = None

        # The cue that more answers wait to the right; a click brings the next one in.
        self.more = QToolButton(self)
        self.more.setObjectName("paneMore")
        self.more.setToolTip("More answers to the right: click, or scroll sideways")
        self.more.setStyleSheet(f"QToolButton {{ background: {defs.info_tint()}; border-radius: 4px; "
                                "padding: 3px 8px; font-weight: bold; }")
        self.more.clicked.connect(self.show_next)
        self.more.setVisible(False)
        bar = self.scroll.horizontalScrollBar()
        bar.valueChanged.connect(self._update_more)
        bar.rangeChanged.connect(lambda *_: self._update_more())
        self._relayout_timer = QTimer(self)
        self._relayout_timer.setSingleShot(True)
        self._relayout_timer.timeout.connect(self._settle_added)
        # Panes made ahead while nothing else happens (one per pass, never during a
        # frame's queued work), so a send's panes cost only their placing (issue 21).
        self._spares: list[ResponsePane] = []
        self._spares_wanted = 0
        self._spare_timer = QTimer(self)
        self._spare_timer.setSingleShot(True)
        self._spare_timer.timeout.connect(self._make_spare)

    # --- panes -----------------------------------------------------------------------------
    def clear(self) -> None:
        self.maximised = None
        for pane in self.panes:
            pane.setParent(None)
            pane.deleteLater()
        self.panes = []
        self._relayout()

    def reorder(self, panes: list[ResponsePane]) -> None:
        """Show the same panes in a new left-to-right order."""
        self.panes = list(panes)
        self._relayout()

    def add_pane(self, title: str, index: int | None = None) -> ResponsePane:
        """Add a pane at display position `index` (default: the end)."""
        pane = self._spares.pop(0).named(title) if self._spares else ResponsePane(title)
        index = len(self.panes) if index is None else min(index, len(self.panes))
        self.panes.insert(index, pane)
        self.placeholder.setVisible(False)
        self._watch(pane)
        if self.mode == COLUMNS and self.maximised is None and isinstance(self._arrangement, QSplitter):
            self._arrangement.insertWidget(index, pane)  # no rebuild: a send may open 200 panes
            self._arrangement.setStretchFactor(index, 1)
            if self._slots:  # it takes the next room kept: the panes shown stay put
                slot = self._slots.pop(0)
                slot.setParent(None)
                slot.deleteLater()
            pane.show()
            self._relayout_timer.start(0)  # even shares and the cue, once a burst of panes is in
        else:
            self._relayout()
        return pane

    def reserve(self, count: int) -> None:
        """Keep room for `count` panes to come, after the last (add_pane fills it in order):
        the panes shown keep their place and width as the rest arrive, as columns only."""
        if self.mode != COLUMNS or self.maximised is not None or not isinstance(self._arrangement, QSplitter):
            return
        for _ in range(count):
            slot = QWidget()
            slot.setMinimumWidth(defs.PANE_MIN_WIDTH)
            self._slots.append(slot)
            self._arrangement.addWidget(slot)
            self._arrangement.setStretchFactor(self._arrangement.count() - 1, 1)
        self._settle_added()

    def spares(self) -> int:
        """Panes made ahead and ready to place."""
        return len(self._spares)

    def keep_spares(self, count: int) -> None:
        """Have `count` panes made ahead (the models the next send will ask); called while no
        answer streams, whose frames they would lengthen."""
        self._spares_wanted = min(max(count, 0), MAX_SPARES)
        self._spare_timer.start(0)

    def _make_spare(self) -> None:
        if len(self._spares) >= self._spares_wanted:
            return
        if frame_queue.pending():  # the frame's own work first
            self._spare_timer.start(10)
            return
        pane = ResponsePane("", self._parking)
        pane.ensurePolished()  # its style resolved now, not when it is first shown
        self._spares.append(pane)
        self._spare_timer.start(0)

    # --- layout ----------------------------------------------------------------------------
    def set_layout(self, layout: str) -> None:
        if layout not in LAYOUTS or layout == self.mode:
            return
        self.mode = layout
        self._relayout()
        self.layout_changed.emit(layout)

    def next_layout(self) -> str:
        self.set_layout(LAYOUTS[(LAYOUTS.index(self.mode) + 1) % len(LAYOUTS)])
        return self.mode

    def toggle_maximised(self, index: int) -> bool:
        """Show pane `index` alone; the same call (or any other index) brings the row back.
        Returns whether a pane is now maximised."""
        if self.maximised is not None or not 0 <= index < len(self.panes):
            self.maximised = None
        else:
            self.maximised = self.panes[index]
        self._relayout()
        return self.maximised is not None

    def visible_panes(self) -> list[ResponsePane]:
        return [p for p in self.panes if p.isVisibleTo(self) and p.isVisible()]

    def _relayout(self) -> None:
        self._slots = []  # kept in the arrangement rebuilt here: gone with it
        for pane in self.panes:
            pane.setParent(self._parking)
        while self.tabs.count():
            self.tabs.removeTab(0)
        if self._arrangement is not None:
            self._body.removeWidget(self._arrangement)
            self._arrangement.deleteLater()
            self._arrangement = None
        self.placeholder.setVisible(not self.panes)
        shown = [self.maximised] if self.maximised is not None else self.panes
        if self.mode == TABS and self.maximised is None and self.panes:
            for pane in self.panes:
                self.tabs.addTab(pane, _tab_title(pane))
                self.tabs.setTabToolTip(self.tabs.count() - 1, pane.title.text())
                pane.show()
            self.stack.setCurrentWidget(self.tabs)
        else:
            self.stack.setCurrentWidget(self.scroll)
            if self.mode == ROWS and self.maximised is None and len(self.panes) > 1:
                arrangement = QSplitter(Qt.Orientation.Vertical)
                per_row = math.ceil(len(self.panes) / 2)
                for start in (0, per_row):
                    arrangement.addWidget(self._row(self.panes[start:start + per_row]))
            else:
                arrangement = self._row(shown)
            arrangement.setChildrenCollapsible(False)
            self._arrangement = arrangement
            self._body.addWidget(arrangement, 1)
            for pane in shown:
                pane.show()
        self._fit_columns()

    @staticmethod
    def _row(panes: list[ResponsePane]) -> QSplitter:
        row = QSplitter(Qt.Orientation.Horizontal)
        row.setObjectName("paneRow")
        row.setChildrenCollapsible(False)
        row.setHandleWidth(defs.SPACING)
        for i, pane in enumerate(panes):
            row.addWidget(pane)
            row.setStretchFactor(i, 1)
        row.setSizes([1000] * len(panes))  # an even share each, until the user drags
        return row

    def columns(self) -> int:
        """Panes across, as the current layout places them."""
        if self.maximised is not None or self.mode == TABS:
            return 1 if self.panes else 0
        if self.mode == ROWS and len(self.panes) > 1:
            return math.ceil(len(self.panes) / 2)
        return len(self.panes) + len(self._slots)

    def _settle_added(self) -> None:
        if isinstance(self._arrangement, QSplitter) and self._arrangement.orientation() == Qt.Orientation.Horizontal:
            self._arrangement.setSizes([1000] * self._arrangement.count())
        self._fit_columns()

    def _fit_columns(self) -> None:
        """Four panes share the viewport's width; beyond four, each keeps a quarter of it
        and the rest scroll in from the right (the cue says how many)."""
        if self._arrangement is None:
            self._update_more()
            return
        across = self.columns()
        if across > SIDE_BY_SIDE:
            width = self.scroll.viewport().width()
            narrowest = max((p.minimumSizeHint().width() for p in self.panes), default=defs.PANE_MIN_WIDTH)
            column = max(narrowest, (width - defs.SPACING * (SIDE_BY_SIDE - 1)) // SIDE_BY_SIDE)
            self._arrangement.setMinimumWidth(across * column + defs.SPACING * (across - 1))
        else:
            self._arrangement.setMinimumWidth(0)
        self._update_more()

    def resizeEvent(self, event: QEvent) -> None:  # type: ignore[override]
        super().resizeEvent(event)  # type: ignore[arg-type]
        self._fit_columns()
        self._place_more()

    # --- the "n more →" cue ------------------------------------------------------------------
    def hidden_right(self) -> int:
        """How many panes start beyond the right edge of what is shown."""
        if self.stack.currentWidget() is not self.scroll:
            return 0
        right = self.scroll.horizontalScrollBar().value() + self.scroll.viewport().width()
        return sum(1 for p in self.panes if p.parent() is not self._parking
                   and p.mapTo(self.body, p.rect().center()).x() > right)

    def _update_more(self) -> None:
        n = self.hidden_right()
        self.more.setText(f"{n} more →")
        self.more.setVisible(n > 0)
        self._place_more()

    def _place_more(self) -> None:
        self.more.adjustSize()
        bar = self.scroll.horizontalScrollBar()
        bottom = self.height() - (bar.height() if bar.isVisible() else 0) - 8
        self.more.move(self.width() - self.more.width() - 8, bottom - self.more.height())
        self.more.raise_()

    def show_next(self) -> None:
        """Scroll the first pane that is not fully shown into view."""
        right = self.scroll.horizontalScrollBar().value() + self.scroll.viewport().width()
        for pane in self.panes:
            if pane.mapTo(self.body, pane.rect().topRight()).x() > right:
                self.scroll.ensureWidgetVisible(pane, 0, 0)
                return

    def bring_into_view(self, widget: QWidget) -> None:
        """Show the pane holding `widget`: scroll sideways to it or pick its tab, never moving
        its header or answer out of view."""
        pane = next((p for p in self.panes if p is widget or p.isAncestorOf(widget)), None)
        if pane is None:
            return
        if self.maximised is not None and pane is not self.maximised:
            self.toggle_maximised(-1)
        if self.stack.currentWidget() is self.tabs:
            self.tabs.setCurrentWidget(pane)
        else:
            self.scroll.ensureWidgetVisible(pane, 0, 0)

    def _retitle(self, pane: ResponsePane) -> None:
        index = self.tabs.indexOf(pane)
        if index >= 0:
            self.tabs.setTabText(index, _tab_title(pane))
            self.tabs.setTabToolTip(index, pane.title.text())

    # --- linked scrolling ----------------------------------------------------------------------
    def set_linked(self, linked: bool) -> None:
        """Scroll every answer together (same fraction of its length) while reading in sync."""
        self.linked = linked

    def _watch(self, pane: ResponsePane) -> None:
        pane.retitled.connect(lambda p=pane: self._retitle(p))
        self.follow_scrolls(pane)

    def follow_scrolls(self, pane: ResponsePane) -> None:
        """Scroll the others with `pane` (a grid pane, or a later turn shown inside one)."""
        for view in (pane.rendered, pane.raw):
            bar = view.verticalScrollBar()
            bar.valueChanged.connect(lambda _v, b=bar, p=pane: self._follow(b, p))

    def _follow(self, source: QScrollBar, scrolled: ResponsePane) -> None:
        """Scroll the same turn of every other conversation (its latest, if it has fewer)."""
        if not self.linked or self._syncing or source.maximum() <= 0:
            return
        fraction = source.value() / source.maximum()
        depth = next((chain.index(scrolled) for chain in self._chains() if scrolled in chain), 0)
        self._syncing = True
        try:
            for chain in self._chains():
                view = chain[min(depth, len(chain) - 1)].answer_view()
                if isinstance(view, QAbstractScrollArea):
                    bar = view.verticalScrollBar()
                    if bar is not source:
                        bar.setValue(round(fraction * bar.maximum()))
        finally:
            self._syncing = False

    def _chains(self) -> list[list[ResponsePane]]:
        return [[pane, *pane.turn_panes] for pane in self.panes]


def _tab_title(pane: ResponsePane) -> str:
    """A tab shows the model part of the name (the tooltip has it whole)."""
    text = pane.title.text()
    return text.rpartition("/")[2] or text
