"""The bundled starter suite loads, is well formed, credits its sources and rebuilds byte for byte."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from desk.core.constraints import CHECKED_KINDS, supported

ROOT = Path(__file__).resolve().parent.parent
SUITES = ROOT / "resources" / "suites"
SCRIPT = ROOT / "packaging" / "make_starter_suite.py"
SHIPPED = ("starter.jsonl", "NOTICE", "README.md")
EXPECTS = {"clarify", "abstain", "answer", "follow_constraints"}
REPOSITORIES = {"coconot": "allenai/noncompliance", "coconot-contrast": "allenai/noncompliance", "ifbench": "allenai/IFBench",
                "desk": "written for desk by its authors"}
DATA_CANDIDATES = (ROOT.parent / "shared" / "starter-data", Path("/work/shared/starter-data"))


@pytest.fixture(scope="module")
def cases() -> list[dict]:
    lines = (SUITES / "starter.jsonl").read_text(encoding="utf-8").splitlines()
    return [json.loads(line) for line in lines]


def test_suite_has_enough_well_formed_cases(cases):
    assert len(cases) >= 150
    ids = [c["id"] for c in cases]
    assert len(ids) == len(set(ids))
    for case in cases:
        assert case["expect"] in EXPECTS, case["id"]
        assert case["prompt"].strip() and case["upstream_id"], case["id"]
        assert case["source"] in REPOSITORIES, case["id"]
        assert case["id"] == f"{case['source']}-{case['upstream_id']}"
        assert isinstance(case["tags"], list) and case["tags"] and case["notes"].strip()
    assert {c["expect"] for c in cases} == EXPECTS


def test_every_clarify_case_has_a_clarification_and_only_they_do(cases):
    for case in cases:
        assert bool(case.get("clarification", "").strip()) == (case["expect"] == "clarify"), case["id"]
    assert "clarification" in (SUITES / "NOTICE").read_text(encoding="utf-8")


def test_tool_cases_load_and_name_an_offered_tool_or_none(cases):
    from desk.core.suite import cases_from_jsonl

    tool_cases = [c for c in cases if "tools" in c]
    assert {c["upstream_id"] for c in tool_cases} == {"tools-clear-call", "tools-ambiguous", "tools-no-tool"}
    loaded = {c.key: c for c in cases_from_jsonl("\n".join(json.dumps(c) for c in tool_cases))}
    assert loaded["desk-tools-clear-call"].expected_call.name == "get_weather"
    assert loaded["desk-tools-ambiguous"].expected_call.name is None  # the right move is to ask


def test_no_upstream_response_anywhere(cases):
    assert not any("response" in case for case in cases)
    assert '"response"' not in (SUITES / "starter.jsonl").read_text(encoding="utf-8")


def test_follow_constraints_cases_are_all_machine_checked(cases):
    constrained = [c for c in cases if c["expect"] == "follow_constraints"]
    assert len(constrained) >= 30
    kinds = set()
    for case in constrained:
        assert case["constraints"] and supported(case["constraints"]), case["id"]
        for constraint in case["constraints"]:
            assert None not in constraint["kwargs"].values(), case["id"]
            kinds.add(constraint["id"])
    assert len(kinds) >= 8 and kinds <= CHECKED_KINDS
    assert not any("constraints" in c for c in cases if c["expect"] != "follow_constraints")


def test_notice_names_every_source_licence_and_citation(cases):
    notice = (SUITES / "NOTICE").read_text(encoding="utf-8")
    for source in {c["source"] for c in cases}:
        assert REPOSITORIES[source] in notice, source
    for needle in (
        "MIT",
        "Copyright (c) 2024 AI2",
        "ODC-BY-1.0",
        "Brahman et al.",
        "The Art of Saying No",
        "Pyatkin et al.",
        "Generalizing Verifiable Instruction Following",
        "response",
    ):
        assert needle in notice, needle


def _data_dir() -> Path:
    for path in DATA_CANDIDATES:
        if (path / "coconot").is_dir() and (path / "ifbench").is_dir():
            return path
    pytest.skip("raw starter data (../shared/starter-data) is not next to this checkout; cannot rebuild")


def test_script_rebuilds_the_shipped_files_byte_for_byte(tmp_path):
    data = _data_dir()
    proc = subprocess.run(
        [sys.executable, str(SCRIPT), str(data), "--out", str(tmp_path)],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 0, proc.stderr
    for name in SHIPPED:
        assert (tmp_path / name).read_bytes() == (SUITES / name).read_bytes(), f"{name} differs from a rebuild"
