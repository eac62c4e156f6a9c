"""Starting, resuming and cancelling the Load tab's runs (mixed into desk.ui.load_view.LoadPanel).

A run, and a resumed run (what `desk load --resume RUN_ID` does: one engine call), happen
on a thread of their own; their callbacks only fill the tab model's mailbox, which a timer on
the GUI thread empties (see desk.ui.load_view). Where the requests are sent from is the
form's "Where" (desk.ui.load_where), for a resumed run too.
"""

from __future__ import annotations

import gc
from collections.abc import Callable, Sequence

from PySide6.QtCore import QTimer, SignalInstance
from PySide6.QtWidgets import QLabel, QListWidget, QProgressBar, QPushButton, QWidget

from desk.engine.load import LoadResult, planned_requests
from desk.engine.load_tab import LoadTabModel
from desk.engine.session import Engine
from desk.ui.load_charts import LoadCharts


class LoadRunning:
    """Start / Resume / Cancel and the run's progress, for the panel it is mixed into."""

    engine: Engine
    model: LoadTabModel
    charts: LoadCharts
    progress: QProgressBar
    status: QLabel
    form_box: QWidget
    start_button: QPushButton
    cancel_button: QPushButton
    export_button: QPushButton
    runs: QListWidget
    run_finished: SignalInstance
    activity: SignalInstance
    _cancel: Callable[[], None] | None
    _refresh: QTimer
    show_error: Callable[[str], None]
    clear_message: Callable[[], None]
    refresh_runs: Callable[[], None]
    open_run: Callable[[str], bool]
    _reset_view: Callable[[Sequence[str], float | None], None]
    _show_summary: Callable[..., None]

    def _build_resume(self) -> QPushButton:
        self.resume_button = QPushButton("Resume")
        self.resume_button.setObjectName("loadResume")
        self.resume_button.setEnabled(False)
        self.resume_button.clicked.connect(lambda: self.resume())
        self._resuming: str | None = None  # the run being resumed, reopened whole at its end
        return self.resume_button

    @property
    def running(self) -> bool:
        return self._cancel is not None

    def start(self) -> bool:
        """Start the run the form describes on its own thread; False (with a message) if it cannot."""
        if self.running:
            return False
        try:
            plan = self.model.build_plan()
        except ValueError as exc:
            self.show_error(str(exc))
            return False
        self.clear_message()
        mailbox = self.model.begin(plan)
        self._reset_view([str(m) for m in plan.models], plan.p95_budget_ms)
        self.progress.setRange(0, planned_requests(plan))  # 0..0: busy, the run goes by time
        self.status.setText("Starting: resolving keys, warming up one connection per model…")
        # The callbacks are the mailbox's own methods: nothing on the load thread refers to
        # this widget, so it can never be the one to call Qt or drop a Qt object.
        self._launch(lambda: self.engine.loads.run_in_thread(plan, progress=mailbox.put, done=mailbox.finish))
        return True

    def resume(self) -> bool:
        """Send what the open run still had to send, into it, from where the form's "Where"
        says (`desk load --resume RUN_ID`); False (with a message) if it cannot start."""
        run_id = self.model.current_run_id
        if self.running or run_id is None:
            return False
        if not self.resume_button.isEnabled():  # the engine said why when the run was opened
            self.show_error(self.resume_button.toolTip())
            return False
        try:
            workers, cluster = self.model.placement()
        except ValueError as exc:
            self.show_error(str(exc))
            return False
        self.clear_message()
        models, budget = list(self.model.live.models), self.model.budget_ms
        mailbox = self.model.begin(None)
        self._reset_view(models, budget)
        self.progress.setRange(0, 0)  # until the first request says how many are still to send
        self.status.setText(f"Resuming run {run_id}: sending what it still had to send…")
        self._resuming = run_id
        self._launch(lambda: self.engine.loads.resume_in_thread(
            run_id, progress=mailbox.put, done=mailbox.finish, workers=workers, cluster=cluster))
        return True

    def _launch(self, run: Callable[[], Callable[[], None]]) -> None:
        self.progress.setValue(0)
        self._set_running(True)
        # A full garbage collection of the whole heap holds the GIL for ~50-100 ms: it would
        # freeze the window and show up in the run's latencies. Until the run ends, it only
        # looks at objects made since the start (unfrozen in _on_finished).
        gc.collect()
        gc.freeze()
        self._cancel = run()
        self._refresh.start()

    def cancel(self) -> None:
        if self._cancel is not None:
            self.status.setText("Cancelling: stopping every request in flight…")
            self.cancel_button.setEnabled(False)
            self._cancel()

    def shutdown(self) -> None:
        """The window is closing: stop a run in progress (it is stored as cancelled)."""
        self.cancel()

    def _set_running(self, running: bool) -> None:
        self.form_box.setEnabled(not running)
        self.start_button.setEnabled(not running)
        self.cancel_button.setEnabled(running)
        self.runs.setEnabled(not running)
        self.export_button.setEnabled(not running and self.model.current_run_id is not None)
        if running:
            self.resume_button.setEnabled(False)

    def show_resumable(self, problem: str | None) -> None:
        """Offer Resume for the open run when it was cut short (`problem`: why not, else None)."""
        self.resume_button.setEnabled(problem is None and not self.running)
        self.resume_button.setToolTip(
            "Send what this run still had to send, into it, from where “Where” says (desk load --resume)"
            if problem is None else problem[0].upper() + problem[1:])

    def _drain(self) -> None:
        """Every REFRESH_MS while a run is on: take what the load thread reported."""
        end = self.model.drain()
        if end is not None:
            self._on_finished(*end)

    def _show_progress(self, done: int, planned: int) -> None:
        if planned:
            self.progress.setRange(0, planned)
            self.progress.setValue(min(done, planned))
        status = self.model.status_text(done, planned)
        self.status.setText(status)
        self.activity.emit("Load run: " + status)
        self.charts.draw_soon()

    def _on_finished(self, result: LoadResult | None, error: BaseException | None) -> None:
        self._refresh.stop()
        self.activity.emit("")
        self._cancel = None
        gc.unfreeze()
        planned = self.progress.maximum()
        status = self.model.end(result, error, planned)
        if result is not None:
            done = len(self.model.outcomes)
            if planned:
                self.progress.setValue(min(done, planned))
            else:
                self.progress.setRange(0, max(done, 1))
                self.progress.setValue(done)
            self.charts.redraw(result.summary)
            self._show_summary(result.summary)
        self.status.setText(status)
        self._set_running(False)
        resumed, self._resuming = self._resuming, None
        if result is not None and resumed is not None:
            said = self.model.message  # what the resumed part ended with, kept over the reopening
            self.open_run(result.run_id)  # the whole run, its earlier requests with the resumed ones
            if said[0] is not None:
                self.model.say(*said)
            self.status.setText(f"{status} (resumed part) · whole run: {self.status.text()}")
        elif result is not None:
            info = self.engine.loads.runs.get(result.run_id)
            self.show_resumable(self.model.resume_problem(info) if info is not None else "gone from the store")
        self.refresh_runs()
        self.run_finished.emit("" if result is None else result.run_id)
