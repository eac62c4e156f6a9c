"""A fake API key never reaches the disk or the screen.

Keys come from an environment variable (`--key-env`) or the keyring (`provider set-key`,
here a file keyring kept OUTSIDE the scanned folder). A second vendor rejects a wrong
key and, like OpenAI, echoes it back in its 401 message. After trials, a load run,
every export format and the read-only commands, every byte under the scanned folder
(database with -wal/-shm, exports, the window's QSettings ini, anything written under
$HOME) and every byte printed must hold neither the key nor its last 16 characters.
"""

from __future__ import annotations

import asyncio
import importlib.util
import json
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from tests.cli_helpers import FILE_KEYRING, KEYRING_FILE_VAR, Run, cli_env, desk
from tests.vendor_server import Script, VendorServer

KEY = "sk-test-DESKSECRET-0123456789abcdef"
TAIL = KEY[-16:]
WRONG = KEY + "-revoked"  # an old key the user still has configured somewhere
ECHO_401 = Script(
    status=401,
    error_message=f"Incorrect API key provided: {WRONG}. You can find your API key at "
                  "https://platform.openai.com/account/api-keys.",
    error_type="invalid_request_error",
    error_code="invalid_api_key",
)
NEEDLES = (KEY.encode(), TAIL.encode(), KEY.encode("utf-16-le"), TAIL.encode("utf-16-le"))


def leaks(data: bytes) -> list[bytes]:
    return [n for n in NEEDLES if n in data]


def scan_tree(root: Path) -> dict[str, list[bytes]]:
    found = {}
    for path in root.rglob("*"):
        if path.is_file():
            hits = leaks(path.read_bytes())
            if hits:
                found[str(path.relative_to(root))] = hits
    return found


@pytest.fixture
def echo_srv():
    """A vendor that takes any key and answers 401 echoing the wrong key in full."""
    with VendorServer() as s:
        s.default_script = ECHO_401
        yield s


def test_key_never_reaches_disk_or_output(srv, echo_srv, tmp_path):
    scanned = tmp_path / "scanned"
    home = scanned / "home"
    home.mkdir(parents=True)
    keyring_file = tmp_path / "keyring.json"  # outside `scanned`: that is where the OS keeps it
    assert scanned not in keyring_file.parents
    db = scanned / "desk.db"
    srv.api_key = KEY
    env = cli_env(db, HOME=str(home), XDG_DATA_HOME=str(home / "data"), XDG_CONFIG_HOME=str(home / "config"),
                  XDG_CACHE_HOME=str(home / "cache"), XDG_STATE_HOME=str(home / "state"),
                  PYTHON_KEYRING_BACKEND=FILE_KEYRING, **{KEYRING_FILE_VAR: str(keyring_file)},
                  DESK_TEST_GOOD_KEY=KEY, DESK_TEST_OLD_KEY=WRONG)
    runs: list[Run] = []

    def run_all(*commands: tuple[str, ...], ok: bool = True, stdin: str | None = None) -> list[Run]:
        """Run desk commands side by side (two cores: halves the start-up cost)."""
        with ThreadPoolExecutor(max_workers=4) as pool:
            done = list(pool.map(lambda args: desk(*args, env=env, stdin=stdin, timeout=60), commands))
        runs.extend(done)
        for r in done:
            assert not ok or r.returncode == 0, r
        return done

    from desk.store.db import open_store

    open_store(db).close()  # created once here, so the commands below never race to create it
    run_all(
        ("provider", "add", "envp", "--kind", "openai", "--base-url", srv.base_url + "/v1",
         "--key-env", "DESK_TEST_GOOD_KEY"),
        ("provider", "add", "ring", "--kind", "anthropic", "--base-url", srv.base_url),
        ("provider", "add", "old", "--kind", "openai", "--base-url", echo_srv.base_url + "/v1",
         "--key-env", "DESK_TEST_OLD_KEY"),
    )
    models = ("-m", "envp/gpt-4o-mini", "-m", "old/gpt-4o")
    set_key, first, load = run_all(
        ("provider", "set-key", "ring"),
        ("trial", *models, "--prompt", "Which customers churned?", "--json"),
        ("load", *models, "--prompt", "ping", "--requests", "3", "--concurrency", "3", "--max-retries", "0"),
        ok=False, stdin=KEY + "\n",
    )
    assert set_key.returncode == 0, set_key
    assert KEY in keyring_file.read_text()  # the keyring route really was taken
    assert first.returncode == 1, first
    assert load.returncode in (0, 1) and "Traceback" not in load.stderr, load
    by_model = {r["model"]: r for r in first.json_lines()}
    assert by_model["envp/gpt-4o-mini"]["status"] == "ok", first
    failed = by_model["old/gpt-4o"]
    assert failed["status"] == "error" and failed["http_status"] == 401, failed
    assert "[REDACTED]" in failed["error_message"], failed
    assert "Incorrect API key provided" in failed["error_message"]

    # Ratings and a preference, so every export has rows, the failed answer among them.
    rating = {"outcome": "success", "uncertainty": "confident_correct", "constraints": "na", "quality": 4}
    with open_store(db) as store:
        store.ratings.save(by_model["envp/gpt-4o-mini"]["response_id"], "ana", rating)
        store.ratings.save(failed["response_id"], "ana", {"outcome": "failure"})  # failed: its outcome alone
        store.ratings.save_preference(by_model["envp/gpt-4o-mini"]["response_id"], failed["response_id"], "a", "ana")
        stored = store.responses.get(failed["response_id"])
        assert stored.error_message == failed["error_message"]
        assert stored.attempts and all("[REDACTED]" in a.error_message for a in stored.attempts)

    formats = ["csv", "jsonl", "pairs"] + (["parquet"] if importlib.util.find_spec("pyarrow") else [])
    second, *rest = run_all(
        ("trial", "-m", "ring/claude-sonnet-4-5", *models, "--prompt", "And why?"),  # the table, with the error
        *[("export", "--format", fmt, "--out", str(scanned / f"export.{fmt}")) for fmt in formats],
        ("show", first.json_lines()[0]["trial_id"], "--json"),
        ("history", "--json"),
        ("provider", "list"),
        ok=False,
    )
    for r in rest:
        assert r.returncode == 0, r
    assert second.returncode == 1, second
    assert "ring/claude-sonnet-4-5  ok" in second.stdout, second
    assert "[REDACTED]" in second.stdout and "[REDACTED]" in second.stderr, second
    for fmt in formats:
        assert (scanned / f"export.{fmt}").stat().st_size > 0
    assert "[REDACTED]" in (scanned / "export.jsonl").read_text()

    # The vendors really got the keys (so a leak had something to leak): trials and load.
    auth = [r.headers.get("authorization") or r.headers.get("x-api-key") for r in srv.requests]
    assert set(auth) == {f"Bearer {KEY}", KEY} and len(auth) >= 2 + 3, auth
    assert {r.headers.get("authorization") for r in echo_srv.requests} == {f"Bearer {WRONG}"}
    assert len(echo_srv.requests) >= 2 + 3

    for r in runs:
        assert not leaks(r.out + r.err), r
    assert scan_tree(scanned) == {}


@pytest.fixture
def qloop(qapp):
    qasync = pytest.importorskip("qasync")
    loop = qasync.QEventLoop(qapp, already_running=False)
    asyncio.set_event_loop(loop)
    yield loop
    loop.close()
    asyncio.set_event_loop(None)


def test_window_keeps_the_key_off_disk_and_screen(srv, echo_srv, tmp_path, qtbot, qloop, monkeypatch):
    pytest.importorskip("PySide6")
    from PySide6.QtCore import QSettings
    from PySide6.QtWidgets import QLabel, QLineEdit, QPlainTextEdit, QTextEdit

    from desk.core.provider import ProviderConfig
    from desk.core.response import Status
    from desk.engine.session import Engine
    from desk.store.db import open_store
    from desk.ui.main_window import MainWindow
    from tests.ui.qt_helpers import run_until

    scanned = tmp_path / "scanned"
    scanned.mkdir()
    srv.api_key = KEY
    monkeypatch.setenv("DESK_TEST_GOOD_KEY", KEY)
    monkeypatch.setenv("DESK_TEST_OLD_KEY", WRONG)
    store = open_store(scanned / "gui.db")
    store.providers.add(ProviderConfig("envp", "openai", srv.base_url + "/v1", key_env="DESK_TEST_GOOD_KEY"))
    store.providers.add(ProviderConfig("old", "openai", echo_srv.base_url + "/v1", key_env="DESK_TEST_OLD_KEY"))
    store.providers.add_model("envp", "gpt-4o-mini")
    store.providers.add_model("old", "gpt-4o")
    engine = Engine(store)
    ini = scanned / "ui.ini"
    win = MainWindow(engine, QSettings(str(ini), QSettings.Format.IniFormat))
    qtbot.addWidget(win)
    win.show()
    try:
        win.compose.prompt.setPlainText("Which customers churned?")
        win.picker.set_checked({"envp/gpt-4o-mini", "old/gpt-4o"})
        win.send()
        run_until(qloop, lambda: win.current_trial_id is not None, timeout=20)
        statuses = {p.result.model: p.result.status for p in win.grid.panes}
        assert statuses == {"envp/gpt-4o-mini": Status.OK, "old/gpt-4o": Status.ERROR}
        shown = [w.text() for w in win.findChildren(QLabel) + win.findChildren(QLineEdit)]
        shown += [w.toPlainText() for w in win.findChildren(QPlainTextEdit) + win.findChildren(QTextEdit)]
        assert any("[REDACTED]" in s for s in shown)  # the 401 is on screen, key blanked
        assert not [s for s in shown if leaks(s.encode())]
        win.close()  # saves the window state to the ini
    finally:
        win.cancel()
        qloop.run_until_complete(engine.aclose())
        store.close()
    assert ini.is_file() and ini.stat().st_size > 0
    assert json.dumps(scan_tree(scanned)) == "{}"


# --- crash reports and logs -------------------------------------------------------------------


def _raise_with_key() -> tuple[type[BaseException], BaseException, object]:
    """An uncaught-looking exception whose message, cause and notes all hold the key."""
    try:
        try:
            raise ValueError(f"vendor said: Incorrect API key provided: {KEY}")
        except ValueError as cause:
            err = RuntimeError(f"request failed with headers {{'Authorization': 'Bearer {KEY}'}}")
            err.add_note(f"x-api-key: {KEY}")
            raise err from cause
    except RuntimeError as exc:
        return type(exc), exc, exc.__traceback__


def test_the_window_crash_dialog_shows_no_key(qapp, monkeypatch, capsys):
    pytest.importorskip("PySide6")
    from PySide6.QtWidgets import QMessageBox

    from desk.app import gui_excepthook

    shown: list[str] = []
    monkeypatch.setattr(QMessageBox, "exec", lambda box: shown.extend(
        [box.windowTitle(), box.text(), box.informativeText(), box.detailedText()]) or 0)
    gui_excepthook()(*_raise_with_key())
    printed = capsys.readouterr()
    assert shown and "RuntimeError" in shown[1] and "Traceback" in shown[3]  # still useful
    assert "ValueError" in shown[3] and "[REDACTED]" in shown[1] and "[REDACTED]" in shown[3]
    assert "Traceback" in printed.err and "[REDACTED]" in printed.err
    assert not leaks("\n".join([*shown, printed.out, printed.err]).encode())


CRASHING = f"""
import asyncio, gc, logging, sys, threading
import desk.app, desk.cli

KEY = {KEY!r}

def crashing_cli(argv, gui=None):
    log = logging.getLogger("desk.engine")
    log.warning("retrying with Authorization: Bearer %s", KEY)
    try:
        raise ValueError("vendor echoed " + KEY)
    except ValueError:
        log.exception("progress sink failed; the trial goes on")

    def worker():
        raise RuntimeError("worker saw x-api-key: " + KEY)
    t = threading.Thread(target=worker, name="keyring")
    t.start()
    t.join()

    async def boom():
        raise RuntimeError("task saw api_key=" + KEY)

    async def run():
        task = asyncio.get_running_loop().create_task(boom())
        await asyncio.sleep(0.01)
        del task
        gc.collect()  # asyncio logs "Task exception was never retrieved"

    asyncio.run(run())
    raise RuntimeError("crashed holding " + KEY)

desk.cli.main = crashing_cli
sys.exit(desk.app.main([]))
"""


def test_a_crash_and_the_logs_of_the_cli_show_no_key(tmp_path):
    """Everything desk's entry point prints on the way down: log lines with tracebacks, a
    worker thread's exception, an asyncio task's, and the final uncaught one."""
    import subprocess
    import sys

    proc = subprocess.run([sys.executable, "-c", CRASHING], capture_output=True, timeout=60,
                          cwd=Path(__file__).resolve().parent.parent, env=cli_env(tmp_path / "x.db"))
    err = proc.stderr.decode()
    assert proc.returncode == 1, err
    for seen in ("retrying with Authorization: Bearer [REDACTED]", "progress sink failed",
                 "Exception in thread keyring", "Task exception was never retrieved",
                 "RuntimeError: crashed holding [REDACTED]"):
        assert seen in err, err
    assert err.count("Traceback") >= 3, err
    assert not leaks(proc.stdout + proc.stderr), err
