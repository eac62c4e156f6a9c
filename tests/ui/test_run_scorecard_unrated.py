"""A suite run's scorecard shows what the run measured before anyone has rated: answers,
errors, latency, cost and desk's automatic constraint verdicts."""

from __future__ import annotations

import json

import pytest

pytest.importorskip("PySide6")

from desk.core.trial import ModelRef
from desk.ui.run_scorecard import RunScorecardDialog
from tests.ui.test_rating_queue import CASES
from tests.ui.test_suites_view import MODELS, script
from tests.vendor_server import Script

GPT, CLAUDE, LLAMA = MODELS


def test_unrated_run_scorecard_shows_latency_cost_errors_and_auto_checks(window, qtbot, vendor, mw_loop, tmp_path):
    script(vendor)  # gpt: "Four. Sure thing." (3 words), claude: "Which one do you mean?" (5)
    vendor.set_default("llama3.2", Script(status=400, error_message="context too long"))
    path = tmp_path / "three.jsonl"
    path.write_text("".join(json.dumps(c) + "\n" for c in CASES), encoding="utf-8")
    engine = window.engine
    engine.suites.import_suite(path, "three")
    result = mw_loop.run_until_complete(engine.suites.run("three", [ModelRef.parse(m) for m in MODELS]))

    dialog = RunScorecardDialog(engine, result.run_id, window)
    qtbot.addWidget(dialog)
    assert dialog.cell_text(GPT, "Rated") == "0"
    assert [dialog.cell_text(m, "Answers") for m in MODELS] == ["3", "3", "3"]
    assert [dialog.cell_text(m, "Errors") for m in MODELS] == ["0", "0", "3"]
    assert dialog.cell_text(GPT, "Median total").endswith(" s")
    assert dialog.cell_text(LLAMA, "Median total") == "–"  # no answer finished ok
    assert dialog.cell_text(GPT, "Mean cost").startswith("$")  # the window's store prices gpt-4o-mini
    assert dialog.cell_text(GPT, "Auto check") == "0 of 1 violated"
    assert dialog.cell_text(CLAUDE, "Auto check") == "1 of 1 violated"
    (score,) = [s for s in engine.suites.scorecard(result.run_id) if s.model == LLAMA]
    assert score.as_json()["n_errors"] == 3
