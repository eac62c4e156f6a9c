"""A run's matrix makes each answer's verdicts as columns, the verdict of an answer rated
once made once per rater, values and expect kind (issue 21: 1.9 s at 100,000 answers): each
cell must show what combining that answer's own current ratings gives, whatever its
neighbours share with it: the same values under another expect kind, the automatic check's
same verdict with another note, a judge alone, two people tied, an edit, several answers."""

from __future__ import annotations

import pytest

from desk.core.judge import is_machine
from desk.core.response import Attempt, ErrorKind, ResponseResult, Status
from desk.core.suite import AUTO_RATER, Case, Suite, handled
from desk.engine.application import Application
from desk.engine.scorecard import combined_rating
from desk.engine.suite_records import RatingSummary
from desk.store import open_store

MODELS = ("m/a", "m/b")
SAME = {"outcome": "success", "uncertainty": "asked_clarifying", "constraints": "followed", "quality": 4}
EXPECTS = ("clarify", "follow_constraints", "", "clarify", "refuse")


def _answer(rid: str, trial: str, model: str, status: Status, text: str) -> ResponseResult:
    return ResponseResult(
        id=rid, trial_id=trial, model=model, settings={}, status=status, text=text, started_at=1.0,
        first_token_at=1.2, ended_at=2.0, ttft_ms=100.0, total_ms=900.0, cost_usd=0.001,
        error_kind=ErrorKind.SERVER_ERROR if status == Status.ERROR else None,
        attempts=[Attempt(number=1, started_at=1.0, ended_at=2.0, status=status)])


def _rate(store, rid: str, how: str) -> None:
    """One answer's ratings, `how` they are given."""
    if how == "same":  # ana's same values on every case: one verdict per expect kind
        store.ratings.save(rid, "ana", SAME)
    elif how == "edited":  # the edit counts, not the first values
        store.ratings.save(rid, "ana", {**SAME, "outcome": "failure"})
        store.ratings.save(rid, "ana", SAME)
    elif how == "tie":  # two people differ: the latest wins each criterion, quality the mean
        store.ratings.save(rid, "ana", SAME)
        store.ratings.save(rid, "ben", {"outcome": "partial", "uncertainty": "confident_wrong",
                                        "constraints": "violated", "quality": 1})
        store.db.execute("UPDATE ratings SET created_at = created_at + 10 WHERE response_id = ? AND rater = 'ben'",
                         (rid,))  # later for sure
    elif how == "tie, same time":  # ... and at the same time: then the first of them (by id)
        store.ratings.save(rid, "ben", {"outcome": "partial", "uncertainty": "confident_wrong", "constraints": "na",
                                        "quality": 2})
        store.ratings.save(rid, "ana", SAME)
        store.db.execute("UPDATE ratings SET created_at = 5.0 WHERE response_id = ?", (rid,))
    elif how.startswith("auto"):  # the check alone: the same verdict, each note its own
        store.suites.save_partial_rating(rid, AUTO_RATER, {"constraints": "violated", "note": f"note of {rid}"})
    elif how == "auto and ana":
        store.ratings.save(rid, "ana", SAME)
        store.suites.save_partial_rating(rid, AUTO_RATER, {"constraints": "followed", "note": "ok"})
    elif how == "judge":  # a judge alone: no person's verdict, no check's
        store.ratings.save(rid, "judge:m/z", SAME)
    elif how == "half":  # a non-whole quality (a REAL in the column)
        store.ratings.save(rid, "cy", SAME)
        store.db.execute("UPDATE ratings SET quality = 4.5 WHERE response_id = ?", (rid,))


HOW = ("same", "same", "edited", "tie", "tie, same time", "auto", "auto again", "auto and ana", "judge", "half",
       "none")


@pytest.fixture()
def run(tmp_path):
    path = tmp_path / "run.db"
    store = open_store(path)
    suite = store.suites.save_suite(Suite("verdicts", tuple(
        Case(f"c{k}", f"Task {k}", expect=EXPECTS[k % len(EXPECTS)]) for k in range(len(HOW)))))
    run_id = store.runs.create("suite", {"suite_id": suite.id, "suite": suite.name, "suite_version": suite.version,
                                         "cases": len(HOW), "models": list(MODELS), "repeat": 1, "concurrency": 1,
                                         "total": 2 * len(HOW), "settings": {}}, "verdicts")
    seq = 0
    for case, how in zip(suite.cases, HOW, strict=True):
        trial = store.suites.cell_trial(run_id, case, 0)
        for model in MODELS:
            statuses = [Status.ERROR, Status.OK] if model == "m/b" else [Status.OK]  # a failure, then its resend
            for status in statuses:
                seq += 1
                rid = f"r{seq:03d}"
                text = " " * 700 + f"far {rid}" if seq % 3 == 0 else f"{rid} first\nsecond"  # some read whole
                store.responses.finish(_answer(rid, trial, model, status, text))
                store.suites.link_response(rid, run_id, seq)
                if status == Status.OK:
                    _rate(store, rid, how)
    store.close()
    return path, run_id


def test_each_cell_shows_its_own_answers_ratings_combined(run):
    path, run_id = run
    app = Application.open(path)
    try:
        matrix = app.engine(warm_prices=False).suites.matrix(run_id)
        expect_of = {c.id: c.expect for c in matrix.suite.cases}
        assert len(matrix.cells) == len(HOW) * len(MODELS)
        for cell in matrix.cells:
            given = app.store.ratings.current([cell.response_id])
            people = [x for x in given if not is_machine(x.rater)]
            auto = next((x for x in given if x.rater == AUTO_RATER), None)
            human = None
            if people:
                values = combined_rating(people)
                human = RatingSummary(values.get("outcome"), values.get("uncertainty"), values.get("constraints"),
                                      values.get("quality"), tuple(sorted({x.rater for x in people})),
                                      handled(expect_of[cell.case_id], values))
            assert (cell.human, cell.auto_constraints, cell.auto_note) == (
                human, auto.constraints if auto else None, auto.note if auto else None), cell
            if human is not None:
                assert type(cell.human.quality) is type(human.quality)
            assert cell.answers == (2 if cell.model == "m/b" else 1) and cell.status == "ok"
            assert cell.first_line in (f"{cell.response_id} first", f"far {cell.response_id}")
        by_key = {c.case_key: c for c in matrix.cells if c.model == "m/a"}
        # the same values and expect kinds differ: so do whether they show it
        assert {by_key["c0"].human.handled, by_key["c1"].human.handled, by_key["c2"].human.handled} == {True, None}
        assert by_key["c3"].human.outcome == "partial" and by_key["c3"].human.quality == 2.5
        first = min(app.store.ratings.current([by_key["c4"].response_id]), key=lambda x: x.id)
        assert by_key["c4"].human.outcome == first.values["outcome"] and by_key["c4"].human.raters == ("ana", "ben")
        assert by_key["c5"].auto_note != by_key["c6"].auto_note and by_key["c5"].human is None
        assert by_key["c8"].human is None and by_key["c8"].auto_constraints is None
        assert by_key["c9"].human.quality == 4.5 and by_key["c10"].human is None
    finally:
        app.close()
