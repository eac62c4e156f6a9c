"""What a pane shows of an answer's shape beside its text: the tool calls as they stream
(name as soon as it is known, arguments growing), and the structured-output verdict.

Kept apart from desk.ui.response_pane so the pane only queues and flushes: the calls a
stream delivers are drawn once per frame, like its text."""

from __future__ import annotations

from collections.abc import Sequence

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QLabel, QPlainTextEdit

from desk.core.response import ResponseResult, Status
from desk.core.structured import verdict_for
from desk.core.tools import ToolCall
from desk.ui import defs


def live_calls_text(calls: Sequence[ToolCall]) -> str:
    """Calls still arriving: each one's name (as soon as the vendor said it) and its
    arguments exactly as received so far (not yet JSON, so not pretty-printed)."""
    return "\n".join(f"[call {n}: {c.name or '…'} · arguments arriving]\n  {c.arguments}"
                     for n, c in enumerate(calls, 1))


class LiveCalls:
    """The latest calls a stream delivered, drawn into the pane's call list on a flush."""

    def __init__(self, view: QPlainTextEdit) -> None:
        self._view = view
        self._pending: list[ToolCall] | None = None

    def queue(self, calls: list[ToolCall]) -> None:
        self._pending = calls  # each delivery is the whole state so far: only the latest counts

    def flush(self) -> bool:
        """Draw the queued calls; True if anything changed."""
        if self._pending is None:
            return False
        calls, self._pending = self._pending, None
        self._view.setPlainText(live_calls_text(calls))
        self._view.moveCursor(self._view.textCursor().MoveOperation.End)  # the growing end in sight
        self._view.setVisible(bool(calls))
        return True

    def drop(self) -> None:
        """The answer ended: its checked calls replace whatever is still queued."""
        self._pending = None


class StructuredVerdictLabel(QLabel):
    """For an answer asked to fit a schema: whether it parsed and validated, and where it failed."""

    def __init__(self) -> None:
        super().__init__()
        self.setObjectName("paneStructured")
        self.setWordWrap(True)
        self.setTextFormat(Qt.TextFormat.PlainText)
        self.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.setVisible(False)

    def show_verdict(self, result: ResponseResult) -> None:
        """Shown blind too: whether the answer fits is part of the answer, not of the model."""
        verdict = verdict_for(result.text, result.settings, result.status == Status.OK,
                              result.structured_verdict)
        self.setVisible(verdict is not None)
        if verdict is None:
            return
        self.setText("\n".join(verdict.lines()))
        color, tint = (defs.ok_text(), "transparent") if verdict.valid else (defs.error_text(), defs.error_tint())
        self.setStyleSheet(f"color: {color}; background: {tint}; border-radius: 4px; padding: 2px 4px;")
