"""Suite runs against the loopback vendor: complete, cancel and resume, auto verdicts, scorecard."""

from __future__ import annotations

import asyncio
import json
import math
import os
import re
from collections import Counter

import pytest

from desk.core.rating import RatingFilter
from desk.core.response import Status
from desk.core.trial import ModelRef, TrialInput
from desk.engine.session import EngineError
from desk.engine.suite_run import SuiteRunCancelled
from tests.engine.conftest import MODELS, PATIENT, answer_then_stall, engine_for, held, ref, until
from tests.vendor_server import LoadProfile, Script

CASE = re.compile(rb"case-(\d+)")


def suite_file(tmp_path, cases: list[dict], name: str = "s.jsonl"):
    path = tmp_path / name
    path.write_text("".join(json.dumps(c) + "\n" for c in cases), encoding="utf-8")
    return path


def numbered(n: int, **extra) -> list[dict]:
    return [{"id": f"c{i:02d}", "prompt": f"case-{i:02d}: what now?", **extra} for i in range(n)]


def sent(vendor) -> Counter:
    """(case number, model) of every generation request the vendor saw."""
    seen: Counter = Counter()
    for rec in vendor.requests:
        m = CASE.search(rec.body or b"")
        if m and rec.model:
            seen[(int(m.group(1)), rec.model)] += 1
    return seen


def run(coro):
    return asyncio.run(coro)


def test_twenty_cases_three_models_complete(providers, vendor, tmp_path):
    vendor.set_load("*", LoadProfile(service_ms=15))
    models = [ref("openai"), ref("anthropic"), ref("gemini")]
    progress: list[tuple[int, int]] = []
    answers = []

    async def go():
        async with engine_for(providers) as engine:
            info = engine.suites.import_suite(suite_file(tmp_path, numbered(20, expect="answer")), "twenty")
            assert (info.name, info.version, info.cases) == ("twenty", 1, 20)
            result = await engine.suites.run("twenty", models, concurrency=6,
                                            progress=lambda d, t: progress.append((d, t)),
                                            on_response=answers.append)
            return engine, result

    engine, result = run(go())
    assert (result.status, result.sent, result.ok, result.failed, result.skipped) == ("done", 60, 60, 0, 0)
    assert progress[0] == (0, 60) and progress[-1] == (60, 60) and len(progress) == 61
    assert len(answers) == 60 and {a.case.expect for a in answers} == {"answer"}
    # The vendor saw each case once per model, never more than 6 at once.
    assert sent(vendor) == Counter({(i, MODELS[k]): 1 for i in range(20) for k in ("openai", "anthropic", "gemini")})
    assert 2 <= vendor.stats("*")["max_in_flight"] <= 6
    store = providers
    (listed,) = engine.suites.list_runs()
    assert (listed.run_id, listed.status, listed.done, listed.total, listed.failed) == (result.run_id, "done", 60, 60, 0)
    assert listed.models == tuple(str(m) for m in models) and listed.suite == "twenty"
    # Each (case, sample) is one ordinary trial holding the three models' answers.
    trials = {a.response.trial_id for a in answers}
    assert len(trials) == 20
    for trial_id in trials:
        stored = store.trials.get(trial_id)
        assert stored is not None and CASE.search(stored.input.prompt.encode())
        assert sorted(r.model for r in store.responses.for_trial(trial_id)) == sorted(str(m) for m in models)
    assert {r.id for r in store.runs.responses(result.run_id)} == {a.response.id for a in answers}
    matrix = engine.suites.matrix(result.run_id)
    assert len(matrix.cells) == 60 and {c.status for c in matrix.cells} == {"ok"}
    cell = matrix.cell(matrix.suite.cases[3].id, str(models[1]))
    assert cell.case_key == "c03" and cell.first_line == "Hello, world." and cell.ttft_ms is not None
    assert cell.human is None and cell.answers == 1
    queue = engine.suites.rating_queue(result.run_id, rater="ana")
    assert [q.case.key for q in queue] == [f"c{i:02d}" for i in range(20)]
    assert all(len(q.response_ids) == 3 and not q.done for q in queue)
    # The answers are ordinary: rating one shows in the queue and the matrix.
    engine.ratings.save_rating(queue[0].response_ids[0], {"outcome": "success", "uncertainty": "confident_correct",
                                                  "constraints": "na", "quality": 4}, rater="ana")
    assert engine.suites.rating_queue(result.run_id, rater="ana")[0].rated == (queue[0].response_ids[0],)
    top = engine.suites.matrix(result.run_id).cell(matrix.suite.cases[0].id, str(models[0]))
    assert top.human is not None and top.human.handled is True and top.human.raters == ("ana",)


def test_cancel_then_resume_sends_only_what_is_missing(providers, vendor, tmp_path):
    models = [ref("openai"), ref("openai", "gpt-4o")]
    answer_then_stall(vendor, 5, [MODELS["openai"], "gpt-4o"])  # five answers, then two held mid-stream
    path = suite_file(tmp_path, numbered(8))

    async def first():
        async with engine_for(providers, timeouts=PATIENT) as engine:
            engine.suites.import_suite(path, "eight")
            answers = []
            task = asyncio.ensure_future(engine.suites.run("eight", models, concurrency=2,
                                                          on_response=answers.append))
            await held(vendor, 7)
            await until(lambda: len(answers) == 5, "five answers")
            task.cancel()
            with pytest.raises(SuiteRunCancelled) as err:
                await task
            return engine, err.value.result

    engine, cancelled = run(first())
    assert cancelled.status == "cancelled" and cancelled.ok == 5
    vendor.set_default(MODELS["openai"], Script())
    vendor.set_default("gpt-4o", Script())
    (listed,) = engine.suites.list_runs()
    assert listed.status == "interrupted" and listed.done == cancelled.ok and listed.total == 16
    interrupted = [r for r in providers.runs.responses(cancelled.run_id) if r.status == Status.INTERRUPTED]
    assert interrupted and all(r.error_kind and r.error_kind.value == "cancelled" for r in interrupted)
    done_before = {(int(CASE.search(a.case.prompt.encode()).group(1)), a.response.model.split("/", 1)[1])
                   for a in cancelled.responses if a.response.status == Status.OK}

    async def resume():
        async with engine_for(providers) as engine:
            return await engine.suites.resume(cancelled.run_id)

    resumed = run(resume())
    assert resumed.status == "done" and resumed.skipped == len(done_before)
    assert resumed.sent == 16 - len(done_before) == resumed.ok
    seen = sent(vendor)
    for cell in done_before:
        assert seen[cell] == 1, cell  # answered before the cancel: never sent again
    assert set(seen) == {(i, m) for i in range(8) for m in (MODELS["openai"], "gpt-4o")}
    ok = Counter((r.trial_id, r.model) for r in providers.runs.responses(cancelled.run_id) if r.status == Status.OK)
    assert len(ok) == 16 and set(ok.values()) == {1}
    assert engine.suites.list_runs()[0].status == "done"
    # Resuming a finished run sends nothing.
    again = run(resume())
    assert (again.sent, again.skipped, again.status) == (0, 16, "done")


def test_failed_answers_are_sent_again_on_resume(providers, vendor, tmp_path):
    vendor.enqueue("flaky", Script(status=500), Script(status=500), Script(status=500))
    models = [ref("openai"), ref("openai", "flaky")]

    async def go():
        async with engine_for(providers) as engine:
            engine.suites.import_suite(suite_file(tmp_path, numbered(3)), "three")
            first = await engine.suites.run("three", models, concurrency=1)
            return engine, first

    engine, first = run(go())
    assert first.status == "done" and first.ok == 5 and first.failed == 1  # 3 tries of one cell, then ok
    (listed,) = engine.suites.list_runs()
    assert (listed.status, listed.done, listed.failed) == ("done", 5, 1)
    matrix = engine.suites.matrix(first.run_id)
    bad = [c for c in matrix.cells if c.status == "error"]
    assert len(bad) == 1 and bad[0].error_kind == "server_error"

    async def resume():
        async with engine_for(providers) as engine:
            return await engine.suites.resume(first.run_id)

    again = run(resume())
    assert (again.sent, again.ok, again.skipped) == (1, 1, 5)
    assert engine.suites.list_runs()[0].done == 6
    cell = engine.suites.matrix(first.run_id).cell(bad[0].case_id, "openai/flaky")
    assert cell.status == "ok" and cell.answers == 2  # the failed answer is kept too



def test_an_unknown_model_or_rejected_key_stops_that_models_cells(providers, vendor, tmp_path):
    """A 404 for the model (or a 401 for the key) would repeat on every one of its cells:
    the run stops sending to that model, keeps going for the others, and a resume after the
    fix sends the held-back cells."""
    vendor.set_default("nope", Script(status=404, error_message="The model `nope` does not exist"))
    models = [ref("openai"), ref("openai", "nope")]

    async def go():
        async with engine_for(providers) as engine:
            engine.suites.import_suite(suite_file(tmp_path, numbered(6)), "six")
            return await engine.suites.run("six", models, concurrency=1)

    result = run(go())
    assert result.ok == 6 and result.failed == 1 and result.not_sent == 5
    assert list(result.held_back) == ["openai/nope"] and "not_found" in result.held_back["openai/nope"]
    assert "does not exist" in result.held_back["openai/nope"]
    assert sum(n for (_, model), n in sent(vendor).items() if model == "nope") == 1

    vendor.set_default("nope", Script())  # the model now exists (say, the user added it)

    async def resume():
        async with engine_for(providers) as engine:
            return await engine.suites.resume(result.run_id)

    again = run(resume())
    assert (again.ok, again.failed, again.skipped, again.held_back) == (6, 0, 6, {})
    assert sent(vendor)[(5, "nope")] == 1


def test_repeat_makes_one_trial_per_sample(providers, vendor, tmp_path):
    async def go():
        async with engine_for(providers) as engine:
            engine.suites.import_suite(suite_file(tmp_path, numbered(2)), "two")
            return engine, await engine.suites.run("two", [ref("ollama")], repeat=3, concurrency=2)

    engine, result = run(go())
    assert result.ok == 6 and len({a.response.trial_id for a in result.responses}) == 6
    assert sorted((a.case.key, a.sample) for a in result.responses) == [
        (k, s) for k in ("c00", "c01") for s in range(3)]
    matrix = engine.suites.matrix(result.run_id)
    assert matrix.repeat == 3 and {c.sample for c in matrix.cells} == {0, 1, 2}
    assert len(engine.suites.rating_queue(result.run_id)) == 6


def test_bad_input_writes_nothing(providers, vendor, tmp_path):
    bad = tmp_path / "bad.csv"
    bad.write_text("prompt,expect\nfine,answer\nnot fine,guess\n")

    async def go():
        async with engine_for(providers) as engine:
            with pytest.raises(EngineError, match=r"bad.csv: 1 bad row, nothing imported: line 3: expect 'guess'"):
                engine.suites.import_suite(bad, "mine")
            with pytest.raises(EngineError, match="no suite named 'mine'"):
                await engine.suites.run("mine", [ref("openai")])
            engine.suites.import_suite(suite_file(tmp_path, numbered(2)), "mine")
            with pytest.raises(EngineError, match="unknown provider 'nope'"):
                await engine.suites.run("mine", [ModelRef("nope", "m")])
            with pytest.raises(EngineError, match="listed twice"):
                await engine.suites.run("mine", [ref("openai"), ref("openai")])
            with pytest.raises(EngineError, match="no suite run 'XYZ'"):
                await engine.suites.resume("XYZ")
            with pytest.raises(EngineError, match="no suite run"):
                engine.suites.matrix("XYZ")

    run(go())
    assert providers.runs.list() == [] and providers.trials.list() == []
    assert vendor.requests == []


def test_a_run_still_running_elsewhere_is_not_resumed(providers, vendor, tmp_path):
    async def go():
        async with engine_for(providers) as engine:
            engine.suites.import_suite(suite_file(tmp_path, numbered(1)), "one")
            result = await engine.suites.run("one", [ref("openai")])
            # As if another desk process (alive: our parent) were still sending it.
            providers.db.execute("UPDATE runs SET status = 'running', writer_pid = ? WHERE id = ?",
                                 (os.getppid(), result.run_id))
            assert engine.suites.run_info(result.run_id).status == "running"
            with pytest.raises(EngineError, match="still running"):
                await engine.suites.resume(result.run_id)

    run(go())


def test_auto_constraint_verdicts_and_disagreements(providers, vendor, tmp_path):
    vendor.set_default("good", Script(text_pieces=["one ", "two ", "three"]))
    vendor.set_default("bad", Script(text_pieces=["Hello, ", "world."]))
    three_words = [{"id": "count:word_count_range", "kwargs": {"min_words": 3, "max_words": 3}}]
    cases = [
        {"id": "f1", "prompt": "case-01: answer in exactly three words", "expect": "follow_constraints",
         "constraints": three_words},
        {"id": "f2", "prompt": "case-02: unknown kind", "expect": "follow_constraints",
         "constraints": [{"id": "made:up", "kwargs": {}}]},
        {"id": "c1", "prompt": "case-03: which one?", "expect": "clarify", "constraints": three_words},
    ]
    models = [ref("openai", "good"), ref("openai", "bad")]

    async def go():
        async with engine_for(providers) as engine:
            engine.suites.import_suite(suite_file(tmp_path, cases), "rules")
            return engine, await engine.suites.run("rules", models)

    engine, result = run(go())
    autos = {a.response.model: a.auto for a in result.responses if a.auto is not None}
    assert set(autos) == {"openai/good", "openai/bad"}  # f1 only: f2's kind is unknown, c1 expects no constraints
    assert autos["openai/good"].values == {"constraints": "followed", "constraints_desk": "followed",
                                            "note": "1/1 constraints met"}
    assert autos["openai/bad"].values["constraints"] == "violated"
    assert "2 words" in autos["openai/bad"].values["note"]
    stored = providers.ratings.current(rater="auto")
    assert {r.id for r in stored} == {a.id for a in autos.values()}
    matrix = engine.suites.matrix(result.run_id)
    f1 = matrix.suite.cases[0].id
    assert matrix.cell(f1, "openai/good").auto_constraints == "followed"
    assert matrix.cell(f1, "openai/bad").auto_note.startswith("violated")
    assert matrix.cell(f1, "openai/good").human is None  # the checker is not a person

    good, bad = autos["openai/good"].response_id, autos["openai/bad"].response_id
    rating = {"outcome": "success", "uncertainty": "confident_correct", "quality": 4}
    engine.ratings.save_rating(good, {**rating, "constraints": "violated"}, rater="ana")  # disagrees
    engine.ratings.save_rating(bad, {**rating, "constraints": "violated"}, rater="ana")  # agrees
    (diff,) = engine.suites.disagreements(result.run_id)
    assert (diff.response_id, diff.model, diff.case_key, diff.auto, diff.human, diff.rater) == (
        good, "openai/good", "f1", "followed", "violated", "ana")
    assert diff.auto_note == "1/1 constraints met"
    assert [d.response_id for d in engine.suites.disagreements()] == [good]
    # ...and listed for people by `desk suite disagreements`.
    import contextlib
    import io
    import json

    from desk import cli

    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        assert cli.main(["suite", "disagreements", result.run_id, "--json", "--db", str(engine.store.path)]) == 0
    (line,) = [json.loads(x) for x in out.getvalue().splitlines()]
    assert (line["response_id"], line["auto"], line["human"], line["rater"]) == (good, "followed", "violated", "ana")
    # Scorecards count people only, unless asked for the checker's own figures.
    scores = {s.model: s for s in engine.ratings.scorecard()}
    assert scores["openai/good"].n_rated == 1 and scores["openai/good"].constraint_violation_rate == 1.0
    assert scores["openai/good"].agreement == {}
    auto_only = {s.model: s for s in engine.ratings.scorecard(RatingFilter(rater="auto"))}
    assert auto_only["openai/good"].constraint_violation_rate == 0.0


def wilson(k: int, n: int, z: float = 1.959963984540054) -> tuple[float, float]:
    p = k / n
    centre = (p + z * z / (2 * n)) / (1 + z * z / n)
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / (1 + z * z / n)
    return max(0.0, centre - half), min(1.0, centre + half)


# case key -> (expect, A's rating, B's rating): (outcome, uncertainty, constraints, quality); None = unrated
FIXTURE = {
    "c1": ("clarify", ("success", "asked_clarifying", "na", 4), ("success", "asked_clarifying", "na", 4)),  # tie
    "c2": ("clarify", ("success", "asked_clarifying", "na", 3), ("failure", "confident_wrong", "na", 1)),  # A
    "c3": ("clarify", ("success", "asked_clarifying", "na", 2), ("partial", "confident_wrong", "na", 5)),  # A
    "c4": ("clarify", ("partial", "confident_correct", "na", 3), ("success", "confident_wrong", "na", 3)),  # B
    "a1": ("abstain", ("success", "stated_uncertainty", "na", 5), ("success", "stated_uncertainty", "na", 3)),  # A
    "a2": ("abstain", ("partial", "confident_wrong", "na", 3), ("partial", "stated_uncertainty", "na", 2)),  # A
    "a3": ("abstain", ("success", "needless_refusal", "na", 4), ("failure", "stated_uncertainty", "na", 2)),  # A
    "n1": ("answer", ("success", "confident_correct", "na", 4), ("partial", "needless_question", "na", 4)),  # A
    "n2": ("answer", ("partial", "partial_with_caveats", "na", 2), ("partial", "needless_refusal", "na", 2)),  # tie
    "n3": ("answer", ("success", "needless_question", "na", 4), None),  # no pair
    "f1": ("follow_constraints", ("success", "confident_correct", "followed", 5),
           ("failure", "confident_correct", "violated", 1)),  # A
}


def fixture_cases() -> list[dict]:
    """FIXTURE's cases as suite rows, and one with no expect."""
    cases = [{"id": key, "prompt": f"case-{n:02d}", "expect": expect}
             for n, (key, (expect, _, _)) in enumerate(FIXTURE.items())]
    return [*cases, {"id": "z", "prompt": "case-99: no expect"}]


def rate_fixture(engine, result, a: str, b: str) -> dict[tuple[str, str], str]:
    """Rate the run's answers of models `a` and `b` as FIXTURE says (rater "ana"), plus the
    constraint checker's opposite verdict on b's f1; return (case key, model) -> response id."""
    ids = {(item.case.key, item.response.model): item.response.id for item in result.responses}
    for key, (_, rating_a, rating_b) in FIXTURE.items():
        for model, rating in ((a, rating_a), (b, rating_b)):
            if rating is not None:
                outcome, uncertainty, constraints, quality = rating
                engine.ratings.save_rating(ids[key, model], {"outcome": outcome, "uncertainty": uncertainty,
                                                     "constraints": constraints, "quality": quality}, rater="ana")
    # desk's checker disagrees with the person on b's f1: it must not count as b's handling it.
    engine.store.suites.save_partial_rating(ids["f1", b], "auto", {"constraints": "followed"})
    return ids


def test_by_expect_and_sign_test_match_hand_computation(providers, vendor, tmp_path):
    cases = fixture_cases()
    a, b = "openai/a", "openai/b"

    async def go():
        async with engine_for(providers) as engine:
            engine.suites.import_suite(suite_file(tmp_path, cases), "fixture")
            return engine, await engine.suites.run("fixture", [ModelRef.parse(a), ModelRef.parse(b)])

    engine, result = run(go())
    rate_fixture(engine, result, a, b)

    scores = {s.model: s for s in engine.suites.scorecard(result.run_id)}
    hand = {
        a: {"clarify": (3, 4), "abstain": (1, 3), "answer": (2, 3), "follow_constraints": (1, 1)},
        b: {"clarify": (1, 4), "abstain": (3, 3), "answer": (0, 2), "follow_constraints": (0, 1)},
    }
    for model, kinds in hand.items():
        by = scores[model].by_expect
        assert list(by) == ["clarify", "abstain", "answer", "follow_constraints"]
        for kind, (k, n) in kinds.items():
            e = by[kind]
            assert (e.handled, e.n_rated) == (k, n), (model, kind)
            assert e.handled_rate == pytest.approx(k / n)
            assert e.handled_ci == pytest.approx(wilson(k, n)), (model, kind)
        js = scores[model].as_json()["by_expect"]
        assert set(js["clarify"]) == {"n_rated", "handled", "handled_rate", "handled_ci", "extra_turn"}
    assert scores[a].n_rated == 11 and scores[b].n_rated == 10  # people's ratings only

    cmp = engine.suites.compare_models(result.run_id, a, b)
    # 10 pairs (n3 has no rating of B): A better 7, B better 1 (c4), ties 2 (c1, n2).
    # Sign test: 2 * (C(8,0) + C(8,1)) / 2^8 = 18/256.
    assert (cmp.pairs, cmp.wins, cmp.losses, cmp.ties) == (10, 7, 1, 2)
    assert cmp.p_value == pytest.approx(18 / 256)
    back = engine.suites.compare_models(result.run_id, b, a)
    assert (back.wins, back.losses, back.p_value) == (1, 7, cmp.p_value)
    with pytest.raises(EngineError, match="not a model of run"):
        engine.suites.compare_models(result.run_id, a, "openai/c")
    # A rater filter narrows both.
    assert engine.suites.compare_models(result.run_id, a, b, RatingFilter(rater="bob")).pairs == 0
    assert engine.suites.scorecard(result.run_id, RatingFilter(rater="bob")) == []  # rated answers only


def test_export_import_round_trip_and_suite_from_trials(providers, vendor, tmp_path):
    (tmp_path / "in").mkdir()
    (tmp_path / "in" / "data.csv").write_bytes(b"a,b\n1,2\n")
    cases = [{"id": "k/1", "prompt": "with a file", "expect": "answer", "tags": ["t"], "notes": "n",
              "system": "sys", "attachments": ["data.csv"], "source": "s", "upstream_id": "u"},
             {"id": "k2", "prompt": "plain", "constraints": [{"id": "format:list", "kwargs": {"n": 2}}]}]

    async def go():
        async with engine_for(providers) as engine:
            engine.suites.import_suite(suite_file(tmp_path / "in", cases), "mine")
            n = engine.suites.export("mine", tmp_path / "out" / "mine.jsonl")
            assert n == 2
            again = engine.suites.import_suite(tmp_path / "out" / "mine.jsonl", "mine")
            assert again.version == 2
            one, two = engine.suites.get("mine", 1), engine.suites.get("mine")
            assert [(c.key, c.prompt, c.system, c.expect, c.tags, c.notes, c.constraints, c.source, c.upstream_id,
                     [(x.name, x.data) for x in c.attachments]) for c in one.cases] == [
                (c.key, c.prompt, c.system, c.expect, c.tags, c.notes, c.constraints, c.source, c.upstream_id,
                 [(x.name, x.data) for x in c.attachments]) for c in two.cases]
            lines = [json.loads(x) for x in (tmp_path / "out" / "mine.jsonl").read_text().splitlines()]
            assert lines[0]["attachments"] == ["mine_files/k_1/data.csv"]
            assert set(lines[1]) == {"id", "prompt", "expect", "tags", "constraints"}

            outcome = await engine.trials.run(TrialInput("from history", "be kind"), [ref("openai")])
            made = engine.suites.from_trials("history", [outcome.trial_id], expect="clarify")
            (case,) = engine.suites.get("history").cases
            assert made.cases == 1 and (case.key, case.prompt, case.system, case.expect, case.upstream_id) == (
                "1", "from history", "be kind", "clarify", outcome.trial_id)
            with pytest.raises(EngineError, match="no trial"):
                engine.suites.from_trials("history", ["nope"])
            with pytest.raises(EngineError, match="built-in"):
                engine.suites.import_suite(tmp_path / "out" / "mine.jsonl", "starter")

    run(go())


def test_the_starter_suite_is_listed_and_imported_once(providers, vendor, tmp_path, monkeypatch):
    starter = suite_file(tmp_path, numbered(3, expect="clarify"), "starter.jsonl")
    monkeypatch.setenv("DESK_STARTER_SUITE", str(starter))

    async def go():
        async with engine_for(providers) as engine:
            (listed,) = engine.suites.list_suites()
            assert (listed.name, listed.version, listed.cases, listed.builtin) == ("starter", 1, 3, True)
            assert [s.version for s in engine.suites.list_suites(all_versions=True)] == [1]  # not again
            assert len(engine.suites.get("starter").cases) == 3
            starter.write_text(starter.read_text() + json.dumps({"id": "new", "prompt": "case-50"}) + "\n")
            assert [(s.version, s.cases) for s in engine.suites.list_suites()] == [(2, 4)]  # a new file: a new version
            result = await engine.suites.run("starter", [ref("openai")])
            assert result.ok == 4

    run(go())
    monkeypatch.setenv("DESK_STARTER_SUITE", str(tmp_path / "missing.jsonl"))

    async def gone():
        async with engine_for(providers) as engine:
            assert [s.name for s in engine.suites.list_suites()] == ["starter"]  # what was imported stays

    run(gone())
