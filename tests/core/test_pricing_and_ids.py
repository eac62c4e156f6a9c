import pytest

from desk.core.ids import new_id
from desk.core.pricing import Price, add_costs, cost_of
from desk.core.response import Usage, redact, tokens_per_second
from desk.core.trial import GenerationSettings, ModelRef, ModelRefError


def test_cost_counts_cached_input_at_its_own_rate():
    price = Price(input_per_mtok=2.5, output_per_mtok=10, cached_input_per_mtok=1.25)
    cost = cost_of(Usage(input_tokens=1_000_000, output_tokens=1_000_000, cached_input_tokens=500_000), price)
    assert cost.usd == pytest.approx(0.5 * 2.5 + 0.5 * 1.25 + 10)


def test_missing_usage_is_unknown_cost_not_zero():
    cost = cost_of(Usage(), Price(1, 1))
    assert cost.usd is None and cost.note == "no usage reported"


def test_add_costs():
    assert add_costs([None, None]) is None
    assert add_costs([0.5, None, 0.25]) == pytest.approx(0.75)


def test_ids_are_unique_sortable_ulids():
    ids = [new_id() for _ in range(2000)]
    assert len(set(ids)) == 2000
    assert all(len(i) == 26 for i in ids)


def test_model_ref_parse():
    assert ModelRef.parse("openrouter/meta-llama/llama-3-70b") == ModelRef("openrouter", "meta-llama/llama-3-70b")
    with pytest.raises(ModelRefError):
        ModelRef.parse("gpt-4o")


def test_settings_validation():
    with pytest.raises(ValueError):
        GenerationSettings(temperature=3)
    with pytest.raises(ValueError):
        GenerationSettings(max_tokens=0)


def test_redact_removes_keys():
    text = redact("Incorrect API key provided: sk-proj-abcdefgh12345. Authorization: Bearer abcdefghijk", ("abcdefghijk",))
    assert "sk-proj" not in text and "abcdefghijk" not in text


def test_tokens_per_second_is_none_when_not_measurable():
    assert tokens_per_second(None, 1.0, 2.0) is None
    assert tokens_per_second(11, 1.0, 2.0) == 10.0
    assert tokens_per_second(11, 1.0, 1.0) is None
