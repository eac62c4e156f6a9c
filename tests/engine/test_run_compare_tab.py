"""The "Compare runs…" dialog's model (desk.engine.run_compare_tab) without a window: its
default pair, the table's rows and summary, the evidence of a rate and of a time, and the
history series, against the loopback vendor. No QApplication: the model must not need Qt."""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys

import pytest

from desk.engine.run_compare_tab import COLUMNS, RunCompareTab
from tests.engine.conftest import MODELS, engine_for, ref
from tests.vendor_server import Script

CASES = 12


def test_the_model_imports_no_qt():
    code = "import sys, desk.engine.run_compare_tab; print(any(m.startswith('PySide6') for m in sys.modules))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


def test_two_runs_side_by_side_with_their_evidence_and_history(providers, vendor, tmp_path):
    path = tmp_path / "weekly.jsonl"
    path.write_text("".join(json.dumps({"id": f"c{i:02}", "prompt": f"Task {i}"}) + "\n" for i in range(CASES)))
    model = MODELS["openai"]

    async def go():
        async with engine_for(providers) as engine:
            engine.suites.import_suite(path, "weekly")
            runs = []
            for week, (delay, outcome) in enumerate([(0, "success"), (250, "failure")]):
                vendor.set_default(model, Script(first_token_delay_ms=delay, fingerprint=f"fp_{week}"))
                result = await engine.suites.run("weekly", [ref("openai")])
                for i, item in enumerate(sorted(result.responses, key=lambda x: x.case.key)):
                    engine.ratings.save_rating(item.response.id, {
                        "outcome": outcome if i < 10 else "success", "uncertainty": "confident_correct",
                        "constraints": "na", "quality": 3}, rater="ana")
                runs.append(result.run_id)
            tab = RunCompareTab(engine, "weekly")
            tab.load()
            pair = tab.default_pair()
            rows = tab.compare(*pair)
            flipped = tab.evidence(next(r for r in rows if r.figure == "success"))
            slowest = tab.evidence(next(r for r in rows if r.figure == "ttft_p50"))
            return runs, tab, pair, rows, flipped, slowest

    runs, tab, pair, rows, flipped, slowest = asyncio.run(go())
    assert pair == (runs[0], runs[1]) and [r.run_id for r in tab.runs] == runs
    success = next(r for r in rows if r.figure == "success")
    assert success.cells[:6] == (f"openai/{model}", "Success", "12", "100.0%", "16.7%", "-83.3%")
    assert success.flag == "worse" and success.changed and len(success.cells) == len(COLUMNS)
    assert success.cells[-1] == f"{model} (fp_0) → {model} (fp_1)"
    assert "Worse: " in tab.summary() and f"openai/{model} success" in tab.summary()
    assert [(e.case, e.value_a, e.value_b) for e in flipped] == [(f"c{i:02}", "yes", "no") for i in range(10)]
    assert flipped[0].answer_a == flipped[0].answer_b == "Hello, world."
    assert len(slowest) == CASES and float(slowest[0].value_b.replace(",", "")) >= 250

    (line,) = tab.series("ttft_p50")
    assert line.ys[1] > 250 > line.ys[0] and line.changed == (1,) and len(line.notes) == 1
    (rate,) = tab.series("success")  # in percent, with the Wilson interval around it
    assert rate.ys == pytest.approx((100.0, 100 * 2 / 12))
    assert all(lo <= y <= hi for lo, y, hi in zip(rate.lo, rate.ys, rate.hi, strict=True)) and rate.lo[1] > 0
