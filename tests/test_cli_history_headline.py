"""`desk history` names a past trial the way the window's history does: the prompt's first
line cut at a word, the time, and the models (one rule, desk.core.trial)."""

from __future__ import annotations

import time

from desk.core.ids import new_id
from desk.core.response import ResponseResult
from desk.core.trial import TrialInput, history_models, history_title
from desk.store.db import open_store
from tests.cli_helpers import cli_env, desk

PROMPT = ("Compare the churn of our enterprise customers across every region we sell in this year\n"
          "Use the attached CSV; explain each step.")
MODELS = ["oa/gpt-4o-mini", "an/claude-sonnet-4-5", "ge/gemini-2.5-flash", "ol/llama3.2"]


def test_history_lines_show_the_first_line_cut_at_a_word_and_the_models(tmp_path):
    db = tmp_path / "h.db"
    with open_store(db) as store:
        trial_id = store.trials.create(TrialInput(PROMPT))
        for model in MODELS:
            store.responses.create(ResponseResult(id=new_id(), trial_id=trial_id, model=model, settings={},
                                                 started_at=time.time()))
        image_only = store.trials.create(TrialInput("   "))
    proc = desk("history", env=cli_env(db))
    assert proc.returncode == 0, proc
    latest, first = proc.stdout.splitlines()
    assert latest.startswith(image_only) and latest.endswith("  (attachments only)")
    assert first.startswith(trial_id)
    title = "Compare the churn of our enterprise customers across every region we sell in…"
    assert first.endswith(f"  {title} · gpt-4o-mini, claude-sonnet-4-5, gemini-2.5-flash +1"), first
    assert "Use the attached CSV" not in first and "4 model(s)" not in first


def test_the_rule_the_window_and_the_cli_share():
    assert history_title(PROMPT).endswith("in…") and len(history_title(PROMPT)) <= 80
    assert history_title("\n\n") == "(attachments only)"
    assert history_models(MODELS[:2]) == "gpt-4o-mini, claude-sonnet-4-5"
    assert history_models(MODELS, blind=True) == "4 models (hidden: blind rating)"
