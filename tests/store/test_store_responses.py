from __future__ import annotations

import dataclasses
import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

from desk.core.ids import new_id
from desk.core.response import Attempt, ErrorKind, ResponseResult, Status, Usage
from desk.core.trial import TrialInput
from desk.store import Store, StoreError, open_store
from desk.store.responses import pid_alive


def _streaming(trial_id: str, model: str = "openai/gpt-4o") -> ResponseResult:
    return ResponseResult(
        id=new_id(),
        trial_id=trial_id,
        model=model,
        settings={"temperature": 0.2, "max_tokens": None, "reasoning_effort": None},
        started_at=time.time(),
    )


def _dead_pid() -> int:
    child = subprocess.Popen([sys.executable, "-c", "pass"])
    child.wait()
    assert not pid_alive(child.pid)
    return child.pid


def test_response_and_attempts_round_trip(store: Store) -> None:
    trial_id = store.trials.create(TrialInput("hi"))
    result = _streaming(trial_id, "azure-eu/deployments/gpt")
    store.responses.create(result)
    assert store.responses.get(result.id) == result  # fresh: no usage, no attempts

    t0 = result.started_at or 0.0
    first = Attempt(
        number=1,
        started_at=t0,
        ended_at=t0 + 0.4,
        http_status=429,
        status=Status.ERROR,
        error_kind=ErrorKind.RATE_LIMITED,
        error_message="slow down",
        connect_ms=12.5,
        total_ms=400.0,
        retry_after_s=2.0,
        vendor_request_id="req-1",
        ratelimit={"x-ratelimit-remaining-requests": "0"},
    )
    store.responses.save_attempt(result.id, first)
    second = Attempt(number=2, started_at=t0 + 2.5, wait_before_ms=2000.0)
    store.responses.save_attempt(result.id, second)
    store.responses.update_text(result.id, "Hel", "thinking")

    partial = store.responses.get(result.id)
    assert partial is not None
    assert (partial.text, partial.reasoning_text, partial.status) == ("Hel", "thinking", Status.STREAMING)
    assert [a.number for a in partial.attempts] == [1, 2]
    assert partial.attempts[0] == first

    second.first_token_at = t0 + 2.8
    second.ended_at = t0 + 3.1
    second.status = Status.OK
    second.ttft_ms = 300.0
    second.total_ms = 600.0
    second.usage = Usage(input_tokens=10, output_tokens=5)  # cached/reasoning not reported
    second.cost_usd = 0.0001
    done = dataclasses.replace(
        result,
        status=Status.OK,
        text="Hello!",
        reasoning_text="thinking",
        finish_reason="stop",
        first_token_at=second.first_token_at,
        ended_at=second.ended_at,
        ttft_ms=300.0,
        total_ms=3100.0,
        connect_ms=8.0,
        output_tokens_per_s=13.33,
        usage=Usage(input_tokens=10, output_tokens=5),
        cost_usd=0.0001,
        cost_note="",
        price_source="catalog",
        retries=1,
        retry_wait_ms=2000.0,
        vendor_request_id="req-2",
        http_status=200,
        attempts=[first, second],
    )
    store.responses.finish(done)

    loaded = store.responses.get(result.id)
    assert loaded == done
    assert loaded is not None
    assert loaded.usage.cached_input_tokens is None and loaded.usage.reasoning_tokens is None
    assert loaded.attempts[1].usage.cached_input_tokens is None
    assert isinstance(loaded.status, Status) and isinstance(loaded.attempts[0].error_kind, ErrorKind)
    assert loaded.provider == "azure-eu" and loaded.model_name == "deployments/gpt"
    assert store.db.execute("SELECT count(*) FROM attempts").fetchone()[0] == 2
    row = store.db.execute(
        "SELECT provider_name, model_name, writer_pid, writer_host FROM responses"
    ).fetchone()
    assert row == ("azure-eu", "deployments/gpt", os.getpid(), socket.gethostname())


def test_error_response_without_usage(store: Store) -> None:
    trial_id = store.trials.create(TrialInput("hi"))
    failed = dataclasses.replace(
        _streaming(trial_id),
        status=Status.ERROR,
        error_kind=ErrorKind.AUTH,
        error_message="no API key for openai",
        cost_note="no usage reported",
    )
    store.responses.finish(failed)  # never created: finishing inserts it
    loaded = store.responses.get(failed.id)
    assert loaded == failed
    assert loaded is not None and loaded.usage == Usage()
    raw = store.db.execute("SELECT input_tokens, output_tokens, cost_usd FROM responses").fetchone()
    assert raw == (None, None, None)


def test_responses_for_trial_in_creation_order(store: Store) -> None:
    trial_id = store.trials.create(TrialInput("hi"))
    other = store.trials.create(TrialInput("other"))
    made = [_streaming(trial_id, m) for m in ("b/one", "a/two", "c/three")]
    for r in made:
        store.responses.create(r)
    store.responses.create(_streaming(other))
    assert [r.id for r in store.responses.for_trial(trial_id)] == [r.id for r in made]
    assert store.responses.for_trial("missing") == []
    assert store.responses.get("missing") is None


def test_write_errors(store: Store) -> None:
    with pytest.raises(StoreError, match="no trial"):
        store.responses.create(_streaming("missing"))
    trial_id = store.trials.create(TrialInput("hi"))
    result = _streaming(trial_id)
    store.responses.create(result)
    with pytest.raises(StoreError, match="already exists"):
        store.responses.create(result)
    with pytest.raises(StoreError, match="no response"):
        store.responses.update_text("missing", "x", "")
    with pytest.raises(StoreError, match="no response"):
        store.responses.save_attempt("missing", Attempt(number=1, started_at=0.0))


def test_crash_mid_stream_is_marked_interrupted(db_path: Path) -> None:
    with open_store(db_path) as store:
        trial_id = store.trials.create(TrialInput("tell me a story"))
        result = _streaming(trial_id)
        store.responses.create(result)
        store.responses.save_attempt(result.id, Attempt(number=1, started_at=time.time()))
        for text in ("Once", "Once upon", "Once upon a time"):
            store.responses.update_text(result.id, text, "")
        alive = _streaming(trial_id, "anthropic/claude")
        store.responses.create(alive)  # written by this (living) process
        remote = _streaming(trial_id, "gemini/flash")
        store.responses.create(remote)
        # The writer of `result` "crashes"; `remote` was written on another machine.
        store.db.execute("UPDATE responses SET writer_pid = ? WHERE id = ?", (_dead_pid(), result.id))
        store.db.execute("UPDATE responses SET writer_host = 'elsewhere' WHERE id = ?", (remote.id,))

    with open_store(db_path) as store:
        recovered = store.responses.get(result.id)
        assert recovered is not None
        assert recovered.status is Status.INTERRUPTED
        assert recovered.text == "Once upon a time"
        assert recovered.error_message
        assert recovered.attempts[0].status is Status.INTERRUPTED
        assert store.responses.get(alive.id).status is Status.STREAMING  # type: ignore[union-attr]
        assert store.responses.get(remote.id).status is Status.STREAMING  # type: ignore[union-attr]
        assert store.responses.recover_interrupted() == 0


def test_a_reused_pid_does_not_keep_a_stream_alive_forever(store: Store) -> None:
    trial_id = store.trials.create(TrialInput("hi"))
    result = _streaming(trial_id)
    store.responses.create(result)
    week_ago = time.time() - 7 * 86400
    store.db.execute("UPDATE responses SET updated_at = ? WHERE id = ?", (week_ago, result.id))
    assert store.responses.recover_interrupted() == 1
    assert store.responses.get(result.id).status is Status.INTERRUPTED  # type: ignore[union-attr]


def test_pid_alive() -> None:
    assert pid_alive(os.getpid())
    assert not pid_alive(0)
