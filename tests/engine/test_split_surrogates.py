"""An emoji whose UTF-16 halves arrive in separate deltas (`"\\ud83d"`, then `"\\udc4d"`:
valid JSON from servers that escape non-ASCII and cut at token boundaries) is stored
whole, on all four wire protocols; a half with no partner is stored as U+FFFD and the
answer says so."""

from __future__ import annotations

import pytest

from desk.core.response import Status
from desk.core.trial import TrialInput
from desk.engine.export import response_record
from tests.engine.conftest import KINDS, run_one, script_for
from tests.vendor_server import Script

THUMBS = "\U0001f44d"


@pytest.mark.parametrize("kind", KINDS)
def test_split_surrogate_pair_is_stored_as_the_emoji(providers, vendor, kind):
    script_for(vendor, kind, Script(text_pieces=["thumbs ", "\ud83d", "\udc4d", " up"]))
    _, result = run_one(providers, kind, TrialInput("React."))
    assert result.status == Status.OK, result.error_message
    assert result.text == f"thumbs {THUMBS} up"
    assert result.notes == []
    assert result.store_error is None
    stored = providers.responses.get(result.id)
    assert stored.status == Status.OK
    assert stored.text == f"thumbs {THUMBS} up"


@pytest.mark.parametrize("kind", KINDS)
def test_lone_surrogate_becomes_replacement_character_and_is_noted(providers, vendor, kind):
    script_for(vendor, kind, Script(text_pieces=["half ", "\ud83d", " gone"]))
    _, result = run_one(providers, kind, TrialInput("React."))
    assert result.status == Status.OK, result.error_message
    assert result.text == "half \ufffd gone"
    stored = providers.responses.get(result.id)
    assert stored.text == "half \ufffd gone"
    assert len(stored.notes) == 1 and "U+FFFD" in stored.notes[0]
    assert response_record(stored)["notes"] == stored.notes  # exports carry it


@pytest.mark.parametrize("kind", KINDS)
def test_whole_answer_with_a_lone_surrogate_is_stored_too(providers, vendor, kind):
    script_for(vendor, kind, Script(text_pieces=["end ", "\udc4d"]))
    _, result = run_one(providers, kind, TrialInput("React."), stream=False)
    assert result.status == Status.OK, result.error_message
    assert providers.responses.get(result.id).text == "end \ufffd"
