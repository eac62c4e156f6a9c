"""`desk suite history SUITE`: three weekly runs of a suite against the loopback vendor, the
third slower and served a new model version: every run is listed oldest first with its
figures and intervals, and the third is marked where the served model changed."""

from __future__ import annotations

import json

import pytest

from desk.cli import main
from desk.core.statistics import wilson_interval
from desk.store.db import open_store
from tests.vendor_server import Script

MODEL = "gpt-4o-mini"
CASES = 6


def _run(capsys, *argv: str, code: int = 0) -> tuple[str, str]:
    capsys.readouterr()
    assert main(list(argv)) == code, capsys.readouterr()
    return capsys.readouterr()


def _suite_run(capsys, db, successes: int) -> str:
    out, _ = _run(capsys, "suite", "run", "weekly", "-m", f"oa/{MODEL}", "-m", "oa/other", "--json")
    lines = [json.loads(x) for x in out.splitlines()]
    with open_store(db) as store:
        mine = sorted((x for x in lines if x["model"] == f"oa/{MODEL}"), key=lambda x: x["case_id"])
        for i, x in enumerate(mine):
            store.ratings.save(x["response_id"], "ann", {"outcome": "success" if i < successes else "failure",
                                                        "uncertainty": "confident_correct", "constraints": "na",
                                                        "quality": 3})
    return lines[0]["run_id"]


@pytest.fixture
def weeks(srv, db, capsys, tmp_path) -> list[str]:
    _run(capsys, "provider", "add", "oa", "--kind", "openai", "--base-url", f"{srv.base_url}/v1")
    path = tmp_path / "weekly.jsonl"
    path.write_text("".join(json.dumps({"id": f"case-{i}", "prompt": f"Task {i}"}) + "\n" for i in range(CASES)))
    _run(capsys, "suite", "import", str(path), "--name", "weekly")
    srv.set_default(MODEL, Script(fingerprint="fp_1"))
    first = _suite_run(capsys, db, successes=6)
    second = _suite_run(capsys, db, successes=5)
    srv.set_default(MODEL, Script(fingerprint="fp_1", served_model="gpt-4o-mini-2026-12", first_token_delay_ms=300))
    third = _suite_run(capsys, db, successes=2)
    return [first, second, third]


def test_every_run_oldest_first_with_intervals_and_the_served_change_marked(weeks, capsys):
    out, _ = _run(capsys, "suite", "history", "weekly", "--model", f"oa/{MODEL}", "--json")
    points = [json.loads(x) for x in out.splitlines()]
    assert [p["run_id"] for p in points] == weeks and {p["model"] for p in points} == {f"oa/{MODEL}"}
    success = [next(f for f in p["figures"] if f["figure"] == "success") for p in points]
    assert [(s["n"], s["value"]) for s in success] == [(6, 1.0), (6, 5 / 6), (6, 2 / 6)]
    assert success[1]["interval"] == pytest.approx(list(wilson_interval(5, 6))) and success[1]["sources"] == ["people"]
    ttft = [next(f for f in p["figures"] if f["figure"] == "ttft_p50") for p in points]
    assert ttft[2]["value"] > 300 > ttft[0]["value"] and ttft[2]["interval"][0] > 300
    assert ttft[0]["interval"][0] <= ttft[0]["value"] <= ttft[0]["interval"][1]
    assert [p["served_changed"] for p in points] == [
        None, None, f"{MODEL} (fp_1) → gpt-4o-mini-2026-12 (fp_1)"]
    assert points[0]["served"] == [f"{MODEL} (fp_1)"] and points[0]["suite_version"] == 1


def test_the_table_lists_each_model_and_stars_the_changed_run(weeks, capsys):
    out, _ = _run(capsys, "suite", "history", "weekly")
    assert out.startswith(f"oa/{MODEL}: 3 run(s)") and "oa/other: 3 run(s)" in out
    lines = out.splitlines()
    starred = [line for line in lines if weeks[2] + "*" in line]
    assert len(starred) == 2  # in both tables of the changed model; oa/other was served the same
    assert f"  * {weeks[2]}: served {MODEL} (fp_1) → gpt-4o-mini-2026-12 (fp_1)" in lines
    assert any(line.split()[:1] == [weeks[1]] and "83% [44-97] n=6" in line for line in lines)


def test_unknown_suites_and_models_are_one_line_errors(weeks, capsys):
    _, err = _run(capsys, "suite", "history", "nope", code=2)
    assert "no suite named 'nope'" in err and len(err.strip().splitlines()) == 1
    _, err = _run(capsys, "suite", "history", "weekly", "--model", "oa/absent", code=2)
    assert "no run of suite 'weekly' sent to oa/absent" in err
