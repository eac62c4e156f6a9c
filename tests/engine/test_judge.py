"""A model as judge (issue 14), end to end on the loopback vendor: each protocol's judge
answers with structured output; a verdict becomes a rating by "judge:PROVIDER/MODEL" with
the prompt version and rationale; a malformed, schema-violating or timed-out reply is a
judge error with its raw text; the judge sees what a blind rater sees and nothing of the
model, its timing or cost; a second run judges nothing twice; no figure counts a verdict
as a person's."""

from __future__ import annotations

import asyncio
import json

import pytest

from desk.core.attachment import attachment_from_bytes
from desk.core.response import Status
from desk.core.trial import ModelRef, TrialInput
from desk.engine.errors import EngineError
from desk.engine.policy import RetryPolicy, Timeouts
from tests.engine.conftest import KINDS, engine_for, ref
from tests.vendor_server import Script

JUDGE_MODEL = "judge-1"
VERDICT = {"outcome": "success", "uncertainty": "confident_correct", "constraints": "na", "quality": 4,
           "rationale": "It does what was asked."}
NO_RETRY = RetryPolicy(max_retries=0)
SECRET_MODEL = "gpt-4o-mini"  # the answering model: the judge must never be told its name


def _pieces(obj) -> list[str]:
    text = json.dumps(obj)
    return [text[: len(text) // 2], text[len(text) // 2:]]


def _answers(store, vendor, task: TrialInput | None = None) -> str:
    """A trial answered by two models; returns its id."""
    vendor.set_default(SECRET_MODEL, Script(text_pieces=["Paris is the capital", " of France."]))

    async def go() -> str:
        async with engine_for(store) as engine:
            outcome = await engine.trials.run(task or TrialInput("Capital of France?", "Be brief."),
                                              [ref("openai"), ref("ollama")])
        return outcome.trial_id

    return asyncio.run(go())


def _judge(store, kind: str, trial_id: str, **kw):
    async def go():
        async with engine_for(store, retry=kw.pop("retry", NO_RETRY), **kw) as engine:
            return await engine.judges.judge_trial(trial_id, ModelRef(kind, JUDGE_MODEL), concurrency=2)

    return asyncio.run(go())


def _judge_requests(vendor) -> list:
    return [r for r in vendor.requests if r.method == "POST" and r.model == JUDGE_MODEL]


@pytest.mark.parametrize("kind", KINDS)
def test_each_protocol_judges_and_verdicts_are_machine_ratings(kind, providers, vendor):
    trial_id = _answers(providers, vendor)
    vendor.set_default(JUDGE_MODEL, Script(text_pieces=_pieces(VERDICT)))
    summary = _judge(providers, kind, trial_id)
    assert (summary.verdicts, summary.errors, summary.already) == (2, 0, 0)
    rater = f"judge:{kind}/{JUDGE_MODEL}"
    ratings = providers.ratings.current(rater=rater)
    assert len(ratings) == 2
    assert all(dict(r.values) == {k: v for k, v in VERDICT.items() if k != "rationale"} for r in ratings)
    verdicts = providers.verdicts.list(rater)
    assert {v.rating_id for v in verdicts} == {r.id for r in ratings}
    prompt = providers.judge_prompts.default()
    assert all(v.prompt_id == prompt.id and v.rationale == VERDICT["rationale"] and v.error is None
               for v in verdicts)
    # The judge's own requests are stored like any other, tagged with the judge run.
    in_run = {r.id for r in providers.runs.responses(summary.run_id)}
    for v in verdicts:
        own = providers.responses.get(v.judge_response_id)
        assert own is not None and own.status == Status.OK and own.model == f"{kind}/{JUDGE_MODEL}"
        assert own.usage.input_tokens and own.total_ms is not None and own.vendor_request_id
        assert own.id in in_run
    # ... and out of the hand-made history, like a suite run's, where only the judged trial shows.
    assert [t.id for t in providers.trials.list(runs=False)] == [trial_id]


def test_the_judge_sees_what_a_blind_rater_sees_and_nothing_else(providers, vendor):
    notes = attachment_from_bytes("notes.txt", b"The river Seine flows through it.")
    trial_id = _answers(providers, vendor, TrialInput("Capital of France?", "Be brief.", (notes,)))
    vendor.set_default(JUDGE_MODEL, Script(text_pieces=_pieces(VERDICT)))
    _judge(providers, "openai", trial_id)
    sent = [json.dumps(r.json) for r in _judge_requests(vendor)]
    assert len(sent) == 2
    for body in sent:
        assert "Capital of France?" in body and "Be brief." in body and "The river Seine" in body
        assert ("Paris is the capital of France." in body) != ("Hello, world." in body)  # one answer each
        assert "confident_wrong" in body  # the rubric's options
        for hidden in (SECRET_MODEL, "llama3.2", "ollama", "ttft", "cost", "total_ms"):
            assert hidden not in body.replace(JUDGE_MODEL, ""), hidden


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize(("reply", "why"), [
    (["{not json"], "not JSON"),
    (_pieces({**VERDICT, "outcome": "brilliant"}), "'brilliant' is not one of"),
    (_pieces({k: v for k, v in VERDICT.items() if k != "rationale"}), "'rationale' is a required property"),
])
def test_a_reply_that_is_not_a_verdict_is_a_judge_error_with_its_raw_text(reply, why, kind, providers, vendor):
    trial_id = _answers(providers, vendor)
    vendor.set_default(JUDGE_MODEL, Script(text_pieces=reply))
    summary = _judge(providers, kind, trial_id)
    assert (summary.verdicts, summary.errors) == (0, 2)
    rater = f"judge:{kind}/{JUDGE_MODEL}"
    assert providers.ratings.current(rater=rater) == []  # never repaired into a rating
    for v in providers.verdicts.list(rater):
        assert v.rating_id is None and why in v.error
        assert v.raw == "".join(reply)


def test_a_judge_that_times_out_is_a_judge_error(providers, vendor):
    trial_id = _answers(providers, vendor)
    vendor.set_default(JUDGE_MODEL, Script(text_pieces=_pieces(VERDICT), stall_after_headers=True))
    short = Timeouts(connect=2.0, first_token=0.3, idle=0.3, total=1.0)
    summary = _judge(providers, "openai", trial_id, timeouts=short)
    assert (summary.verdicts, summary.errors) == (0, 2)
    assert all("timeout" in v.error for v in providers.verdicts.list())


def test_a_second_run_judges_nothing_twice(providers, vendor):
    trial_id = _answers(providers, vendor)
    vendor.set_default(JUDGE_MODEL, Script(text_pieces=_pieces(VERDICT)))
    _judge(providers, "gemini", trial_id)
    before = len(_judge_requests(vendor))
    again = _judge(providers, "gemini", trial_id)
    assert (again.verdicts, again.errors, again.already) == (0, 0, 2)
    assert len(_judge_requests(vendor)) == before == 2
    # Another judge is another rater: it judges them too.
    other = _judge(providers, "ollama", trial_id)
    assert other.verdicts == 2


def test_verdicts_never_count_as_a_persons_rating(providers, vendor):
    trial_id = _answers(providers, vendor)
    vendor.set_default(JUDGE_MODEL, Script(text_pieces=_pieces(VERDICT)))
    _judge(providers, "openai", trial_id)

    async def go():
        async with engine_for(providers) as engine:
            with pytest.raises(EngineError, match="judge models"):
                engine.ratings.save_rating(providers.responses.for_trial(trial_id)[0].id, VERDICT, rater="judge:me")
            return engine.ratings.scorecard()

    scores = asyncio.run(go())
    assert scores and all(s.n_rated == 0 for s in scores)
    # The judge's own requests are not answers to score: its model is not on the scorecard.
    assert sorted(s.model for s in scores) == ["ollama/llama3.2:latest", "openai/gpt-4o-mini"]


def test_the_judge_prompt_is_versioned_and_each_verdict_names_its_version(providers, vendor):
    trial_id = _answers(providers, vendor)
    vendor.set_default(JUDGE_MODEL, Script(text_pieces=_pieces(VERDICT)))

    async def go():
        async with engine_for(providers) as engine:
            first = engine.judges.prompts.default()
            with pytest.raises(EngineError, match=r"\$answer"):
                engine.judges.set_prompt("Rate this: $prompt")
            second = engine.judges.set_prompt("TEMPLATE-2 Rate: $answer\n$criteria")
            assert engine.judges.set_prompt("TEMPLATE-2 Rate: $answer\n$criteria") == second
            await engine.judges.judge_trial(trial_id, ModelRef("openai", JUDGE_MODEL))
            return first, second

    first, second = asyncio.run(go())
    assert (first.version, second.version) == (1, 2)
    assert {v.prompt_id for v in providers.verdicts.list()} == {second.id}
    assert all("TEMPLATE-2" in json.dumps(r.json) for r in _judge_requests(vendor))


def test_an_answer_with_a_rating_by_the_judge_but_no_verdict_row_is_not_judged_again(providers, vendor):
    """As after a merge, which brings the judge's ratings but not this store's verdict rows."""
    trial_id = _answers(providers, vendor)
    first = providers.responses.for_trial(trial_id)[0]
    rater = f"judge:openai/{JUDGE_MODEL}"
    providers.ratings.save(first.id, rater, {k: v for k, v in VERDICT.items() if k != "rationale"})
    vendor.set_default(JUDGE_MODEL, Script(text_pieces=_pieces(VERDICT)))
    summary = _judge(providers, "openai", trial_id)
    assert (summary.verdicts, summary.already) == (1, 1)
    assert len(_judge_requests(vendor)) == 1


def test_without_jsonschema_nothing_is_sent_and_the_error_says_what_to_install(providers, vendor, monkeypatch):
    import importlib.util

    trial_id = _answers(providers, vendor)
    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec", lambda name, *a: None if name == "jsonschema" else real(name, *a))
    with pytest.raises(EngineError, match="pip install 'jsonschema"):
        _judge(providers, "openai", trial_id)
    assert _judge_requests(vendor) == [] and providers.verdicts.list() == []


def test_retry_failed_sends_again_only_the_answers_whose_request_failed(providers, vendor):
    trial_id = _answers(providers, vendor)
    vendor.set_default(JUDGE_MODEL, Script(text_pieces=_pieces(VERDICT), stall_after_headers=True))
    short = Timeouts(connect=2.0, first_token=0.3, idle=0.3, total=1.0)
    assert _judge(providers, "openai", trial_id, timeouts=short).errors == 2
    vendor.set_default(JUDGE_MODEL, Script(text_pieces=_pieces(VERDICT)))
    again = _judge(providers, "openai", trial_id)  # a plain resume never sends them again
    assert (again.verdicts, again.already) == (0, 2)

    async def retry():
        async with engine_for(providers, retry=NO_RETRY) as engine:
            return await engine.judges.judge_trial(trial_id, ModelRef("openai", JUDGE_MODEL), retry_failed=True)

    retried = asyncio.run(retry())
    assert (retried.verdicts, retried.errors, retried.already) == (2, 0, 0)
    rater = f"judge:openai/{JUDGE_MODEL}"
    assert all(v.error is None and v.rating_id for v in providers.verdicts.list(rater))
    assert len(providers.ratings.current(rater=rater)) == 2
    # A reply that was no verdict is never asked for again, retry or not.
    vendor.set_default("judge-x", Script(text_pieces=["{not json"]))
    _judge_with(providers, trial_id, "judge-x")
    vendor.set_default("judge-x", Script(text_pieces=_pieces(VERDICT)))
    before = len([r for r in vendor.requests if r.model == "judge-x"])
    assert _judge_with(providers, trial_id, "judge-x", retry_failed=True).already == 2
    assert len([r for r in vendor.requests if r.model == "judge-x"]) == before


def _judge_with(store, trial_id: str, model: str, **kw):
    async def go():
        async with engine_for(store, retry=NO_RETRY) as engine:
            return await engine.judges.judge_trial(trial_id, ModelRef("ollama", model), **kw)

    return asyncio.run(go())
