"""Replies in the window (issue 16): a pane's Reply box continues that model's conversation,
the box under the answers (Reply to all) continues every pane's. The rules are the Trials
tab model's (desk.engine.trials_tab: reply_plan, run_reply); this mixin of the main window
runs a reply through the trial command like a send, and its answers stream into the panes
of the answers they continue (desk.ui.trial_view.pane_for)."""

from __future__ import annotations

from typing import Any

from desk.core.response import ResponseResult
from desk.engine.trials_tab import PlanError, ReplyPlan, replied
from desk.ui import frame_queue
from desk.ui.reply_box import ReplyBox

_Base: Any = object  # a mixin of MainWindow (see desk.ui.trial_view)

STATUS_MS = 10_000


class ReplyView(_Base):
    def _build_reply_all(self) -> ReplyBox:
        """The box under the answers: the same reply to every model at once. Hidden until asked
        for (Edit menu, Ctrl+Shift+Y): on a laptop screen its row is the answers' height."""
        self.reply_all_box = ReplyBox("Reply to all models…", "Reply to all", hides_when_done=True)
        self.reply_all_box.setVisible(False)
        self.reply_all_box.setObjectName("replyAll")
        self.reply_all_box.submitted.connect(self.reply_all)
        return self.reply_all_box

    def reply(self, response_id: str, text: str) -> None:
        """`text` to the model of this answer, which continues its conversation."""
        self._send_reply(text, response_id)

    def reply_all(self, text: str) -> None:
        """`text` to every pane's latest answer, each continuing its own conversation."""
        self._send_reply(text, None)

    def _send_reply(self, text: str, response_id: str | None) -> None:
        try:
            plan = self.tab.reply_plan(text, response_id)
        except PlanError as exc:
            self.banner_error(str(exc))
            return
        self.tab.begin_reply(plan)
        self._run_task = self.trial_command.start(
            lambda: self._stream_reply(plan), done=self._reply_done, cancelled=self._trial_cancelled,
            failed=self._trial_failed)
        self._frame.start()
        self._clock.start()
        self._tick_panes()

    async def _stream_reply(self, plan: ReplyPlan) -> list[ResponseResult]:
        results = await self.tab.run_reply(plan)
        self._stop_clocks()
        await frame_queue.idle()  # every turn drawn and ratable before the reply says it is done
        return results

    def _reply_done(self, results: list[ResponseResult]) -> None:
        end = replied(results)
        self.statusBar().showMessage(end.status, STATUS_MS)
        if end.problem:
            self.statusBar().clearMessage()
            self.banner_error(end.problem)
        self.refresh_history()
