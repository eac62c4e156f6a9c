"""A run's tool use and its constraint disagreements read only what they need (issue 21:
7 s and 0.8 GB each at 100,000 answers when they read every answer whole): what they give
is what reading every answer whole gave, kept below as it was written, on runs with tool
cases (every kind of expected call), resends, failures (some with calls), cells answered
out of case order, answers stored at the same instant, several raters, edited ratings,
automatic checks that agree and disagree with people, and a judge."""

from __future__ import annotations

import random
from typing import Any

import pytest

from desk.core.judge import is_machine
from desk.core.response import Attempt, ErrorKind, ResponseResult, Status
from desk.core.suite import AUTO_RATER, Case, Constraint, Suite
from desk.core.tool_expect import ExpectedCall, rates, tool_verdicts
from desk.core.tools import Tool, ToolCall, ToolSet
from desk.engine.suite_reading import disagreements
from desk.engine.suite_records import Disagreement
from desk.engine.tool_use import AnswerPlace, ToolUseScore, tool_use
from desk.store import open_store

MODELS = ("m/a", "m/b", "m/c")
TOOLS = ToolSet((Tool("get_weather", "The weather of a city.",
                      {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]}),))
EXPECTED = (ExpectedCall("get_weather", {"city": "Paris"}), ExpectedCall(None),
            ExpectedCall("get_weather", schema={"type": "object", "required": ["city"]}), None)
CALLS = (  # what an answer may call: nothing, right, elsewhere, broken arguments, an unknown tool
    [], [ToolCall("get_weather", '{"city": "Paris"}', "c1")], [ToolCall("get_weather", '{"city": "Rome"}', "c1")],
    [ToolCall("get_weather", '{"city": ', "c1", ["the arguments are not JSON"])],
    [ToolCall("get_time", "{}", None, ["no tool named 'get_time'"])],
    [ToolCall("get_weather", "{}", "c1", ["'city' is a required property"]),
     ToolCall("get_weather", '{"city": "Paris"}', "c2")],
)


def _suite(with_tools: bool) -> Suite:
    cases = []
    for k in range(8):
        tools = with_tools and k % 2 == 0
        cases.append(Case(
            f"c{k}", f"Task {k}", expect=("follow_constraints", "clarify", "")[k % 3],
            constraints=(Constraint("count:word_count_range", {"min_words": 1, "max_words": 3}),) if k % 3 != 1 else (),
            tools=TOOLS if tools else None, expected_call=EXPECTED[(k // 2) % 4] if tools else None))
    return Suite("readers", tuple(cases))


def _answer(rid: str, trial: str, model: str, status: Status, calls: list[ToolCall]) -> ResponseResult:
    return ResponseResult(
        id=rid, trial_id=trial, model=model, settings={}, status=status, text=f"answer {rid}", started_at=1.0,
        ended_at=2.0, total_ms=900.0, error_kind=ErrorKind.SERVER_ERROR if status == Status.ERROR else None,
        tool_calls=[ToolCall(c.name, c.arguments, c.id, list(c.problems)) for c in calls],
        attempts=[Attempt(number=1, started_at=1.0, ended_at=2.0, status=status)])


def _rate(store, rid: str, rng: random.Random, *, people: bool) -> None:
    """People (some edit theirs), the automatic check (agreeing or not) and a judge."""
    for rater in rng.sample(("ana", "ben", "cy"), rng.choice((0, 1, 2, 3)) if people else 0):
        values = {"outcome": rng.choice(("success", "partial", "failure")),
                  "uncertainty": rng.choice(("asked_clarifying", "confident_wrong")),
                  "constraints": rng.choice(("followed", "violated", "na")), "quality": rng.randint(1, 5)}
        store.ratings.save(rid, rater, values)
        if rng.random() < 0.3:  # edited: the new one supersedes it, its verdict changed or not
            store.ratings.save(rid, rater, {**values, "constraints": rng.choice(("followed", "violated"))})
    if rng.random() < 0.7:
        verdict = rng.choice(("followed", "violated", "na"))
        store.suites.save_partial_rating(rid, AUTO_RATER, {"constraints": verdict, "note": f"auto {verdict}"})
        if rng.random() < 0.2:  # checked again: the later verdict counts
            store.suites.save_partial_rating(rid, AUTO_RATER, {"constraints": "followed", "note": "again"})
    if people and rng.random() < 0.3:
        store.ratings.save(rid, "judge:m/z", {"outcome": "success", "uncertainty": "confident_wrong",
                                              "constraints": rng.choice(("followed", "violated")), "quality": 2})


def _answered_run(store, suite: Suite, rng: random.Random, prefix: str, *, ties: bool = False) -> str:
    """A run of 8 cases x 2 samples x 3 models, its cells answered in a shuffled order, then
    some answered again at the end (a resend); with `ties`, answers share their times."""
    run_id = store.runs.create("suite", {"suite_id": suite.id, "suite": suite.name, "suite_version": suite.version,
                                         "cases": 8, "models": list(MODELS), "repeat": 2, "concurrency": 2,
                                         "total": 48, "settings": {}, "max_turns": 2}, prefix)
    cells = [(case, sample, model) for case in suite.cases for sample in range(2) for model in MODELS
             if not (case.key == "c7" and sample == 1)]  # a (case, sample) never sent
    rng.shuffle(cells)
    sends = [(cell, status) for cell in cells
             for status in rng.choice([[Status.OK], [Status.OK], [Status.ERROR, Status.OK], [Status.ERROR],
                                       [Status.INTERRUPTED], [Status.OK, Status.ERROR], [Status.OK, Status.OK]])]
    sends += [(cell, rng.choice((Status.OK, Status.ERROR))) for cell in rng.sample(cells, 12)]  # resent later
    for seq, ((case, sample, model), status) in enumerate(sends, 1):
        rid = f"{prefix}{seq:04d}"
        trial = store.suites.cell_trial(run_id, case, sample)
        store.responses.finish(_answer(rid, trial, model, status, rng.choice(CALLS)))
        store.suites.link_response(rid, run_id, seq)
        if status == Status.OK or rng.random() < 0.2:  # a failed answer checked too, now and then
            _rate(store, rid, rng, people=status == Status.OK)
    if ties:  # a merge may bring answers stored at one instant: the row order settles them
        store.db.conn.execute("UPDATE responses SET created_at = 1000 + (rowid % 5) WHERE run_id = ?", (run_id,))
        store.db.conn.commit()
    return run_id


# --- the readings as they were, every answer read whole -------------------------------------------


def _pick(responses):
    ok = [p for p in responses if p[1].status == Status.OK]
    chosen = ok or responses
    return chosen[-1] if chosen else None


def _run_parts(suites, run_id):
    info = next(r for r in suites.suite_runs(run_id=run_id))
    suite = suites.get_suite_by_id(info.spec["suite_id"])
    by_cell: dict = {}
    for cell in suites.run_cells(run_id):
        by_cell.setdefault((cell.case_id, cell.sample, cell.response.model), []).append((cell.trial_id, cell.response))
    return suite, list(info.spec["models"]), by_cell


def _whole_tool_use(suites, run_id: str) -> list[ToolUseScore]:
    suite, models, by_cell = _run_parts(suites, run_id)
    cases = {c.id: c for c in suite.cases if c.tools is not None}
    verdicts: dict = {m: [] for m in models}
    places: dict = {m: {} for m in models}
    for (case_id, _sample, model), found in by_cell.items():
        case, chosen = cases.get(case_id), _pick(found)
        if case is None or chosen is None or chosen[1].status != Status.OK:
            continue
        trial_id, answer = chosen
        verdicts.setdefault(model, []).append((answer.id, tool_verdicts(case.expected_call, answer.tool_calls)))
        places.setdefault(model, {})[answer.id] = AnswerPlace(case.key, trial_id)
    return [ToolUseScore(m, rates(v), len(v), places.get(m, {})) for m, v in verdicts.items()]


def _whole_disagreements(suites, ratings, run_id: str | None = None) -> list[Disagreement]:
    autos = ratings.current(rater=AUTO_RATER)
    keys: dict[str, str] = {}
    if run_id is not None:
        suite, _, by_cell = _run_parts(suites, run_id)
        case_keys = {c.id: c.key for c in suite.cases}
        for (case_id, _, _), found in by_cell.items():
            for _, r in found:
                keys[r.id] = case_keys.get(case_id, "")
        autos = [a for a in autos if a.response_id in keys]
    autos = [a for a in autos if a.constraints in ("followed", "violated")]
    if not autos:
        return []
    humans = [r for r in ratings.current([a.response_id for a in autos]) if not is_machine(r.rater)]
    by_response: dict = {}
    for h in humans:
        by_response.setdefault(h.response_id, []).append(h)
    responses = suites.answers([a.response_id for a in autos])
    out = []
    for a in autos:
        answer = responses.get(a.response_id)
        if answer is None:
            continue
        for h in by_response.get(a.response_id, []):
            if h.constraints in ("followed", "violated") and h.constraints != a.constraints:
                out.append(Disagreement(answer.id, answer.trial_id, answer.model, keys.get(answer.id, ""),
                                        a.constraints or "", h.constraints, h.rater, a.note))
    return out


class Counting:
    """A run's tables that note each read of answers whole (or of their tool calls)."""

    WHOLE = ("run_cells", "answers", "tool_calls")

    def __init__(self, tables: Any) -> None:
        self.tables = tables
        self.whole: list[tuple[str, list[str] | str]] = []

    def __getattr__(self, name: str) -> Any:
        found = getattr(self.tables, name)
        if name not in self.WHOLE:
            return found

        def noted(arg, *rest, **kw):
            self.whole.append((name, list(arg) if not isinstance(arg, str) else arg))
            return found(arg, *rest, **kw)
        return noted


@pytest.fixture(params=[False, True], ids=["timed", "ties"])
def runs(tmp_path, request):
    """(store, [run ids]): two runs of a suite with tool cases, another store's run before them."""
    store = open_store(tmp_path / "runs.db")
    suite = store.suites.save_suite(_suite(with_tools=True))
    rng = random.Random(21)
    ids = [_answered_run(store, suite, rng, prefix, ties=request.param) for prefix in ("r", "s")]
    yield store, ids
    store.close()


def test_tool_use_is_what_reading_every_answer_whole_gave(runs):
    store, run_ids = runs
    for run_id in run_ids:
        tables = Counting(store.suites)
        got = tool_use(tables, run_id)
        want = _whole_tool_use(store.suites, run_id)
        assert got == want
        assert [list(s.places) for s in got] == [list(s.places) for s in want]  # the same order too
        assert [s.model for s in got] == list(MODELS) and all(s.answers for s in got)
        assert any(r.failed for s in got for r in s.rates.values())
        assert all(r.n for s in got for r in s.rates.values())  # every measure applies somewhere
        # Read whole: only the tool calls of the answers judged, once.
        (read,) = tables.whole
        assert read[0] == "tool_calls" and sorted(read[1]) == sorted(rid for s in got for rid in s.places)


def test_a_run_without_tool_cases_reads_no_answer(tmp_path):
    store = open_store(tmp_path / "plain.db")
    try:
        suite = store.suites.save_suite(_suite(with_tools=False))
        run_id = _answered_run(store, suite, random.Random(5), "p")
        tables = Counting(store.suites)
        got = tool_use(tables, run_id)
        assert got == _whole_tool_use(store.suites, run_id)
        assert [(s.model, s.answers) for s in got] == [(m, 0) for m in MODELS]
        assert tables.whole == []
    finally:
        store.close()


def test_disagreements_are_what_reading_every_answer_whole_gave(runs):
    store, run_ids = runs
    for run_id in run_ids:
        tables = Counting(store.suites)
        got = disagreements(tables, store.ratings, run_id)
        assert got == _whole_disagreements(store.suites, store.ratings, run_id)
        assert len({d.response_id for d in got}) >= 3 and len({d.rater for d in got}) >= 2
        assert {d.auto for d in got} == {"followed", "violated"} and all(d.case_key for d in got)
        assert tables.whole == []  # no answer read whole
    # The whole store (no run): each disagreement of both runs, no case named.
    tables = Counting(store.suites)
    got = disagreements(tables, store.ratings)
    assert got == _whole_disagreements(store.suites, store.ratings)
    assert {d.response_id[0] for d in got} == {"r", "s"} and not any(d.case_key for d in got)
    assert tables.whole == []


def test_no_disagreement_without_an_automatic_verdict(tmp_path):
    store = open_store(tmp_path / "none.db")
    try:
        suite = store.suites.save_suite(_suite(with_tools=True))
        run_id = _answered_run(store, suite, random.Random(3), "q")
        store.db.conn.execute("DELETE FROM ratings WHERE rater = ?", (AUTO_RATER,))
        store.db.conn.commit()
        assert disagreements(store.suites, store.ratings, run_id) == [] == _whole_disagreements(
            store.suites, store.ratings, run_id)
        assert disagreements(store.suites, store.ratings) == []
    finally:
        store.close()


def test_a_suites_cases_offering_the_same_tools_read_them_once(tmp_path, monkeypatch):
    """Reading a tool set checks its schemas (0.5 ms): 16,666 tool cases took 8 s to read
    back for each run reader, though most suites offer every case the same few sets."""
    import desk.store.suites as stored

    store = open_store(tmp_path / "tools.db")
    try:
        suite = store.suites.save_suite(_suite(with_tools=True))
        read: list[str] = []
        real = stored.read_tools
        monkeypatch.setattr(stored, "read_tools", lambda text: read.append(text) or real(text))
        again = store.suites.get_suite_by_id(suite.id)
        assert again == suite and [c.tools for c in again.cases if c.tools] == [TOOLS] * 4
        assert len(read) == 1
    finally:
        store.close()
