"""*Judge run…* on the Suites tab (issue 14): a model judges the selected run's answers on
the window's streaming thread with progress, Cancel stops it, and judging again goes on where it
stopped without sending an answer twice."""

from __future__ import annotations

import json
from collections import Counter

import pytest

pytest.importorskip("PySide6")
pytest.importorskip("jsonschema")

from tests.ui.test_suites_view import script, start_run, until
from tests.vendor_server import Script

VERDICT = {"outcome": "success", "uncertainty": "confident_correct", "constraints": "na", "quality": 4,
           "rationale": "Fine."}


def test_judge_a_run_cancel_and_go_on(window, vendor, mw_loop, tmp_path):
    script(vendor)
    panel = start_run(window, tmp_path)
    mw_loop.run_until_complete(until(lambda: not panel.running, timeout=20))
    vendor.set_default("judge", Script(text_pieces=[json.dumps(VERDICT)], first_token_delay_ms=150))
    assert not panel.judge.cancel_button.isVisible()
    task = panel.judge.start("openai/judge")

    async def cancel_midway():
        await until(lambda: panel.message.text().startswith("Judged "), timeout=20)
        assert panel.judge.cancel_button.isVisible() and not panel.judge.button.isEnabled()
        panel.judge.cancel_button.click()
        return await task

    assert mw_loop.run_until_complete(cancel_midway()) is False
    assert "Judging cancelled" in panel.message.text()
    first = {v.response_id for v in window.engine.store.verdicts.list("judge:openai/judge")}
    assert 0 < len(first) < 18

    again = panel.judge.start("openai/judge")
    assert mw_loop.run_until_complete(again) is True
    assert f"{18 - len(first)} verdicts, 0 judge errors, {len(first)} judged before" in panel.message.text()
    sent = Counter(r.request_id for r in vendor.requests if r.model == "judge")
    assert panel.run_ids() == [panel.current_run_id]  # the judge's runs are not suite runs: the list is unchanged
    assert len(window.engine.store.verdicts.list("judge:openai/judge")) == 18
    assert sum(sent.values()) <= 18 + 4  # at most the requests in flight at the cancel were sent again


def test_rate_menu_judges_the_open_trials_answers(window, vendor, mw_loop):
    from desk.core.trial import ModelRef, TrialInput

    script(vendor)
    outcome = mw_loop.run_until_complete(window.engine.trials.run(
        TrialInput("What is 2 + 2?"), [ModelRef("openai", "gpt-4o-mini"), ModelRef("local", "llama3.2")]))
    window.open_trial(outcome.trial_id)
    assert window.current_trial_id == outcome.trial_id
    assert "&Judge these answers…" in [a.text() for a in window.menuBar().actions()[2].menu().actions()]
    vendor.set_default("judge", Script(text_pieces=[json.dumps(VERDICT)]))
    task = window.trial_judge.start("openai/judge")
    assert mw_loop.run_until_complete(task) is True
    assert "judge:openai/judge: 2 verdicts, 0 judge errors" in window.banner.label.text()
    assert len(window.engine.store.verdicts.list("judge:openai/judge")) == 2
