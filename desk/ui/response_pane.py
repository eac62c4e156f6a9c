"""One model's answer: streamed live, then rendered; timing, tokens and cost in the header."""

from __future__ import annotations

import time
from datetime import datetime
from typing import Any

from PySide6.QtCore import QByteArray, Qt, QUrl, Signal
from PySide6.QtGui import (
    QColor,
    QDesktopServices,
    QFont,
    QGuiApplication,
    QImage,
    QTextDocument,
)
from PySide6.QtWidgets import (
    QDialog,
    QDialogButtonBox,
    QFrame,
    QHBoxLayout,
    QLabel,
    QMessageBox,
    QPlainTextEdit,
    QSizePolicy,
    QStackedWidget,
    QTextBrowser,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from desk.core.figures import fmt_cost, fmt_ms  # noqa: F401 (fmt_cost: the suite and scorecard views import it here)
from desk.core.response import ResponseResult, Status
from desk.core.tools import calls_text
from desk.engine.answer_figures import fmt_tokens, live_status, metrics_line
from desk.ui import defs, frame_queue
from desk.ui.answer_checks import LiveCalls, StructuredVerdictLabel
from desk.ui.live_text import LiveText
from desk.ui.reply_box import ReplyBox


class _InertDocument(QTextDocument):
    """A document that resolves every resource to nothing.

    Returning None from the browser's loadResource is not enough: QTextDocument then
    decodes data: URLs and reads file:// and relative paths itself, and Qt's image
    handler falls back to QImage.load(path) for any image it got no picture for. So
    every image gets a non-null placeholder, and everything else an empty (not null)
    byte array, which stops both fallbacks."""

    def loadResource(self, kind: int, name: QUrl) -> Any:
        if kind == QTextDocument.ResourceType.ImageResource.value:
            return _placeholder_image()
        return QByteArray()


_PLACEHOLDER: list[QImage] = []


def _placeholder_image() -> QImage:
    """A small grey square where a model's image would have been."""
    if not _PLACEHOLDER:
        image = QImage(16, 16, QImage.Format.Format_ARGB32)
        image.fill(QColor(128, 128, 128, 96))
        _PLACEHOLDER.append(image)
    return _PLACEHOLDER[0]


_BREAK_AFTER = "/-_.:@"  # a long model id may wrap after these, never in the middle of a word part


def breakable(text: str) -> str:
    """The text with zero-width spaces after separators, so a label can wrap a long model id
    ("claude-sonnet-4-5-20250929") across lines instead of cutting it."""
    return "".join(ch + "\u200b" if ch in _BREAK_AFTER else ch for ch in text)


class PaneTitle:
    """A pane's name in full: the provider on a small line of its own (beside the pane's
    buttons), the model (and any variant) in bold below, wrapping to a second line rather
    than being cut, so two models of one provider never look alike. `text()` is the whole
    title ("openai/gpt-4o-mini", "Answer A", "A: openai/gpt-4o-mini")."""

    def __init__(self, text: str = "") -> None:
        self.provider = QLabel()
        self.provider.setObjectName("paneProvider")
        self.provider.setTextFormat(Qt.TextFormat.PlainText)
        self.provider.setStyleSheet(f"color: {defs.muted()};")
        self.name = QLabel()
        self.name.setObjectName("paneModel")
        self.name.setTextFormat(Qt.TextFormat.PlainText)
        self.name.setWordWrap(True)
        self.name.setStyleSheet("font-weight: bold; font-size: 10.5pt;")
        self._text = ""
        self.setText(text)

    def text(self) -> str:
        return self._text

    def setText(self, text: str) -> None:
        self._text = text
        self.name.setToolTip(text)
        # "A: openai/gpt-4o-mini  ·  variant B" -> "A: openai" over "gpt-4o-mini  ·  variant B"
        head, slash, rest = text.partition("/")
        if slash and " " not in head.split(": ")[-1]:
            self.provider.setText(head)
            # the provider is never cut by the buttons beside it: they shrink first
            self.provider.setMinimumWidth(self.provider.fontMetrics().horizontalAdvance(head) + 2)
            self.name.setText(breakable(rest))
        else:
            self.provider.setText("")
            self.provider.setMinimumWidth(0)
            self.name.setText(breakable(text))

    def isVisible(self) -> bool:
        return self.name.isVisible()


class SafeBrowser(QTextBrowser):
    """Markdown view that loads nothing by itself: no remote images, no tracking pixels,
    no local files named by model output. Links open only on click, after confirmation."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setDocument(_InertDocument(self))
        self.setOpenLinks(False)
        self.setOpenExternalLinks(False)
        self.anchorClicked.connect(self._confirm_link)

    def loadResource(self, kind: int, name: QUrl) -> Any:
        return None  # QTextBrowser's own loader (search paths, setSource) is never asked

    def _confirm_link(self, url: QUrl) -> None:
        target = url.toString()
        if url.scheme() not in ("http", "https", "mailto"):
            QMessageBox.information(self, "Link not opened", f"desk only opens web links.\n\n{target}")
            return
        answer = QMessageBox.question(
            self, "Open link?", f"The answer links to:\n\n{target}\n\nOpen it in your browser?"
        )
        if answer == QMessageBox.StandardButton.Yes:
            QDesktopServices.openUrl(url)


def fmt_instant(ts: float | None) -> str:
    """A recorded instant: local date and time to the microsecond, then the unix seconds
    (what a vendor's logs are joined on)."""
    if ts is None:
        return "–"
    return f"{datetime.fromtimestamp(ts).strftime('%Y-%m-%d %H:%M:%S.%f')} (unix {ts:.6f})"


def details_text(r: ResponseResult) -> str:
    """Everything recorded about an answer's HTTP requests, one block per attempt: the
    vendor's request id, status, when it was sent / its first token came / it ended, and
    the rate-limit headers exactly as the vendor sent them."""
    lines = [f"{r.model}",
             # what the vendor says it served (issue 15): its model name and build
             f"served: {r.served_model or '–'} · fingerprint: {r.system_fingerprint or '–'}",
             f"request id: {r.vendor_request_id or '–'}",
             f"connect: {fmt_ms(r.connect_ms)}", f"finish: {r.finish_reason or '–'}",
             f"cached input: {fmt_tokens(r.usage.cached_input_tokens)}",
             f"reasoning tokens: {fmt_tokens(r.usage.reasoning_tokens)}",
             f"price: {r.price_source or 'none'}"]
    if r.refusal:
        lines.append("refusal: yes (the vendor sent this answer as a refusal)")
    if r.unknown_fields:  # content desk does not read, kept raw in the store and exports
        lines.append("content desk does not read: " + ", ".join(
            f"{name} ×{f.count}" for name, f in sorted(r.unknown_fields.items())))
    if r.tool_calls:  # with the vendor's call ids, which the pane's list leaves out
        lines.append(f"tool calls: {len(r.tool_calls)}, {sum(not c.valid for c in r.tool_calls)} flagged · ids: "
                     + ", ".join(c.id or "–" for c in r.tool_calls))
    lines += [f"note: {note}" for note in r.notes]
    for a in r.attempts:
        outcome = a.status.value if not a.error_kind else a.error_kind.value
        lines += [
            "",
            f"attempt {a.number}: HTTP {a.http_status or '–'} {outcome} · TTFT {fmt_ms(a.ttft_ms)} · "
            f"total {fmt_ms(a.total_ms)}" + (f" · waited {fmt_ms(a.wait_before_ms)} before it"
                                              if a.wait_before_ms else ""),
            f"  request id:  {a.vendor_request_id or '–'}",
            f"  started:     {fmt_instant(a.started_at)}",
            f"  first token: {fmt_instant(a.first_token_at)}",
            f"  ended:       {fmt_instant(a.ended_at)}",
        ]
        if a.error_message:
            lines.append(f"  error:       {a.error_message}")
        if a.ratelimit:
            lines.append("  rate-limit headers:")
            lines += [f"    {name}: {value}" for name, value in sorted(a.ratelimit.items())]
        else:
            lines.append("  rate-limit headers: none sent")
    return "\n".join(lines)


class DetailsDialog(QDialog):
    """An answer's request details as selectable text (request ids go into vendor tickets)."""

    def __init__(self, title: str, text: str, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("responseDetails")
        self.setWindowTitle(f"Request details: {title}")
        self.resize(640, 480)
        col = QVBoxLayout(self)
        self.text = QPlainTextEdit(text)
        self.text.setReadOnly(True)
        self.text.setObjectName("responseDetailsText")
        self.text.setLineWrapMode(QPlainTextEdit.LineWrapMode.NoWrap)
        col.addWidget(self.text, 1)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
        copy = buttons.addButton("Copy", QDialogButtonBox.ButtonRole.ActionRole)
        copy.clicked.connect(lambda: QGuiApplication.clipboard().setText(self.text.toPlainText()))
        buttons.rejected.connect(self.reject)
        col.addWidget(buttons)


class ResponsePane(QFrame):
    """Shows one ResponseResult. Text arrives through `queue_text`; the grid flushes it
    once per frame so eight fast streams cost eight repaints a frame, not hundreds."""

    copied = Signal(str)
    retitled = Signal()  # the title changed (blind label on, models revealed)
    reply_wanted = Signal(str, str)  # (the conversation's latest answer id, the reply)
    results_wanted = Signal(object)  # the finished answer whose tool calls the user will answer

    def __init__(self, title: str, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setFrameShape(QFrame.Shape.StyledPanel)
        self.setObjectName("responsePane")
        self.result: ResponseResult | None = None
        self._pending: list[str] = []
        self._text_parts: list[str] = []
        self._started = time.monotonic()
        self._finished = False
        self.blind_label: str | None = None  # set while identities are hidden
        self.real_title = title
        self.rating: Any = None  # the RatingPanel under the answer, once it can be rated
        self.is_turn = False  # a later turn shown inside its conversation's first pane

        col = QVBoxLayout(self)
        col.setContentsMargins(4, 3, 4, 3)
        col.setSpacing(2)
        # Never narrower than the narrowest pane that reads well, nor than its header needs
        # (a fixed minimum width would override the header's own and squash the provider).
        col.addStrut(defs.PANE_MIN_WIDTH)
        self.head = self._build_header(title)
        self.details_dialog: DetailsDialog | None = None
        col.addLayout(self.head)
        # This turn's answer under the header: the body an earlier turn folds away (desk.ui.turn_fold).
        self.body = QWidget()
        self.body.setObjectName("paneBody")
        self.fold: Any = None  # an earlier turn's one-line header (desk.ui.turn_fold.TurnFold)
        answer = QVBoxLayout(self.body)
        answer.setContentsMargins(0, 0, 0, 0)
        answer.setSpacing(2)
        answer.addWidget(self.title.name)

        self._build_status(answer)

        self.error = QLabel()
        self.error.setObjectName("paneError")
        self.error.setWordWrap(True)
        self.error.setTextInteractionFlags(self.error.textInteractionFlags())
        self.error.setStyleSheet(
            f"color: {defs.error_text()}; background: {defs.error_tint()}; border-radius: 4px; padding: 6px;"
        )
        self.error.setVisible(False)
        self.error.setSizePolicy(QSizePolicy.Policy.Preferred, QSizePolicy.Policy.Maximum)
        answer.addWidget(self.error)

        self._build_tool_calls(answer)

        self.views = QStackedWidget()
        self.rendered = SafeBrowser()
        self.raw = QPlainTextEdit()
        self.raw.setReadOnly(True)
        self.raw.setObjectName("rawText")
        self.live_text = LiveText(self.raw)  # live text streams into the raw view
        self.views.addWidget(self.rendered)
        self.views.addWidget(self.raw)
        self.views.setCurrentWidget(self.raw)  # live text streams into the raw view
        answer.addWidget(self.views, 1)
        answer.addStretch(0)  # takes the room when a failed answer has no text to show
        col.addWidget(self.body, 1)
        self._answer = answer
        self._column = col
        # Later turns of this answer's conversation, each a pane of its own below it.
        self.turn_panes: list[ResponsePane] = []
        self.reply_box = ReplyBox("Reply to this model…", "Reply")
        self.reply_box.setVisible(False)
        self.reply_box.submitted.connect(self._reply)
        col.addWidget(self.reply_box)

    def named(self, title: str) -> ResponsePane:
        """This pane (made ahead, never shown) under `title`."""
        self.real_title = title
        self.title.setText(title)
        return self

    def _build_status(self, answer: QVBoxLayout) -> None:
        """The answer's figures (live while it streams), with the Reply button beside them."""
        self.status = QLabel("waiting…")
        self.status.setObjectName("paneStatus")
        self.status.setWordWrap(True)
        self.status.setStyleSheet(f"color: {defs.streaming_text()};")
        self.status.setFont(_small_font(self.status))
        # Reply sits on the figures' line: a pane a quarter of a laptop screen has no width
        # to spare in its header, nor height for a row of its own under the answer.
        self.reply_button = QToolButton()
        self.reply_button.setObjectName("paneReply")
        self.reply_button.setText("↩")
        self.reply_button.setAccessibleName("Reply")
        self.reply_button.setToolTip("Reply to this model: it gets the whole conversation and answers below")
        self.reply_button.setAutoRaise(True)
        self.reply_button.setVisible(False)
        self.reply_button.clicked.connect(self._open_reply)
        status_row = QHBoxLayout()
        status_row.setSpacing(2)
        status_row.addWidget(self.status, 1)
        status_row.addWidget(self.reply_button, 0, Qt.AlignmentFlag.AlignTop)
        answer.addLayout(status_row)

    def _build_tool_calls(self, col: QVBoxLayout) -> None:
        """The tools the model called, with desk's verdict on each, above any text it wrote."""
        self.tool_calls = QPlainTextEdit()
        self.tool_calls.setObjectName("paneToolCalls")
        self.tool_calls.setReadOnly(True)
        self.tool_calls.setVisible(False)
        self.tool_calls.setMaximumHeight(160)  # a few calls at a glance beside text; more scroll
        col.addWidget(self.tool_calls)
        self.live_calls = LiveCalls(self.tool_calls)  # the calls as they stream, drawn on flush
        self.structured = StructuredVerdictLabel()  # for a trial asking for JSON fitting a schema
        col.addWidget(self.structured)
        self.give_results_button = QToolButton()
        self.give_results_button.setText("Give results…")
        self.give_results_button.setObjectName("paneGiveResults")
        self.give_results_button.setToolTip("Paste a result for each call; the model continues with them")
        self.give_results_button.setVisible(False)
        self.give_results_button.clicked.connect(lambda: self.results_wanted.emit(self.result))
        col.addWidget(self.give_results_button)

    def _build_header(self, title: str) -> QHBoxLayout:
        """The title and the pane's buttons (raw view, copy, request details)."""
        head = QHBoxLayout()
        head.setSpacing(2)
        self.title = PaneTitle(title)
        head.addWidget(self.title.provider, 1)
        self.refusal_badge = QLabel("Refusal")  # shown blind too: it is part of the answer
        self.refusal_badge.setObjectName("paneRefusal")
        self.refusal_badge.setToolTip("The vendor marked this answer as a refusal; its text is what the model sent (the refusal, or what came before it)")
        self.refusal_badge.setStyleSheet(f"background: {defs.info_tint()}; border-radius: 4px; padding: 1px 6px;")
        self.refusal_badge.setVisible(False)
        head.addWidget(self.refusal_badge)
        self.raw_toggle = QToolButton()
        self.raw_toggle.setText("Raw")
        self.raw_toggle.setCheckable(True)
        self.raw_toggle.setToolTip("Show the answer exactly as received, without Markdown rendering")
        self.raw_toggle.toggled.connect(self._show_view)
        head.addWidget(self.raw_toggle)
        self.copy_button = QToolButton()
        self.copy_button.setText("Copy")
        self.copy_button.setToolTip("Copy the answer as received (Markdown source)")
        self.copy_button.clicked.connect(self.copy_text)
        head.addWidget(self.copy_button)
        self.details_button = QToolButton()
        self.details_button.setText("Details")
        self.details_button.setObjectName("paneDetails")
        self.details_button.setToolTip("Each HTTP request of this answer: the vendor's request id, status, "
                                       "timestamps and rate-limit headers")
        self.details_button.setEnabled(False)
        self.details_button.clicked.connect(self.show_details)
        head.addWidget(self.details_button)
        # Short faces (the tooltips say what they do), so a pane a quarter of a laptop screen
        # wide still fits the provider and its buttons on one line.
        for button, face, name in ((self.raw_toggle, "</>", "Raw"), (self.copy_button, "Copy", "Copy"),
                                   (self.details_button, "…", "Details")):
            button.setText(face)
            button.setAccessibleName(name)
        return head

    # --- streaming ---------------------------------------------------------------------
    def start(self, result: ResponseResult) -> None:
        self.result = result
        self._started = time.monotonic()

    def queue_text(self, delta: str) -> None:
        self._pending.append(delta)

    def queue_calls(self, calls: list[Any]) -> None:
        """The answer's tool calls so far (desk.core.tools.ToolCall copies), drawn on the next flush."""
        if not self._finished:
            self.live_calls.queue(calls)

    def flush(self) -> bool:
        """Move queued text (and tool calls) into the view; return True if anything changed.
        The view's scrollbar catches up with the text on `settle`."""
        calls = self.live_calls.flush()
        if not self._pending:
            return calls
        chunk = "".join(self._pending)
        self._pending.clear()
        self._text_parts.append(chunk)
        self.live_text.append(chunk)
        return True

    def settle(self) -> None:
        """Fit the live view's scrollbar to the text so far (the window does it for a few
        panes a frame, each about ten times a second, not for every pane in every frame)."""
        self.live_text.settle()

    @property
    def is_finished(self) -> bool:
        return self._finished

    def tick(self, live: str | None = None) -> None:
        """Refresh the running clock while the answer is still coming: `live` is the line the
        Trials tab's model says (desk.engine.answer_figures.AnswerFigures.status), else the
        pane's own count of what it has shown."""
        if self._finished:
            return
        if self.blind_label is not None:
            self.status.setText("answer in progress (timing hidden while rating blind)")
            return
        if live is None:
            chars = sum(len(p) for p in self._text_parts)
            live = live_status(self.result, time.monotonic() - self._started, chars, time.time())
        self.status.setText(live)

    # --- blind rating ------------------------------------------------------------------
    def set_blind(self, label: str) -> None:
        """Hide everything that gives the model away: name, timing, tokens, cost."""
        self.blind_label = label
        self.title.setText(f"Answer {label}")
        self.retitled.emit()
        if self._finished and self.result is not None:
            self._show_outcome(self.result)

    def reveal(self) -> None:
        if self.blind_label is None:
            return
        label = self.blind_label
        self.blind_label = None
        self.title.setText(f"{label}: {self.real_title}")
        self.retitled.emit()
        if self._finished and self.result is not None:
            self._show_outcome(self.result)

    def attach_rating(self, panel: QWidget) -> None:
        self.rating = panel
        self._answer.addWidget(panel)  # under this turn's answer, above any later turn

    # --- conversations -----------------------------------------------------------------
    def add_turn(self, reply: str, title: str) -> ResponsePane:
        """A later turn of this conversation: the reply, then a pane for the answer, below."""
        said = QLabel(f"You: {reply}")
        said.setObjectName("paneReplyText")
        said.setWordWrap(True)
        said.setStyleSheet(f"color: {defs.muted()};")
        turn = ResponsePane(title)
        turn.is_turn = True  # this (first) pane's own button and box continue the conversation
        at = self._column.indexOf(self.reply_box)
        self._column.insertWidget(at, said)
        self._column.insertWidget(at + 1, turn, 1)
        self.turn_panes.append(turn)
        return turn

    def latest(self) -> ResponsePane:
        return self.turn_panes[-1] if self.turn_panes else self

    def _open_reply(self) -> None:
        self.reply_box.open()

    def _reply(self, text: str) -> None:
        latest = self.latest().result
        if latest is not None:
            self.reply_wanted.emit(latest.id, text)

    def finish(self, result: ResponseResult) -> None:
        self.flush()
        self.settle()
        self._finished = True
        self.result = result
        text = result.text
        if "".join(self._text_parts) != text:  # a reopened trial, or text the stream never showed
            self.raw.setPlainText(text)
            self._text_parts = [text]
        # Markdown is laid out on a coming turn of the loop, one pane per turn (frame_queue),
        # so eight answers finishing together never freeze the window.
        frame_queue.later(self, self._render_markdown)
        self._show_outcome(result)

    def _show_outcome(self, result: ResponseResult) -> None:
        self.reply_button.setVisible(not self.is_turn and not result.failed)
        text = result.text
        self.refusal_badge.setVisible(result.refusal)
        self.live_calls.drop()
        self.tool_calls.setPlainText(calls_text(result.tool_calls))  # part of the answer: shown blind too
        self.structured.show_verdict(result)
        self.tool_calls.setVisible(bool(result.tool_calls))
        self.give_results_button.setVisible(bool(result.tool_calls) and result.status == Status.OK)
        if result.tool_calls and not text:  # an answer that is only calls: they take the room
            self.tool_calls.setMaximumHeight(QWIDGETSIZE_MAX)
            self.views.setVisible(False)
        self.details_button.setEnabled(self.blind_label is None)
        if self.blind_label is not None:
            self.status.setText("done · timing, tokens and cost hidden until every answer is rated")
            self.status.setToolTip("")
            self.status.setStyleSheet(f"color: {defs.muted()};")
            if result.status != Status.OK:
                self.error.setText("This answer failed; the details are hidden until you have rated every answer.")
                self.error.setVisible(True)
                self.views.setVisible(bool(text))
            return
        self.status.setText(metrics_line(result))
        self.status.setToolTip(self._details(result))
        if result.status == Status.OK:
            self.status.setStyleSheet(f"color: {defs.ok_text()};")
        else:
            kind = result.error_kind.value if result.error_kind else result.status.value
            retries = f" after {result.retries} retr{'y' if result.retries == 1 else 'ies'}" if result.retries else ""
            http = f" (HTTP {result.http_status})" if result.http_status and result.http_status >= 300 else ""
            self.error.setText(f"<b>{kind.replace('_', ' ')}</b>{http}{retries}: {_escape(result.error_message or '')}"
                               + ("<br><i>The text that arrived before the failure is kept below.</i>" if text else ""))
            self.error.setVisible(True)
            self.status.setStyleSheet(f"color: {defs.muted()};")
            self.views.setVisible(bool(text))

    def _render_markdown(self) -> None:
        if self.result is None:
            return
        self.rendered.setMarkdown(self.result.text)
        self._show_view(self.raw_toggle.isChecked())

    def _details(self, r: ResponseResult) -> str:
        return details_text(r)

    def details_text(self) -> str | None:
        """The details of the finished answer (None while streaming or rating blind)."""
        if self.result is None or not self._finished or self.blind_label is not None:
            return None
        return details_text(self.result)

    def show_details(self) -> DetailsDialog | None:
        text = self.details_text()
        if text is None:
            return None
        if self.details_dialog is not None:
            self.details_dialog.close()
        self.details_dialog = DetailsDialog(self.real_title, text, self)
        self.details_dialog.show()
        return self.details_dialog

    def _show_view(self, raw: bool) -> None:
        if not self._finished:
            return  # while streaming the raw view is the live one
        self.views.setCurrentWidget(self.raw if raw else self.rendered)

    def answer_view(self) -> QWidget:
        """The widget that shows the answer text now (raw while streaming, else as chosen)."""
        return self.views.currentWidget()

    def text(self) -> str:
        if self.result is not None and self._finished:
            return self.result.text
        return "".join(self._text_parts)

    def copy_text(self) -> None:
        QGuiApplication.clipboard().setText(self.text())
        self.copied.emit(self.title.text())


QWIDGETSIZE_MAX = 16777215  # Qt's "no maximum" for a widget's size


def _small_font(widget: QWidget) -> QFont:
    """The metrics line in a smaller face: it is read once, the answer is read at length."""
    font = QFont(widget.font())
    font.setPointSizeF(max(7.0, font.pointSizeF() * 0.9))
    return font


def _escape(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
