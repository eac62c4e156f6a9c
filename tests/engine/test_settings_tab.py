"""The settings dialog's model, driven without a QApplication: validation, all-or-nothing
saves, models and prices, and the line each action ends with."""

from __future__ import annotations

import asyncio
import subprocess
import sys

import pytest

from desk.core.pricing import Price
from desk.core.trial import ModelRef
from desk.engine.session import Engine
from desk.engine.settings_tab import ProviderForm, Said, SettingsModel, key_env_hint, row_price, url_for_kind
from desk.store import open_store
from tests.keyrings import no_keyring

LOCAL = "http://127.0.0.1:9/v1"


@pytest.fixture
def engine(tmp_path):
    loop = asyncio.new_event_loop()
    eng = Engine(open_store(tmp_path / "s.db"))
    yield eng
    loop.run_until_complete(eng.aclose())
    loop.close()
    eng.store.close()


@pytest.fixture
def model(engine):
    events: list[str] = []
    m = SettingsModel(engine.providers)
    m.providers_changed.connect(lambda: events.append("providers"))
    m.models_changed.connect(lambda: events.append("models"))
    m.events = events  # type: ignore[attr-defined]
    return m


def test_the_model_needs_no_qt():
    code = "import sys, desk.engine.settings_tab; print(any(m.startswith('PySide6') for m in sys.modules))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "False"


def test_a_new_provider_is_validated_then_saved_and_announced(model, engine):
    assert model.save(ProviderForm("  ", "openai", LOCAL), None) == (
        Said("Not saved: give the provider a name, e.g. openai or local", "error"), False)
    said, lost = model.save(ProviderForm("oa", "openai", LOCAL, api_version=" 2024-06-01 "), "sk-abc")
    assert (said, lost) == (Said("Saved. Key stored in the OS keyring.", "ok"), False)
    assert model.current_name() == "oa" and not model.form_dirty and model.events == ["providers"]
    assert engine.providers.configs.get("oa").api_version == "2024-06-01"
    model.select(None)
    said, _ = model.save(ProviderForm("oa", "ollama", "http://127.0.0.1:11434"), None)
    assert said.kind == "error" and "already exists" in said.text and model.current is None


def test_only_openai_keeps_an_api_version(model, engine):
    model.save(ProviderForm("ol", "ollama", "http://127.0.0.1:11434", api_version="2024-06-01"), None)
    assert engine.providers.configs.get("ol").api_version is None


def test_a_key_no_keyring_can_keep_saves_nothing(model, engine):
    with no_keyring():
        said, lost = model.save(ProviderForm("oa", "openai", LOCAL), "sk-abc")
    assert lost and said.kind == "error" and "the key was NOT kept" in said.text
    assert engine.providers.configs.all() == [] and model.current is None and model.events == []


def test_unsaved_edits_are_named_before_they_go(model):
    assert model.discard_question() is None
    model.form_dirty = model.prices_dirty = True
    assert model.discard_question() == "Discard unsaved provider settings, prices of the new provider?"


def test_models_are_applied_and_typed_by_hand(model, engine):
    model.save(ProviderForm("oa", "openai", LOCAL), None)
    assert model.add_model("oa", "has space") == Said("'has space': a model name has no spaces.", "error")
    assert model.add_model("oa", "gpt-4o") == Said("Added oa/gpt-4o.", "ok")
    assert model.apply_models("oa", {"gpt-4o": False, "gpt-4.1": True, "o3": True}) == Said(
        "Added 2, removed 1.", "ok")
    assert model.configured("oa") == ["gpt-4.1", "o3"]
    assert model.apply_models("oa", {"o3": True}) == Said("Nothing changed.", "ok")
    assert model.listed_line(["o3"], ["gpt-4.1", "o3"]).text.startswith(
        "1 models listed · 2 in the picker · 1 configured model(s) not in the server's list.")


def test_prices_are_saved_all_or_nothing(model, engine):
    model.save(ProviderForm("oa", "openai", LOCAL), None)
    model.apply_models("oa", {"a": True, "b": True})
    assert [row[0] for row in model.price_rows("oa")] == ["a", "b"]
    said, written = model.save_prices("oa", [("a", ("1", "", "2")), ("b", ("x", "", "1"))])
    assert (said.kind, written) == ("error", False) and "b: Input $/Mtok 'x' is not a number" in said.text
    assert engine.providers.own_prices() == []
    said, written = model.save_prices("oa", [("a", ("$1", "0.5", "2")), ("b", ("", "", ""))])
    assert (said, written) == (Said("Saved 1 price(s).", "ok"), True)
    assert engine.providers.own_prices() == [(ModelRef("oa", "a"), Price(1.0, 2.0, 0.5))]
    assert model.price_rows("oa")[0] == ("a", Price(1.0, 2.0, 0.5), "yours")
    assert model.save_prices("oa", [("a", ("1", "0.5", "2"))]) == (Said("No price changed.", "ok"), True)
    assert model.clear_price("oa", "a") == Said("Cleared your price for a.", "ok")
    assert engine.providers.own_prices() == []


def test_the_small_rules_of_the_form(monkeypatch):
    with pytest.raises(ValueError, match="give both the input and the output price"):
        row_price("m", ("1", "", ""))
    with pytest.raises(ValueError, match="cannot be negative"):
        row_price("m", ("-1", "", "1"))
    assert row_price("m", (" ", "", "")) is None
    assert url_for_kind("ollama", "https://api.openai.com/v1") == "http://localhost:11434"
    assert url_for_kind("ollama", "http://my-box:8080/v1") is None
    monkeypatch.delenv("DESK_TEST_UNSET", raising=False)
    assert key_env_hint("  ") is None
    assert key_env_hint("DESK_TEST_UNSET").kind == "info"
    monkeypatch.setenv("DESK_TEST_SET", "x")
    assert key_env_hint("DESK_TEST_SET") == Said("$DESK_TEST_SET is set here: its value is used as the key.", "ok")


def test_remove_and_test_say_what_happened(model, engine):
    model.save(ProviderForm("oa", "openai", LOCAL), None)
    said = asyncio.run(model.test("nope"))
    assert said.kind == "error" and "unknown provider 'nope'" in said.text
    assert model.remove("oa") == Said("Removed oa.", "ok")
    assert model.remove("oa") == Said("Not removed: no provider named 'oa'", "error")
    assert model.events == ["providers", "providers", "models"]
