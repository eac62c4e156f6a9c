"""End-to-end tests of rating, preferring, the scorecard, export, merge and the rubric from the CLI.

Trials really run through `desk trial` against the loopback vendor server; then the new
commands run mostly in-process (`desk.cli.main`, the same code path without the
interpreter start-up) and a few as `python -m desk`, the way users run them.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
import math
import re
import sys
from pathlib import Path

import pytest

from desk.cli import EXPORT_FORMATS, main
from desk.core.rubric import CONSTRAINTS, DEFAULT_RUBRIC, OUTCOMES, UNCERTAINTY, WINNERS
from desk.engine.export import FORMATS
from desk.store.db import open_store
from tests.cli_helpers import Cli, cli_env, desk, one_line_error
from tests.vendor_server import Script, VendorServer

ULID = r"[0-9A-HJKMNP-TV-Z]{26}"
GOOD = ["--outcome", "success", "--uncertainty", "confident_correct", "--constraints", "followed", "--quality", "4"]
PARQUET_MISSING = "Parquet needs the optional extra: pip install 'desk[parquet]'"


# --- harness ----------------------------------------------------------------------------------


@pytest.fixture
def srv(srv):
    """The shared vendor server, scripted with answers that look like spreadsheet formulas."""
    server = srv
    server.set_default("x", Script(text_pieces=["=SUM(A1) ", "is what", " x says"]))
    server.set_default("y", Script(text_pieces=["@y: ", "-1+2 ", "maybe?"]))
    server.set_default("z", Script(status=500, error_message="the server fell over"))
    return server


@pytest.fixture
def cli(capsys, monkeypatch) -> Cli:
    return Cli(capsys, monkeypatch)


def add_provider(cli: Cli, srv: VendorServer, *where: str) -> None:
    cli.ok("provider", "add", "oa", "--kind", "openai", "--base-url", f"{srv.base_url}/v1", *where)


def run_trial(cli: Cli, *models: str, prompt: str = "What is in cell A1?", where: tuple[str, ...] = ()) -> list[dict]:
    argv = ["trial", *where, "--json", "--max-retries", "0", "-p", prompt]
    for m in models:
        argv += ["-m", f"oa/{m}"]
    code, out, err = cli(*argv)
    assert code in (0, 1), err  # 1: some model failed, as z does
    return [json.loads(line) for line in out.splitlines()]


@pytest.fixture
def answers(cli, srv) -> dict[str, dict]:
    """One trial answered by x and y (ok) and z (a server error), by model name."""
    add_provider(cli, srv)
    return {r["model"].split("/")[1]: r for r in run_trial(cli, "x", "y", "z")}


def ratings(db: Path) -> list:
    with open_store(db) as store:
        return store.ratings.current()


def preferences(db: Path) -> list:
    with open_store(db) as store:
        return store.ratings.current_preferences()


def wilson(k: int, n: int, z: float = 1.959963984540054) -> list[float]:
    """The Wilson score interval, written out from the formula."""
    p = k / n
    denom = 1 + z * z / n
    centre = (p + z * z / (2 * n)) / denom
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / denom
    return [0.0 if k == 0 else centre - half, 1.0 if k == n else centre + half]


def p95(values: list[float]) -> float:
    """Linear interpolation between closest ranks, as numpy's default does."""
    ordered = sorted(values)
    pos = (len(ordered) - 1) * 0.95
    lo = math.floor(pos)
    hi = min(lo + 1, len(ordered) - 1)
    return ordered[lo] + (pos - lo) * (ordered[hi] - ordered[lo])


# --- desk rate ------------------------------------------------------------------------------


def test_rate_saves_and_prints_the_rating_id(answers, db, cli):
    x = answers["x"]["response_id"]
    out = cli.ok("rate", x, *GOOD, "--note", "=cites §3 — verbatim", "--tag", "legal", "--tag", "q1",
                 "--rater", "ann")
    assert re.fullmatch(ULID + "\n", out), out
    (saved,) = ratings(db)
    assert saved.id == out.strip() and saved.response_id == x and saved.rater == "ann"
    assert dict(saved.values) == {"outcome": "success", "uncertainty": "confident_correct",
                                  "constraints": "followed", "quality": 4, "note": "=cites §3 — verbatim",
                                  "tags": ["legal", "q1"]}
    assert saved.blind is False and saved.supersedes is None


def test_rate_json_prints_the_rating(answers, db, cli):
    z = answers["z"]["response_id"]  # a failed answer can be rated too
    # ... by its outcome alone
    (record,) = map(json.loads, cli.ok("rate", z, "--outcome", "failure", "--rater", "bob",
                                       "--json").splitlines())
    (saved,) = ratings(db)
    assert record == {
        "outcome": "failure",
        "id": saved.id, "response_id": z, "created_at": saved.created_at, "rated_at": record["rated_at"],
        "rater": "bob", "origin": None, "machine": False, "blind": False, "shown_order": [], "supersedes": None,
        "rubric": {"id": saved.rubric_id, "name": "default", "version": 1},
    }
    assert dt.datetime.fromisoformat(record["rated_at"]).timestamp() == pytest.approx(saved.created_at, abs=1e-3)


def test_rate_uses_the_rater_name_set_in_the_app(answers, db, cli):
    with open_store(db) as store:
        store.settings.set("rater_name", "Dr. Ann Lee")
    cli.ok("rate", answers["x"]["response_id"], *GOOD)
    assert [r.rater for r in ratings(db)] == ["Dr. Ann Lee"]


RATE_ERRORS = [
    (["--outcome", "great"], "--outcome 'great' is not one of success, partial, failure"),
    (["--uncertainty", "confident"], "--uncertainty 'confident' is not one of " + ", ".join(UNCERTAINTY)),
    (["--constraints", "yes"], "--constraints 'yes' is not one of followed, violated, na"),
    (["--quality", "0"], "--quality '0' must be a whole number from 1 to 5"),
    (["--quality", "6"], "--quality '6' must be a whole number from 1 to 5"),
    (["--quality", "4.5"], "--quality '4.5' must be a whole number from 1 to 5"),
    (["--quality", "four"], "--quality 'four' must be a whole number from 1 to 5"),
    (["--rater", "   "], "say who is rating with --rater NAME"),
    (["--rater", "Auto"], "'auto' is the name of desk's automatic constraint checks"),
    (["--value", "sources=yes"], "the rubric has no criterion 'sources'"),
    (["--value", "sources"], "--value 'sources' must be written KEY=VALUE"),
    (["--value", "outcome=failure"], "--value outcome: use its own option"),
    (["--response", "01NOSUCHRESPONSE0000000000"], "no response '01NOSUCHRESPONSE0000000000'"),
]


@pytest.mark.parametrize(("change", "message"), RATE_ERRORS, ids=[m for _, m in RATE_ERRORS])
def test_rate_refuses_bad_ids_and_values(answers, db, cli, change, message):
    x = answers["x"]["response_id"]
    values = {"--outcome": "success", "--uncertainty": "asked_clarifying", "--constraints": "na",
              "--quality": "3", "--rater": "ann", "--response": x}
    extra: list[str] = []
    if change[0] == "--value":
        extra = change
    else:
        values[change[0]] = change[1]
    response = values.pop("--response")
    argv = ["rate", response, *[a for kv in values.items() for a in kv], *extra]
    assert message in cli.fails(*argv)
    assert ratings(db) == []
    with open_store(db) as store:
        assert store.ratings.history(x, "ann") == []


def test_rate_usage_errors_and_subprocess(answers, db, cli):
    code, out, err = cli("rate", answers["x"]["response_id"], "--outcome", "success", "--rater", "ann")
    assert code == 2 and out == "" and "Uncertainty handling: not set" in err and "Quality: not set" in err
    code, out, err = cli("rate", answers["z"]["response_id"], *GOOD, "--rater", "ann")
    assert code == 2 and "Quality: not asked of a failed answer" in err
    r = desk("rate", answers["y"]["response_id"], *GOOD[:-1], "11", "--rater", "ann", db=db)
    assert r.returncode == 2 and r.stdout == ""
    assert "--quality '11' must be a whole number from 1 to 5" in one_line_error(r.stderr)
    r = desk("rate", answers["y"]["response_id"], *GOOD, "--rater", "ann", db=db)
    assert r.returncode == 0 and r.stderr == "" and re.fullmatch(ULID + "\n", r.stdout), r
    assert [x.id for x in ratings(db)] == [r.stdout.strip()]


def test_editing_a_rating_keeps_its_history(answers, db, cli):
    x = answers["x"]["response_id"]
    first = cli.ok("rate", x, "--outcome", "failure", "--uncertainty", "confident_wrong",
                   "--constraints", "violated", "--quality", "1", "--rater", "ann").strip()
    out = cli.ok("rate", x, *GOOD, "--note", "I misread it", "--rater", "ann")
    second = re.fullmatch(rf"({ULID}) \(replaces {first}\)\n", out)
    assert second, out
    third = json.loads(cli.ok("rate", x, *GOOD[:-1], "5", "--rater", "ann", "--json"))
    assert third["supersedes"] == second.group(1) and third["quality"] == 5
    bob = cli.ok("rate", x, *GOOD, "--rater", "bob").strip()  # another rater: nothing replaced
    assert re.fullmatch(ULID, bob)

    with open_store(db) as store:
        history = store.ratings.history(x, "ann")
        assert [r.id for r in history] == [first, second.group(1), third["id"]]
        assert [r.supersedes for r in history] == [None, first, second.group(1)]
        assert [r.outcome for r in history] == ["failure", "success", "success"]
        assert [r.quality for r in history] == [1, 4, 5]
        assert history[1].note == "I misread it" and history[2].note == ""
        assert {(r.rater, r.id) for r in store.ratings.current([x])} == {("ann", third["id"]), ("bob", bob)}


# --- desk prefer ----------------------------------------------------------------------------


def test_prefer_saves_and_edits(answers, db, cli):
    x, y = answers["x"]["response_id"], answers["y"]["response_id"]
    first = cli.ok("prefer", x, y, "--winner", "a", "--reason", "asked before guessing", "--rater", "ann")
    assert re.fullmatch(ULID + "\n", first)
    (pref,) = preferences(db)
    assert (pref.id, pref.response_a, pref.response_b, pref.winner, pref.rater, pref.reason) == (
        first.strip(), x, y, "a", "ann", "asked before guessing")
    # The same pair in the other order, by the same rater, replaces it.
    out = cli.ok("prefer", y, x, "--winner", "tie", "--rater", "ann")
    assert re.fullmatch(rf"{ULID} \(replaces {first.strip()}\)\n", out), out
    record = json.loads(cli.ok("prefer", y, x, "--winner", "b", "--rater", "ann", "--json"))
    assert record["winner"] == "b" and record["supersedes"] == out.split()[0] and record["origin"] is None
    assert (record["response_a"], record["response_b"], record["trial_id"]) == (y, x, answers["x"]["trial_id"])
    assert list(record) == ["id", "response_a", "response_b", "winner", "rater", "origin", "reason", "created_at",
                            "trial_id", "supersedes"]
    assert [(p.id, p.winner) for p in preferences(db)] == [(record["id"], "b")]
    cli.ok("prefer", x, y, "--winner", "both_bad", "--rater", "bob")
    assert sorted((p.rater, p.winner) for p in preferences(db)) == [("ann", "b"), ("bob", "both_bad")]


def test_prefer_refuses_bad_ids_and_values(answers, db, cli):
    x, y = answers["x"]["response_id"], answers["y"]["response_id"]
    (other,) = run_trial(cli, "x", prompt="another question")
    assert "--winner 'left' is not one of a, b, tie, both_bad" in cli.fails(
        "prefer", x, y, "--winner", "left", "--rater", "ann")
    assert "answer different trials" in cli.fails(
        "prefer", x, other["response_id"], "--winner", "a", "--rater", "ann")
    assert "two different answers" in cli.fails("prefer", x, x, "--winner", "a", "--rater", "ann")
    assert "no response 'nope'" in cli.fails("prefer", x, "nope", "--winner", "a", "--rater", "ann")
    assert "no response 'nope'" in cli.fails("prefer", "nope", y, "--winner", "a", "--rater", "ann")
    assert "--rater NAME" in cli.fails("prefer", x, y, "--winner", "a")
    assert preferences(db) == []
    r = desk("prefer", x, other["response_id"], "--winner", "b", "--rater", "ann", db=db)
    assert r.returncode == 2 and r.stdout == "" and "different trials" in one_line_error(r.stderr)
    assert preferences(db) == []


# --- desk scorecard -------------------------------------------------------------------------


RATED = {
    # (model, trial number): outcome, uncertainty, constraints, quality, tags
    ("x", 0): ("success", "asked_clarifying", "followed", "5", ["hard"]),
    ("x", 1): ("success", "confident_correct", "na", "4", []),
    ("x", 2): ("failure", "confident_wrong", "violated", "2", ["hard"]),
    ("y", 0): ("partial", "needless_refusal", "followed", "3", ["hard"]),
    ("y", 1): ("failure", "confident_wrong", "violated", "1", []),
}


@pytest.fixture
def scored(cli, srv) -> list[list[dict]]:
    """Three trials of x and y; x priced, y not; five answers rated by ann; x beat y once."""
    add_provider(cli, srv)
    cli.ok("price", "set", "oa/x", "--input", "1", "--output", "2")
    trials = [run_trial(cli, "x", "y", prompt=f"question {i}") for i in range(3)]
    for (model, i), (outcome, uncertainty, constraints, quality, tags) in RATED.items():
        rid = next(r["response_id"] for r in trials[i] if r["model"] == f"oa/{model}")
        cli.ok("rate", rid, "--outcome", outcome, "--uncertainty", uncertainty, "--constraints", constraints,
               "--quality", quality, *[a for t in tags for a in ("--tag", t)], "--rater", "ann")
    cli.ok("prefer", trials[0][0]["response_id"], trials[0][1]["response_id"], "--winner", "a", "--rater", "ann")
    return trials


def test_scorecard_json_matches_hand_computed_figures(scored, cli):
    x_runs = [t[0] for t in scored]
    y_runs = [t[1] for t in scored]
    assert {r["model"] for r in x_runs} == {"oa/x"} and {r["model"] for r in y_runs} == {"oa/y"}
    x, y = json.loads(cli.ok("scorecard", "--json"))
    x_cost = sum(r["cost_usd"] for r in x_runs)
    assert x_cost == pytest.approx(3 * (12 * 1 + 4 * 2) / 1e6)  # the server reports 12 in, 4 out
    assert x["model"] == "oa/x"
    assert (x["n_rated"], x["n_answers"], x["successes"]) == (3, 3, 2)
    assert x["success_rate"] == pytest.approx(2 / 3, abs=1e-6)
    assert x["success_ci"] == pytest.approx(wilson(2, 3), abs=1e-12)
    assert x["clarifying_rate"] == pytest.approx(1 / 3, abs=1e-6)
    assert x["fabrication_rate"] == pytest.approx(1 / 3, abs=1e-6)
    assert x["constraint_violation_rate"] == 0.5 and x["n_constraints_applicable"] == 2  # "na" left out
    assert x["mean_quality"] == pytest.approx((5 + 4 + 2) / 3, abs=1e-4)
    assert x["p95_total_ms"] == pytest.approx(p95([r["total_ms"] for r in x_runs]))
    assert x["total_cost_usd"] == pytest.approx(x_cost) and x["cost_unknown"] == 0
    assert x["cost_per_success_usd"] == pytest.approx(x_cost / 2)
    assert (x["pairwise_games"], x["pairwise_win_rate"]) == (1, 1.0)
    assert "too few rated answers (n=3, want 5+)" in x["warnings"]

    assert y["model"] == "oa/y"
    assert (y["n_rated"], y["n_answers"], y["successes"]) == (2, 3, 0)
    assert y["success_rate"] == 0.0
    assert y["success_ci"] == pytest.approx(wilson(0, 2), abs=1e-12) and y["success_ci"][0] == 0.0
    assert (y["clarifying_rate"], y["fabrication_rate"], y["constraint_violation_rate"]) == (0.0, 0.5, 0.5)
    assert y["mean_quality"] == 2.0
    assert y["p95_total_ms"] == pytest.approx(p95([r["total_ms"] for r in y_runs]))
    assert (y["cost_per_success_usd"], y["total_cost_usd"], y["cost_unknown"]) == (None, None, 3)
    assert (y["pairwise_games"], y["pairwise_win_rate"]) == (1, 0.0)
    for key in ("model", "n_rated", "success_rate", "success_ci", "clarifying_rate", "fabrication_rate",
                "constraint_violation_rate", "mean_quality", "p95_total_ms", "cost_per_success_usd"):
        assert key in x and key in y


def test_scorecard_filters(scored, cli):
    def card(*argv: str) -> dict[str, dict]:
        return {s["model"]: s for s in json.loads(cli.ok("scorecard", "--json", *argv))}

    hard = card("--tag", "hard")
    assert {m: (s["n_rated"], s["successes"]) for m, s in hard.items()} == {"oa/x": (2, 1), "oa/y": (1, 0)}
    assert hard["oa/x"]["success_ci"] == pytest.approx(wilson(1, 2), abs=1e-12)
    assert card("--rater", "bob") == {}
    assert {m: s["n_rated"] for m, s in card("--rater", "ann").items()} == {"oa/x": 3, "oa/y": 2}
    first = card("--trial", scored[0][0]["trial_id"])
    assert {m: (s["n_answers"], s["n_rated"]) for m, s in first.items()} == {"oa/x": (1, 1), "oa/y": (1, 1)}
    two = card("--trial", scored[1][0]["trial_id"], scored[2][0]["trial_id"])
    assert {m: s["n_answers"] for m, s in two.items()} == {"oa/x": 2, "oa/y": 2}
    today = dt.date.today()
    assert card("--since", str(today + dt.timedelta(days=1))) == {}
    assert card("--until", str(today - dt.timedelta(days=1))) == {}
    assert card("--since", str(today), "--until", str(today))["oa/x"]["n_rated"] == 3  # --until is inclusive


def test_scorecard_table_and_errors(scored, cli):
    out = cli.ok("scorecard")
    header, rule, x, y, *rest = out.splitlines()
    assert header.split()[:3] == ["model", "rated", "success"] and set(rule) <= {"-", " "}
    assert x.startswith("oa/x") and "67% (" in x and "too few samples" in x
    assert y.startswith("oa/y") and "0% (0%-" in y and "too few samples" in y
    assert "oa/x: too few rated answers (n=3, want 5+)" in rest
    assert cli.ok("scorecard", "--rater", "nobody") == "no answers in scope\n"
    assert "--since '2024-02-30' is not a date (YYYY-MM-DD)" in cli.fails("scorecard", "--since", "2024-02-30")
    assert "--until 2024-01-01 is before --since 2024-02-01" in cli.fails(
        "scorecard", "--since", "2024-02-01", "--until", "2024-01-01")
    assert "no trial 'nope'" in cli.fails("scorecard", "--trial", "nope")


# --- desk export ----------------------------------------------------------------------------


@pytest.fixture
def labelled(answers, cli) -> dict[str, dict]:
    """x, y, z rated by ann, x also by bob; ann prefers x to y and calls y vs z a tie."""
    x, y, z = (answers[m]["response_id"] for m in "xyz")
    cli.ok("rate", x, *GOOD, "--tag", "legal", "--note", "-see clause 4", "--rater", "ann")
    cli.ok("rate", y, "--outcome", "partial", "--uncertainty", "confident_wrong", "--constraints", "violated",
           "--quality", "2", "--rater", "ann")
    cli.ok("rate", z, "--outcome", "failure", "--rater", "ann")  # failed: its outcome alone
    cli.ok("rate", x, "--outcome", "partial", "--uncertainty", "stated_uncertainty", "--constraints", "na",
           "--quality", "3", "--rater", "bob")
    cli.ok("prefer", x, y, "--winner", "a", "--reason", "asked first", "--rater", "ann")
    cli.ok("prefer", y, z, "--winner", "tie", "--rater", "ann")
    return answers


def read_csv(path: Path) -> list[dict[str, str]]:
    with path.open(encoding="utf-8-sig", newline="") as f:  # desk writes a BOM for Excel
        return list(csv.DictReader(f))


def test_export_csv_as_a_user_runs_it(labelled, db, tmp_path):
    out = tmp_path / "labelled.csv"
    r = desk("export", "--format", "csv", "--out", str(out), db=db)
    assert r.returncode == 0 and r.stderr == "", r
    assert r.stdout == f"exported 4 rated answers to {out}\n"
    rows = read_csv(out)
    assert [(row["model"], row["rater"]) for row in rows] == [
        ("oa/x", "ann"), ("oa/x", "bob"), ("oa/y", "ann"), ("oa/z", "ann")]
    x, z = labelled["x"], labelled["z"]
    first = rows[0]
    assert first["trial_id"] == x["trial_id"] and first["response_id"] == x["response_id"]
    assert first["prompt"] == "What is in cell A1?" and first["system"] == "" and first["attachments"] == ""
    assert first["answer"] == "'=SUM(A1) is what x says"  # neutralised for spreadsheets
    assert rows[2]["answer"] == "'@y: -1+2 maybe?"
    assert first["note"] == "'-see clause 4" and first["tags"] == "legal"
    assert (first["status"], first["error_kind"], first["retries"]) == ("ok", "", "0")
    for key in ("ttft_ms", "total_ms", "input_tokens", "output_tokens", "output_tokens_per_s"):
        assert first[key] == ("" if x[key] is None else str(x[key])), key
    assert first["cost_usd"] == ""  # no price for oa/x in this store: unknown, not 0
    assert (first["outcome"], first["uncertainty"], first["constraints"], first["quality"]) == (
        "success", "confident_correct", "followed", "4")
    assert (first["blind"], first["rubric_name"], first["rubric_version"]) == ("false", "default", "1")
    assert first["rating_origin"] == ""  # made in this store
    assert re.fullmatch(ULID, first["rating_id"]) and first["rated_at"].endswith("+00:00")
    assert (rows[3]["status"], rows[3]["error_kind"], rows[3]["answer"]) == ("error", "server_error", "")
    assert z["status"] == "error"


def test_export_jsonl_and_pairs(labelled, db, tmp_path, cli):
    out = tmp_path / "labelled.jsonl"
    assert cli.ok("export", "--format", "jsonl", "--out", str(out)) == f"exported 4 rated answers to {out}\n"
    records = [json.loads(line) for line in out.read_text(encoding="utf-8").splitlines()]
    x = labelled["x"]
    assert records[0]["trial"] == {"id": x["trial_id"], "created_at": records[0]["trial"]["created_at"],
                                   "parent_trial_id": None, "prompt": "What is in cell A1?", "system": None,
                                   "attachments": [], "tools": None, "tool_rounds": None}
    assert records[0]["response"]["text"] == "=SUM(A1) is what x says"  # exactly as the model wrote it
    assert records[2]["response"]["text"] == "@y: -1+2 maybe?"
    assert records[0]["response"]["settings"] == x["settings"]
    assert [a["status"] for a in records[0]["response"]["attempts"]] == ["ok"]
    assert records[3]["response"]["error_kind"] == "server_error"
    assert records[3]["response"]["attempts"][0]["http_status"] == 500
    assert {k: records[0]["rating"][k] for k in ("outcome", "note", "tags", "rater", "blind")} == {
        "outcome": "success", "note": "-see clause 4", "tags": ["legal"], "rater": "ann", "blind": False}
    assert records[0]["rating"]["rubric"]["name"] == "default"

    pairs = tmp_path / "pairs.jsonl"
    code, stdout, stderr = cli("export", "--format", "pairs", "--out", str(pairs))
    assert code == 0 and stdout == f"exported 1 preference pairs to {pairs}\n"
    assert stderr == "desk: skipped 1 preference(s): tie or both bad\n"
    (pair,) = [json.loads(line) for line in pairs.read_text(encoding="utf-8").splitlines()]
    assert pair == {"prompt": "What is in cell A1?", "system": None, "chosen": "=SUM(A1) is what x says",
                    "rejected": "@y: -1+2 maybe?", "chosen_model": "oa/x", "rejected_model": "oa/y",
                    "rater": "ann", "origin": None, "machine": False, "reason": "asked first", "trial_id": x["trial_id"],
                    "preference_id": preferences(db)[0].id}


def test_export_to_stdout_and_filters(labelled, tmp_path, cli):
    code, out, err = cli("export", "--format", "jsonl", "--out", "-", "--rater", "bob")
    assert code == 0 and err == "exported 1 rated answers to stdout\n"
    (record,) = map(json.loads, out.splitlines())
    assert record["rating"]["rater"] == "bob" and record["response"]["model"] == "oa/x"

    def rows(*argv: str) -> list[tuple[str, str]]:
        path = tmp_path / "f.csv"
        cli.ok("export", "--format", "csv", "--out", str(path), *argv)
        return [(r["model"], r["rater"]) for r in read_csv(path)]

    assert rows("--tag", "legal") == [("oa/x", "ann")]
    assert rows("--trial", labelled["x"]["trial_id"]) == rows()
    today = dt.date.today()
    assert rows("--since", str(today + dt.timedelta(days=1))) == []
    assert len(rows("--since", str(today), "--until", str(today))) == 4


def test_export_errors(labelled, tmp_path, cli, monkeypatch):
    monkeypatch.setitem(sys.modules, "pyarrow", None)  # as where the extra is not installed
    monkeypatch.setitem(sys.modules, "pyarrow.parquet", None)
    target = tmp_path / "out.parquet"
    assert cli.fails("export", "--format", "parquet", "--out", str(target)) == f"desk: error: {PARQUET_MISSING}"
    assert not target.exists()
    assert "cannot write" in cli.fails("export", "--format", "csv", "--out", str(tmp_path / "no" / "x.csv"))
    assert "no trial 'nope'" in cli.fails("export", "--format", "csv", "--out", str(tmp_path / "t.csv"),
                                          "--trial", "nope")
    assert not (tmp_path / "t.csv").exists()
    code, _, err = cli("export", "--format", "xlsx", "--out", str(tmp_path / "x.xlsx"))
    assert code == 2 and "invalid choice: 'xlsx'" in err
    assert EXPORT_FORMATS == FORMATS


def test_parquet_without_the_extra_as_a_user_sees_it(labelled, db, tmp_path):
    try:
        import pyarrow  # noqa: F401
    except ImportError:
        r = desk("export", "--format", "parquet", "--out", str(tmp_path / "o.parquet"), db=db)
        assert r.returncode == 2 and r.stdout == ""
        assert one_line_error(r.stderr) == f"desk: error: {PARQUET_MISSING}"
        assert not (tmp_path / "o.parquet").exists()
    else:
        r = desk("export", "--format", "parquet", "--out", str(tmp_path / "o.parquet"), db=db)
        assert r.returncode == 0, r
        assert (tmp_path / "o.parquet").stat().st_size > 0


# --- desk merge -----------------------------------------------------------------------------


def test_merge_pools_two_experts_ratings(srv, tmp_path, cli):
    a, b = tmp_path / "ann.db", tmp_path / "bob.db"
    for path in (a, b):
        add_provider(cli, srv, "--db", str(path))
    (ann_x,) = run_trial(cli, "x", prompt="ann's question", where=("--db", str(a)))
    (bob_y,) = run_trial(cli, "y", prompt="bob's question", where=("--db", str(b)))
    cli.ok("rate", ann_x["response_id"], *GOOD, "--rater", "ann", "--db", str(a))
    cli.ok("rate", bob_y["response_id"], *GOOD, "--rater", "bob", "--db", str(b))

    # Bob pulls Ann's store, rates her answer too, and she pulls his.
    out = cli.ok("merge", str(a), "--db", str(b))
    assert out.splitlines()[0] == f"merged {a}: 4 row(s) added"
    lines = out.splitlines()
    tail = lines.index("configuration in the other store, never merged (add what you trust by hand):")
    counts = dict(line.split() for line in lines[1:tail])
    # The built-in rubric is shared; Ann's model oa/x is configuration: listed, not added.
    assert counts == {"blobs": "0", "trials": "1",
                      "trial_attachments": "0", "responses": "1", "attempts": "1", "turns": "0", "rubrics": "0",
                      "ratings": "1", "preferences": "0", "runs": "0", "run_requests": "0",
                      "suites": "0", "suite_cases": "0", "suite_case_attachments": "0", "suite_run_trials": "0",
                      "judge_prompts": "0", "judge_verdicts": "0", "calibration_draws": "0"}
    assert lines[tail + 1:] == ["  1 model(s) not added to the picker: oa/x"]
    cli.ok("rate", ann_x["response_id"], "--outcome", "partial", "--uncertainty", "stated_uncertainty",
           "--constraints", "na", "--quality", "3", "--rater", "bob", "--db", str(b))
    report = json.loads(cli.ok("merge", str(b), "--db", str(a), "--json"))
    assert report["source"] == str(b) and report["conflicts"] == []
    assert {k: report["added"][k] for k in ("trials", "responses", "attempts", "ratings", "rubrics")} == {
        "trials": 1, "responses": 1, "attempts": 1, "ratings": 2, "rubrics": 0}
    assert report["total"] == sum(report["added"].values())

    with open_store(a) as store:
        pooled = {(r.response_id, r.rater) for r in store.ratings.current()}
    assert pooled == {(ann_x["response_id"], "ann"), (ann_x["response_id"], "bob"),
                      (bob_y["response_id"], "bob")}

    # Twice adds nothing, both ways.
    again = json.loads(cli.ok("merge", str(b), "--db", str(a), "--json"))
    assert again["total"] == 0 and set(again["added"].values()) == {0}
    assert cli.ok("merge", str(a), "--db", str(b)).splitlines()[0] == f"merged {a}: 0 row(s) added"
    with open_store(a) as store:
        assert len(store.ratings.current()) == 3

    # The scorecard of the pooled store sees both raters.
    (x_card, _) = json.loads(cli.ok("scorecard", "--json", "--db", str(a)))
    assert x_card["model"] == "oa/x" and x_card["agreement"]["raters"] == 2


def test_merge_reports_conflicts_and_errors(srv, tmp_path, cli):
    a, c = tmp_path / "a.db", tmp_path / "c.db"
    add_provider(cli, srv, "--db", str(a))
    cli.ok("provider", "add", "oa", "--kind", "ollama", "--base-url", srv.base_url, "--db", str(c))
    out = cli.ok("merge", str(c), "--db", str(a))
    assert "conflict(s)" not in out
    assert "  provider oa: set up differently in the other store; this store's kept" in out
    with open_store(a) as store:
        assert store.providers.get("oa").kind == "openai"

    assert "no such file" in cli.fails("merge", str(tmp_path / "missing.db"), "--db", str(a))
    assert "is this store" in cli.fails("merge", str(a), "--db", str(a))
    notes = tmp_path / "notes.db"
    notes.write_bytes(b"not sqlite at all\n" * 50)
    assert "not a desk database" in cli.fails("merge", str(notes), "--db", str(a))
    r = desk("merge", str(tmp_path / "missing.db"), "--db", str(a))
    assert r.returncode == 2 and "no such file" in one_line_error(r.stderr)


# --- desk rubric show -----------------------------------------------------------------------


def test_rubric_show(tmp_path, cli):
    where = ("--db", str(tmp_path / "r.db"))
    shown = json.loads(cli.ok("rubric", "show", "--json", *where))
    assert (shown["name"], shown["version"]) == ("default", 1)
    by_key = {c["key"]: c for c in shown["criteria"]}
    assert list(by_key) == [c.key for c in DEFAULT_RUBRIC.criteria]
    assert [o["key"] for o in by_key["outcome"]["options"]] == list(OUTCOMES)
    assert [o["key"] for o in by_key["uncertainty"]["options"]] == list(UNCERTAINTY)
    assert [o["key"] for o in by_key["constraints"]["options"]] == list(CONSTRAINTS)
    assert (by_key["quality"]["kind"], by_key["quality"]["low"], by_key["quality"]["high"]) == ("scale", 1, 5)
    assert by_key["note"]["required"] is False and by_key["tags"]["kind"] == "tags"

    text = cli.ok("rubric", "show", *where)
    assert text.splitlines()[0] == "rubric default version 1"
    for key in (*OUTCOMES, *UNCERTAINTY, *CONSTRAINTS):
        assert key in text
    assert "quality (Quality): 1-5" in text
    assert set(WINNERS) == {"a", "b", "tie", "both_bad"}


def test_new_commands_take_db_before_or_after(tmp_path):
    decoy = tmp_path / "decoy" / "desk.db"
    chosen = tmp_path / "mine.db"
    env = cli_env(DESK_DB=str(decoy))
    for argv in (["--db", str(chosen), "scorecard", "--json"], ["scorecard", "--json", "--db", str(chosen)]):
        r = desk(*argv, env=env)
        assert r.returncode == 0 and r.stdout == "[]\n", r
    r = desk("rubric", "show", "--db", str(chosen), env=env)
    assert r.returncode == 0 and r.stdout.startswith("rubric default"), r
    assert not decoy.parent.exists() and chosen.exists()


def test_help_lists_the_new_commands():
    buffer = io.StringIO()
    with pytest.raises(SystemExit), pytest.MonkeyPatch.context() as mp:
        mp.setattr(sys, "stdout", buffer)
        main(["--help"])
    text = buffer.getvalue()
    for command in ("rate", "prefer", "scorecard", "export", "merge", "rubric"):
        assert re.search(rf"^\s+{command}\s", text, re.M), command
