"""Two models behind one server address each stream a step's width at once: the step's
connections are opened ahead for both, not once for the address (the second model's
streams used to connect inside the spike, in their TTFT)."""

from __future__ import annotations

from desk.core.load import LoadStep
from desk.core.trial import ModelRef, TrialInput
from desk.engine.export_runs import run_attempt_rows
from tests.engine.test_load import plan, run
from tests.vendor_server import Script

WIDTH = 6


def test_two_models_on_one_server_get_a_pre_opened_connection_per_stream(providers, vendor):
    models = (ModelRef("openai", "first"), ModelRef("openai", "second"))
    for ref in models:
        vendor.set_default(ref.model, Script(text_pieces=["a", "b"], first_token_delay_ms=150))
    result = run(providers, plan(models=models, steps=(LoadStep(WIDTH, WIDTH),), inputs=(TrialInput("hi"),)))
    assert [o.status for o in result.outcomes] == ["ok"] * 2 * WIDTH
    rows = run_attempt_rows(providers, result.run_id)
    assert len(rows) == 2 * WIDTH
    assert [r["model"] for r in rows if r["connect_ms"] is not None] == []  # none connected in the spike
    assert len({q.conn_id for q in vendor.requests}) == 2 * WIDTH
