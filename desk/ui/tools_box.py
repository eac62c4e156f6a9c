"""The tools a trial offers: definitions pasted or loaded as JSON, and the tool choice.

The text is read by desk.engine.trials_tab.composed (desk.core.tools.read_tools): any
JSON the user pastes is kept as typed until a send reads it."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from PySide6.QtWidgets import (
    QComboBox,
    QFileDialog,
    QHBoxLayout,
    QLabel,
    QPlainTextEdit,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from desk.core.tools import TOOL_CHOICES, ToolSet


class ToolsBox(QWidget):
    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        col = QVBoxLayout(self)
        col.setContentsMargins(0, 0, 0, 0)
        self.text = QPlainTextEdit()
        self.text.setObjectName("toolsEdit")
        self.text.setPlaceholderText('Tool definitions as JSON, OpenAI\'s function format: '
                                     '[{"type": "function", "function": {"name": …, "description": …, '
                                     '"parameters": {JSON schema}}}]. Empty: no tools.')
        col.addWidget(self.text)
        row = QHBoxLayout()
        row.addWidget(QLabel("Tool choice:"))
        self.choice = QComboBox()
        self.choice.setObjectName("toolChoice")
        self.choice.setEditable(True)  # or the name of the one tool to call
        self.choice.addItems(list(TOOL_CHOICES))
        self.choice.setToolTip("auto: the model decides; required: it must call one; none: it may not; "
                               "or type a tool's name: it must call that one")
        row.addWidget(self.choice)
        row.addStretch(1)
        load = QPushButton("Load…")
        load.setToolTip("Read tool definitions from a JSON file")
        load.clicked.connect(self.choose_file)
        row.addWidget(load)
        col.addLayout(row)

    def tools_text(self) -> str:
        return self.text.toPlainText()

    def tool_choice(self) -> str:
        return self.choice.currentText().strip() or "auto"

    def set_tools(self, tools: ToolSet | None) -> None:
        """Show a stored trial's tools (pretty-printed) and its choice; None clears."""
        if tools is None:
            self.text.clear()
            self.choice.setCurrentText("auto")
            return
        self.text.setPlainText(json.dumps(json.loads(tools.as_json())["tools"], indent=2, ensure_ascii=False))
        self.choice.setCurrentText(tools.choice)

    def choose_file(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self, "Load tools", "", "JSON (*.json);;All files (*)")
        if path:
            with open(path, encoding="utf-8") as f:
                self.text.setPlainText(f.read())


class SchemaBox(QWidget):
    """The JSON schema every answer must fit (structured output), pasted or loaded; empty: free text.

    Read by desk.engine.trials_tab.with_schema when the trial is sent."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        col = QVBoxLayout(self)
        col.setContentsMargins(0, 0, 0, 0)
        self.text = QPlainTextEdit()
        self.text.setObjectName("schemaEdit")
        self.text.setPlaceholderText('A JSON schema every answer must fit, e.g. {"type": "object", "required": '
                                     '["city"], "properties": {"city": {"type": "string"}}}. Each vendor is asked '
                                     "through its own structured output; each pane says whether its answer "
                                     "parsed and validated. Empty: free text.")
        col.addWidget(self.text)
        row = QHBoxLayout()
        row.addStretch(1)
        load = QPushButton("Load…")
        load.setObjectName("schemaLoad")
        load.setToolTip("Read the answer schema from a JSON file")
        load.clicked.connect(self.choose_file)
        row.addWidget(load)
        col.addLayout(row)

    def schema_text(self) -> str:
        return self.text.toPlainText()

    def set_schema(self, schema: Mapping[str, Any] | None) -> None:
        """Show a stored trial's schema (pretty-printed); None clears."""
        self.text.setPlainText("" if schema is None else json.dumps(schema, indent=2, ensure_ascii=False))

    def choose_file(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self, "Load answer schema", "", "JSON (*.json);;All files (*)")
        if path:
            with open(path, encoding="utf-8") as f:
                self.text.setPlainText(f.read())
