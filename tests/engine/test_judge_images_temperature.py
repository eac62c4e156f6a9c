"""The judge's settings (issue 14): it judges at temperature 0 unless the user sets one, on
every protocol, and the judge's stored request keeps the settings it was sent with; it sees
the task's images only when its model takes images (the user's word per model, else its
vendor family's), never on a guess, and each verdict says whether it saw them."""

from __future__ import annotations

import asyncio
import base64
import json

import pytest

from desk.core.trial import ModelRef, TrialInput
from desk.engine.errors import EngineError
from tests.engine.conftest import KINDS, engine_for, png_attachment
from tests.engine.test_judge import JUDGE_MODEL, NO_RETRY, VERDICT, _answers, _judge_requests, _pieces
from tests.vendor_server import Script


def _judge(store, kind: str, trial_id: str, model: str = JUDGE_MODEL, **kw):
    async def go():
        async with engine_for(store, retry=NO_RETRY) as engine:
            return await engine.judges.judge_trial(trial_id, ModelRef(kind, model), **kw)

    return asyncio.run(go())


def _temperature(kind: str, body: dict):
    return {"openai": lambda: body.get("temperature"), "anthropic": lambda: body.get("temperature"),
            "gemini": lambda: body.get("generationConfig", {}).get("temperature"),
            "ollama": lambda: body.get("options", {}).get("temperature")}[kind]()


@pytest.mark.parametrize("kind", KINDS)
def test_the_judge_judges_at_temperature_zero_unless_set(kind, providers, vendor):
    trial_id = _answers(providers, vendor)
    vendor.set_default(JUDGE_MODEL, Script(text_pieces=_pieces(VERDICT)))
    _judge(providers, kind, trial_id)
    assert [_temperature(kind, r.json) for r in _judge_requests(vendor)] == [0.0, 0.0]
    for v in providers.verdicts.list():  # the settings it judged with, kept with its request
        assert providers.responses.get(v.judge_response_id).settings["temperature"] == 0.0
    vendor.requests.clear()
    _judge(providers, kind, trial_id, model="judge-2", temperature=0.7)
    assert [_temperature(kind, r.json) for r in vendor.requests if r.model == "judge-2"] == [0.7, 0.7]


def test_the_vendors_default_temperature_when_asked_and_a_bad_one_refused(providers, vendor):
    trial_id = _answers(providers, vendor)
    vendor.set_default(JUDGE_MODEL, Script(text_pieces=_pieces(VERDICT)))
    _judge(providers, "openai", trial_id, temperature=None)
    assert all("temperature" not in r.json for r in _judge_requests(vendor))
    with pytest.raises(EngineError, match="temperature"):
        _judge(providers, "openai", trial_id, model="judge-3", temperature=5.0)


def _image_sent(request) -> bool:
    return base64.b64encode(png_attachment().data).decode()[:40] in json.dumps(request.json)


def _with_picture(providers, vendor) -> str:
    return _answers(providers, vendor, TrialInput("What is in the picture?", "Be brief.", (png_attachment(),)))


def test_images_go_to_a_judge_only_when_its_model_takes_them_and_each_verdict_says(providers, vendor):
    trial_id = _with_picture(providers, vendor)
    for model in (JUDGE_MODEL, "llava-judge", "gpt-3.5-judge"):
        vendor.set_default(model, Script(text_pieces=_pieces(VERDICT)))
    # Unknown whether "judge-1" takes images: withheld, and the summary says why and what to do.
    unknown = _judge(providers, "openai", trial_id)
    assert (unknown.images_sent, unknown.images_withheld) == (0, 2)
    assert "does not know whether openai/judge-1 takes images" in unknown.images_reason
    assert "desk provider images" in unknown.images_reason
    assert not any(_image_sent(r) for r in _judge_requests(vendor))
    assert {v.images for v in providers.verdicts.list("judge:openai/judge-1")} == {"withheld"}
    # A vision family (llava) takes them; a text-only one (gpt-3.5) does not.
    known = _judge(providers, "ollama", trial_id, model="llava-judge")
    assert (known.images_sent, known.images_withheld) == (2, 0) and "model family" in known.images_reason
    assert all(_image_sent(r) for r in vendor.requests if r.model == "llava-judge")
    assert {v.images for v in providers.verdicts.list("judge:ollama/llava-judge")} == {"sent"}
    text_only = _judge(providers, "openai", trial_id, model="gpt-3.5-judge")
    assert text_only.images_withheld == 2 and "does not take images" in text_only.images_reason


def test_the_users_word_per_model_and_the_explicit_override(providers, vendor):
    trial_id = _with_picture(providers, vendor)
    vendor.set_default(JUDGE_MODEL, Script(text_pieces=_pieces(VERDICT)))

    async def say(takes):
        async with engine_for(providers) as engine:
            engine.providers.set_takes_images(ModelRef("anthropic", JUDGE_MODEL), takes)
            return engine.providers.takes_images(ModelRef("anthropic", JUDGE_MODEL))

    assert asyncio.run(say(True))[0] is True
    told = _judge(providers, "anthropic", trial_id)
    assert told.images_sent == 2 and "set for the model" in told.images_reason
    assert all(_image_sent(r) for r in _judge_requests(vendor))
    # --no-images wins over the model's setting (another judge model, same answers).
    vendor.requests.clear()
    vendor.set_default("judge-4", Script(text_pieces=_pieces(VERDICT)))
    asyncio.run(say(True))
    overridden = _judge(providers, "gemini", trial_id, model="judge-4", images=False)
    assert overridden.images_withheld == 2 and "as asked" in overridden.images_reason
    assert not any(_image_sent(r) for r in vendor.requests if r.model == "judge-4")
    # Back to the family's word (unknown for "judge-1").
    assert asyncio.run(say(None))[0] is None
    # Answers without images record nothing about them.
    plain = _answers(providers, vendor)
    _judge(providers, "anthropic", plain)
    assert {v.images for v in providers.verdicts.list(response_ids=[r.id for r in providers.responses.for_trial(plain)])} \
        == {None}


def test_a_model_that_takes_only_its_default_temperature_is_sent_none(providers, vendor):
    """OpenAI's reasoning models refuse any temperature but their default: a judge at 0 would
    turn every answer into a judge error."""
    trial_id = _answers(providers, vendor)
    vendor.set_default("o3-judge", Script(text_pieces=_pieces(VERDICT)))
    summary = _judge(providers, "openai", trial_id, model="o3-judge")
    assert summary.verdicts == 2 and summary.temperature is None
    assert all("temperature" not in r.json for r in vendor.requests if r.model == "o3-judge")


def test_an_ollama_server_that_lists_vision_among_a_models_capabilities_is_believed(providers, vendor):
    """Ollama's /api/show says which models take images: its word comes before the family's
    (and the user's before both); an Ollama that lists no capabilities leaves the family's."""
    trial_id = _with_picture(providers, vendor)
    for model in ("eyes", "llava-blind", "plain"):
        vendor.set_default(model, Script(text_pieces=_pieces(VERDICT)))
    vendor.capabilities = {"eyes": ["completion", "vision"], "llava-blind": ["completion"]}
    seeing = _judge(providers, "ollama", trial_id, model="eyes")
    assert seeing.images_sent == 2 and seeing.images_reason == "ollama/eyes takes images (its server says so)"
    assert [r.json for r in vendor.requests if r.path == "/api/show"] == [{"model": "eyes"}]
    blind = _judge(providers, "ollama", trial_id, model="llava-blind")  # the server over the name
    assert blind.images_withheld == 2 and "does not take images (its server says so)" in blind.images_reason
    unknown = _judge(providers, "ollama", trial_id, model="plain")  # no capabilities listed: not known
    assert unknown.images_withheld == 2 and "does not know" in unknown.images_reason
