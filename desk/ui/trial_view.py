"""The Trials tab's binding: compose → send → answers stream side by side → rate.

The state and rules (validation, the send's plan, which answers stream, their figures, the
open trial) live in desk.engine.trials_tab.TrialsTab; this mixin of the main window reads
the compose panel and the picker into it, runs its sends through a desk.ui.command.Command
(busy check, Cancel, banner), and draws its events into the pane grid.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from typing import Any

from PySide6.QtCore import QTimer

from desk.core.response import ResponseResult
from desk.core.trial import ModelRef, TrialInput, Variant
from desk.engine import local_model
from desk.engine.engine_thread import EngineThread
from desk.engine.session import EngineError, TrialOutcome
from desk.engine.tab_events import Notice
from desk.engine.trials_tab import CANCELLED, PlanError, SendPlan, TrialsTab, composed, with_schema
from desk.ui import defs, frame_queue, hotkeys, live_text
from desk.ui.command import Command
from desk.ui.rating_panel import RatingPanel
from desk.ui.response_pane import ResponsePane
from desk.ui.results_dialog import ResultsDialog
from desk.ui.turn_fold import fold_earlier

# A mixin of MainWindow, using its attributes; typed loosely because naming the window
# here would make the two modules import each other.
_Base: Any = object

STATUS_MS = 10_000  # how long a "done" note stays in the status bar
PANES_PER_PASS = 4  # panes made ahead placed in one turn of the loop (one layout pass for all)
SETTLE_FRAMES = 6  # a streaming pane's scrollbar follows its text this often (about 10 times a second)


class PaneBinder:
    """The tab's answer events -> the window's panes (the tab drops a superseded send's)."""

    def __init__(self, window: Any) -> None:
        self._window = window
        self._tab = window.tab
        # Text that arrived before its pane was built (panes are built one per turn).
        self._early: dict[str, list[str]] = {}
        self._to_place: list[tuple[ResponseResult, int]] = []  # answers started, their panes not yet placed
        self._placing = False  # a job placing them is queued
        self._tab.cleared.connect(self.cleared)
        self._tab.response_started.connect(self.started)
        self._tab.text_received.connect(self.text_received)
        self._tab.tool_calls_received.connect(self.tool_calls_received)
        self._early_calls: dict[str, list[Any]] = {}  # the latest calls of an answer with no pane yet
        self._tab.attempt_failed.connect(self.retrying)
        self._tab.response_finished.connect(self.finished)

    def cleared(self) -> None:
        self._early = {}
        self._to_place = []
        self._early_calls = {}
        self._window.grid.clear()
        self._window.panes_by_id = {}
        self._window.preferences.clear_pair()

    def started(self, result: ResponseResult) -> None:
        # A send starts every stream in one turn; building eight panes there (5-15 ms each)
        # froze the window: they are placed a few per turn of the loop instead.
        self._early[result.id] = []
        self._to_place.append((result, self._tab.generation))
        if not self._placing:
            self._placing = True
            frame_queue.later(self._window, self._place_panes)

    def _place_panes(self) -> None:
        """Place the next panes: up to PANES_PER_PASS made ahead (a pass's layout costs about
        the same for one pane as for four), else one made now (3-4 ms each)."""
        self._placing = False
        for placed in range(PANES_PER_PASS):
            if not self._to_place or (placed and not self._window.grid.spares()):
                break
            self._add_pane(*self._to_place.pop(0))
        if self._to_place:
            self._placing = True
            frame_queue.later(self._window, self._place_panes)

    def _add_pane(self, result: ResponseResult, generation: int) -> None:
        early = self._early.pop(result.id, [])
        if not self._tab.is_current(generation):
            return
        pane = self._window.pane_for(result)
        for delta in early:
            pane.queue_text(delta)
        if calls := self._early_calls.pop(result.id, None):
            pane.queue_calls(calls)
        if len(self._window.panes_by_id) == self._tab.expected:
            self._window.arrange_panes(result.trial_id)

    def text_received(self, result: ResponseResult, delta: str) -> None:
        pane = self._window.panes_by_id.get(result.id)
        if pane is not None:
            pane.queue_text(delta)
        elif result.id in self._early:
            self._early[result.id].append(delta)

    def tool_calls_received(self, result: ResponseResult, calls: list[Any]) -> None:
        pane = self._window.panes_by_id.get(result.id)
        if pane is not None:
            pane.queue_calls(calls)
        elif result.id in self._early:
            self._early_calls[result.id] = calls

    def retrying(self, result: ResponseResult, _attempt: Any) -> None:
        pane = self._window.panes_by_id.get(result.id)
        figures = self._tab.figures.get(result.id)
        if pane is not None and figures is not None:
            pane.tick(figures.status())  # "429 · retry 1 of 2 in 1.0 s" at once, then counting down

    def finished(self, result: ResponseResult, generation: int | None = None) -> None:
        generation = self._tab.generation if generation is None else generation
        if result.id in self._early:  # its pane is still to be built: finish it after that
            frame_queue.later(self._window, lambda: self.finished(result, generation))
            return
        if not self._tab.is_current(generation):
            return
        window = self._window
        pane = window.panes_by_id.get(result.id)
        if pane is not None:
            # Streams that end together are shown done one pane per turn of the loop (each
            # re-lays its pane out), ahead of the slower rating panels and markdown.
            def show_done(p: ResponsePane = pane) -> None:
                p.finish(result)

            frame_queue.later(pane, show_done, soon=True)
            # A rating panel costs 10-40 ms to make and place: made on one turn of the loop
            # and placed on another, one pane's at a time.
            made: list[RatingPanel] = []

            def make(p: ResponsePane = pane) -> None:
                made.append(window.rating_panel(p))

            def place(p: ResponsePane = pane) -> None:
                window.add_rating(p, [], made[0] if made else None)

            frame_queue.later(pane, make)
            frame_queue.later(pane, place)
        window.response_finished.emit(result)


class TrialView(_Base):
    """The main window's Trials side: send, cancel, open, follow up, new trial."""

    local_server: local_model.LocalServer | None

    def _bind_trials(self) -> None:
        """Made in the window's __init__, before its widgets: the model, its command, its clocks."""
        # Sends stream on a thread of their own, with an engine there (its own store connection
        # and HTTP client): the HTTP, SSE parsing, timing and storing of every chunk stay off
        # the GUI thread, which takes each answer's text once per frame (_flush_panes). The
        # thread's engine stores what it streams itself, as the window's did: a crash mid-stream
        # leaves the same partial answers, and no SQLite connection is shared across threads.
        self.tab = TrialsTab(self.engine, streams=EngineThread(lambda: self.engine.elsewhere(),
                                                               key=lambda: str(self.engine.store.path)))
        self.tab.before_run = self._before_run
        self.panes_by_id: dict[str, ResponsePane] = {}
        self._run_task: asyncio.Future[bool] | None = None
        self.trial_command = Command(self.banner_info, self.banner_error,
                                     clear=lambda: self.banner.setVisible(False),
                                     running_changed=self._trial_running, refuse=None)

    def _bind_panes(self) -> None:
        """Made once the grid exists: panes follow the model, clocks redraw them while streaming."""
        self.pane_binder = PaneBinder(self)
        self.tab.running_changed.connect(self._update_send_state)
        self._frame = QTimer(self)
        self._frames = 0  # frames flushed: each pane settles its scrollbar on a phase of its own
        self._frame.setInterval(defs.FRAME_MS)
        self._frame.timeout.connect(self._flush_panes)
        self._clock = QTimer(self)
        self._clock.setInterval(100)
        self._clock.timeout.connect(self._tick_panes)

    @property
    def current_trial_id(self) -> str | None:
        return self.tab.current_trial_id

    # --- sending ------------------------------------------------------------------------
    def current_input(self) -> tuple[TrialInput, list[Variant] | None]:
        return composed(self.compose.prompt.toPlainText(), self.compose.variants.texts(),
                        self.compose.attachments.attachments(), self.compose.tools.tools_text(),
                        self.compose.tools.tool_choice())

    def task_for_load(self) -> TrialInput | None:
        """The composed trial for the Load tab; None (said in the banner) when its tools are unusable."""
        try:
            return self.current_input()[0]
        except PlanError as exc:
            self.banner_error(str(exc))
            return None

    def send(self, parent_trial_id: str | None = None, models: list[ModelRef] | None = None) -> None:
        """Send the composed trial to every checked model (x variant)."""
        if self.tab.running:
            return
        models = models if models is not None else self.picker.selected()
        known = self.picker.refs()
        settings = {ref: self.picker.settings_for(ref) for ref in models if ref in known}
        try:
            trial, variants = self.current_input()
            settings = with_schema(settings, models, self.compose.schema.schema_text())
            plan = self.tab.plan(trial, models, settings, variants, parent_trial_id, reading=self.compose.loading())
        except PlanError as exc:
            self.banner_error(str(exc))
            return
        self._save_picker()
        self._start(plan)

    def give_results(self, result: ResponseResult, results: list[str] | None = None) -> None:
        """*Give results* for an answer's tool calls (asked in a dialog unless given): the
        model continues with them, as a follow-up of the open trial."""
        if self.tab.running or not result.tool_calls:
            return
        if results is None:
            sent = self.tab.current_input
            dialog = ResultsDialog(result.tool_calls, sent.tools.canned if sent and sent.tools else (), self)
            if dialog.exec() != ResultsDialog.DialogCode.Accepted:
                return
            results = dialog.results()
        ref = ModelRef.parse(result.model)
        settings = {ref: self.picker.settings_for(ref)} if ref in self.picker.refs() else None
        try:
            plan = self.tab.results_plan(result.id, results, settings)
        except PlanError as exc:
            self.banner_error(str(exc))
            return
        self._start(plan)

    def _start(self, plan: SendPlan) -> None:
        self.tab.begin(plan)
        self._run_task = self.trial_command.start(
            lambda: self._stream(plan), done=self._trial_done, cancelled=self._trial_cancelled,
            failed=self._trial_failed)
        self._frame.start()
        self._clock.start()
        self._tick_panes()

    async def _stream(self, plan: SendPlan) -> TrialOutcome | None:
        outcome = await self.tab.run(plan)
        if outcome is not None:
            self._stop_clocks()
            await frame_queue.idle()  # every pane built, rendered and ratable before the trial says it is done
        return outcome

    async def _before_run(self, models: Sequence[ModelRef]) -> bool:
        """The built-in model is started (if the send or run uses it) before anything is stored."""
        if any(m.provider == local_model.LOCAL_PROVIDER for m in models):
            return await self.ensure_local_model() is not None
        return True

    def _trial_done(self, outcome: TrialOutcome | None) -> None:
        if outcome is None:  # the built-in model did not start: said already
            return
        end = self.tab.finished(outcome, hotkeys.RATE)
        self.statusBar().showMessage(end.status, STATUS_MS)
        if end.problem:  # shown on screen is not saved: say so, never "stored"
            self.statusBar().clearMessage()
            self.banner_error(end.problem)
        self.history.run_again.setEnabled(True)
        self.refresh_history()
        self.trial_finished.emit(outcome.trial_id)

    def _trial_cancelled(self, _exc: BaseException) -> str:
        self.statusBar().showMessage("Cancelled: what arrived is stored", STATUS_MS)
        self.refresh_history()  # the cancelled trial is stored: listed at once
        return CANCELLED

    def _trial_failed(self, exc: Exception) -> Notice:
        self.statusBar().clearMessage()
        return Notice(str(exc), error=True)

    def _trial_running(self, running: bool) -> None:
        if not running:  # done, failed or cancelled: what arrived is drawn, the clocks stop
            self._stop_clocks()
            self.tab.end()

    def _stop_clocks(self) -> None:
        self._flush_panes()
        self._frame.stop()
        self._clock.stop()

    def _update_send_state(self, running: bool | None = None) -> None:
        running = self.tab.running if running is None else running
        self.send_button.setEnabled(not running)
        self.cancel_button.setEnabled(running)
        # Panes for the models picked (or the last send's, for Run again) are made ahead while
        # idle; none while answers stream, whose frames they would lengthen.
        self.grid.keep_spares(0 if running else max(len(self.picker.selected()), len(self.all_panes())))

    def cancel(self) -> None:
        self.trial_command.cancel()

    async def ensure_local_model(self) -> ModelRef | None:
        """Start the built-in model's server if nothing answers for it yet (desk[local])."""
        self.statusBar().showMessage("Starting the built-in model (Gemma 3 270M) on this computer…")
        try:
            ref, server = await self.engine.providers.ensure_local(self.local_server)
        except (local_model.LocalModelError, OSError, ValueError, EngineError) as exc:
            self.statusBar().clearMessage()
            self.banner_error(f"The built-in model could not start: {exc}")
            return None
        if server is not None:
            self.local_server = server
        self.statusBar().showMessage(f"The built-in model {ref} is running on 127.0.0.1.", 8000)
        return ref

    def pane_for(self, result: ResponseResult) -> ResponsePane:
        title = result.model + (f"  ·  variant {result.variant.label}" if result.variant else "")
        link = self.tab.turns.get(result.id)
        root = self.panes_by_id.get(self.tab.pane_of(result.id)) if link else None
        if link is not None and root is not None:  # a later turn: below the answer it continues
            pane = root.add_turn(link.reply, f"{title}  ·  turn {link.turn}")
            fold_earlier(root)  # the new turn gets the room
            self.grid.follow_scrolls(pane)
            if root.blind_label is not None:
                pane.set_blind(f"{root.blind_label} · turn {link.turn}")
        else:
            pane = self.grid.add_pane(title)
            pane.reply_wanted.connect(self.reply)
        pane.results_wanted.connect(self.give_results)
        pane.start(result)
        self.panes_by_id[result.id] = pane
        return pane

    def root_pane(self, pane: ResponsePane) -> ResponsePane:
        """The grid's pane a pane is shown in (itself, or the first answer of its conversation)."""
        return next((root for root in self.grid.panes if pane is root or pane in root.turn_panes), pane)

    def latest_panes(self) -> list[ResponsePane]:
        """Each grid pane's latest turn (the pane itself before any reply): what the
        preference bar compares."""
        return [root.latest() for root in self.grid.panes]

    def all_panes(self) -> list[ResponsePane]:
        """Every answer's pane: each in the grid, then its conversation's later turns."""
        return [p for root in self.grid.panes for p in (root, *root.turn_panes)]

    def _flush_panes(self) -> None:
        self.tab.deliver()  # what the streams handed over since the last frame
        # Each pane's scrollbar catches up every SETTLE_FRAMES frames, on a phase of its own,
        # so the panes' scrollbars are not all resized (and redrawn) in one frame.
        self._frames += 1
        live_text.new_frame()
        for i, pane in enumerate(self.all_panes()):
            pane.flush()
            if (self._frames + i) % SETTLE_FRAMES == 0:
                pane.settle()

    def _tick_panes(self) -> None:
        for pane in self.all_panes():  # the model's figures: TTFT measured as the text came
            figures = self.tab.figures.get(pane.result.id) if pane.result is not None else None
            pane.tick(figures.status() if figures is not None else None)
        self.statusBar().showMessage(self.tab.progress_text("Esc"))

    # --- past trials ----------------------------------------------------------------------
    def open_trial(self, trial_id: str) -> None:
        """Restore a past trial: its prompt, attachments and answers."""
        try:
            opened = self.tab.open(trial_id)
        except PlanError as exc:
            self.banner_error(str(exc))
            return
        stored, responses = opened.stored, opened.responses
        self.compose.prompt.setPlainText(stored.input.prompt)
        self.compose.variants.set_variants(stored.input.system, opened.variants)
        if stored.input.system or opened.variants:
            self.compose.show_system()
        self.compose.attachments.set_attachments(list(stored.input.attachments))
        self.compose.set_tools(stored.input.tools)
        self.compose.set_schema(opened.response_schema)
        for r in responses:
            self.pane_for(r).finish(r)
        rater = self.engine.rater_name()
        mine = self.engine.ratings.saved.current([r.id for r in responses], rater=rater) if rater else []
        for pane in self.all_panes():
            self.add_rating(pane, mine)
        if responses and not self._all_rated():
            self.arrange_panes(trial_id)
        self.picker.set_checked({str(m) for m in opened.models})
        self.history.run_again.setEnabled(True)
        self.statusBar().showMessage(opened.text)

    def run_again(self) -> None:
        if self.tab.current_trial_id is None:
            return
        self.send(parent_trial_id=self.tab.current_trial_id, models=self.tab.open_models or None)

    def new_trial(self) -> None:
        if not self.tab.new_trial():
            return
        self.compose.prompt.clear()
        self.compose.variants.set_variants(None, [])
        self.compose.attachments.set_attachments([])
        self.compose.set_tools(None)
        self.compose.set_schema(None)
        self.history.run_again.setEnabled(False)
