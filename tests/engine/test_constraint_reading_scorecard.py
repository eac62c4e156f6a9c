"""The automatic constraint check keeps desk's reading beside IFBench's verdict, and the
scorecard counts whichever the user chooses (IFBench's by default), saying which."""

from __future__ import annotations

import asyncio
import contextlib
import io
import json

import pytest

from desk import cli
from desk.core.rating import RatingFilter
from desk.engine.jobs import Job
from desk.engine.session import EngineError
from tests.engine.conftest import engine_for, ref
from tests.engine.test_suite_run import suite_file
from tests.vendor_server import Script

# IFBench counts substrings ("cat" in "category"); desk's reading counts whole words: the
# first answer follows the instruction by IFBench's checker and violates it by desk's.
KEYWORDS = {"keyword1": "cat", "keyword2": "nebula", "keyword3": "whisper", "keyword4": "lamp", "keyword5": "river"}
SUBSTRINGS = "category nebula nebula whisper whisper whisper " + "lamp " * 5 + "river " * 7
WORDS = "cat " + SUBSTRINGS.removeprefix("category ")
CASES = [{"id": "k1", "prompt": "case-01: use the keywords", "expect": "follow_constraints",
          "constraints": [{"id": "count:keywords_multiple", "kwargs": KEYWORDS}]}]


def cli_out(*argv: str) -> str:
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        assert cli.main(list(argv)) == 0
    return out.getvalue()


@pytest.fixture
def checked(providers, vendor, tmp_path):
    """A run whose two answers the automatic check rated: 'sub' (the readings differ) and
    'word' (they agree)."""
    vendor.set_default("sub", Script(text_pieces=[SUBSTRINGS]))
    vendor.set_default("word", Script(text_pieces=[WORDS]))

    async def go():
        async with engine_for(providers) as engine:
            engine.suites.import_suite(suite_file(tmp_path, CASES), "keywords")
            return engine, await engine.suites.run("keywords", [ref("openai", "sub"), ref("openai", "word")])

    return asyncio.run(go())


def test_the_check_stores_both_verdicts(checked):
    engine, result = checked
    autos = {a.response.model: a.auto for a in result.responses}
    sub, word = autos["openai/sub"], autos["openai/word"]
    assert (sub.values["constraints"], sub.values["constraints_desk"]) == ("followed", "violated")
    assert "desk's reading: count:keywords_multiple violated" in sub.values["note"]
    assert (word.values["constraints"], word.values["constraints_desk"]) == ("followed", "followed")
    stored = {r.response_id: r for r in engine.store.ratings.current(rater="auto")}
    assert stored[sub.response_id].values["constraints_desk"] == "violated"  # read back from the store


def test_the_scorecard_counts_the_official_verdict_unless_desks_is_chosen(checked):
    engine, result = checked
    auto = RatingFilter(rater="auto")
    official = {s.model: s for s in engine.ratings.scorecard(auto)}
    assert official["openai/sub"].constraint_violation_rate == 0.0
    assert official["openai/sub"].constraint_reading == "official"
    assert {s.model: s.constraint_reading for s in engine.ratings.scorecard(auto, constraints="official")} == {
        "openai/sub": "official", "openai/word": "official"}
    desk = {s.model: s for s in engine.ratings.scorecard(auto, constraints="desk")}
    assert desk["openai/sub"].constraint_violation_rate == 1.0
    assert desk["openai/word"].constraint_violation_rate == 0.0
    assert desk["openai/sub"].constraint_reading == "desk" and desk["openai/sub"].as_json()["constraint_reading"] == "desk"
    run_desk = {s.model: s for s in engine.suites.scorecard(result.run_id, auto, constraints="desk")}
    assert run_desk["openai/sub"].constraint_violation_rate == 1.0
    background = asyncio.run(engine.ratings.scorecard_in_background(Job("Scorecard"), auto, constraints="desk"))
    assert {s.model: s.constraint_violation_rate for s in background} == {"openai/sub": 1.0, "openai/word": 0.0}
    with pytest.raises(EngineError, match="official, desk"):
        engine.ratings.scorecard(auto, constraints="mine")
    # People's ratings are not automatic checks: no reading to name.
    people = engine.ratings.scorecard()
    assert [s.constraint_reading for s in people] == [None, None]


def test_a_check_stored_before_desk_kept_its_reading_says_so(checked):
    engine, result = checked
    sub = next(a.response for a in result.responses if a.response.model == "openai/sub")
    engine.store.suites.save_partial_rating(sub.id, "auto", {"constraints": "followed"})  # the old form
    (score,) = [s for s in engine.ratings.scorecard(RatingFilter(rater="auto"), constraints="desk") if s.model == "openai/sub"]
    assert score.constraint_violation_rate == 0.0  # only the official verdict is there to count
    assert "1 automatic constraint check(s) stored before desk kept its own reading count IFBench's verdict" in (
        score.warnings)


def test_the_cli_takes_the_choice_and_names_it(checked):
    engine, _ = checked
    db = ["--db", str(engine.store.path), "--rater", "auto"]
    as_json = {s["model"]: s for s in json.loads(cli_out("scorecard", "--json", *db))}
    assert as_json["openai/sub"]["constraint_violation_rate"] == 0.0
    assert as_json["openai/sub"]["constraint_reading"] == "official"
    as_json = {s["model"]: s for s in json.loads(cli_out("scorecard", "--json", "--constraints", "desk", *db))}
    assert as_json["openai/sub"]["constraint_violation_rate"] == 1.0
    assert as_json["openai/sub"]["constraint_reading"] == "desk"
    table = cli_out("scorecard", "--constraints", "desk", *db)
    row = next(line for line in table.splitlines() if line.startswith("openai/sub"))
    assert "100% (desk's reading)" in row
    row = next(line for line in cli_out("scorecard", *db).splitlines() if line.startswith("openai/sub"))
    assert "0% (IFBench)" in row
    # Without the checker's ratings in scope the choice changes nothing, and the CLI says so.
    people_only = cli_out("scorecard", "--constraints", "desk", "--db", str(engine.store.path))
    assert "no automatic constraint check in scope: --constraints applies with --rater auto" in people_only
    assert "no automatic constraint check" not in table
