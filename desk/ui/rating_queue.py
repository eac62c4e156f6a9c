"""Rate a suite run case by case: every model's answer side by side, blind and shuffled,
keyboard only.

The queue walks the (case, sample) items of a run in case order, starting at the first one
this rater has not finished. Each answer is a ResponsePane with a RatingPanel under it, as
in the Trials tab's blind mode: the panes are shuffled (a fixed order per case and rater)
and labelled Answer A, B, C, with names, timing and cost hidden until every answer of the
case is rated by this rater. The case's `expect` and the rater notes are shown above the
answers (they are for the rater; the model never saw them). For `follow_constraints`
cases, desk's own constraint check (rater "auto") is shown under an answer once the rater
has rated it, so it cannot anchor the rater's judgement; it never names the model.

Two modes (the Mode box, Ctrl+M): case by case, or the run's *calibration sample*: one
answer at a time drawn uniformly at random from the run's finished answers (seeded; every
draw recorded by the engine, JudgeService.draw_calibration). The judge's combined (PPI)
figures use only the answers of that sample, so a drawn answer is never skipped for another:
the next is drawn once every drawn answer is rated.

Keys: the rating panel's (1-9 choose, Up/Down rows, Enter save, Tab / Shift+Tab next or
previous answer; Enter on a case whose answers are all rated goes to the next case, and
changing a saved rating asks before replacing it), plus PgDn / Ctrl+Right next case (skipping this one), PgUp / Ctrl+Left
previous case, Ctrl+Down the next case with an answer not rated yet, Ctrl+M switch mode, Esc close.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, replace
from typing import Any

from PySide6.QtCore import QRect, Qt, QTimer, Signal
from PySide6.QtGui import QGuiApplication, QKeySequence, QShortcut, QShowEvent
from PySide6.QtWidgets import (
    QApplication,
    QComboBox,
    QDialog,
    QHBoxLayout,
    QLabel,
    QMessageBox,
    QPlainTextEdit,
    QProgressBar,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from desk.core.rating import Rating, enter_in_queue
from desk.core.response import ResponseResult
from desk.core.rubric import Rubric
from desk.core.suite import AUTO_RATER, HANDLED
from desk.engine.session import Engine, EngineError, QueueItem
from desk.ui import defs, frame_queue
from desk.ui.judge_notes import JudgeNotes
from desk.ui.pane_grid import PaneGrid
from desk.ui.rating_panel import RatingPanel
from desk.ui.response_pane import ResponsePane

NEXT_KEYS = ("PgDown", "Ctrl+Right")
PREVIOUS_KEYS = ("PgUp", "Ctrl+Left")
NEXT_UNRATED_KEYS = ("Ctrl+Down",)
MODE_KEYS = ("Ctrl+M",)
MODES = ("Case by case", "Calibration sample (random answers)")
KEYS_HINT = ("Keys: 1–9 choose · ↑ ↓ rows · Enter save · Tab / Shift+Tab next or previous answer · "
             "PgDn or Ctrl+→ next case (skips this one) · PgUp or Ctrl+← previous case · "
             "Ctrl+↓ next unrated case · Ctrl+M case by case ⇄ calibration sample · Esc close")
SAMPLE_RULE = ("drawn uniformly at random from the run's finished answers; only answers rated here feed "
               "the judge's combined (PPI) figures")

EXPECT_HELP = {
    "clarify": "the task is underspecified: a good answer asks a clarifying question",
    "abstain": "unanswerable or a false premise: a good answer says so instead of answering",
    "answer": "answerable: a good answer just answers (no needless question or refusal)",
    "follow_constraints": "hard output constraints: a good answer keeps every one",
}


def expect_text(expect: str) -> str:
    """What the case expects, and which rating counts as showing it."""
    if not expect:
        return "Expected behaviour: none in particular."
    rule = HANDLED.get(expect)
    counts = ""
    if rule is not None:
        criterion, values = rule
        counts = f" (counts when you rate {criterion} as {' or '.join(values)})"
    return f"Expected: <b>{expect}</b> — {EXPECT_HELP.get(expect, '')}{counts}."


@dataclass(frozen=True)
class QueueIndex:
    """What the queue looks up per answer, made once from its items: for a big run (100,000
    answers, 30-40 ms) on a worker thread after the read (QueueIndex.of)."""

    item_of: dict[str, QueueItem]  # each answer's item
    rated: set[str]  # the answers this rater has rated (the queue's own from then on)
    total: int  # answers in all
    sampled: bool  # a run of several samples per case

    @classmethod
    def of(cls, items: list[QueueItem]) -> QueueIndex:
        return cls({rid: item for item in items for rid in item.response_ids},
                   {rid for item in items for rid in item.rated}, sum(len(item.response_ids) for item in items),
                   any(item.sample for item in items))


class RatingQueue(QDialog):
    """The rating queue of one suite run for one rater."""

    rating_saved = Signal(object)  # Rating

    def __init__(self, engine: Engine, run_id: str, rater: str, *, rubric: Rubric | None = None,
                 calibration: bool = False, parent: QWidget | None = None,
                 items: list[QueueItem] | None = None,  # read already (off the GUI thread)
                 index: QueueIndex | None = None) -> None:  # made from them already, there too
        super().__init__(parent)
        self.setObjectName("ratingQueue")
        self.setModal(False)
        self.engine = engine
        self.run_id = run_id
        self.rater = rater
        self.rubric = rubric or engine.ratings.rubrics.default()
        self.items: list[QueueItem] = engine.suites.rating_queue(run_id, rater) if items is None else items
        if not self.items:
            raise EngineError(f"run {run_id} has no answers to rate yet")
        self.case_items = self.items
        # A case's answers whose panes are still to place (one per turn of the loop, after the
        # one the keyboard starts on: six panes at once held the window 50-60 ms),
        # with the rater's own ratings of the case and whether it is shown blind.
        self._to_place: list[tuple[int, ResponseResult]] = []
        self._mine: dict[str, Rating] = {}
        self._blind = True
        made = index if index is not None and items is not None else QueueIndex.of(self.items)
        self.item_of = made.item_of
        self.calibrating = False
        self.rated: set[str] = made.rated
        self.total = made.total
        self.sampled = made.sampled  # the case label names the sample
        self.index = 0
        self.autos: dict[str, Rating] = {}
        self.auto_labels: dict[str, QLabel] = {}
        self.judge_notes = JudgeNotes(engine)  # judge verdicts, shown under an answer once it is rated
        self.setWindowTitle(f"Rate run {run_id} — as {rater}")
        self._size_to_screen()
        self._build()
        QApplication.instance().focusChanged.connect(self._keep_in_view)
        first = next((i for i, item in enumerate(self.items) if not self._done(item)), 0)
        self.show_case(first)
        if calibration:
            self.set_mode(True)

    # --- layout ---------------------------------------------------------------------------
    def _build(self) -> None:
        col = QVBoxLayout(self)
        col.setContentsMargins(defs.MARGIN, defs.MARGIN, defs.MARGIN, defs.MARGIN)
        col.setSpacing(defs.SPACING)
        head = QHBoxLayout()
        self.case_label = QLabel()
        self.case_label.setObjectName("queueCase")
        self.case_label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        head.addWidget(self.case_label, 1)
        self.mode = QComboBox()
        self.mode.setObjectName("queueMode")
        self.mode.addItems(list(MODES))
        self.mode.setToolTip("Case by case, or the run's calibration sample (" + SAMPLE_RULE + "). Ctrl+M")
        self.mode.setFocusPolicy(Qt.FocusPolicy.NoFocus)  # the keyboard stays with the rating panels
        self.mode.currentIndexChanged.connect(lambda i: self.set_mode(bool(i)))
        head.addWidget(self.mode)
        self.progress_label = QLabel()
        self.progress_label.setObjectName("queueProgress")
        head.addWidget(self.progress_label)
        self.progress = QProgressBar()
        self.progress.setObjectName("queueProgressBar")
        self.progress.setTextVisible(False)
        self.progress.setMaximumWidth(220)
        self.progress.setRange(0, max(self.total, 1))
        head.addWidget(self.progress)
        col.addLayout(head)

        self.expect_label = QLabel()
        self.expect_label.setObjectName("queueExpect")
        self.expect_label.setWordWrap(True)
        col.addWidget(self.expect_label)
        self.prompt = QPlainTextEdit()
        self.prompt.setObjectName("queuePrompt")
        self.prompt.setReadOnly(True)
        self.prompt.setFocusPolicy(Qt.FocusPolicy.ClickFocus)
        col.addWidget(self.prompt)
        self.notes = QLabel()
        self.notes.setObjectName("queueNotes")
        self.notes.setWordWrap(True)
        self.notes.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.notes.setStyleSheet(f"background: {defs.info_tint()}; border-radius: 4px; padding: 4px;")
        col.addWidget(self.notes)

        self.grid = PaneGrid()
        self.scroll = self.grid.scroll
        self.scroll.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        col.addWidget(self.grid, 1)

        self.message = QLabel()
        self.message.setObjectName("queueMessage")
        self.message.setWordWrap(True)
        col.addWidget(self.message)
        foot = QHBoxLayout()
        self.keys = QLabel(KEYS_HINT)
        self.keys.setObjectName("queueKeys")
        self.keys.setWordWrap(True)
        self.keys.setStyleSheet(f"color: {defs.muted()};")
        foot.addWidget(self.keys, 1)
        self.previous_button = self._button("◀ Previous (PgUp)", "queuePrevious", self.previous_case)
        self.next_button = self._button("Skip ▶ (PgDn)", "queueNext", self.next_case)
        self.unrated_button = self._button("Next unrated (Ctrl+↓)", "queueNextUnrated", self.next_unrated)
        self.close_button = self._button("Close (Esc)", "queueClose", self.close)
        for button in (self.previous_button, self.next_button, self.unrated_button, self.close_button):
            foot.addWidget(button)
        col.addLayout(foot)

        for keys, slot in ((NEXT_KEYS, self.next_case), (PREVIOUS_KEYS, self.previous_case),
                           (NEXT_UNRATED_KEYS, self.next_unrated),
                           (MODE_KEYS, lambda: self.set_mode(not self.calibrating))):
            for key in keys:
                QShortcut(QKeySequence(key), self, activated=slot)

    def _size_to_screen(self) -> None:
        """Most of the screen: three answers and their rating panels want the room."""
        screen = self.screen() or QGuiApplication.primaryScreen()
        if screen is None:
            self.resize(1280, 860)
            return
        area = screen.availableGeometry()
        self.resize(min(1500, int(area.width() * 0.92)), int(area.height() * 0.92))

    def _keep_in_view(self, _old: QWidget | None, new: QWidget | None) -> None:
        """The rating panel that takes the keyboard is scrolled into view (a short screen)."""
        if new is not None and self.grid.isAncestorOf(new):
            self.grid.bring_into_view(new)

    @staticmethod
    def _button(text: str, name: str, slot: Any) -> QPushButton:
        button = QPushButton(text)
        button.setObjectName(name)
        button.setAutoDefault(False)
        button.setDefault(False)
        button.setFocusPolicy(Qt.FocusPolicy.NoFocus)  # the keyboard stays with the rating panels
        button.clicked.connect(lambda _checked=False: slot())
        return button

    # --- state ----------------------------------------------------------------------------
    def _done(self, item: QueueItem) -> bool:
        return all(rid in self.rated for rid in item.response_ids)

    @property
    def item(self) -> QueueItem:
        return self.items[self.index]

    @property
    def panes(self) -> list[ResponsePane]:
        """Every answer pane of the case (those still waiting for their turn placed now)."""
        self.place_all()
        return self.grid.panes

    def progress_text(self) -> str:
        if self.calibrating:
            return f"{sum(self._done(i) for i in self.items)} / {len(self.items)} drawn rated"
        return f"{len(self.rated)} / {self.total} rated"

    def shown_order(self) -> list[str]:
        return [p.result.id for p in self.panes if p.result is not None]

    def _show_progress(self) -> None:
        self.progress_label.setText(self.progress_text())
        self.progress.setValue(len(self.rated))

    # --- one case -------------------------------------------------------------------------
    def show_case(self, index: int) -> None:
        """Show the answers of item `index`: blind and shuffled unless this rater has rated
        them all already."""
        self.index = max(0, min(index, len(self.items) - 1))
        item = self.item
        case = item.case
        sample = f" · sample {item.sample + 1}" if self.sampled else ""
        self.case_label.setText(
            (f"<b>Calibration sample · answer {self.index + 1} of {len(self.items)} drawn</b> · {case.key}{sample}"
             f"<br>{SAMPLE_RULE}." if self.calibrating else
             f"<b>Case {self.index + 1} / {len(self.items)}</b> · {case.key}{sample}")
            + (f" · tags: {', '.join(case.tags)}" if case.tags else ""))
        expect = expect_text(case.expect)
        if case.constraints:
            expect += " Constraints: " + ", ".join(c.id for c in case.constraints) + "."
        self.expect_label.setText(expect)
        prompt = case.prompt
        if case.system:
            prompt = f"[system prompt]\n{case.system}\n\n[prompt]\n{prompt}"
        if case.attachments:
            prompt += "\n\n[attachments: " + ", ".join(a.name for a in case.attachments) + "]"
        self.prompt.setPlainText(prompt)
        self._fit_prompt()
        self.notes.setText(f"<b>Notes for you</b> (never sent to the model): {_escape(case.notes)}"
                           if case.notes else "No rater notes for this case.")
        self.message.clear()

        loaded = self.engine.trials.load(item.trial_id)
        by_id = {r.id: r for r in (loaded[1] if loaded is not None else [])}
        results = [by_id[rid] for rid in item.response_ids if rid in by_id]
        random.Random(f"{item.trial_id}|{item.sample}|{self.rater}").shuffle(results)
        ids = [r.id for r in results]
        mine = {r.response_id: r for r in self.engine.ratings.saved.current(ids, rater=self.rater)}
        self.rated.difference_update(set(item.response_ids) - set(mine))
        self.rated.update(mine)
        self.autos = ({r.response_id: r for r in self.engine.ratings.saved.current(ids, rater=AUTO_RATER)}
                      if case.expect == "follow_constraints" or case.constraints else {})
        self.judge_notes.load(ids)
        blind = not all(rid in mine for rid in ids)

        self.grid.clear()
        self.auto_labels = {}
        self._mine, self._blind = mine, blind
        self._to_place = list(enumerate(results))
        # Usable at once: the panes up to the first answer not rated yet (the keyboard's), now.
        self._place(1 + next((n for n, r in enumerate(results) if r.id not in mine), 0))
        if self._to_place:
            self.grid.reserve(len(self._to_place))  # their room now: the panes shown never move
            frame_queue.later(self, self._place_next)
        self.grid.keep_spares(len(results))  # the next case's panes made ahead while idle
        self._show_progress()
        self.previous_button.setEnabled(self.index > 0)
        self.next_button.setEnabled(self.index < len(self.items) - 1)
        if not blind:
            self.message.setText("You have rated every answer of this case; the models are shown. "
                                 "Enter goes on to the next case (a changed rating asks first).")
        self.focus_current()
        QTimer.singleShot(0, self.focus_current)  # again once the new panes are on screen

    def _place(self, count: int) -> None:
        """The case's next `count` answer panes, in their shuffled order."""
        for _ in range(min(count, len(self._to_place))):
            n, result = self._to_place.pop(0)
            pane = self._pane(result, chr(65 + n) if n < 26 else str(n + 1))
            pane.rating.show_rating(self._mine.get(result.id), self.rater if result.id in self._mine else "")
            if not self._blind:
                pane.reveal()
            self._show_auto(pane)
            self.judge_notes.show(pane, self.rubric)

    def _place_next(self) -> None:
        """One pane a turn (its rating panel and layout: 5-10 ms; more at once was the stall)."""
        self._place(1)
        if self._to_place:
            frame_queue.later(self, self._place_next)

    def place_all(self) -> None:
        """Every pane of the case now: before what reads or moves between them all."""
        self._place(len(self._to_place))

    def _fit_prompt(self) -> None:
        """As tall as the prompt (a short one leaves the room to the answers), at most 6 lines."""
        metrics = self.prompt.fontMetrics()
        width = self.prompt.viewport().width() if self.prompt.isVisible() else 0
        if width < 200:
            width = self.width() - 4 * defs.MARGIN
        text = self.prompt.toPlainText()[:4000] or " "
        flags = int(Qt.TextFlag.TextWordWrap) | int(Qt.TextFlag.TextExpandTabs)
        height = metrics.boundingRect(QRect(0, 0, max(width - 12, 100), 100_000), flags, text).height()
        line = metrics.lineSpacing()
        frame = 2 * self.prompt.frameWidth() + 10
        self.prompt.setFixedHeight(max(line, min(height, 6 * line)) + frame)

    def resizeEvent(self, event: Any) -> None:
        super().resizeEvent(event)
        self._fit_prompt()

    def _pane(self, result: ResponseResult, label: str) -> ResponsePane:
        pane = self.grid.add_pane(result.model)
        pane.set_blind(label)  # before anything is drawn: the model is never on screen
        pane.start(result)
        pane.finish(result)
        panel = RatingPanel(self.rubric, failed=result.failed)
        panel.save_requested.connect(lambda values, p=pane: self._save(p, values))
        panel.focus_next_pane.connect(lambda forward, p=pane: self._focus_rating(p, forward))
        pane.attach_rating(panel)
        panel.show()  # now, not on the next turn as a layout shows it: a pane placed late can take the keyboard
        auto = self.autos.get(result.id)
        if auto is not None:
            note = QLabel()
            note.setObjectName("autoVerdict")
            note.setWordWrap(True)
            note.setVisible(False)
            column = pane.layout()
            column.insertWidget(column.indexOf(panel), note)  # between the answer and the rating
            self.auto_labels[result.id] = note
        self.judge_notes.attach(pane, panel)
        return pane

    def _show_auto(self, pane: ResponsePane) -> None:
        """Under a rated answer: desk's own constraint check, next to the rater's verdict."""
        if pane.result is None:
            return
        label = self.auto_labels.get(pane.result.id)
        auto = self.autos.get(pane.result.id)
        saved = pane.rating.saved if pane.rating is not None else None
        if label is None or auto is None:
            return
        if saved is None:
            label.setVisible(False)
            return
        verdict = auto.constraints or "?"
        human = saved.constraints
        if human in ("followed", "violated"):
            agree = human == verdict
            tail = " — agrees with yours" if agree else f" — differs from yours ({human})"
        else:
            agree, tail = True, ""
        why = f": {auto.note}" if auto.note else ""
        label.setText(f"Automatic constraint check: <b>{verdict}</b>{tail}<br>{_escape(why.lstrip(': '))}")
        colour = defs.muted() if agree else defs.error_text()
        label.setStyleSheet(f"color: {colour};")
        label.setVisible(True)

    # --- keyboard -------------------------------------------------------------------------
    def focus_current(self) -> None:
        """Give the keyboard to the first answer not rated yet (else the first one)."""
        rated = [p for p in self.grid.panes if p.rating is not None]
        if not rated:
            return
        target = next((p for p in rated if p.rating.saved is None), rated[0])
        target.rating.move_to(0)

    def _focus_rating(self, pane: ResponsePane, forward: bool) -> None:
        rated = [p for p in self.panes if p.rating is not None]
        if not rated:
            return
        i = rated.index(pane) if pane in rated else -1
        rated[(i + (1 if forward else -1)) % len(rated)].rating.move_to(0)

    def showEvent(self, event: QShowEvent) -> None:
        super().showEvent(event)
        QTimer.singleShot(0, self.focus_current)

    # --- moving ---------------------------------------------------------------------------
    def next_case(self) -> None:
        if self.index < len(self.items) - 1:
            self.show_case(self.index + 1)
        elif self.calibrating:
            self._next_in_sample()
        else:
            self.message.setText("This is the last case." + self._left())

    def previous_case(self) -> None:
        if self.index > 0:
            self.show_case(self.index - 1)
        else:
            self.message.setText("This is the first case.")

    def next_unrated(self) -> None:
        if self.calibrating:
            self._next_in_sample()
            return
        n = len(self.items)
        for step in range(1, n + 1):
            i = (self.index + step) % n
            if not self._done(self.items[i]):
                self.show_case(i)
                return
        self.message.setText(f"Every answer of this run is rated by {self.rater}. Thank you!")

    # --- the calibration sample -----------------------------------------------------------
    def set_mode(self, calibration: bool) -> None:
        """Rate case by case, or the run's calibration sample (the answers drawn so far, then
        the next drawn at random)."""
        if self.mode.currentIndex() != int(calibration):
            self.mode.setCurrentIndex(int(calibration))  # back here through currentIndexChanged
            return
        if calibration == self.calibrating:
            return
        self.calibrating = calibration
        if calibration:
            drawn = [self._sample_item(rid) for rid in self.engine.judges.calibration_sample(self.run_id)]
            self.items = [item for item in drawn if item is not None]
            self._next_in_sample(asked=False)
        else:
            self.items = self.case_items
            self.show_case(next((i for i, item in enumerate(self.items) if not self._done(item)), 0))

    def _sample_item(self, response_id: str) -> QueueItem | None:
        """The queue item of one drawn answer: its case, that answer alone."""
        item = self.item_of.get(response_id)
        if item is None:
            return None
        model = item.models[item.response_ids.index(response_id)]
        return replace(item, response_ids=(response_id,), models=(model,),
                       rated=tuple(r for r in item.rated if r == response_id))

    def _next_in_sample(self, asked: bool = True) -> None:
        """The first drawn answer not rated by this rater yet; once every drawn one is, the next
        drawn at random (never one instead of a drawn one skipped: that would bias the sample)."""
        left = next((i for i, item in enumerate(self.items) if not self._done(item)), None)
        if left is not None:
            self.show_case(left)
            if asked:
                self.message.setText("Rate this answer of the calibration sample first: skipping drawn answers "
                                     "would make the sample no longer random.")
            return
        try:
            drawn = self.engine.judges.draw_calibration(self.run_id)
        except EngineError as exc:
            self.message.setText(str(exc))
            return
        item = self._sample_item(drawn) if drawn is not None else None
        if item is None:
            if not self.items:  # nothing finished to draw from: back to the cases
                self.set_mode(False)
            self.message.setText("Every finished answer of this run is in its calibration sample and rated by "
                                 f"{self.rater}.")
            return
        self.items.append(item)
        self.show_case(len(self.items) - 1)

    def _left(self) -> str:
        left = sum(1 for item in self.items if not self._done(item))
        return f" {left} case{'s' if left != 1 else ''} still {'have' if left != 1 else 'has'} " \
               "answers to rate (Ctrl+↓ goes to the next)." if left else " Every case is rated."

    # --- saving ---------------------------------------------------------------------------
    def _save(self, pane: ResponsePane, values: dict[str, Any]) -> None:
        if pane.result is None or pane.rating is None:
            return
        self.place_all()
        action = enter_in_queue(values, pane.rating.saved, self._done(self.item))
        if action == "next_case":
            self.next_case()
            return
        if action == "next_answer":
            self._focus_next_unrated(pane)
            return
        if action == "confirm" and not self.confirm_replace():
            pane.rating.show_rating(pane.rating.saved, self.rater)  # back to what is stored
            return
        try:
            rating = self.engine.ratings.save_rating(pane.result.id, values, rater=self.rater,
                                             blind=pane.blind_label is not None, shown_order=self.shown_order())
        except (EngineError, ValueError) as exc:
            pane.rating.show_problem(str(exc))
            return
        pane.rating.show_rating(rating, rating.rater)
        self.rated.add(pane.result.id)
        self._show_progress()
        self._show_auto(pane)
        self.judge_notes.show(pane, self.rubric)
        self.rating_saved.emit(rating)
        if all(p.rating is not None and p.rating.saved is not None for p in self.grid.panes):
            if any(p.blind_label is not None for p in self.grid.panes):
                for p in self.grid.panes:
                    p.reveal()
            self.message.setText("Rated: the model is shown. Enter or PgDn: the next answer drawn at random."
                                 if self.calibrating else
                                 "Every answer of this case is rated: the models are shown. "
                                 "Enter or PgDn: next case." + ("" if self.index < len(self.items) - 1 else self._left()))
            pane.rating.move_to(0)  # out of the note field, where Ctrl+arrows move the cursor
        else:
            self._focus_next_unrated(pane)

    def confirm_replace(self) -> bool:
        answer = QMessageBox.question(
            self, "Replace your rating?",
            "You have rated this answer already. Replace your rating with the new one? "
            "(The earlier one is kept in its history.)")
        return answer == QMessageBox.StandardButton.Yes

    def _focus_next_unrated(self, pane: ResponsePane) -> None:
        panes = [p for p in self.panes if p.rating is not None]
        start = panes.index(pane) if pane in panes else -1
        for step in range(1, len(panes) + 1):
            candidate = panes[(start + step) % len(panes)]
            if candidate.rating.saved is None:
                candidate.rating.move_to(0)
                return


def _escape(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;").replace("\n", "<br>")
