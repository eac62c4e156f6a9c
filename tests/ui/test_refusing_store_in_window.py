"""A store that refuses writes is a clear message in the window, never a crash dialog:
opening one whose unfinished answers cannot be marked interrupted, and sending a trial
the store refuses (nothing reaches the vendor)."""

from __future__ import annotations

import subprocess
import sys
import time

from desk.core.ids import new_id
from desk.core.response import ResponseResult
from desk.core.trial import TrialInput
from desk.store.db import open_store
from tests.ui.qt_helpers import run_until


def test_opening_a_store_that_refuses_the_interrupted_mark_says_why(window, tmp_path):
    frozen = tmp_path / "frozen.db"
    with open_store(frozen) as store:
        trial_id = store.trials.create(TrialInput("hi"))
        result = ResponseResult(id=new_id(), trial_id=trial_id, model="oa/m", settings={}, started_at=time.time())
        store.responses.create(result)
        child = subprocess.Popen([sys.executable, "-c", "pass"])
        child.wait()
        store.db.execute("UPDATE responses SET writer_pid = ?", (child.pid,))
        store.db.execute("CREATE TRIGGER frozen BEFORE UPDATE OF status ON responses "
                         "BEGIN SELECT RAISE(ABORT, 'responses are frozen'); END")
    before = str(window.engine.store.path)
    window.open_store(str(frozen))
    shown = window.banner.label.text()
    assert "Cannot open that store" in shown and "cannot mark unfinished answers as interrupted" in shown, shown
    assert str(window.engine.store.path) == before  # still working in the store it had


def test_a_trial_the_store_refuses_is_a_banner_and_nothing_is_sent(window, vendor, mw_loop):
    window.engine.store.db.execute("CREATE TRIGGER full BEFORE INSERT ON trials "
                                   "BEGIN SELECT RAISE(ABORT, 'database or disk is full'); END")
    window.picker.set_checked({"openai/gpt-4o-mini"})
    window.compose.prompt.setPlainText("hello")
    window.send()
    run_until(mw_loop, lambda: window._run_task is not None and window._run_task.done())
    shown = window.banner.label.text()
    assert "database or disk is full" in shown and "nothing was sent" in shown, shown
    assert vendor.requests == []
