"""`desk suite rerun RUN_ID [--fail-on-regression]` against the loopback vendor: the new run
repeats the old one's models, settings and repeats and is linked to it; the gate exits 3
when the vendor got slower and switched the served model between the runs, 0 when nothing
changed, and says so in a table or in one JSON object."""

from __future__ import annotations

import json
import random

import pytest

from desk.cli import main
from tests.cli_helpers import desk
from tests.vendor_server import Script

MODEL = "gpt-4o-mini"
CASES = 12


def _run(capsys, *argv: str, code: int = 0) -> tuple[str, str]:
    capsys.readouterr()
    assert main(list(argv)) == code, capsys.readouterr()
    return capsys.readouterr()


def _week(srv, seed: int, *, extra_ms: float = 0.0, served: str | None = None) -> None:
    """The vendor's answers for one run: each request's first token after a random 20-200 ms
    (different draws every week: latency noise), plus `extra_ms`; `served` names what it says
    it served."""
    rng = random.Random(seed)
    srv.enqueue(MODEL, *(Script(first_token_delay_ms=rng.uniform(20, 200) + extra_ms, served_model=served,
                                fingerprint="fp_same") for _ in range(CASES)))


@pytest.fixture
def first_run(srv, db, capsys, tmp_path) -> str:
    _run(capsys, "provider", "add", "oa", "--kind", "openai", "--base-url", f"{srv.base_url}/v1")
    path = tmp_path / "weekly.jsonl"
    path.write_text("".join(json.dumps({"id": f"case-{i}", "prompt": f"Task {i}"}) + "\n" for i in range(CASES)))
    _run(capsys, "suite", "import", str(path), "--name", "weekly")
    _week(srv, seed=1)
    out, _ = _run(capsys, "suite", "run", "weekly", "-m", f"oa/{MODEL}", "-c", "1", "--repeat", "1",
                  "--temperature", "0.3", "--max-tokens", "64", "--json")
    return json.loads(out.splitlines()[0])["run_id"]


def test_a_slower_model_with_a_new_version_fails_the_gate_with_status_3(first_run, srv, capsys):
    _week(srv, seed=2, extra_ms=400, served="gpt-4o-mini-2026-11-30")
    out, err = _run(capsys, "suite", "rerun", first_run, "--fail-on-regression", code=3)
    assert "WORSE" in next(line for line in out.splitlines() if "ttft_p50" in line)
    assert f"{MODEL} (fp_same) → gpt-4o-mini-2026-11-30 (fp_same)" in out
    assert f"regression: oa/{MODEL} worse in " in out and "ttft_p50" in out.splitlines()[-1]
    assert f"desk: regression against run {first_run}" in err

    # The new run repeats the old one's settings and is linked to it.
    (new, old) = [json.loads(x) for x in _run(capsys, "suite", "runs", "--json")[0].splitlines()[:2]]
    assert new["rerun_of"] == first_run and old["run_id"] == first_run and old["rerun_of"] is None
    assert (new["models"], new["repeat"], new["concurrency"], new["total"]) == ([f"oa/{MODEL}"], 1, 1, CASES)
    sent = [r.json for r in srv.requests if isinstance(r.json, dict)]
    assert {(b["temperature"], b.get("max_tokens") or b.get("max_completion_tokens")) for b in sent} == {(0.3, 64)}


def test_an_unchanged_vendor_passes_the_gate_and_json_says_why(first_run, srv, capsys):
    _week(srv, seed=3)
    out, _ = _run(capsys, "suite", "rerun", first_run, "--fail-on-regression", "--json")
    record = json.loads(out)
    assert record["rerun_of"] == first_run and record["regression"] is False and record["worse"] == {}
    (m,) = record["comparison"]["models"]
    assert m["pairs"] == CASES and m["served_changed"] is None and m["worse"] == []
    assert record["run"]["done"] == CASES and record["run"]["rerun_of"] == first_run


def test_the_gate_in_json_names_the_worse_figures(first_run, srv, capsys):
    _week(srv, seed=4, extra_ms=400)
    out, _ = _run(capsys, "suite", "rerun", first_run, "--fail-on-regression", "--json", code=3)
    record = json.loads(out)
    assert record["regression"] is True and "ttft_p50" in record["worse"][f"oa/{MODEL}"]


def test_without_the_gate_a_rerun_only_runs(first_run, srv, capsys):
    _week(srv, seed=5, extra_ms=400)
    out, _ = _run(capsys, "suite", "rerun", first_run)
    assert "suite run" in out and "WORSE" not in out


def test_a_rerun_of_no_run_is_a_one_line_error(first_run, capsys):
    _, err = _run(capsys, "suite", "rerun", "NOPE", "--fail-on-regression", code=2)
    assert "no suite run 'NOPE'" in err and len(err.strip().splitlines()) == 1


def test_the_real_process_exits_3_unattended(first_run, srv, db):
    """As cron or a CI job runs it: a separate process, no terminal, the store from $DESK_DB."""
    _week(srv, seed=6, extra_ms=400)
    run = desk("suite", "rerun", first_run, "--fail-on-regression", db=db, stdin="")
    assert run.returncode == 3, run
    assert "WORSE" in run.stdout


def test_a_rerun_of_the_newest_version_compares_only_the_cases_both_ask_alike(first_run, srv, capsys, tmp_path):
    """Version 2 drops case-11, adds case-new and rewords case-10: 10 cases are compared, and
    the output says what was left out and why."""
    rows = [{"id": f"case-{i}", "prompt": f"Task {i}"} for i in range(CASES - 2)]
    rows += [{"id": f"case-{CASES - 2}", "prompt": "Task reworded"}, {"id": "case-new", "prompt": "New task"}]
    path = tmp_path / "weekly-v2.jsonl"
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    _run(capsys, "suite", "import", str(path), "--name", "weekly")
    _week(srv, seed=3)
    out, _ = _run(capsys, "suite", "rerun", first_run, "--newest-version", "--fail-on-regression", "--json")
    record = json.loads(out)
    assert record["run"]["version"] == 2
    comparison = record["comparison"]
    assert comparison["models"][0]["pairs"] == CASES - 2 and comparison["left_out"] == 4
    assert comparison["warnings"][0] == ("the runs are of suite versions 1 and 2: 1 case(s) only in v1, "
                                         "1 only in v2, 1 changed; only the 10 case(s) both ask alike were compared")
