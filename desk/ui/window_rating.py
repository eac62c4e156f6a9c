"""Rating in the Trials tab: blind order, a rating panel under each finished answer, saving
ratings and preferences, and moving between them from the keyboard (a mixin of the main window)."""

from __future__ import annotations

import random
from typing import Any

from PySide6.QtWidgets import QInputDialog

from desk.core.clarification_scores import AFTER_QUESTION, asked_question
from desk.core.rating import Rating
from desk.engine.session import EngineError
from desk.ui.rating_panel import RatingPanel
from desk.ui.response_pane import ResponsePane
from desk.ui.turn_fold import unfold

# A mixin of MainWindow, using its attributes; typed loosely because naming the window
# here would make the two modules import each other.
_Base: Any = object

STATUS_MS = 10_000  # how long a note stays in the status bar


class RatingView(_Base):
    """The main window's rating side; the answers are the grid's panes."""

    @property
    def blind(self) -> bool:
        return self.blind_action.isChecked()

    def _on_blind_toggled(self) -> None:
        self.settings.setValue("rate/blind", "true" if self.blind else "false")
        self.blind_indicator.setVisible(self.blind)
        self.refresh_history()  # entries name their models only when not blind
        if not self.blind:
            for pane in self.all_panes():
                pane.reveal()
        elif self.grid.panes and self.current_trial_id is not None and not self._all_rated():
            self.arrange_panes(self.current_trial_id)

    def arrange_panes(self, trial_id: str) -> None:
        """In blind mode, shuffle the panes (fixed per trial) and label them A, B, C…"""
        if not self.blind:
            return
        order = list(self.grid.panes)
        random.Random(trial_id).shuffle(order)
        self.grid.reorder(order)
        for i, pane in enumerate(order):
            pane.set_blind(label := chr(65 + i) if i < 26 else str(i + 1))
            for turn, later in enumerate(pane.turn_panes, start=2):  # a later turn names no model either
                later.set_blind(f"{label} · turn {turn}")
        self.preferences.set_panes(self.latest_panes())

    def shown_order(self) -> list[str]:
        return [p.result.id for p in self.grid.panes if p.result is not None]

    def rating_panel(self, pane: ResponsePane) -> RatingPanel:
        """A rating panel wired to `pane` (a finished one), not yet placed under it."""
        assert pane.result is not None
        panel = RatingPanel(self.rubric, failed=pane.result.failed)
        panel.save_requested.connect(lambda values, p=pane: self._save_rating(p, values))
        panel.focus_next_pane.connect(lambda forward, p=pane: self._focus_rating(p, forward))
        if self._follows_question(pane):
            panel.show_hint(AFTER_QUESTION)
        return panel

    def _follows_question(self, pane: ResponsePane) -> bool:
        """Whether `pane` is a later turn whose previous answer asked a clarifying question
        (as that answer's rating says, else desk's heuristic)."""
        link = self.tab.turns.get(pane.result.id) if pane.result is not None else None
        before = self.panes_by_id.get(link.parent_response_id) if link is not None else None
        if before is None or before.result is None:
            return False
        saved = before.rating.saved if before.rating is not None else None
        return asked_question(before.result.text, saved.values if saved is not None else None)

    def add_rating(self, pane: ResponsePane, ratings: list[Rating], panel: RatingPanel | None = None) -> None:
        """Put a rating panel (`panel`, made beforehand, or a new one) under a finished pane,
        showing this rater's current rating."""
        if pane.result is None:
            return
        if pane.rating is None:
            pane.attach_rating(panel or self.rating_panel(pane))
        mine = next((r for r in ratings if r.response_id == pane.result.id), None)
        pane.rating.show_rating(mine, mine.rater if mine else "")
        self.preferences.set_panes(self.latest_panes())

    def _focus_rating(self, pane: ResponsePane, forward: bool) -> None:
        rated = [p for p in self.all_panes() if p.rating is not None]
        if not rated:
            return
        i = rated.index(pane) if pane in rated else -1
        self._start_rating(rated[(i + (1 if forward else -1)) % len(rated)])

    def rate_next_unrated(self) -> None:
        """Keyboard-first rating starts here: focus the first answer's rating that is not
        saved yet (else the first), wherever the focus was (the prompt keeps Tab for text)."""
        rated = [p for p in self.all_panes() if p.rating is not None]
        if not rated:
            self.statusBar().showMessage("Nothing to rate yet: a finished answer gets a rating under it", STATUS_MS)
            return
        self._start_rating(next((p for p in rated if p.rating.saved is None), rated[0]))

    def _start_rating(self, pane: ResponsePane) -> None:
        self._favour_answers()
        unfold(pane)  # an earlier turn's rating is under its folded answer
        self.grid.bring_into_view(self.root_pane(pane))
        pane.rating.move_to(0)

    def _favour_answers(self) -> None:
        """Rating reads the answers: the prompt gives way to them (to its smallest useful size,
        on a short screen folded up to the bar above the answers; a drag brings it back)."""
        top, answers = self.main_split.sizes()
        total = top + answers
        if top > total / 5:
            low = self.top_split.minimumSizeHint().height()
            low = low if low <= total / 4 else 0
            self.main_split.setSizes([low, total - low])
            if not low:
                self.statusBar().showMessage("The prompt is folded up while you rate: drag the bar above "
                                             "the answers to see it", STATUS_MS)

    def ask_rater_name(self) -> bool:
        name, ok = QInputDialog.getText(self, "Your name as a rater",
                                        "Your name is stored with every rating you make:",
                                        text=self.engine.rater_name() or "")
        if ok and name.strip():
            self.engine.set_rater_name(name)
            return True
        return False

    def _save_rating(self, pane: ResponsePane, values: dict[str, Any]) -> None:
        if pane.result is None or pane.rating is None:
            return
        if not self.engine.rater_name() and not self.ask_rater_name():
            pane.rating.show_problem("not saved: set your rater name first")
            return
        try:
            rating = self.engine.ratings.save_rating(pane.result.id, values, blind=pane.blind_label is not None,
                                             shown_order=self.shown_order())
        except (EngineError, ValueError) as exc:
            pane.rating.show_problem(str(exc))
            return
        pane.rating.show_rating(rating, rating.rater)
        self.rating_saved.emit(rating)
        if pane.blind_label is not None and self._all_rated():
            for p in self.all_panes():
                p.reveal()
            self.preferences.set_panes(self.latest_panes())
            self.banner_info("Every answer is rated: the models are revealed.")
        else:
            self._focus_rating(pane, True)

    def _all_rated(self) -> bool:
        return all(p.rating is not None and p.rating.saved is not None for p in self.all_panes())

    def _save_preference(self, left: ResponsePane, right: ResponsePane, winner: str, reason: str) -> None:
        if left.result is None or right.result is None:
            return
        if not self.engine.rater_name() and not self.ask_rater_name():
            return
        try:
            pref = self.engine.ratings.save_preference(
                left.result.id, right.result.id, winner, reason=reason,
                blind=left.blind_label is not None, shown_order=self.shown_order(),
            )
        except (EngineError, ValueError) as exc:
            self.preferences.show_problem(f"not saved: {exc}")
            return
        self.preferences.show_saved(pref)
