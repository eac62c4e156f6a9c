"""`desk suite compare` on a judged run pair (issue 15): where no person rated an answer, its
verdicts come from the judge model's (`desk judge`), and the table says per figure which
sources it used and, when it mixes them, how many verdicts each gave; people still win
where they rated, and the automatic constraint check only where neither did."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from desk.store.db import open_store
from tests.test_cli_suite_compare import ANSWERS, CASES, MODEL, _run, _suite_run
from tests.vendor_server import Script

pytest.importorskip("jsonschema")  # desk validates a judge's reply with it


def _verdict(outcome: str, uncertainty: str, constraints: str = "na") -> Script:
    return Script(text_pieces=[json.dumps({"outcome": outcome, "uncertainty": uncertainty,
                                           "constraints": constraints, "quality": 3, "rationale": "Seen."})])


def _judge(capsys, srv, run_id: str, verdict: Script) -> None:
    srv.set_default("judge", verdict)
    _run(capsys, "judge", "--run", run_id, "--judge", "oa/judge")


def _people_rate_first_two(db: Path, run_id: str) -> None:
    with open_store(db) as store:
        for response_id in ANSWERS[run_id][:2]:
            store.ratings.save(response_id, "ann", {"outcome": "success", "uncertainty": "confident_correct",
                                                   "constraints": "na", "quality": 3})


@pytest.fixture
def judged_pair(srv, db, capsys, tmp_path) -> tuple[str, str]:
    """Two runs of 12 cases, every answer judged (run A: success, asked the needed question;
    run B: failure, guessed), and a person's verdict on the first two cases of each run."""
    _run(capsys, "provider", "add", "oa", "--kind", "openai", "--base-url", f"{srv.base_url}/v1")
    path = tmp_path / "weekly.jsonl"
    path.write_text("".join(json.dumps({"id": f"case-{i:02}", "prompt": f"Task {i}"}) + "\n" for i in range(CASES)))
    _run(capsys, "suite", "import", str(path), "--name", "weekly")
    srv.set_default(MODEL, Script(fingerprint="fp_same"))
    run_a, run_b = _suite_run(capsys, "weekly"), _suite_run(capsys, "weekly")
    _judge(capsys, srv, run_a, _verdict("success", "asked_clarifying"))
    _judge(capsys, srv, run_b, _verdict("failure", "confident_wrong"))
    _people_rate_first_two(db, run_a)
    _people_rate_first_two(db, run_b)
    return run_a, run_b


def test_judged_verdicts_fill_in_where_no_person_rated_and_the_table_names_each_source(judged_pair, capsys):
    run_a, run_b = judged_pair
    (m,) = json.loads(_run(capsys, "suite", "compare", run_a, run_b, "--json"))["models"]
    rates = {r["figure"]: r for r in m["rates"]}

    success = rates["success"]
    # People said success on the first two cases of both runs; the judge said the rest.
    assert (success["n"], success["rate_a"], success["rate_b"]) == (CASES, 1.0, 2 / CASES)
    assert (success["only_a"], success["only_b"]) == (CASES - 2, 0)
    assert success["p_value"] == pytest.approx(2 / 2**(CASES - 2)) and success["flag"] == "worse"
    assert success["sources"] == ["judge", "people"]
    assert success["source_verdicts"] == {"judge": 2 * (CASES - 2), "people": 4}

    asked = rates["asked_clarifying"]  # people said confident_correct on the first two
    assert (asked["n"], asked["rate_a"], asked["rate_b"]) == (CASES, (CASES - 2) / CASES, 0.0)
    fabricated = rates["fabricated"]
    assert (fabricated["rate_a"], fabricated["rate_b"]) == (0.0, (CASES - 2) / CASES)
    assert fabricated["source_verdicts"] == {"judge": 2 * (CASES - 2), "people": 4}
    # The judge said "na" and the cases have no constraints: no verdict from any source.
    assert rates["constraint_violated"]["n"] == 0 and rates["constraint_violated"]["sources"] == []

    table = _run(capsys, "suite", "compare", run_a, run_b)
    success_row = next(line for line in table.splitlines() if line.strip().startswith("success"))
    assert "judge 20+people 4" in success_row and success_row.rstrip().endswith("WORSE")


def test_only_judged_answers_name_the_judge_alone(srv, db, capsys, tmp_path):
    _run(capsys, "provider", "add", "oa", "--kind", "openai", "--base-url", f"{srv.base_url}/v1")
    path = tmp_path / "weekly.jsonl"
    path.write_text("".join(json.dumps({"id": f"case-{i:02}", "prompt": f"Task {i}"}) + "\n" for i in range(CASES)))
    _run(capsys, "suite", "import", str(path), "--name", "weekly")
    run_a, run_b = _suite_run(capsys, "weekly"), _suite_run(capsys, "weekly")
    _judge(capsys, srv, run_a, _verdict("success", "confident_correct", "followed"))
    _judge(capsys, srv, run_b, _verdict("success", "confident_correct", "violated"))
    (m,) = json.loads(_run(capsys, "suite", "compare", run_a, run_b, "--json"))["models"]
    rates = {r["figure"]: r for r in m["rates"]}
    assert rates["success"]["sources"] == ["judge"] and rates["success"]["rate_b"] == 1.0
    violated = rates["constraint_violated"]
    assert (violated["n"], violated["rate_a"], violated["rate_b"], violated["sources"]) == (CASES, 0.0, 1.0, ["judge"])
    row = next(line for line in _run(capsys, "suite", "compare", run_a, run_b).splitlines()
               if line.strip().startswith("violated"))
    assert row.split()[-2:] == ["judge", "WORSE"]
