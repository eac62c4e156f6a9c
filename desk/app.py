"""Wiring only: QApplication, the qasync loop, an excepthook dialog, the store, the engine
and the main window. `desk` with a subcommand is the CLI; without one, the window."""

from __future__ import annotations

import logging
import os
import sys
import threading
import traceback
from collections.abc import Callable, MutableMapping, Sequence
from pathlib import Path
from types import TracebackType

from desk import cli
from desk.core.response import redact

ExceptHook = Callable[[type[BaseException], BaseException, TracebackType | None], None]


def main(argv: Sequence[str] | None = None) -> int:
    one_blas_thread(os.environ)
    install_crash_redaction()
    return cli.main(argv, gui=run_app)


# The BLAS numpy loads starts a pool of threads as numpy is imported (0.05 s of CPU on two
# cores, before any work), and desk's products are small enough that more threads spin more
# than they compute (desk.core.resampling runs them on one): so one thread, unless the user
# chose otherwise. Set before numpy is first imported, which a command does on first use.
BLAS_THREADS = ("OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS")  # not OMP_NUM_THREADS: pyarrow sizes its pool by it


def one_blas_thread(environ: MutableMapping[str, str]) -> None:
    for name in BLAS_THREADS:
        environ.setdefault(name, "1")


# --- crash reports and logs never show a key ------------------------------------------------


def crash_text(kind: type[BaseException], exc: BaseException | None, tb: TracebackType | None,
               secrets: tuple[str, ...] = ()) -> tuple[str, str]:
    """(one-line summary, full traceback) of an uncaught exception, keys redacted: vendor
    messages and request headers end up in exception text."""
    details = "".join(traceback.format_exception(kind, exc, tb))
    return redact(f"{kind.__name__}: {exc}", secrets), redact(details, secrets)


def _print_crash(kind: type[BaseException], exc: BaseException | None, tb: TracebackType | None) -> None:
    if issubclass(kind, KeyboardInterrupt):
        sys.__excepthook__(kind, exc, tb)  # type: ignore[arg-type]  # threading's hook may pass None
        return
    print(crash_text(kind, exc, tb)[1], file=sys.stderr, end="")


def _print_thread_crash(args: threading.ExceptHookArgs) -> None:
    if args.exc_type is SystemExit:
        return
    name = args.thread.name if args.thread is not None else "?"
    print(f"Exception in thread {name}:", file=sys.stderr)
    _print_crash(args.exc_type, args.exc_value, args.exc_traceback)


class RedactingFormatter(logging.Formatter):
    """Log lines (and the tracebacks attached to them) with keys redacted."""

    def format(self, record: logging.LogRecord) -> str:
        return redact(super().format(record))


class _RedactingStderr(logging.StreamHandler):
    """What logging prints when nobody configured it (warnings and up, message only, to
    whatever sys.stderr is at the time), but redacted."""

    def __init__(self) -> None:
        super().__init__()
        self.setLevel(logging.WARNING)
        self.setFormatter(RedactingFormatter("%(message)s"))

    @property
    def stream(self):
        return sys.stderr

    @stream.setter
    def stream(self, _value) -> None:
        pass  # always the current sys.stderr, like logging.lastResort


def install_crash_redaction() -> None:
    """Redact keys from uncaught exceptions (main and worker threads) and from log output
    (desk's loggers; asyncio's "exception was never retrieved"). A logging configuration
    someone else made is left alone."""
    sys.excepthook = _print_crash
    threading.excepthook = _print_thread_crash
    root = logging.getLogger()
    if not root.handlers:
        root.addHandler(_RedactingStderr())


def gui_excepthook(secrets: Callable[[], tuple[str, ...]] = tuple) -> ExceptHook:
    """The window's hook: print and show the error, keys redacted, and keep running."""

    def excepthook(kind: type[BaseException], exc: BaseException, tb: TracebackType | None) -> None:
        from PySide6.QtWidgets import QMessageBox

        summary, details = crash_text(kind, exc, tb, secrets())
        print(details, file=sys.stderr)
        box = QMessageBox(QMessageBox.Icon.Critical, "Something went wrong",
                          f"{summary}\n\nYour trials are saved. Details below.")
        box.setDetailedText(details)
        box.exec()

    return excepthook


def run_app(db_path: str | Path | None = None) -> int:
    """Open the main window on the store at `db_path` (default: the platform data folder)."""
    import asyncio  # here: a command that runs no event loop (a scorecard) never loads it

    import qasync
    from PySide6.QtCore import QCoreApplication, QSettings
    from PySide6.QtWidgets import QApplication, QMessageBox

    from desk.engine.application import Application
    from desk.engine.errors import EngineError
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
        application = Application.open(db_path)
    except EngineError as exc:
        QMessageBox.critical(None, "desk cannot open its store", str(exc))
        return 1

    # qasync routes exceptions from slots and tasks here: show them, keep running.
    sys.excepthook = gui_excepthook()
    engine = application.engine()
    notes = application.secure_stored_urls()
    window = MainWindow(engine, QSettings())
    window.show()
    if notes:
        window.banner_info(" ".join(notes))
    closed = asyncio.Event()
    app.aboutToQuit.connect(closed.set)
    with loop:
        loop.run_until_complete(closed.wait())
        loop.run_until_complete(engine.aclose())
    collector.stop()
    application.close()
    return 0


def _icon_path() -> Path | None:
    """The app icon: next to the package in a checkout, or bundled by the PyInstaller build."""
    here = Path(getattr(sys, "_MEIPASS", Path(__file__).resolve().parent.parent))
    for candidate in (here / "resources" / "icons" / "desk.svg", here / "icons" / "desk.svg",
                      Path(sys.prefix) / "share" / "desk" / "icons" / "desk.svg"):
        if candidate.exists():
            return candidate
    return None
