"""kill -9 while eight answers stream: the store stays sound and keeps every partial answer.

Both faces are killed for real: the CLI (`python -m desk trial ...`) and the window
(a tiny script running the real MainWindow offscreen). After the kill the store is
reopened the normal way (`open_store`), which marks the dead writer's rows interrupted.
"""

from __future__ import annotations

import asyncio
import select
import sqlite3
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from desk.core.provider import ProviderConfig
from desk.core.response import Status
from desk.core.trial import ModelRef, TrialInput
from desk.engine.session import Engine
from desk.store.db import open_store
from tests.cli_helpers import ROOT, cli_env, kill_when
from tests.vendor_server import Script

MODELS = [f"m{i}" for i in range(1, 9)]
PIECES = [f"w{i:03d} " for i in range(300)]
FULL = "".join(PIECES)
PROMPT = "Summarise the churn table, please."
CSV = b"customer,mrr\nacme,120\nglobex,80\n"
RATING = {"outcome": "success", "uncertainty": "confident_correct", "constraints": "na", "quality": 4}


@pytest.fixture
def crash_setup(srv, tmp_path):
    """A store with provider `p` (8 slow models) and one earlier, rated answer."""
    db = tmp_path / "crash.db"
    for m in MODELS:
        srv.set_default(m, Script(text_pieces=PIECES, interval_ms=20))  # ~6 s per answer: killed long before
    with open_store(db) as store:
        store.providers.add(ProviderConfig("p", "openai", srv.base_url + "/v1"))
        for m in MODELS:
            store.providers.add_model("p", m)

        async def earlier_trial():
            async with Engine(store) as engine:
                return await engine.trials.run(TrialInput("earlier question"), [ModelRef.parse("p/fast")])

        (earlier,) = asyncio.run(earlier_trial()).responses
        assert earlier.status == Status.OK, earlier
        rating = store.ratings.save(earlier.id, "ana", RATING)
    csv = tmp_path / "churn.csv"
    csv.write_bytes(CSV)
    return db, csv, rating


def _partials(db: Path) -> list[tuple[str, str, str]]:
    """(trial_id, status, text) of the streaming responses, read through a read-only connection."""
    try:
        conn = sqlite3.connect(db.resolve().as_uri() + "?mode=ro", uri=True, timeout=1.0)
    except sqlite3.Error:
        return []
    try:
        return conn.execute(
            "SELECT trial_id, status, text FROM responses WHERE status = 'streaming' AND text != ''"
        ).fetchall()
    except sqlite3.Error:
        return []
    finally:
        conn.close()


def _kill_when_streaming(proc: subprocess.Popen, db: Path, timeout: float = 20.0) -> None:
    """SIGKILL `proc` once all 8 answers have partial text on disk."""
    kill_when(proc, lambda: len(_partials(db)) >= len(MODELS),
              lambda: f"{len(_partials(db))} of {len(MODELS)} answers streaming", timeout, poll_s=0.05)


def _check_after_crash(db: Path, earlier_rating) -> None:
    with open_store(db) as store:
        assert store.db.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        trials = [t for t in store.trials.list() if t.prompt_preview.startswith("Summarise")]
        assert len(trials) == 1
        stored = store.trials.get(trials[0].id)
        assert stored.input.prompt == PROMPT
        assert [(a.name, a.data) for a in stored.input.attachments] == [("churn.csv", CSV)]
        responses = store.responses.for_trial(stored.id)
        assert sorted(r.model for r in responses) == [f"p/{m}" for m in MODELS]
        for r in responses:
            assert r.status == Status.INTERRUPTED, r
            assert r.text and FULL.startswith(r.text) and len(r.text) < len(FULL), r.text
            assert r.error_message
            assert all(a.status != Status.STREAMING for a in r.attempts), r.attempts
        assert store.ratings.current([earlier_rating.response_id]) == [earlier_rating]
        earlier = store.responses.get(earlier_rating.response_id)
        assert earlier.status == Status.OK and earlier.text == "Hello, world."
        assert store.responses.recover_interrupted() == 0  # nothing left half-marked


def test_cli_killed_mid_stream_keeps_partials_and_ratings(crash_setup):
    db, csv, rating = crash_setup
    args = [sys.executable, "-m", "desk", "trial", *[a for m in MODELS for a in ("-m", f"p/{m}")],
            "--prompt", PROMPT, "--attach", str(csv), "--json"]
    proc = subprocess.Popen(args, env=cli_env(db), cwd=ROOT, stdin=subprocess.DEVNULL,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    _kill_when_streaming(proc, db)
    _check_after_crash(db, rating)


GUI_SCRIPT = textwrap.dedent(
    """
    import asyncio, sys
    import qasync
    from PySide6.QtCore import QSettings
    from PySide6.QtWidgets import QApplication
    from desk.core.attachment import load_attachment
    from desk.engine.session import Engine
    from desk.store.db import open_store
    from desk.ui.main_window import MainWindow

    db, ini, csv, prompt, models = sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4], sys.argv[5:]
    app = QApplication([])
    loop = qasync.QEventLoop(app)
    asyncio.set_event_loop(loop)
    store = open_store(db)
    win = MainWindow(Engine(store), QSettings(ini, QSettings.Format.IniFormat))
    win.show()
    win.compose.prompt.setPlainText(prompt)
    win.compose.add_attachment(load_attachment(csv))
    win.picker.set_checked(set(models))
    assert len(win.picker.selected()) == len(models), win.picker.selected()

    async def main():
        win.send()
        while len([p for p in win.grid.panes if p.text()]) < len(models):
            await asyncio.sleep(0.02)
        print("STREAMING", flush=True)
        await asyncio.sleep(3600)  # killed long before

    loop.run_until_complete(main())
    """
)


def test_window_killed_mid_stream_keeps_partials_and_ratings(crash_setup, tmp_path):
    pytest.importorskip("PySide6")
    pytest.importorskip("qasync")
    db, csv, rating = crash_setup
    script = tmp_path / "gui_stream.py"
    script.write_text(GUI_SCRIPT)
    env = cli_env(db, QT_QPA_PLATFORM="offscreen")
    proc = subprocess.Popen(
        [sys.executable, str(script), str(db), str(tmp_path / "ui.ini"), str(csv), PROMPT,
         *[f"p/{m}" for m in MODELS]],
        env=env, cwd=ROOT, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
    )
    assert proc.stdout is not None
    ready, _, _ = select.select([proc.stdout], [], [], 60)  # generous: a cold Qt start
    line = proc.stdout.readline() if ready else b"(nothing within 60 s)"
    if line.strip() != b"STREAMING":
        proc.kill()
        _, err = proc.communicate(timeout=10)
        pytest.fail(f"window did not stream: {line!r}\n{err.decode(errors='replace')}")
    _kill_when_streaming(proc, db)
    _check_after_crash(db, rating)
