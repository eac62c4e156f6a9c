"""The window shows without importing pandas, pyqtgraph or sqlite-utils (issue 21: over
1.5 s of cold start between them); the Load tab brings its plots when first shown."""

from __future__ import annotations

import pytest

from tests.ui.window_probe import run_window_probe

pytest.importorskip("PySide6")

PROBE = """
import json, sys
from PySide6.QtCore import QSettings
from PySide6.QtWidgets import QApplication
from desk.engine.session import Engine
from desk.store.db import open_store
from desk.ui.main_window import MainWindow

heavy = lambda: sorted(m for m in ("pandas", "pyqtgraph", "sqlite_utils") if m in sys.modules)
app = QApplication([])
window = MainWindow(Engine(open_store(sys.argv[1])), QSettings(sys.argv[2], QSettings.Format.IniFormat))
window.show()
app.processEvents()
report = {"shown": window.isVisible(), "at_start": heavy()}
window.tabs.setCurrentIndex(1)  # the user opens the Load tab
app.processEvents()
report["load_tab"] = window.tabs.tabText(1)
report["load_panel_shown"] = window.tabs.currentWidget() is window.load_panel and window.load_panel.isVisible()
report["plots"] = window.load_panel.cdf_plot.isVisible()
report["after_load_tab"] = heavy()
print(json.dumps(report))
"""


def test_window_shows_without_heavy_imports_and_load_tab_builds_on_demand(tmp_path):
    report = run_window_probe(PROBE, tmp_path)
    assert report["shown"] and report["at_start"] == []
    assert report["load_tab"] == "Load" and report["load_panel_shown"] and report["plots"]
    assert "pyqtgraph" in report["after_load_tab"]
