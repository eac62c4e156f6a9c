"""The built-in model's health checks, without the model: a real loopback server answers
(or not) where the llama.cpp server would, and a real child process stands in for it."""

from __future__ import annotations

import asyncio
import subprocess
import sys

import pytest

from desk.engine import local_model
from desk.engine.local_model import LocalModelError, LocalServer
from tests.cli_helpers import closed_port
from tests.vendor_server import VendorServer


@pytest.fixture
def vendor():
    with VendorServer() as server:
        yield server


def _server(port: int, code: str, tmp_path) -> LocalServer:
    log = tmp_path / "server.log"
    log.write_text("loading model\nbad magic\n")
    process = subprocess.Popen([sys.executable, "-c", code])
    return LocalServer(port, process, log)


def test_answering_is_a_plain_yes_or_no(vendor):
    assert asyncio.run(local_model.answering(f"http://127.0.0.1:{vendor.port}/v1")) is True
    assert asyncio.run(local_model.answering(f"http://127.0.0.1:{closed_port()}/v1")) is False


def test_wait_ready_returns_once_the_server_lists_its_models(vendor, tmp_path):
    server = _server(vendor.port, "import time; time.sleep(60)", tmp_path)
    try:
        asyncio.run(local_model.wait_ready(server, timeout=10))
        assert server.alive()
    finally:
        server.stop()


def test_wait_ready_reports_a_server_that_exited_with_its_log(tmp_path):
    server = _server(closed_port(), "raise SystemExit(3)", tmp_path)
    server.process.wait()
    with pytest.raises(LocalModelError) as caught:
        asyncio.run(local_model.wait_ready(server, timeout=10))
    assert "exited (code 3)" in str(caught.value) and "bad magic" in str(caught.value)
