"""`desk merge` pools two teams' judge work (issue 14): prompt versions, verdicts and judge
errors with their raw text, and each run's calibration sample; a verdict keeps naming the
prompt version that made it, identical rows are not doubled, this store's judge prompt
stays current, and merging again adds nothing."""

from __future__ import annotations

from pathlib import Path

from desk.store import Store, open_store
from tests.store.test_store_merge import _answer, _count, _png_trial, _store_id

VALUES = {"outcome": "success", "uncertainty": "confident_correct", "constraints": "na", "quality": 4}
JUDGE = "judge:p/j"
SHARED = "Shared template: $answer"


def _judge(store: Store, response_id: str, prompt_id: str, *, error: str | None = None) -> None:
    rubric = store.rubrics.default().id or ""
    if error is None:
        store.verdicts.save_verdict(response_id, JUDGE, dict(VALUES), prompt_id=prompt_id, rubric_id=rubric,
                                    rationale="fine", judge_response_id=None, run_id=None)
    else:
        store.verdicts.save_error(response_id, JUDGE, prompt_id=prompt_id, rubric_id=rubric, error=error,
                                  raw="{not json", judge_response_id=None, run_id=None)


def _team(path: Path, own: str) -> tuple[Store, list[str], str, dict[str, str]]:
    """A store whose judge judged its own three answers with its own prompt versions, and whose
    run drew two of them for its calibration sample."""
    store = open_store(path)
    trial = _png_trial(store, f"{own}'s task")
    answers = [_answer(store, trial, f"p/m{i}").id for i in range(3)]
    shared = store.judge_prompts.save_version(SHARED)  # the same text in both stores: v2 each
    mine = store.judge_prompts.save_version(f"{own} only: $answer")  # v3 each, different text
    _judge(store, answers[0], shared.id or "")
    _judge(store, answers[1], mine.id or "")
    _judge(store, answers[2], mine.id or "", error="not a verdict: the reply is not JSON")
    run = store.runs.create("suite", {"models": ["p/m0"]})
    for rid in answers[:2]:
        store.calibration.record(run, rid, seed=7)
    return store, answers, run, {"shared": shared.id or "", "mine": mine.id or ""}


def _verdicts(store: Store) -> dict[str, tuple]:
    found = {}
    for v in store.verdicts.list():
        prompt = store.judge_prompts.get(v.prompt_id)
        assert prompt is not None, v  # every verdict names a prompt version this store holds
        rating = store.db.execute("SELECT id FROM ratings WHERE id = ?", (v.rating_id,)).fetchone()
        found[v.response_id] = (prompt.template, v.error, v.raw, rating is not None)
    return found


def test_merging_two_judged_stores_keeps_prompts_verdicts_errors_and_the_calibration_sample(tmp_path: Path) -> None:
    a, a_answers, a_run, a_prompts = _team(tmp_path / "a.db", "ana")
    b, b_answers, b_run, b_prompts = _team(tmp_path / "b.db", "bob")
    try:
        before_a = _verdicts(a)
        report = b.merge_from(a.path)
        assert (report.added["judge_prompts"], report.added["judge_verdicts"],
                report.added["calibration_draws"]) == (1, 3, 2)
        # Verdicts keep their prompt's text (A's shared version maps onto B's identical one),
        # judge errors their raw reply, and each verdict its rating.
        merged = _verdicts(b)
        assert {rid: merged[rid] for rid in a_answers} == before_a
        assert before_a[a_answers[0]][3] and before_a[a_answers[2]] == (
            "ana only: $answer", "not a verdict: the reply is not JSON", "{not json", False)
        by_id = {v.response_id: v.prompt_id for v in b.verdicts.list()}
        assert by_id[a_answers[0]] == b_prompts["shared"]  # identical text: one row, not two
        assert by_id[a_answers[1]] == a_prompts["mine"]  # its own version, under its own id
        assert _count(b, "judge_prompts") == 4  # built-in, shared, bob only, ana only
        renamed = b.judge_prompts.get(a_prompts["mine"])
        assert renamed is not None and renamed.name == f"default (merged from {_store_id(a)})"
        # B's judge goes on with B's prompt, and never judges A's answers again (errors included).
        assert b.judge_prompts.default().template == "bob only: $answer"
        assert b.verdicts.judged(JUDGE, a_answers) == set(a_answers)
        # The calibration sample comes along, in draw order, with its seed.
        assert b.calibration.drawn(a_run) == [(rid, 7) for rid in a_answers[:2]]
        assert b.calibration.drawn(b_run) == [(rid, 7) for rid in b_answers[:2]]
        assert any("version 3 of the other store is kept for its verdicts" in line for line in report.conflicts)

        # Back the other way: both stores end with the same verdicts and samples; again adds nothing.
        a.merge_from(b.path)
        assert _verdicts(a) == _verdicts(b)
        assert a.calibration.drawn(b_run) == b.calibration.drawn(b_run)
        assert a.judge_prompts.default().template == "ana only: $answer"
        assert a.merge_from(b.path).total == 0 and b.merge_from(a.path).total == 0
    finally:
        a.close()
        b.close()


def test_a_sample_drawn_in_both_stores_is_pooled_after_ours(tmp_path: Path) -> None:
    a, answers, run, _ = _team(tmp_path / "a.db", "ana")
    b = open_store(tmp_path / "b.db")
    try:
        b.merge_from(a.path)
        extra = _answer(b, a.responses.get(answers[0]).trial_id, "p/m9").id  # type: ignore[union-attr]
        b.calibration.record(run, extra, seed=99)  # B drew one more on its own, another seed
        b.calibration.record(run, answers[2], seed=99)
        report = a.merge_from(b.path)
        assert report.added["calibration_draws"] == 2
        assert a.calibration.drawn(run) == [(answers[0], 7), (answers[1], 7), (extra, 99), (answers[2], 99)]
        assert any("drawn in both stores (seeds 7, 99)" in line for line in report.conflicts)
        # Verdicts of the same answer by the same judge in both stores: ours are kept, said so.
        _judge(b, extra, b.judge_prompts.default().id or "")
        _judge(a, extra, a.judge_prompts.default().id or "", error="the judge's request failed: timeout")
        report = a.merge_from(b.path)
        assert report.added["judge_verdicts"] == 0
        assert any(f"1 verdict(s) of {JUDGE}" in line for line in report.conflicts)
        assert a.verdicts.list(JUDGE, [extra])[0].error is not None
    finally:
        a.close()
        b.close()
