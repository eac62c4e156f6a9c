"""Compose: the prompt, system prompt variants and attachments, exactly as the user gave them."""

from __future__ import annotations

import asyncio
import re
from collections.abc import Mapping
from typing import Any

from PySide6.QtCore import QBuffer, QByteArray, QIODevice, QMimeData, Qt, QTimer, Signal
from PySide6.QtGui import QDragEnterEvent, QDropEvent, QImage, QPixmap
from PySide6.QtWidgets import (
    QFileDialog,
    QFrame,
    QHBoxLayout,
    QLabel,
    QPlainTextEdit,
    QPushButton,
    QScrollArea,
    QSizePolicy,
    QTabWidget,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from desk.core.attachment import Attachment, AttachmentError, attachment_from_bytes, load_attachment
from desk.core.tools import ToolSet
from desk.core.trial import MAX_PROMPT_CHARS, Variant
from desk.ui import defs
from desk.ui.tools_box import SchemaBox, ToolsBox


class PromptEdit(QPlainTextEdit):
    """Plain text kept byte for byte (tabs, odd spacing, long lines); pasted images become
    attachments instead of disappearing."""

    image_pasted = Signal(object)  # Attachment
    problem = Signal(str)

    def __init__(self, placeholder: str, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setPlaceholderText(placeholder)
        self.setLineWrapMode(QPlainTextEdit.LineWrapMode.WidgetWidth)
        self.setTabChangesFocus(False)  # tabs are content in real prompts
        self._pasted_images = 0

    def dragEnterEvent(self, event: QDragEnterEvent) -> None:
        # Dropped files are attachments, not text: let the window take them.
        if _local_files(event.mimeData()):
            event.ignore()
            return
        super().dragEnterEvent(event)

    def dropEvent(self, event: QDropEvent) -> None:
        if _local_files(event.mimeData()):
            event.ignore()
            return
        super().dropEvent(event)

    def canInsertFromMimeData(self, source: QMimeData) -> bool:
        return source.hasImage() or super().canInsertFromMimeData(source)

    def insertFromMimeData(self, source: QMimeData) -> None:
        if source.hasImage() and not source.hasText():
            self._paste_image(source)
            return
        text = source.text()
        if len(text) > MAX_PROMPT_CHARS:
            self.problem.emit(
                f"That paste is {len(text):,} characters, more than the {MAX_PROMPT_CHARS:,} a prompt "
                "can hold. Attach it as a file instead (Attach…); nothing was pasted."
            )
            return
        longest = max(map(len, _LINE_BREAKS.split(text)))  # what Qt lays out as one paragraph
        if longest > defs.MAX_PASTE_LINE_CHARS:
            self.problem.emit(
                f"That paste has a single line of {longest:,} characters (the limit is "
                f"{defs.MAX_PASTE_LINE_CHARS:,} per line, or editing would freeze the window). "
                "Attach it as a file instead (Attach…); nothing was pasted."
            )
            return
        self.insertPlainText(text)  # never rich text: what is pasted is what is sent

    def _paste_image(self, source: QMimeData) -> None:
        image = source.imageData()
        if not isinstance(image, QImage) or image.isNull():
            self.problem.emit("The clipboard image could not be read.")
            return
        data = QByteArray()
        buffer = QBuffer(data)
        buffer.open(QIODevice.OpenModeFlag.WriteOnly)
        image.save(buffer, "PNG")
        buffer.close()
        self._pasted_images += 1
        try:
            att = attachment_from_bytes(f"pasted-image-{self._pasted_images}.png", bytes(data.data()))
        except AttachmentError as exc:
            self.problem.emit(str(exc))
            return
        self.image_pasted.emit(att)


_LINE_BREAKS = re.compile("\r\n|[\r\n\u2029]")


def _local_files(mime: QMimeData) -> list[str]:
    if not mime.hasUrls():
        return []
    urls = mime.urls()
    return [u.toLocalFile() for u in urls] if urls and all(u.isLocalFile() for u in urls) else []


def human_size(n: int) -> str:
    for unit in ("bytes", "KB", "MB"):
        if n < 1024 or unit == "MB":
            return f"{n:,} {unit}" if unit == "bytes" else f"{n:.1f} {unit}"
        n /= 1024  # type: ignore[assignment]
    return f"{n} bytes"


FLASH_MS = 1200  # how long a new attachment's card lights up


class AttachmentChip(QFrame):
    """One attachment: thumbnail or preview, name, size, encoding, and a remove button."""

    removed = Signal(object)

    def __init__(self, att: Attachment, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.attachment = att
        self.setFrameShape(QFrame.Shape.StyledPanel)
        self.setObjectName("attachmentChip")
        row = QHBoxLayout(self)
        row.setContentsMargins(4, 4, 4, 4)
        icon = QLabel()
        icon.setFixedSize(defs.THUMB_SIZE, defs.THUMB_SIZE)
        icon.setAlignment(Qt.AlignmentFlag.AlignCenter)
        if att.kind == "image":
            pix = QPixmap()
            pix.loadFromData(att.data)
            icon.setPixmap(pix.scaled(defs.THUMB_SIZE, defs.THUMB_SIZE, Qt.AspectRatioMode.KeepAspectRatio,
                                      Qt.TransformationMode.SmoothTransformation))
            detail = f"{att.width}×{att.height} px · {human_size(att.size)}"
            preview = ""
        else:
            icon.setText(att.name.rsplit(".", 1)[-1].upper()[:4] if "." in att.name else "TXT")
            icon.setStyleSheet("border: 1px solid #bbb; border-radius: 4px; font-weight: bold;")
            detail = f"{human_size(att.size)} · {att.encoding}"
            lines = (att.text or "").splitlines()
            preview = "\n".join(line[:80] for line in lines[:3])
        row.addWidget(icon)
        text = QVBoxLayout()
        name = QLabel(att.name)
        name.setStyleSheet("font-weight: bold;")
        text.addWidget(name)
        meta = QLabel(detail)
        meta.setObjectName("attachmentSize")
        meta.setStyleSheet(f"color: {defs.muted()};")
        text.addWidget(meta)
        self.meta = meta
        if preview:
            pv = QLabel(preview)
            pv.setStyleSheet("font-family: monospace; font-size: 9pt;")
            pv.setToolTip((att.text or "")[:2000])
            text.addWidget(pv)
        row.addLayout(text)
        remove = QToolButton()
        remove.setText("✕")
        remove.setToolTip(f"Remove {att.name}")
        remove.setAccessibleName(f"Remove {att.name}")
        remove.clicked.connect(lambda: self.removed.emit(self))
        row.addWidget(remove, 0, Qt.AlignmentFlag.AlignTop)
        self.flashing = False

    def flash(self, ms: int = FLASH_MS) -> None:
        """Say "here it is": the card lights up in the highlight colour for a moment."""
        self.flashing = True
        self.setStyleSheet("#attachmentChip { border: 2px solid palette(highlight); "
                           "background: palette(highlight); } #attachmentChip QLabel { color: palette(highlighted-text); }")
        QTimer.singleShot(ms, self, self._unflash)

    def _unflash(self) -> None:
        self.flashing = False
        self.setStyleSheet("")


class AttachmentStrip(QScrollArea):
    """The attachments of the trial being composed, in order."""

    changed = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWidgetResizable(True)
        self.setFrameShape(QFrame.Shape.NoFrame)
        self.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAsNeeded)
        self.setVerticalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        inner = QWidget()
        self._row = QHBoxLayout(inner)
        self._row.setContentsMargins(0, 0, 0, 0)
        self._row.addStretch(1)
        self.setWidget(inner)
        self._chips: list[AttachmentChip] = []
        self.setVisible(False)
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Fixed)

    def attachments(self) -> list[Attachment]:
        return [c.attachment for c in self._chips]

    def add(self, att: Attachment, *, announce: bool = False) -> AttachmentChip:
        """Add a card; `announce` (a paste, a drop, a file chosen) scrolls to it and flashes
        it, so the user always sees where the new attachment landed."""
        chip = AttachmentChip(att)
        chip.removed.connect(self._remove)
        self._row.insertWidget(len(self._chips), chip)
        self._chips.append(chip)
        self._update()
        if announce:
            chip.flash()
            QTimer.singleShot(0, self, lambda: self._reveal(chip))  # once the strip is laid out
        return chip

    def _reveal(self, chip: AttachmentChip) -> None:
        if chip in self._chips:
            self.widget().adjustSize()
            self.ensureWidgetVisible(chip, 8, 0)

    def set_attachments(self, atts: list[Attachment]) -> None:
        for chip in list(self._chips):
            self._remove(chip, notify=False)
        for att in atts:
            self.add(att)
        self._update()

    def _remove(self, chip: AttachmentChip, notify: bool = True) -> None:
        self._chips.remove(chip)
        chip.setParent(None)
        chip.deleteLater()
        if notify:
            self._update()

    def _update(self) -> None:
        self.setVisible(bool(self._chips))
        # As tall as the tallest card, plus the scroll bar that many cards bring: a card's
        # size line is never cut off.
        tallest = max((c.sizeHint().height() for c in self._chips), default=0)
        bar = self.horizontalScrollBar().sizeHint().height()
        self.setFixedHeight(tallest + bar + 2 if self._chips else 0)
        self.changed.emit()


class VariantTabs(QTabWidget):
    """System prompt variants: one tab each; with two or more, panes become model × variant."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setTabsClosable(True)
        self.tabCloseRequested.connect(self._close)
        self.setDocumentMode(True)
        add = QToolButton()
        add.setText("+ Variant")
        add.setToolTip("Add a system prompt variant to compare side by side")
        add.clicked.connect(lambda: self.add_variant(""))
        self.setCornerWidget(add, Qt.Corner.TopRightCorner)
        self.add_variant("")

    def add_variant(self, text: str | None) -> PromptEdit:
        edit = PromptEdit("System prompt (optional): instructions the model gets before your prompt")
        edit.setPlainText(text or "")
        self.addTab(edit, "")
        self._relabel()
        self.setCurrentWidget(edit)
        return edit

    def _close(self, index: int) -> None:
        if self.count() > 1:
            self.removeTab(index)
            self._relabel()
        else:
            self.widget(0).clear()  # type: ignore[attr-defined]

    def _relabel(self) -> None:
        many = self.count() > 1
        for i in range(self.count()):
            self.setTabText(i, f"Variant {chr(65 + i)}" if many else "System prompt")

    def texts(self) -> list[str]:
        """Each tab's system prompt as typed (desk.engine.trials_tab.composed reads them)."""
        return [self.widget(i).toPlainText() for i in range(self.count())]  # type: ignore[attr-defined]

    def set_variants(self, system: str | None, variants: list[Variant]) -> None:
        while self.count():
            self.removeTab(0)
        if variants:
            for v in variants:
                self.add_variant(v.system)
        else:
            self.add_variant(system)
        self.setCurrentIndex(0)


class ComposePanel(QWidget):
    """Everything about the trial being written: system prompt(s), prompt, attachments."""

    problem = Signal(str)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        col = QVBoxLayout(self)
        col.setContentsMargins(0, 0, 0, 0)
        col.setSpacing(defs.SPACING)

        head = QHBoxLayout()
        head.setSpacing(4)  # four buttons on a line the narrowest window still fits
        self.system_toggle = QToolButton()
        self.system_toggle.setCheckable(True)
        self.system_toggle.setText("▸ System")
        self.system_toggle.setToolTip("The system prompt, or several to compare as variants")
        self.system_toggle.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextOnly)
        self.system_toggle.toggled.connect(self._toggle_system)
        head.addWidget(self.system_toggle)
        self.tools_toggle = QToolButton()
        self.tools_toggle.setCheckable(True)
        self.tools_toggle.setText("▸ Tools")
        self.tools_toggle.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextOnly)
        self.tools_toggle.toggled.connect(self._toggle_tools)
        head.addWidget(self.tools_toggle)
        self.schema_toggle = QToolButton()
        self.schema_toggle.setCheckable(True)
        self.schema_toggle.setText("▸ Schema")
        self.schema_toggle.setToolTip("Ask every model for JSON that fits a schema (structured output)")
        self.schema_toggle.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextOnly)
        self.schema_toggle.toggled.connect(self._toggle_schema)
        head.addWidget(self.schema_toggle)
        head.addStretch(1)
        self.attach_button = QPushButton("Attach…")
        self.attach_button.setToolTip("Attach images or data files (CSV, JSON, logs, text)")
        self.attach_button.clicked.connect(self.choose_files)
        head.addWidget(self.attach_button)
        col.addLayout(head)

        self.variants = VariantTabs()
        self.variants.setVisible(False)
        self.variants.setMaximumHeight(140)
        col.addWidget(self.variants)

        self.tools = ToolsBox()
        self.tools.setVisible(False)
        self.tools.setMaximumHeight(200)
        col.addWidget(self.tools)

        self.schema = SchemaBox()
        self.schema.setVisible(False)
        self.schema.setMaximumHeight(160)
        col.addWidget(self.schema)

        self.prompt = PromptEdit("Paste your real task here: the prompt, a log, a half-filled form…  "
                                 "Ctrl+V pastes screenshots as images; drop files anywhere.")
        self.prompt.setObjectName("promptEdit")
        self.prompt.image_pasted.connect(self.add_attachment)
        self.prompt.problem.connect(self.problem)
        col.addWidget(self.prompt, 1)

        self.attachments = AttachmentStrip()
        col.addWidget(self.attachments)
        self._reading: set[asyncio.Future[None]] = set()

    def _toggle_system(self, shown: bool) -> None:
        self.variants.setVisible(shown)
        self.system_toggle.setText(("▾" if shown else "▸") + " System")

    def _toggle_tools(self, shown: bool) -> None:
        self.tools.setVisible(shown)
        self.tools_toggle.setText(("▾" if shown else "▸") + " Tools")

    def _toggle_schema(self, shown: bool) -> None:
        self.schema.setVisible(shown)
        self.schema_toggle.setText(("▾" if shown else "▸") + " Schema")

    def set_schema(self, schema: Mapping[str, Any] | None) -> None:
        self.schema.set_schema(schema)
        self.schema_toggle.setChecked(schema is not None)

    def set_tools(self, tools: ToolSet | None) -> None:
        self.tools.set_tools(tools)
        self.tools_toggle.setChecked(tools is not None)

    def show_system(self) -> None:
        self.system_toggle.setChecked(True)

    def add_attachment(self, att: Attachment) -> None:
        self.attachments.add(att, announce=True)

    def add_files(self, paths: list[str]) -> asyncio.Future[None]:
        """Load files as attachments, in order, each read on a worker thread (a slow disk or a
        20 MiB file never freezes the window); each refusal is reported, the others still
        added. Returns the task; `loading()` is true until it is done."""

        async def go() -> None:
            problems = []
            for path in paths:
                try:
                    att = await asyncio.to_thread(load_attachment, path)
                except AttachmentError as exc:
                    problems.append(str(exc))
                    continue
                self.add_attachment(att)
            if problems:
                self.problem.emit("  •  ".join(problems))

        task = asyncio.ensure_future(go())
        self._reading.add(task)
        task.add_done_callback(self._reading.discard)
        return task

    def loading(self) -> bool:
        """Whether files are still being read (a trial sent now would lack them)."""
        return bool(self._reading)

    def choose_files(self) -> None:
        paths, _ = QFileDialog.getOpenFileNames(
            self, "Attach files", "",
            "Images and data (*.png *.jpg *.jpeg *.gif *.webp *.csv *.tsv *.json *.jsonl *.log *.txt "
            "*.md *.xml *.yaml *.yml);;All files (*)",
        )
        if paths:
            self.add_files(paths)
