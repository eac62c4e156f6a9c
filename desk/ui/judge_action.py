"""*Judge run…* on the Suites tab, *Rate → Judge these answers…* in the window: a model
rates a suite run's or the open trial's answers (issue 14).

The judge model is chosen from the configured ones; the run streams on the window's
streaming thread (`sending`, as a trial and a suite run do: no SSE is parsed, nothing is
stored on the GUI thread), with its progress on the panel's message line and a Cancel
button (it stops the run on that thread and waits until what arrived is stored). A cancelled
run resumes where it stopped: no answer is judged twice (desk.engine.services.judge).
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Protocol

from PySide6.QtWidgets import QPushButton, QWidget

from desk.core.trial import ModelRef, ModelRefError
from desk.engine.services.judge import JUDGE_TEMPERATURE
from desk.engine.session import Engine, JudgeSummary
from desk.engine.streamed import Streamed
from desk.ui import layout
from desk.ui.busy import BusyBar
from desk.ui.command import Command
from desk.ui.judge_agreement_view import JudgeAgreementDialog
from desk.ui.judge_dialog import JudgeDialog


class Judge(Protocol):
    """JudgeService.judge_run or judge_trial: what to judge (a run's or a trial's id), by whom."""

    def __call__(self, what: str, judge: ModelRef, /, *, images: bool | None, temperature: float | None,
                 progress: Callable[[int, int], None]) -> Awaitable[JudgeSummary]: ...


class JudgeRunAction:
    """The button, its Cancel, and the judging task of one panel. `run_id()` names what to
    judge: a suite run, or with `judge` (an engine's JudgeService.judge_trial, say) a trial;
    `sending` says where it streams (the window's streaming thread); with a `bar`, the work
    and its Cancel show in the window's status bar."""

    def __init__(self, engine: Engine, parent: QWidget, run_id: Callable[[], str | None],
                 models: Callable[[], list[str]], show_info: Callable[[str], None],
                 show_error: Callable[[str], None], *, judge: Callable[[Engine], Judge] | None = None,
                 bar: BusyBar | None = None, what: str = "run", sending: Streamed | None = None) -> None:
        self.engine, self._parent, self._run_id, self._models = engine, parent, run_id, models
        self._show_info, self._show_error = show_info, show_error
        self._judge: Callable[[Engine], Judge] = judge or (lambda on: on.judges.judge_run)
        self.sending = sending or Streamed(engine)
        self._what = what
        self.command = Command(show_info, show_error, refuse="Still judging: wait for it or cancel it.",
                               running_changed=self._running, bar=bar)
        self.button: QPushButton = layout.button(
            "Judge run…", "suiteJudge", self.start,
            "A model rates every answer of the selected run as a blind rater would; its verdicts are "
            "kept apart from people's ratings (desk judge agreement measures it against them)")
        self.cancel_button: QPushButton = layout.button("Cancel judging", "suiteJudgeCancel", self.command.cancel,
                                                        "Stop judging; Judge run again goes on where it stopped")
        self.cancel_button.setVisible(False)
        self.agreement_button: QPushButton = layout.button(
            "Judge agreement…", "suiteJudgeAgreement", self.open_agreement,
            "How the judge's verdicts agree with people's on this run: kappa, its interval, and whether "
            "the judge is calibrated")
        self.agreement: JudgeAgreementDialog | None = None
        self.dialog: JudgeDialog | None = None  # the last one asked (tests answer it)

    def start(self, judge: str | None = None, *, images: bool | None = None,
              temperature: float | None = JUDGE_TEMPERATURE) -> asyncio.Future[bool] | None:
        """Judge the selected run with `judge`, showing it the tasks' `images` (None: as it
        takes them) at `temperature` (None: its vendor's default); with no judge given, a
        dialog asks for all three (`desk judge`'s --judge, --images and --temperature)."""
        run_id = self._run_id()
        if run_id is None:
            self._show_error(f"Select a {self._what} to judge.")
            return None
        if judge is None:
            self.dialog = JudgeDialog(self._models(), self.engine.providers.takes_images, self._parent,
                                      "Judge run" if self._what == "run" else "Judge these answers")
            if self.dialog.exec() != JudgeDialog.DialogCode.Accepted:
                return None
            judge, images, temperature = self.dialog.chosen()
            if not judge:
                return None
        try:
            ref = ModelRef.parse(judge)
        except ModelRefError as exc:
            self._show_error(str(exc))
            return None

        async def judging() -> JudgeSummary:
            progress = self.sending.back_here(self._progress)  # called on the streaming thread: told here
            return await self.sending.run([ref.provider], lambda engine: self._judge(engine)(
                run_id, ref, images=images, temperature=temperature, progress=progress))

        task = self.command.start(judging, done=_said,
                                  cancelled="Judging cancelled; judging again goes on where it stopped.",
                                  title=f"Judging with {ref}")
        if task is not None:
            self._show_info(f"Judging with {ref}…")
        return task

    def open_agreement(self) -> JudgeAgreementDialog:
        """The agreement view of the selected run (of every answer when none is selected)."""
        if self.agreement is not None:
            self.agreement.close()
            self.agreement.deleteLater()
        self.agreement = JudgeAgreementDialog(self.engine, self._run_id(), self._parent)
        self.agreement.show()
        return self.agreement

    def _progress(self, done: int, total: int) -> None:
        self._show_info(f"Judged {done} / {total} answers…")

    def _running(self, running: bool) -> None:
        self.cancel_button.setVisible(running)
        self.button.setEnabled(not running)


def _said(summary: JudgeSummary) -> str:
    return (f"{summary.judge}: {summary.verdicts} verdicts, {summary.errors} judge errors, "
            f"{summary.already} judged before (prompt version {summary.prompt_version})."
            + (f" Images withheld for {summary.images_withheld} answer(s): {summary.images_reason}."
               if summary.images_withheld else ""))
