"""A store write that fails is never reported as success: the answer comes back with
`store_error` saying it was not saved (the trial itself still runs to its end)."""

from __future__ import annotations

import pytest

from desk.core.response import Status
from tests.engine.conftest import KINDS, run_one, script_for
from tests.vendor_server import Script

# Realistic failures (a full disk, a locked or damaged file) raise from SQLite like these do.
REFUSE_INSERT = """CREATE TRIGGER refuse_answers BEFORE INSERT ON responses
    BEGIN SELECT RAISE(ABORT, 'database or disk is full'); END"""
REFUSE_FINISH = """CREATE TRIGGER refuse_finish BEFORE UPDATE OF status ON responses
    WHEN new.status != 'streaming' BEGIN SELECT RAISE(ABORT, 'database or disk is full'); END"""


@pytest.mark.parametrize("kind", KINDS)
def test_an_answer_the_store_refused_says_so(providers, vendor, kind):
    providers.db.execute(REFUSE_INSERT)
    script_for(vendor, kind, Script(text_pieces=["shown ", "but not saved"]))
    _, result = run_one(providers, kind)
    assert result.status == Status.OK and result.text == "shown but not saved"
    assert result.store_error is not None and "database or disk is full" in result.store_error
    assert providers.responses.get(result.id) is None


def test_a_refused_final_write_is_reported_even_after_the_row_was_created(providers, vendor):
    providers.db.execute(REFUSE_FINISH)
    script_for(vendor, "openai", Script(text_pieces=["lost"]))
    _, result = run_one(providers, "openai")
    assert result.store_error is not None and "saving the finished answer" in result.store_error
    assert providers.responses.get(result.id).status == Status.STREAMING  # never claimed done


def test_a_write_that_fails_once_then_succeeds_is_not_an_error(providers, vendor):
    """A text flush failed, the final upsert wrote everything: the row is whole."""
    providers.db.execute("""CREATE TRIGGER refuse_text_flush BEFORE UPDATE OF text ON responses
        WHEN new.status = 'streaming' BEGIN SELECT RAISE(ABORT, 'database is locked'); END""")
    script_for(vendor, "openai", Script(text_pieces=["a", "b", "c"], interval_ms=150))
    _, result = run_one(providers, "openai")
    assert result.store_error is None
    assert providers.responses.get(result.id).text == "abc"
