"""Help: the keyboard shortcuts, and About (versions, where the data lives, price data)."""

from __future__ import annotations

import platform
from importlib.metadata import PackageNotFoundError, version

from PySide6 import __version__ as pyside_version
from PySide6.QtCore import qVersion
from PySide6.QtWidgets import QMessageBox, QWidget

from desk import __version__
from desk.ui import hotkeys

SHORTCUTS = [
    (hotkeys.SEND, "send the prompt to every ticked model"),
    (hotkeys.CANCEL, "cancel every stream (what arrived is kept)"),
    (hotkeys.NEW_TRIAL, "new trial"),
    (hotkeys.ATTACH, "attach files (or drop them on the window; Ctrl+V pastes screenshots)"),
    (hotkeys.OPEN_STORE, "open or create another desk store"),
    (hotkeys.FIND_HISTORY, "search past trials"),
    (hotkeys.RUN_AGAIN, "run the opened trial again"),
    (hotkeys.REPLY_ALL, "reply to all models (each pane's ↩ replies to one)"),
    (hotkeys.BLIND, "blind rating on or off"),
    (hotkeys.RATE, "rate: go to the first unrated answer"),
    ("1–9, ↑ ↓, Enter, Tab", "rate: pick an option, move between rows, save, next answer"),
    (f"{hotkeys.PREFER_LEFT} / {hotkeys.PREFER_RIGHT} / {hotkeys.PREFER_TIE} / {hotkeys.PREFER_BOTH_BAD}",
     "pairwise: left better / right better / tie / both bad"),
    (f"{hotkeys.TAB_TRIALS} / {hotkeys.TAB_LOAD} / {hotkeys.TAB_SUITES}", "Trials, Load and Suites tabs"),
    (f"{hotkeys.MAXIMISE}+1 … 9", "that answer alone (a conversation: its latest turn's rating takes the digits); "
                                "the same keys again bring the others back"),
    (hotkeys.PANE_LAYOUT, "many answers: columns, two rows or tabs (remembered)"),
    (hotkeys.LINK_SCROLL, "scroll every answer together"),
    ("PgDn / PgUp, Ctrl+↓", "rating queue: next or previous case, next unrated case"),
    (hotkeys.SCORECARD, "scorecard"),
    (hotkeys.EXPORT, "export ratings"),
    (hotkeys.SETTINGS, "providers, keys, models and prices"),
    (hotkeys.HELP, "this help"),
]


def _version(package: str) -> str:
    try:
        return version(package)
    except PackageNotFoundError:
        return "not installed"


def about_text(store_path: str, price_data: str) -> str:
    return (
        f"<h3>desk {__version__}</h3>"
        "<p>Side-by-side, hands-on trials of AI models on your own material.</p>"
        f"<p><b>Store:</b> {store_path}<br><b>Prices:</b> {price_data}</p>"
        f"<p>Python {platform.python_version()} · Qt {qVersion()} · PySide6 {pyside_version} · "
        f"httpx {_version('httpx')} · genai-prices {_version('genai-prices')}</p>"
    )


def show_about(parent: QWidget, store_path: str, price_data: str) -> None:
    QMessageBox.about(parent, "About desk", about_text(store_path, price_data))


def shortcuts_html() -> str:
    rows = "".join(f"<tr><td><b>{keys}</b></td><td>{what}</td></tr>" for keys, what in SHORTCUTS)
    return f"<table cellspacing=6>{rows}</table>"


def show_help(parent: QWidget) -> None:
    box = QMessageBox(parent)
    box.setWindowTitle("desk — keyboard")
    box.setText(shortcuts_html())
    box.exec()
