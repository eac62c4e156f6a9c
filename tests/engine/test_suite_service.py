"""SuiteService is built from ports, not from the engine: suites are imported, listed, made
of trials and exported with only the store's tables behind it; nothing that runs a model is
touched until a run starts."""

from __future__ import annotations

import json

import pytest

from desk.core.trial import TrialInput
from desk.engine.errors import EngineError
from desk.engine.runner import Runner
from desk.engine.services.suites import SuiteService
from desk.store.db import Store


class _Untouched:
    """Stands in for the providers' side and the rating side: any use fails the test."""

    def __getattr__(self, name: str) -> object:
        raise AssertionError(f"{name} was used")


def _service(store: Store) -> SuiteService:
    untouched = _Untouched()
    return SuiteService(store.suites, trials=store.trials, ratings=store.ratings, answers=store.responses,
                        runs=store.runs, models=store,
                        targets=untouched, reach=untouched, runner=Runner(),  # type: ignore[arg-type]
                        recorder=untouched, scorecards=untouched, turns=store.turns)  # type: ignore[arg-type]


def test_suites_need_only_the_store(store: Store, tmp_path):
    suites = _service(store)
    path = tmp_path / "two.jsonl"
    path.write_text("".join(json.dumps({"id": k, "prompt": f"say {k}", "expect": "answer"}) + "\n" for k in "ab"))
    info = suites.import_suite(path, "two")
    assert (info.name, info.version, info.cases) == ("two", 1, 2)
    assert "two" in [s.name for s in suites.list_suites()]
    assert [c.key for c in suites.get("two").cases] == ["a", "b"]
    assert suites.export("two", tmp_path / "out" / "two.jsonl") == 2
    assert suites.import_suite(tmp_path / "out" / "two.jsonl", "two").version == 2

    trial_id = store.trials.create(TrialInput("from history", "be brief"))
    made = suites.from_trials("history", [trial_id, trial_id], expect="clarify")
    assert made.cases == 1  # the same trial twice is one case
    (case,) = suites.get("history").cases
    assert (case.prompt, case.system, case.expect, case.upstream_id) == ("from history", "be brief", "clarify", trial_id)
    assert suites.list_runs() == [] and suites.run_info("nope") is None


def test_bad_requests_are_one_line_engine_errors_and_store_nothing(store: Store, tmp_path):
    suites = _service(store)
    with pytest.raises(EngineError, match="no suite named 'nope'"):
        suites.get("nope")
    with pytest.raises(EngineError, match="no trial 'gone'"):
        suites.from_trials("history", ["gone"])
    with pytest.raises(EngineError, match="choose at least one trial"):
        suites.from_trials("history", [])
    with pytest.raises(EngineError, match="no suite run 'XYZ'"):
        suites.matrix("XYZ")
    with pytest.raises(EngineError, match="cannot write"):
        path = tmp_path / "s.jsonl"
        path.write_text(json.dumps({"prompt": "p"}) + "\n")
        suites.import_suite(path, "one")
        (tmp_path / "blocked").write_text("a file, not a folder")
        suites.export("one", tmp_path / "blocked" / "one.jsonl")
    assert [s.name for s in suites.list_suites()] == ["one", "starter"]
