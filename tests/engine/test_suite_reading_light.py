"""A run's matrix and rating queue read only the answers' figures, first lines and rating
columns (issue 21: 8-10 s and 0.9 GB at 100,000 answers when they read every answer whole):
what they show is what reading every answer whole gave, kept below as it was written, on a
run with resends, failures, several raters, an edited rating, automatic checks, a judge
and texts whose first line is long, late or wrapped in blank lines."""

from __future__ import annotations

import random
from statistics import mean

import pytest

from desk.core.conversation import task_total
from desk.core.judge import is_machine
from desk.core.rating import RatingFilter
from desk.core.response import Attempt, ErrorKind, ResponseResult, Status
from desk.core.run_compare import compare_runs
from desk.core.suite import AUTO_RATER, EXPECT_KINDS, Case, Constraint, Suite, handled
from desk.engine.application import Application
from desk.engine.run_compare import answer_facts, case_ref
from desk.engine.scorecard import AutoChecks, auto_checks, by_expect, paired_comparison
from desk.engine.scorecard_columns import majority
from desk.engine.suite_records import MatrixCell, QueueItem, RatingSummary
from desk.store import open_store

MODELS = ("m/a", "m/b", "m/c")
TEXTS = (
    "A plain answer.\nSecond line.",
    "\n\n   \n  Late first line after blank lines  \nmore",
    "w" * 900,  # one long line: its first 200 characters
    ("word " * 130).strip() + "\nnext",  # a first line longer than the start read
    " " * 700 + "far",  # the text starts past the start read
    "short" + " " * 650 + "\nsecond",  # a short line, then spaces past the start read
    "\u3000\u2028 Unicode spaces around \u2028next",
    "",
)


def _answer(rid: str, trial: str, model: str, status: Status, text: str) -> ResponseResult:
    return ResponseResult(
        id=rid, trial_id=trial, model=model, settings={}, status=status, text=text, started_at=1.0,
        first_token_at=1.2, ended_at=2.0, ttft_ms=100.0 + sum(map(ord, rid)) % 97, total_ms=900.0 + sum(map(ord, rid)) % 89,
        cost_usd=0.001,
        error_kind=ErrorKind.SERVER_ERROR if status == Status.ERROR else None, attempts=[Attempt(number=1, started_at=1.0, ended_at=2.0, status=status)])


@pytest.fixture()
def run(tmp_path):
    """(store path, run id) of a 3-model run of 8 cases x 2 samples, answered every way."""
    return _stored_run(tmp_path, MODELS)


@pytest.fixture()
def run_out_of_name_order(tmp_path):
    """`run`, its models chosen in another order than their names'."""
    return _stored_run(tmp_path, ("m/c", "m/a", "m/b"))


def _stored_run(tmp_path, models: tuple[str, ...]) -> tuple:
    path = tmp_path / "run.db"
    store = open_store(path)
    suite = store.suites.save_suite(Suite("light", tuple(
        Case(f"c{k}", f"Task {k}", expect=("clarify", "follow_constraints", "")[k % 3],
             constraints=(Constraint("count:word_count_range", {"min_words": 1, "max_words": 3}),) if k % 3 == 1 else ())
        for k in range(8))))
    run_id = _answered_run(store, suite, random.Random(7), "r", models)
    store.close()
    return path, run_id


def _answered_run(store, suite, rng: random.Random, prefix: str, models: tuple[str, ...] = MODELS) -> str:
    run_id = store.runs.create("suite", {"suite_id": suite.id, "suite": suite.name, "suite_version": suite.version,
                                         "cases": 8, "models": list(models), "repeat": 2, "concurrency": 2,
                                         "total": 48, "settings": {}, "max_turns": 2}, "light")
    seq = 0
    for case in suite.cases:
        for sample in range(2):
            if case.key == "c7" and sample == 1:
                continue  # a (case, sample) never sent
            trial = store.suites.cell_trial(run_id, case, sample)
            for model in models:
                statuses = rng.choice([[Status.OK], [Status.OK], [Status.ERROR, Status.OK], [Status.ERROR],
                                       [Status.INTERRUPTED], [Status.OK, Status.ERROR]])
                for status in statuses:
                    seq += 1
                    rid = f"{prefix}{seq:04d}"
                    text = "" if status == Status.INTERRUPTED and rng.random() < 0.5 else rng.choice(TEXTS)
                    store.responses.finish(_answer(rid, trial, model, status, text))  # cut before any text: failed
                    store.suites.link_response(rid, run_id, seq)
                    if status != Status.OK:
                        continue
                    for rater in rng.sample(("ana", "ben", "cy"), rng.choice((0, 1, 1, 2, 3))):
                        values = {"outcome": rng.choice(("success", "partial", "failure")),
                                  "uncertainty": rng.choice(("asked_clarifying", "confident_wrong")),
                                  "constraints": rng.choice(("followed", "violated", "na")),
                                  "quality": rng.randint(1, 5)}
                        store.ratings.save(rid, rater, values)
                        if rng.random() < 0.3:  # edited: the new one supersedes it
                            store.ratings.save(rid, rater, {**values, "quality": rng.randint(1, 5)})
                    if rng.random() < 0.5:
                        store.suites.save_partial_rating(rid, AUTO_RATER, {"constraints": "violated",
                                                                           "note": "two lines, not three"})
                    if rng.random() < 0.3:
                        store.ratings.save(rid, "judge:m/z", {"outcome": "success", "uncertainty": "confident_wrong",
                                                              "constraints": "na", "quality": 2})
    return run_id


def _whole_first_line(text: str, limit: int = 200) -> str:
    for line in text.splitlines():
        if line.strip():
            return line.strip()[:limit]
    return ""


def _whole_combined(ratings) -> dict:
    out = {}
    for key in ("outcome", "uncertainty", "constraints"):
        judged = [(r.created_at, r.values.get(key)) for r in ratings if r.values.get(key) not in (None, "")]
        if judged:
            out[key] = majority(judged)
    qualities = [r.quality for r in ratings if r.quality is not None]
    if qualities:
        out["quality"] = mean(qualities)
    return out


def _whole_cells(store, run_id: str, info) -> tuple[dict, dict]:
    """Each cell's counted answer (read whole) and its answer count, as before issue 21."""
    by_cell: dict = {}
    for cell in store.suites.run_cells(run_id):
        by_cell.setdefault((cell.case_id, cell.sample, cell.response.model), []).append(cell.response)
    chosen = {}
    for key, found in by_cell.items():
        ok = [r for r in found if r.status == Status.OK]
        chosen[key] = (ok or found)[-1]
    return chosen, {key: len(found) for key, found in by_cell.items()}


def _whole_matrix(store, run_id: str, info, suite) -> list[MatrixCell]:
    chosen, answers = _whole_cells(store, run_id, info)
    trials = {(c, s): t for c, s, t in store.suites.run_trials(run_id)}
    ratings: dict = {}
    for rating in store.ratings.current([r.id for r in chosen.values()]):
        ratings.setdefault(rating.response_id, []).append(rating)
    cells = []
    for case in suite.cases:
        for sample in range(info.repeat):
            for model in info.models:
                r = chosen.get((case.id, sample, model))
                given = ratings.get(r.id, []) if r else []
                people = [x for x in given if not is_machine(x.rater)]
                auto = next((x for x in given if x.rater == AUTO_RATER), None)
                human = None
                if people:
                    values = _whole_combined(people)
                    human = RatingSummary(values.get("outcome"), values.get("uncertainty"), values.get("constraints"),
                                          values.get("quality"), tuple(sorted({x.rater for x in people})),
                                          handled(case.expect, values))
                cells.append(MatrixCell(
                    case_id=case.id, case_key=case.key, sample=sample, model=model,
                    trial_id=trials.get((case.id, sample)), response_id=r.id if r else None,
                    status=r.status.value if r else None,
                    error_kind=r.error_kind.value if r and r.error_kind else None,
                    first_line=_whole_first_line(r.text) if r else "", ttft_ms=r.ttft_ms if r else None,
                    total_ms=r.total_ms if r else None, cost_usd=r.cost_usd if r else None,
                    answers=answers.get((case.id, sample, model), 0), human=human,
                    auto_constraints=auto.constraints if auto else None,
                    auto_note=auto.note if auto else None, turn=1))
    return cells


def test_the_matrix_shows_what_reading_every_answer_whole_showed(run):
    path, run_id = run
    app = Application.open(path)
    try:
        matrix = app.engine(warm_prices=False).suites.matrix(run_id)
        expected = _whole_matrix(app.store, run_id, matrix.run, matrix.suite)
        assert len(matrix.cells) == len(expected) == 8 * 2 * 3
        for got, want in zip(matrix.cells, expected, strict=True):
            assert got == want
            if got.human is not None:  # the same types too: an int mean stays an int
                assert type(got.human.quality) is type(want.human.quality)
        assert any(c.answers == 2 for c in matrix.cells) and any(c.error_kind == "server_error" for c in matrix.cells)
        assert any(c.human and len(c.human.raters) >= 2 for c in matrix.cells)
        assert {c.first_line for c in matrix.cells} >= {"w" * 200, "far", "Late first line after blank lines"}
    finally:
        app.close()


@pytest.mark.parametrize("rater", [None, "ana", "nobody"])
@pytest.mark.parametrize("which", ["run", "run_out_of_name_order"])
def test_the_rating_queue_lists_what_reading_every_answer_whole_listed(request, which, rater):
    path, run_id = request.getfixturevalue(which)
    app = Application.open(path)
    try:
        engine = app.engine(warm_prices=False)
        items = engine.suites.rating_queue(run_id, rater)
        matrix = engine.suites.matrix(run_id)
        chosen, _ = _whole_cells(app.store, run_id, matrix.run)
        trials = {(c, s): t for c, s, t in app.store.suites.run_trials(run_id)}
        expected = []
        for case in matrix.suite.cases:
            for sample in range(matrix.repeat):
                if (case.id, sample) not in trials:
                    continue
                present = [(m, chosen[(case.id, sample, m)].id) for m in matrix.models if (case.id, sample, m) in chosen]
                ids = tuple(i for _, i in present)
                rated = {r.response_id for r in app.store.ratings.current(list(ids), rater=rater)} if rater else set()
                expected.append(QueueItem(case, sample, trials[(case.id, sample)], ids, tuple(m for m, _ in present),
                                          tuple(i for i in ids if i in rated)))
        assert items == expected
        assert len(items) == 15
        assert all(item.models == tuple(m for m in matrix.models if m in item.models) for item in items)
        assert any(item.models == matrix.models for item in items)  # the run's order, not its names'
        if rater == "ana":
            assert any(item.rated for item in items) and not all(item.done for item in items)
    finally:
        app.close()


def test_a_runs_cells_are_read_from_their_index_in_its_order(run):
    """The answers' rows, texts and all, are not read (m019), and SQLite sorts no more than
    each trial's few answers (not the whole run)."""
    path, run_id = run
    store = open_store(path)
    try:
        for sql in ("SELECT t.case_id, t.sample, r.model, r.status, r.id, r.error_kind, r.ttft_ms, r.total_ms, "
                    "r.cost_usd, r.served_model, r.system_fingerprint FROM suite_run_trials t JOIN responses r "
                    "INDEXED BY idx_responses_cells "
                    "ON r.trial_id = t.trial_id WHERE t.run_id = ? ORDER BY t.case_id, t.sample, r.model, "
                    "r.created_at, r.rowid",):
            plan = " ".join(str(row[-1]) for row in store.db.conn.execute(f"EXPLAIN QUERY PLAN {sql}", (run_id,)))
            assert "COVERING INDEX idx_responses_cells" in plan and "TEMP B-TREE FOR ORDER BY" not in plan, plan
        # The store's own reads are these: the same rows, in the same order.
        assert store.suites.cell_statuses(run_id) == [tuple(c[:5]) for c in store.suites.cell_figures(run_id)]
    finally:
        store.close()


def _whole_counts(store, run_id: str) -> tuple[int, int]:
    """(cells with an ok answer, cells whose latest answer failed and none is ok), from every
    answer read whole in the order stored, as the run list counted them before issue 21."""
    ok, last = set(), {}
    for cell in store.suites.run_cells(run_id):
        key = (cell.case_id, cell.sample, cell.response.model)
        last[key] = cell.response.status
        if cell.response.status == Status.OK:
            ok.add(key)
    return len(ok), sum(1 for key, status in last.items() if key not in ok and status == Status.ERROR)


def test_a_listed_runs_counts_are_what_its_answers_say(run):
    path, run_id = run
    store = open_store(path)
    try:
        listed = store.suites.suite_runs(run_id=run_id)[0]
        assert (listed.done, listed.failed) == _whole_counts(store, run_id)
        assert listed.failed > 0 and listed.done > 0
        # A failed cell answered again at the same instant (a merge could store it so), cut
        # short: the later stored counts, and the cell has failed no more.
        cells = store.suites.cell_statuses(run_id)
        by_cell: dict = {}
        for cell in cells:
            by_cell.setdefault(cell[:3], []).append(cell)
        failed_alone = next(found[0] for found in by_cell.values() if [c[3] for c in found] == ["error"])
        trial, when = store.db.conn.execute("SELECT trial_id, created_at FROM responses WHERE id = ?",
                                            (failed_alone[4],)).fetchone()
        store.responses.finish(_answer("again", trial, failed_alone[2], Status.INTERRUPTED, "cut"))
        store.suites.link_response("again", run_id, 999)
        store.db.conn.execute("UPDATE responses SET created_at = ? WHERE id = 'again'", (when,))
        store.db.conn.commit()
        before = listed.failed
        listed = store.suites.suite_runs(run_id=run_id)[0]
        assert (listed.done, listed.failed) == _whole_counts(store, run_id) and listed.failed == before - 1
    finally:
        store.close()


def test_a_runs_scorecard_and_model_comparison_count_what_whole_answers_counted(run):
    """By expected behaviour, the automatic checks and model against model: the figures the
    whole answers and Rating objects gave (a run's scorecard read them all: 20 s at 100k)."""
    path, run_id = run
    app = Application.open(path)
    try:
        store, engine = app.store, app.engine(warm_prices=False)
        suite = engine.suites.matrix(run_id).suite
        expect = {c.id: c.expect for c in suite.cases}
        cells = store.suites.cell_statuses(run_id)
        expect_of = {c[4]: expect[c[0]] for c in cells}
        scope = RatingFilter(trial_ids=tuple(dict.fromkeys(t for _, _, t in store.suites.run_trials(run_id))))
        ratings = [rating for _, rating in store.ratings.rated_responses(scope)]
        responses = store.responses.all(scope)
        kinds = [k for k in EXPECT_KINDS if any(c.expect == k for c in suite.cases)]
        want = by_expect(responses, ratings, expect_of, kinds)
        autos = auto_checks(responses, ratings)
        scores = engine.suites.scorecard(run_id)
        assert scores and all(s.by_expect == want.get(s.model, {}) for s in scores)
        assert all(s.auto_checks == autos.get(s.model, AutoChecks(0, 0)) for s in scores)
        assert any(e.n_rated for s in scores for e in s.by_expect.values()) and any(autos.values())
        units = [((c[0], c[1]), c[2], c[4]) for c in cells]
        for a, b in (("m/a", "m/b"), ("m/c", "m/a")):
            assert engine.suites.compare_models(run_id, a, b) == paired_comparison(units, ratings, a, b)
    finally:
        app.close()


def test_run_against_run_counts_what_whole_answers_counted(run):
    """Run versus run (and the evidence under a figure) from figures and rating columns: the
    comparison the answers read whole gave (the counted answer's facts, each task's time and
    cost over every answer of the run)."""
    path, run_a = run
    store = open_store(path)
    suite = store.suites.get_suite_by_id(store.runs.get(run_a).spec["suite_id"])
    run_b = _answered_run(store, suite, random.Random(8), "s")
    store.close()
    app = Application.open(path)
    try:
        store, engine = app.store, app.engine(warm_prices=False)

        def whole_facts(run_id):
            chosen, _ = _whole_cells(store, run_id, None)
            key_of = {c.id: case_ref(c) for c in suite.cases}
            every = {cell.response.id: cell.response for cell in store.suites.run_cells(run_id)}
            ratings: dict = {}
            for rating in store.ratings.current([r.id for r in chosen.values()]):
                ratings.setdefault(rating.response_id, []).append(rating)
            times, costs = ({i: a.total_ms for i, a in every.items()}, {i: a.cost_usd for i, a in every.items()})
            return {((key_of[c], s), m): answer_facts(r, ratings.get(r.id, []), task_total(r.id, {}, times, costs))
                    for (c, s, m), r in chosen.items()}

        got = engine.suites.compare_runs(run_a, run_b)
        want = compare_runs(run_a, run_b, whole_facts(run_a), whole_facts(run_b))
        assert got == want and got.models and all(m.pairs for m in got.models)
        # The evidence under a figure: its answers whole, as stored.
        pairs = engine.suites.compare_evidence(run_a, run_b, "m/a", "total_p95")
        assert pairs and all(isinstance(p.answer_a, ResponseResult) and p.answer_a.id.startswith("r")
                             and p.answer_b.id.startswith("s") and p.answer_a.text == store.responses.get(p.answer_a.id).text
                             for p in pairs)
    finally:
        app.close()
