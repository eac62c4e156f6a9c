"""Wiring only: QApplication, the qasync loop, an excepthook dialog, the store, the engine
and the main window. `desk` with a subcommand is the CLI; without one, the window."""

from __future__ import annotations

import asyncio
import sys
import traceback
from collections.abc import Sequence
from pathlib import Path
from types import TracebackType

from desk import cli


def main(argv: Sequence[str] | None = None) -> int:
    return cli.main(argv, gui=run_app)


def run_app(db_path: str | Path | None = None) -> int:
    """Open the main window on the store at `db_path` (default: the platform data folder)."""
    import qasync
    from PySide6.QtCore import QCoreApplication, QSettings
    from PySide6.QtWidgets import QApplication, QMessageBox

    from desk.engine.session import Engine
    from desk.store.db import StoreError, open_store
    from desk.ui.collector import GuiThreadCollector
    from desk.ui.main_window import MainWindow

    QCoreApplication.setOrganizationName("desk")
    QCoreApplication.setApplicationName("desk")
    app = QApplication.instance() or QApplication(sys.argv[:1])
    icon = _icon_path()
    if icon is not None:
        from PySide6.QtGui import QIcon

        app.setWindowIcon(QIcon(str(icon)))  # type: ignore[attr-defined]
    loop = qasync.QEventLoop(app)
    asyncio.set_event_loop(loop)
    # Worker threads (load runs, keyring lookups) must never be the ones that collect
    # garbage holding Qt objects: see desk/ui/collector.py.
    collector = GuiThreadCollector(app).start()

    try:
        store = open_store(db_path)
    except StoreError as exc:
        QMessageBox.critical(None, "desk cannot open its store", str(exc))
        return 1

    def excepthook(kind: type[BaseException], exc: BaseException, tb: TracebackType | None) -> None:
        # qasync routes exceptions from slots and tasks here: show them, keep running.
        text = "".join(traceback.format_exception(kind, exc, tb))
        print(text, file=sys.stderr)
        box = QMessageBox(QMessageBox.Icon.Critical, "Something went wrong",
                          f"{kind.__name__}: {exc}\n\nYour trials are saved. Details below.")
        box.setDetailedText(text)
        box.exec()

    sys.excepthook = excepthook
    engine = Engine(store)
    window = MainWindow(engine, QSettings())
    window.show()
    closed = asyncio.Event()
    app.aboutToQuit.connect(closed.set)  # type: ignore[attr-defined]
    with loop:
        loop.run_until_complete(closed.wait())
        loop.run_until_complete(engine.aclose())
    collector.stop()
    store.close()
    return 0


def _icon_path() -> Path | None:
    """The app icon: next to the package in a checkout, or bundled by the PyInstaller build."""
    here = Path(getattr(sys, "_MEIPASS", Path(__file__).resolve().parent.parent))
    for candidate in (here / "resources" / "icons" / "desk.svg", here / "icons" / "desk.svg",
                      Path(sys.prefix) / "share" / "desk" / "icons" / "desk.svg"):
        if candidate.exists():
            return candidate
    return None
