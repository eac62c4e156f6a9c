"""Smaller things seen by a new user: the "No models yet" banner, a cancelled trial in
history, history entries that can be told apart (and name no model while blind), and a
visible blind-mode indicator after a restart."""

from __future__ import annotations

import pytest

pytest.importorskip("PySide6")


from desk.core.provider import ProviderConfig
from desk.core.trial import TrialInput, headline
from desk.engine.session import Engine
from desk.store.db import open_store
from desk.ui.main_window import NO_MODELS, MainWindow
from tests.ui.qt_helpers import run_until
from tests.ui.windows import open_window
from tests.vendor_server import Script


@pytest.fixture
def bare(qtbot, tmp_path, vendor, mw_loop):
    """A window on a store with a provider and no model, and its settings file."""
    store = open_store(tmp_path / "bare.db")
    store.providers.add(ProviderConfig("openai", "openai", vendor.base_url + "/v1"))
    with open_window(qtbot, mw_loop, Engine(store), tmp_path, show_welcome=False) as win:
        yield win


def test_no_models_banner_goes_when_models_are_added(bare):
    assert bare.banner.isVisible() and bare.banner.label.text() == NO_MODELS
    bare.engine.store.providers.add_model("openai", "gpt-4o-mini")
    bare._models_added([])  # what the providers dialog's "models changed" leads to
    assert not bare.banner.isVisible()


def test_a_cancelled_trial_is_in_history_at_once(window, vendor, mw_loop):
    vendor.set_default("gpt-4o-mini", Script(stall_after_headers=True))  # still waiting when cancelled
    window.picker.set_checked({"openai/gpt-4o-mini"})
    window.compose.prompt.setPlainText("A trial I will cancel")
    window.send()
    run_until(mw_loop, lambda: len(window.grid.panes) == 1)
    assert window.history.list.count() == 0
    window.cancel()
    run_until(mw_loop, lambda: window._run_task.done())
    assert window.history.list.count() == 1
    assert window.history.list.item(0).text().startswith("A trial I will cancel\n")


def test_headline_is_the_first_line_cut_at_a_word():
    assert headline("\n  Churn by region\nwith the CSV attached") == "Churn by region"
    long = "Summarise the quarterly churn figures for every region and explain the outliers in detail"
    cut = headline(long, 40)
    assert cut == "Summarise the quarterly churn figures…" and len(cut) <= 40
    assert headline("") == ""


def test_history_entries_show_first_line_time_models_and_hide_models_while_blind(window, vendor, mw_loop):
    store = window.engine.store
    trial_id = store.trials.create(TrialInput("Churn by region\nThe CSV is attached; be brief."))
    window.refresh_history()
    assert window.history.list.count() == 1
    del trial_id
    vendor.set_default("gpt-4o-mini", Script(text_pieces=["ok"]))
    window.picker.set_checked({"openai/gpt-4o-mini"})
    window.compose.prompt.setPlainText("Second task\nmore lines")
    window.send()
    run_until(mw_loop, lambda: window._run_task is not None and window._run_task.done())
    first, second = (window.history.list.item(i).text() for i in range(2))
    title, when = first.split("\n")
    assert title == "Second task" and "gpt-4o-mini" in when and when[:4].isdigit()
    assert second.split("\n")[0] == "Churn by region"

    window.blind_action.setChecked(True)
    window._on_blind_toggled()
    entry = window.history.list.item(0).text()
    assert "gpt" not in entry and "1 model (hidden: blind rating)" in entry


def test_blind_mode_is_shown_after_a_restart(qtbot, window, tmp_path):
    window.blind_action.setChecked(True)
    window._on_blind_toggled()
    assert window.blind_indicator.isVisibleTo(window)
    again = MainWindow(window.engine, window.settings, show_welcome=False)  # the next start
    qtbot.addWidget(again)
    again.show()
    assert again.blind and again.blind_indicator.isVisible()
    assert "Blind rating on" in again.blind_indicator.text()


def test_suite_run_counts_agree_everywhere(window, vendor, mw_loop, tmp_path):
    import json

    from tests.ui.test_rating_queue import CASES
    from tests.ui.test_suites_view import MODELS, script, suites_tab, until

    script(vendor)
    vendor.set_default("llama3.2", Script(status=500, error_message="the server fell over"))
    path = tmp_path / "three.jsonl"
    path.write_text("".join(json.dumps(c) + "\n" for c in CASES), encoding="utf-8")
    panel = suites_tab(window)
    said: list[str] = []
    panel.activity.connect(said.append)
    assert mw_loop.run_until_complete(panel.import_file(path, "three"))  # read off the GUI thread
    panel.set_checked(MODELS)
    assert panel.start()
    mw_loop.run_until_complete(until(lambda: not panel.running, timeout=30))
    panel._apply_progress()
    expected = "6 / 9 done · 3 failed"  # a failed cell is not done: Resume sends it again
    assert panel.progress_label.text() == expected
    assert [s for s in said if "/ 9" in s][-1] == f"Suite run: {expected}"
    panel.refresh_runs(select=panel.current_run_id)
    assert panel.run_table.item(panel._run_row(panel.current_run_id), 3).text() == expected
    panel.reload_matrix()
    assert panel.matrix_title.text().endswith(expected)
