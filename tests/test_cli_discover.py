"""`desk provider discover`, end to end: a real `desk` process against a loopback server."""

from __future__ import annotations

import pytest

from tests.cli_helpers import closed_port, desk, one_line_error
from tests.vendor_server import VendorServer

OLLAMA_MODELS = ["llama3.2:latest", "qwen2.5:0.5b"]


@pytest.fixture
def ollama():
    with VendorServer() as server:
        yield server


def test_discover_json_lists_the_server_and_its_models(tmp_path, ollama):
    db = tmp_path / "d.db"
    run = desk("provider", "discover", "--json", "--port", f"ollama={ollama.port}", db=db)
    assert run.returncode == 0, run
    assert run.json_lines() == [{
        "name": "ollama", "server": "Ollama", "kind": "ollama",
        "base_url": f"http://127.0.0.1:{ollama.port}", "models": OLLAMA_MODELS,
    }]
    assert desk("provider", "list", "--json", db=db).json_lines() == []  # looking adds nothing


def test_discover_text_and_add(tmp_path, ollama):
    db = tmp_path / "d.db"
    run = desk("provider", "discover", "--add", "--port", f"ollama={ollama.port}", db=db)
    assert run.returncode == 0, run
    lines = run.stdout.splitlines()
    assert lines[0] == f"Ollama at http://127.0.0.1:{ollama.port}: llama3.2:latest, qwen2.5:0.5b"
    assert lines[1].strip() == "added provider ollama (ollama) with 2 model(s)"
    listed = desk("provider", "list", "--json", db=db).json_lines()
    assert [(p["name"], p["kind"], p["base_url"], p["key_env"]) for p in listed] == [
        ("ollama", "ollama", f"http://127.0.0.1:{ollama.port}", None)]
    models = desk("provider", "models", "ollama", db=db)
    assert models.stdout.splitlines() == [f"ollama/{m}" for m in OLLAMA_MODELS]

    again = desk("provider", "discover", "--add", "--json", "--port", f"ollama={ollama.port}", db=db)
    assert again.returncode == 0, again
    assert [obj["added_as"] for obj in again.json_lines()] == ["ollama-2"]


def test_nothing_found_says_where_it_looked(tmp_path):
    port = closed_port()
    run = desk("provider", "discover", "--port", f"vllm={port}", db=tmp_path / "d.db")
    assert run.returncode == 0, run
    assert run.stdout == f"no local model servers found on 127.0.0.1 (vLLM {port})\n"
    quiet = desk("provider", "discover", "--json", "--port", f"vllm={port}", db=tmp_path / "d.db")
    assert (quiet.returncode, quiet.stdout) == (0, "")


@pytest.mark.parametrize("value", ["ollama", "nope=11434", "ollama=0", "ollama=x"])
def test_bad_port_option_is_one_line(tmp_path, value):
    run = desk("provider", "discover", "--port", value, db=tmp_path / "d.db")
    assert run.returncode == 2
    assert "--port" in one_line_error(run.stderr)
