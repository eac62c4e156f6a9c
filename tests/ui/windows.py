"""The real main window for tests: built on an engine, shown, and closed the same way by
every fixture (its work cancelled, the engine closed on the window's loop, the store closed)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from PySide6.QtCore import QSettings

from desk.engine.session import Engine
from desk.ui.main_window import MainWindow


@contextmanager
def open_window(qtbot, mw_loop, engine: Engine, tmp_path: Path, **kwargs) -> Iterator[MainWindow]:
    """MainWindow(engine, settings in tmp_path/ui.ini, **kwargs), shown."""
    win = MainWindow(engine, QSettings(str(tmp_path / "ui.ini"), QSettings.Format.IniFormat), **kwargs)
    qtbot.addWidget(win)
    win.show()
    try:
        yield win
    finally:
        win.cancel()
        mw_loop.run_until_complete(engine.aclose())
        engine.store.close()
