"""First run: an empty store opens the welcome, which finds a loopback Ollama and adds it."""

from __future__ import annotations

import asyncio

from PySide6.QtCore import QSettings, Qt

from desk.core.trial import ModelRef
from desk.engine.session import Engine
from desk.store.db import open_store
from desk.ui.main_window import MainWindow
from tests.cli_helpers import closed_port
from tests.ui.qt_helpers import run_until

OLLAMA_MODELS = ["llama3.2:latest", "qwen2.5:0.5b"]


def _first_run(qtbot, tmp_path, candidates, **kwargs):
    store = open_store(tmp_path / "first.db")
    engine = Engine(store)
    settings = QSettings(str(tmp_path / "ui.ini"), QSettings.Format.IniFormat)
    win = MainWindow(engine, settings, welcome_candidates=candidates, **kwargs)
    qtbot.addWidget(win)
    win.show()
    return store, engine, win


def _close(win, engine, store, loop):
    if win.welcome is not None:
        win.welcome.reject()
    win.cancel()
    loop.run_until_complete(engine.aclose())
    store.close()


def test_first_run_offers_a_loopback_ollamas_models_and_adds_them(qtbot, tmp_path, vendor, mw_loop):
    candidates = (("ollama", "ollama", vendor.port), ("lmstudio", "openai", closed_port()))
    store, engine, win = _first_run(qtbot, tmp_path, candidates)
    try:
        assert win.welcome is None  # shown once the window is up, without blocking it
        # One wait: the probes run while the loop runs (stopping it mid-probe would starve them).
        run_until(mw_loop, lambda: win.welcome is not None and not win.welcome.searching())
        welcome = win.welcome
        assert welcome.isVisible()
        assert welcome.windowModality() != Qt.WindowModality.ApplicationModal
        assert welcome.offered() == {"ollama": OLLAMA_MODELS}, welcome.status.text()
        assert "Ollama" in welcome.tree.topLevelItem(0).text(0)
        assert not welcome.add_button.isEnabled()  # nothing ticked yet

        welcome.set_ticked("ollama", OLLAMA_MODELS)
        assert welcome.add_button.isEnabled()
        qtbot.mouseClick(welcome.add_button, Qt.MouseButton.LeftButton)
        run_until(mw_loop, lambda: not welcome.isVisible())

        expected = [ModelRef("ollama", m) for m in OLLAMA_MODELS]
        assert sorted(engine.providers.configured_models(), key=str) == expected
        config = engine.providers.configs.all()[0]
        assert (config.name, config.kind, config.base_url) == ("ollama", "ollama", vendor.base_url)
        assert win.picker.refs() == expected
        assert win.picker.selected() == expected  # listed and ticked, ready to send
        assert "Added 2 models" in win.banner.label.text()
    finally:
        _close(win, engine, store, mw_loop)


def test_only_the_ticked_models_are_added(qtbot, tmp_path, vendor, mw_loop):
    store, engine, win = _first_run(qtbot, tmp_path, (("ollama", "ollama", vendor.port),))
    try:
        run_until(mw_loop, lambda: win.welcome is not None and win.welcome.offered())
        win.welcome.set_ticked("ollama", ["qwen2.5:0.5b"])
        win.welcome.add_selected()
        run_until(mw_loop, lambda: bool(engine.providers.configured_models()))
        assert engine.providers.configured_models() == [ModelRef("ollama", "qwen2.5:0.5b")]
        run_until(mw_loop, lambda: win.picker.selected() == [ModelRef("ollama", "qwen2.5:0.5b")])
    finally:
        _close(win, engine, store, mw_loop)


def test_nothing_found_says_so_and_skip_closes(qtbot, tmp_path, mw_loop):
    port = closed_port()
    store, engine, win = _first_run(qtbot, tmp_path, (("ollama", "ollama", port),))
    try:
        run_until(mw_loop, lambda: win.welcome is not None and not win.welcome.searching())
        assert win.welcome.isVisible()
        assert win.welcome.offered() == {}
        assert f"Ollama {port}" in win.welcome.status.text()
        qtbot.mouseClick(win.welcome.skip_button, Qt.MouseButton.LeftButton)
        assert not win.welcome.isVisible()
        assert engine.providers.configs.all() == []
    finally:
        _close(win, engine, store, mw_loop)


def test_no_welcome_when_asked_not_to_or_when_providers_exist(qtbot, tmp_path, mw_loop, window):
    store, engine, win = _first_run(qtbot, tmp_path, (("ollama", "ollama", closed_port()),),
                                    show_welcome=False)
    try:
        mw_loop.run_until_complete(asyncio.sleep(0.05))  # the single-shot timer would have fired
        assert win.welcome is None
        assert window.welcome is None  # the usual fixture has providers: no welcome
    finally:
        _close(win, engine, store, mw_loop)


def test_builtin_model_offer_says_how_to_install_when_the_extra_is_missing(qtbot, tmp_path, mw_loop, monkeypatch):
    from desk.engine import local_model

    monkeypatch.setattr(local_model, "missing", lambda: "the built-in model needs llama-cpp-python: "
                        + local_model.INSTALL_HINT)
    store, engine, win = _first_run(qtbot, tmp_path, (("ollama", "ollama", closed_port()),))
    try:
        run_until(mw_loop, lambda: win.welcome is not None and not win.welcome.searching())
        assert not win.welcome.builtin_button.isEnabled()
        assert "pip install 'desk[local]'" in win.welcome.builtin_note.text()
    finally:
        _close(win, engine, store, mw_loop)


def test_builtin_model_starts_from_the_welcome_and_answers(qtbot, tmp_path, mw_loop, monkeypatch):
    import pytest

    from desk.engine import local_model

    if local_model.missing():
        pytest.skip("the desk[local] extra is not installed")
    monkeypatch.setenv("DESK_MODEL_CACHE", str(tmp_path / "cache"))
    monkeypatch.setattr(local_model, "DEFAULT_PORT", local_model.free_port(0))
    store, engine, win = _first_run(qtbot, tmp_path, (("ollama", "ollama", closed_port()),))
    try:
        run_until(mw_loop, lambda: win.welcome is not None and not win.welcome.searching())
        qtbot.mouseClick(win.welcome.builtin_button, Qt.MouseButton.LeftButton)
        run_until(mw_loop, lambda: not win.welcome.isVisible(), timeout=120)
        ref = local_model.local_model_ref()
        assert win.picker.selected() == [ref] and win.local_server is not None
        assert win.picker.settings_for(ref).max_tokens == local_model.DEFAULT_MAX_TOKENS
        win.picker.cellWidget(0, 2).setValue(16)  # shorter still: a quick test
        win.compose.prompt.setPlainText("Name one colour. One word.")
        win.send()
        run_until(mw_loop, lambda: win._run_task is not None and win._run_task.done(), timeout=120)
        [pane] = win.grid.panes
        assert pane.result.status == "ok" and pane.result.text.strip()
        assert pane.result.usage.output_tokens is None  # llama.cpp streams no usage: unknown, not 0
    finally:
        server = win.local_server
        win.close()
        _close(win, engine, store, mw_loop)
        assert server is None or not server.alive()
