"""The Load tab's widgets write `desk load`'s own input: what the form says is a LoadInput
(the command's fields, types and defaults), filled in as the command's flags would be."""

from __future__ import annotations

import pytest

pytest.importorskip("PySide6")

from desk.engine.load_plan import LoadInput
from desk.engine.load_tab import CLUSTER, NO_FALLBACK

OPENAI, CLAUDE = "openai/gpt-4o-mini", "claude/claude-sonnet-4-5"


def test_what_the_widgets_say_is_the_commands_input(window, qtbot):
    panel = window.load_panel
    panel.set_checked({OPENAI, CLAUDE})
    panel.prompt.setPlainText("What is 2 + 2?")
    panel.requests.setValue(0)  # 0: none, by duration
    panel.duration.setValue(1.5)
    panel.concurrency.setValue(3)
    panel.ramp.setText("1, 4")
    panel.max_retries.setValue(4)
    panel.honour_retry_after.setChecked(False)
    panel.backoff_base.setValue(0.25)
    panel.idle_timeout.setValue(5.0)
    panel.fallback.setCurrentText(CLAUDE)
    panel.budget.setValue(900)
    panel.temperature.setValue(0.7)
    panel.max_tokens.setValue(32)
    panel.where_row.set_placement(CLUSTER, 4, "ray://head:10001")
    form = panel.model.form
    assert type(form) is LoadInput
    assert form == LoadInput(
        models=tuple(panel.selected_names()), prompt="What is 2 + 2?", requests=None, duration_s=1.5,
        concurrency=3, ramp="1, 4", max_retries=4, honour_retry_after=False, backoff_base=0.25,
        idle_timeout=5.0, fallback=(CLAUDE,), budget_ms=900.0, temperature=0.7, max_tokens=32, workers=4,
        cluster="ray://head:10001")
    assert set(form.models) == {OPENAI, CLAUDE}
    panel.fallback.setCurrentText(NO_FALLBACK)
    panel.temperature.setValue(panel.temperature.minimum())  # the "default" end of the box
    assert (panel.model.form.fallback, panel.model.form.temperature) == ((), None)
