"""The plots' libraries are imported on a worker thread while the window idles, not on the
GUI thread at the first Scorecard…, Compare runs… or Load tab (0.25-0.6 s of stall there)."""

from __future__ import annotations

import logging
import sys

import pytest

from tests.ui.window_probe import run_window_probe

pytest.importorskip("PySide6")

from desk.ui import warm_imports


@pytest.fixture
def probe_modules(tmp_path, monkeypatch):
    """Two modules never imported before, that say on which thread they were imported."""
    for name in ("desk_probe_slow", "desk_probe_next"):
        (tmp_path / f"{name}.py").write_text("import threading\nIMPORTED_ON = threading.current_thread().name\n")
    (tmp_path / "desk_probe_broken.py").write_text("raise ImportError('a broken install')\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    yield
    for name in ("desk_probe_slow", "desk_probe_next", "desk_probe_broken"):
        sys.modules.pop(name, None)


def test_modules_are_imported_on_a_worker_thread(probe_modules):
    thread = warm_imports.warm_up(("desk_probe_slow", "desk_probe_next"))
    assert thread is not None
    thread.join(30)
    assert sys.modules["desk_probe_slow"].IMPORTED_ON == "desk-warm-imports"
    assert sys.modules["desk_probe_next"].IMPORTED_ON == "desk-warm-imports"
    assert warm_imports.warm_up(("desk_probe_slow", "desk_probe_next")) is None  # all there: no thread


def test_a_module_that_cannot_import_is_logged_and_the_rest_still_come(probe_modules, caplog):
    with caplog.at_level(logging.WARNING, logger="desk.ui"):
        thread = warm_imports.warm_up(("desk_probe_broken", "desk_probe_next"))
        assert thread is not None
        thread.join(30)
    assert "desk_probe_next" in sys.modules and "desk_probe_broken" not in sys.modules
    assert "could not import desk_probe_broken" in caplog.text
    assert "a broken install" in caplog.text


def test_nothing_is_imported_while_answers_stream(qtbot, probe_modules, monkeypatch):
    from PySide6.QtCore import QObject

    monkeypatch.setattr(warm_imports, "AFTER_SHOWN_MS", 0)
    monkeypatch.setattr(warm_imports, "RETRY_MS", 5)
    owner = QObject()
    streaming = [True]
    asked: list[bool] = []

    def busy() -> bool:
        asked.append(streaming[0])
        return streaming[0]

    warm_imports.warm_when_idle(owner, busy, ("desk_probe_slow",))
    qtbot.waitUntil(lambda: len(asked) >= 3)  # asked, and asked again, while streaming
    assert "desk_probe_slow" not in sys.modules
    streaming[0] = False
    qtbot.waitUntil(lambda: "desk_probe_slow" in sys.modules, timeout=30_000)
    assert warm_imports.wait(30)
    assert sys.modules["desk_probe_slow"].IMPORTED_ON == "desk-warm-imports"


PROBE = """
import json, sys, threading, time
found_on = {}

class Watch:
    # Says on which thread each plot library is first looked for: where its import runs.
    def find_spec(self, name, path=None, target=None):
        if name in ("numpy", "pyqtgraph"):
            found_on.setdefault(name, threading.current_thread().name)
        return None

sys.meta_path.insert(0, Watch())
from PySide6.QtCore import QSettings
from PySide6.QtWidgets import QApplication
from desk.engine.session import Engine
from desk.store.db import open_store
from desk.ui import warm_imports
from desk.ui.main_window import MainWindow

warm_imports.AFTER_SHOWN_MS = 100
app = QApplication([])
window = MainWindow(Engine(open_store(sys.argv[1])), QSettings(sys.argv[2], QSettings.Format.IniFormat))
window.show()
app.processEvents()
at_start = sorted(m for m in ("numpy", "pyqtgraph") if m in sys.modules)
until = time.monotonic() + 60
while "pyqtgraph" not in found_on and time.monotonic() < until:
    app.processEvents()
    time.sleep(0.01)
done = warm_imports.wait(60)
window.tabs.setCurrentIndex(1)  # the Load tab's plots, once warmed up
app.processEvents()
print(json.dumps({"at_start": at_start, "found_on": found_on, "done": done,
                  "plots": window.load_panel.cdf_plot.isVisible()}))
"""


def test_the_window_warms_the_plots_up_off_its_gui_thread(tmp_path):
    report = run_window_probe(PROBE, tmp_path)
    assert report["at_start"] == []  # the window shows without them (cold start)
    assert report["found_on"] == {"numpy": "desk-warm-imports", "pyqtgraph": "desk-warm-imports"}
    assert report["done"] and report["plots"]
