"""Helpers for the end-to-end CLI tests: run `python -m desk`, a file keyring, tiny files."""

from __future__ import annotations

import io
import json
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from keyring.backend import KeyringBackend

from tests.media import png

ROOT = Path(__file__).resolve().parents[1]
KEYRING_FILE_VAR = "DESK_TEST_KEYRING_FILE"
FILE_KEYRING = "tests.cli_helpers.FileKeyring"


@dataclass
class Run:
    """One finished `desk` process."""

    args: list[str]
    returncode: int
    out: bytes
    err: bytes

    @property
    def stdout(self) -> str:
        return self.out.decode("utf-8")

    @property
    def stderr(self) -> str:
        return self.err.decode("utf-8")

    def json_lines(self) -> list[dict[str, Any]]:
        return [json.loads(line) for line in self.stdout.splitlines() if line.strip()]

    def __str__(self) -> str:
        return f"desk {' '.join(self.args)} -> {self.returncode}\n--stdout--\n{self.stdout}--stderr--\n{self.stderr}"


class Cli:
    """`desk ...` in this process; returns (exit code, stdout, stderr)."""

    def __init__(self, capsys, monkeypatch):
        self.capsys, self.monkeypatch = capsys, monkeypatch

    def __call__(self, *argv: str, stdin: str | bytes | None = None) -> tuple[int, str, str]:
        from desk.cli import main  # not at import: child processes load this module for FileKeyring

        self.capsys.readouterr()
        if stdin is not None:
            raw = stdin.encode() if isinstance(stdin, str) else stdin
            self.monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(raw), encoding="utf-8"))
        try:
            code = main(list(argv))
        except SystemExit as exc:  # argparse
            code = exc.code
        out, err = self.capsys.readouterr()
        return code, out, err

    def ok(self, *argv: str, stdin: str | bytes | None = None) -> str:
        code, out, err = self(*argv, stdin=stdin)
        assert code == 0, f"desk {' '.join(argv)} -> {code}\n{out}{err}"
        return out

    def jsonl(self, *argv: str) -> list[dict]:
        return [json.loads(line) for line in self.ok(*argv).splitlines()]

    def fails(self, *argv: str, code: int = 2) -> str:
        """Run a command that must fail with one error line and print nothing; return the line."""
        got, out, err = self(*argv)
        assert got == code, f"desk {' '.join(argv)} -> {got}\n{out}{err}"
        assert out == ""
        return one_line_error(err)


def cli_env(db: Path | None = None, **extra: str) -> dict[str, str]:
    """The environment of a user's shell, pointed at a private store and no proxies."""
    env = {k: v for k, v in os.environ.items() if k.lower() not in ("http_proxy", "https_proxy", "all_proxy")}
    env["NO_PROXY"] = "*"
    env["PYTHONPATH"] = str(ROOT)  # lets PYTHON_KEYRING_BACKEND name the test keyring below
    env.pop("PYTHON_KEYRING_BACKEND", None)
    if db is not None:
        env["DESK_DB"] = str(db)
    env.update(extra)
    return env


def desk(*args: str, db: Path | None = None, stdin: str | bytes | None = None,
         env: dict[str, str] | None = None, timeout: float = 30) -> Run:
    """Run `python -m desk ARGS` as a user would, capturing bytes."""
    data = stdin.encode() if isinstance(stdin, str) else stdin
    proc = subprocess.run(
        [sys.executable, "-m", "desk", *args],
        input=data if data is not None else b"",
        capture_output=True,
        env=env if env is not None else cli_env(db),
        cwd=ROOT,
        timeout=timeout,
    )
    return Run(list(args), proc.returncode, proc.stdout, proc.stderr)


def one_line_error(text: str) -> str:
    """Assert stderr holds exactly one `desk: error:` line and no traceback; return it."""
    lines = [line for line in text.splitlines() if line.strip()]
    assert "Traceback" not in text, text
    assert len(lines) == 1, f"expected one line on stderr, got:\n{text}"
    assert lines[0].startswith("desk: error: "), lines[0]
    return lines[0]


def closed_port() -> int:
    """A loopback port nobody listens on (connection refused)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def tiny_png(width: int = 2, height: int = 3) -> bytes:
    return png(width, height)


class FileKeyring(KeyringBackend):
    """A keyring kept in a JSON file named by $DESK_TEST_KEYRING_FILE, for child processes.

    Selected with PYTHON_KEYRING_BACKEND=tests.cli_helpers.FileKeyring; the file lives
    next to (never inside) the test's database.
    """

    priority = 1  # type: ignore[assignment]

    @property
    def _path(self) -> Path:
        return Path(os.environ[KEYRING_FILE_VAR])

    def _load(self) -> dict[str, str]:
        try:
            return json.loads(self._path.read_text())
        except FileNotFoundError:
            return {}

    def get_password(self, service: str, username: str) -> str | None:
        return self._load().get(f"{service}\x1f{username}")

    def set_password(self, service: str, username: str, password: str) -> None:
        data = self._load()
        data[f"{service}\x1f{username}"] = password
        self._path.write_text(json.dumps(data))

    def delete_password(self, service: str, username: str) -> None:
        data = self._load()
        data.pop(f"{service}\x1f{username}", None)
        self._path.write_text(json.dumps(data))


def signal_when(proc: subprocess.Popen, ready: Callable[[], bool], describe: Callable[[], str],
                timeout: float, sig: int = signal.SIGKILL, poll_s: float = 0.02) -> None:
    """Send `sig` to `proc` as soon as `ready()`; fail the test if the process ends first or
    `ready()` never comes (`describe()` says how far it got). `ready()` reads what the process
    wrote (its store); pair it with what the vendor holds when the test counts requests."""
    deadline = time.monotonic() + timeout
    while not ready():
        if proc.poll() is not None:
            out, err = proc.communicate()
            pytest.fail(f"the process ended before the signal (rc {proc.returncode}):\n{out!r}\n{err!r}")
        if time.monotonic() > deadline:
            pytest.fail(f"not ready for the signal in time: {describe()}")
        time.sleep(poll_s)
    os.kill(proc.pid, sig)


def kill_when(proc: subprocess.Popen, ready: Callable[[], bool], describe: Callable[[], str],
              timeout: float, poll_s: float = 0.02) -> None:
    """SIGKILL `proc` (as a crash or a power cut would) as soon as `ready()` (see signal_when).
    Its pipes are closed either way."""
    try:
        signal_when(proc, ready, describe, timeout, signal.SIGKILL, poll_s)
        assert proc.wait(timeout=10) == -signal.SIGKILL
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(timeout=10)
        for stream in (proc.stdout, proc.stderr):
            if stream:
                stream.close()
