"""`desk suite compare RUN_A RUN_B`: two real runs of one suite against the loopback vendor,
where the vendor changed the model's fingerprint and it got worse in between. The table says
so in its own column, with the exact McNemar p-value statsmodels gives on the same pairs."""

from __future__ import annotations

import json
from importlib.util import find_spec
from pathlib import Path

import pytest

from desk.cli import main
from desk.store.db import open_store
from tests.vendor_server import Script

MODEL = "gpt-4o-mini"
CASES = 12  # 8 pairs cannot show a change past Holm: the permutation p of all 8 moving is 2/256


def _run(capsys, *argv: str, code: int = 0) -> str:
    capsys.readouterr()
    assert main(list(argv)) == code
    out, err = capsys.readouterr()
    return out if code == 0 else err


ANSWERS: dict[str, list[str]] = {}  # run id -> its answers' ids in case order


def _suite_run(capsys, name: str) -> str:
    lines = [json.loads(x) for x in _run(capsys, "suite", "run", name, "-m", f"oa/{MODEL}", "--json").splitlines()]
    run_id = lines[0]["run_id"]
    ANSWERS[run_id] = [x["response_id"] for x in sorted(lines, key=lambda x: x["case_id"])]
    return run_id


def _rate_all(db: Path, run_id: str, successes: int) -> None:
    """Rate the run's answers in case order: the first `successes` a success, the rest a failure."""
    assert len(ANSWERS[run_id]) == CASES
    with open_store(db) as store:
        for i, response_id in enumerate(ANSWERS[run_id]):
            outcome = "success" if i < successes else "failure"
            store.ratings.save(response_id, "ann", {"outcome": outcome, "uncertainty": "confident_correct",
                                                   "constraints": "na", "quality": 3})


@pytest.fixture
def suite(srv, db, capsys, tmp_path) -> Path:
    _run(capsys, "provider", "add", "oa", "--kind", "openai", "--base-url", f"{srv.base_url}/v1")
    path = tmp_path / "weekly.jsonl"
    path.write_text("".join(json.dumps({"id": f"case-{i}", "prompt": f"Task {i}"}) + "\n" for i in range(CASES)))
    _run(capsys, "suite", "import", str(path), "--name", "weekly")
    return path


def test_a_changed_fingerprint_and_a_drop_in_success_are_flagged(suite, srv, db, capsys):
    srv.set_default(MODEL, Script(fingerprint="fp_week1"))
    run_a = _suite_run(capsys, "weekly")
    srv.set_default(MODEL, Script(fingerprint="fp_week2"))
    run_b = _suite_run(capsys, "weekly")
    _rate_all(db, run_a, successes=CASES)
    _rate_all(db, run_b, successes=1)

    report = json.loads(_run(capsys, "suite", "compare", run_a, run_b, "--json"))
    (m,) = report["models"]
    assert m["model"] == f"oa/{MODEL}" and m["pairs"] == CASES
    success = next(r for r in m["rates"] if r["figure"] == "success")
    assert (success["n"], success["rate_a"], success["rate_b"]) == (CASES, 1.0, 1 / CASES)
    assert (success["only_a"], success["only_b"]) == (CASES - 1, 0)
    assert success["p_value"] == pytest.approx(2 / 2**(CASES - 1))  # CASES - 1 discordant pairs, all one way
    assert success["sources"] == ["people"]
    assert m["served_changed"] == f"{MODEL} (fp_week1) → {MODEL} (fp_week2)"
    assert m["ttft_p50_ms"][0] is not None and m["ttft_p95_ms"][1] is not None
    assert report["left_out"] == 0

    if find_spec("statsmodels") is not None:  # a test-only dependency (the `test` extra)
        from statsmodels.stats.contingency_tables import mcnemar

        table = [[1, CASES - 1], [0, 0]]  # both succeeded, only A, only B, neither
        assert success["p_value"] == pytest.approx(mcnemar(table, exact=True).pvalue)

    text = _run(capsys, "suite", "compare", run_a, run_b)
    assert f"{MODEL} (fp_week1) → {MODEL} (fp_week2)" in text


def test_unchanged_runs_flag_nothing_and_the_table_has_the_column(suite, srv, db, capsys):
    srv.set_default(MODEL, Script(fingerprint="fp_same"))
    run_a = _suite_run(capsys, "weekly")
    run_b = _suite_run(capsys, "weekly")
    _rate_all(db, run_a, successes=5)
    _rate_all(db, run_b, successes=5)
    (m,) = json.loads(_run(capsys, "suite", "compare", run_a, run_b, "--json"))["models"]
    assert m["served_changed"] is None
    assert all(r["p_value"] == 1.0 for r in m["rates"] if r["n"])

    table = _run(capsys, "suite", "compare", run_a, run_b)
    assert "served_changed" in table.splitlines()[2]
    assert "success" in table and "ttft_p95" in table and "→" not in table


def test_runs_of_different_suites_or_no_run_are_one_line_errors(suite, srv, db, capsys, tmp_path):
    run_a = _suite_run(capsys, "weekly")
    other = tmp_path / "other.jsonl"
    other.write_text(json.dumps({"id": "x", "prompt": "Other"}) + "\n")
    _run(capsys, "suite", "import", str(other), "--name", "other")
    run_b = _suite_run(capsys, "other")
    err = _run(capsys, "suite", "compare", run_a, run_b, code=2)
    assert "compare runs of one suite" in err and len(err.strip().splitlines()) == 1
    assert "no suite run" in _run(capsys, "suite", "compare", run_a, "NOPE", code=2)


def _rate_uncertainty(db: Path, run_id: str, uncertainty: str) -> None:
    with open_store(db) as store:
        for response_id in ANSWERS[run_id]:
            store.ratings.save(response_id, "ann", {"outcome": "success", "uncertainty": uncertainty,
                                                   "constraints": "na", "quality": 3})


def test_a_slower_model_that_stopped_asking_is_flagged_worse_in_a_100_column_table(suite, srv, db, capsys):
    """Between the runs the vendor got 400 ms slower to start and the model stopped asking
    the clarifying questions the cases needed: both are flagged worse after Holm, with the
    exact McNemar p statsmodels gives; --alpha 0.001 flags neither."""
    srv.set_default(MODEL, Script(fingerprint="fp_same"))
    run_a = _suite_run(capsys, "weekly")
    srv.set_default(MODEL, Script(fingerprint="fp_same", first_token_delay_ms=400))
    run_b = _suite_run(capsys, "weekly")
    _rate_uncertainty(db, run_a, "asked_clarifying")
    _rate_uncertainty(db, run_b, "confident_correct")

    report = json.loads(_run(capsys, "suite", "compare", run_a, run_b, "--json"))
    assert report["alpha"] == 0.05
    (m,) = report["models"]
    figures = {f["figure"]: f for f in m["rates"] + m["measures"]}
    asked = figures["asked_clarifying"]
    assert (asked["n"], asked["rate_a"], asked["rate_b"], asked["only_a"]) == (CASES, 1.0, 0.0, CASES)
    assert asked["p_value"] == pytest.approx(2 / 2**CASES) and asked["sources"] == ["people"]
    if find_spec("statsmodels") is not None:
        from statsmodels.stats.contingency_tables import mcnemar

        assert asked["p_value"] == pytest.approx(mcnemar([[0, CASES], [0, 0]], exact=True).pvalue)
    assert asked["flag"] == "worse" and asked["p_holm"] >= asked["p_value"]
    ttft = figures["ttft_p50"]
    assert ttft["diff"] > 300 and ttft["interval"][0] > 0 and ttft["flag"] == "worse"
    assert figures["success"]["flag"] is None and figures["fabricated"]["flag"] is None
    assert m["worse"] == ["asked_clarifying", "ttft_p50", "ttft_p95", "total_p95"] and m["better"] == []
    assert figures["cost_per_success"]["n"] == 0  # no price known for the loopback model: left out

    table = _run(capsys, "suite", "compare", run_a, run_b)
    assert max(len(line) for line in table.splitlines()) <= 100, table
    clarifying = next(line for line in table.splitlines() if line.split()[:1] == ["clarifying"])
    assert "WORSE" in clarifying and "people" in clarifying
    assert "WORSE" in next(line for line in table.splitlines() if "ttft_p50" in line)

    strict = json.loads(_run(capsys, "suite", "compare", run_a, run_b, "--alpha", "0.001", "--json"))
    assert not [f for f in strict["models"][0]["rates"] + strict["models"][0]["measures"] if f["flag"]]
    capsys.readouterr()
    with pytest.raises(SystemExit) as exit_:
        main(["suite", "compare", run_a, run_b, "--alpha", "2"])
    assert exit_.value.code == 2 and "alpha must be between 0 and 1" in capsys.readouterr().err
