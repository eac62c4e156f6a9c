"""End-to-end tests of the headless CLI against the scripted loopback vendor server.

Most behaviour is checked the way users run it (`python -m desk ...` in a child process
with its own DESK_DB); argument variants and error cases run `desk.cli.main` in-process,
which is the same code path without the interpreter start-up.
"""

from __future__ import annotations

import base64
import json
import re
import secrets
import sqlite3
from pathlib import Path

import pytest

from desk.store.db import open_store
from tests.cli_helpers import (
    FILE_KEYRING,
    KEYRING_FILE_VAR,
    Cli,
    cli_env,
    closed_port,
    desk,
    one_line_error,
    tiny_png,
)
from tests.timing import SLACK_MS, SLACK_S
from tests.vendor_server import Script, VendorServer

RECORD_KEYS = {
    "trial_id", "response_id", "model", "status", "error_kind", "http_status", "ttft_ms", "total_ms",
    "input_tokens", "output_tokens", "output_tokens_per_s", "cost_usd", "retries", "text",
}
CLAUDE = "claude-sonnet-4-20250514"


# --- fixtures and in-process runner ---------------------------------------------------------


@pytest.fixture
def cli(capsys, monkeypatch) -> Cli:
    return Cli(capsys, monkeypatch)


def add_all(cli: Cli, base_url: str, *extra: str) -> None:
    """Providers oa/an/ge/ol, one per wire format, all on the loopback server."""
    cli.ok("provider", "add", "oa", "--kind", "openai", "--base-url", f"{base_url}/v1", *extra)
    cli.ok("provider", "add", "an", "--kind", "anthropic", "--base-url", base_url, *extra)
    cli.ok("provider", "add", "ge", "--kind", "gemini", "--base-url", base_url, *extra)
    cli.ok("provider", "add", "ol", "--kind", "ollama", "--base-url", base_url, *extra)


@pytest.fixture
def configured(cli, srv):
    add_all(cli, srv.base_url)
    return srv


def stored_trials(db: Path) -> list:
    if not db.exists():
        return []
    with open_store(db) as store:
        return store.trials.list()


# --- providers ------------------------------------------------------------------------------


def test_provider_add_list_remove(srv, db, cli):
    r = desk("provider", "add", "oa", "--kind", "openai", "--base-url", f"{srv.base_url}/v1/", db=db)
    assert r.returncode == 0, r
    assert "added provider oa" in r.stdout and r.stderr == ""  # loopback http: no warning
    cli.ok("provider", "add", "an", "--kind", "anthropic", "--base-url", srv.base_url, "--key-env", "AN_KEY")
    cli.ok("provider", "add", "ge", "--kind", "gemini", "--base-url", srv.base_url)
    cli.ok("provider", "add", "ol", "--kind", "ollama", "--base-url", srv.base_url)

    r = desk("provider", "list", "--json", db=db)
    assert r.returncode == 0, r
    listed = {p["name"]: p for p in r.json_lines()}
    assert set(listed) == {"oa", "an", "ge", "ol"}
    assert listed["oa"] == {"name": "oa", "kind": "openai", "base_url": f"{srv.base_url}/v1",
                            "key_env": None, "api_version": None}  # trailing slash dropped
    assert listed["an"]["kind"] == "anthropic" and listed["an"]["key_env"] == "AN_KEY"
    assert {p["kind"] for p in listed.values()} == {"openai", "anthropic", "gemini", "ollama"}

    plain = cli.ok("provider", "list")
    assert re.search(r"^an\s+anthropic\s+http://127\.0\.0\.1:\d+\s+\[key from \$AN_KEY\]$", plain, re.M), plain

    assert "removed provider ge" in cli.ok("provider", "remove", "ge")
    assert [p["name"] for p in cli.jsonl("provider", "list", "--json")] == ["an", "oa", "ol"]
    code, out, err = cli("provider", "remove", "ge")
    assert code == 2 and out == ""
    assert "no provider named 'ge'" in one_line_error(err)


def test_provider_list_empty_hints_how_to_add(cli):
    assert "desk provider add" in cli.ok("provider", "list")
    assert cli.ok("provider", "list", "--json") == ""


def test_duplicate_provider_is_one_line_exit_2(srv, db, cli):
    cli.ok("provider", "add", "oa", "--kind", "openai", "--base-url", srv.base_url)
    r = desk("provider", "add", "oa", "--kind", "ollama", "--base-url", srv.base_url, db=db)
    assert r.returncode == 2, r
    assert "provider oa already exists" in one_line_error(r.stderr)
    assert r.stdout == ""
    assert [p["kind"] for p in cli.jsonl("provider", "list", "--json")] == ["openai"]  # untouched


def test_bad_kind_is_an_argparse_error(srv, db):
    r = desk("provider", "add", "x", "--kind", "foo", "--base-url", srv.base_url, db=db)
    assert r.returncode == 2, r
    assert "invalid choice: 'foo'" in r.stderr and "usage:" in r.stderr
    assert "Traceback" not in r.stderr
    assert not db.exists()  # argparse stops before the store is opened


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["provider", "add", "a/b", "--kind", "openai"], "provider name 'a/b'"),
        (["provider", "add", "x", "--kind", "openai", "--base-url", "ftp://h"], "must start with http"),
    ],
)
def test_bad_provider_fields_are_one_line_errors(cli, argv, message):
    code, out, err = cli(*argv)
    assert code == 2 and out == ""
    assert message in one_line_error(err)
    assert cli.ok("provider", "list", "--json") == ""


def test_plain_http_to_another_host_warns(cli):
    code, out, err = cli("provider", "add", "lan", "--kind", "ollama", "--base-url", "http://192.0.2.1:11434")
    assert code == 0 and "added provider lan" in out
    assert err.startswith("desk: warning:") and "unencrypted" in err


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("oa", ["gpt-4o", "gpt-4o-mini", "o3-mini"]),
        ("an", ["claude-3-5-haiku-20241022", CLAUDE]),
        ("ge", ["gemini-2.0-flash", "gemini-2.5-pro"]),
        ("ol", ["llama3.2:latest", "qwen2.5:0.5b"]),
    ],
)
def test_provider_models_lists_the_servers_models(configured, cli, name, expected):
    assert cli.ok("provider", "models", name).splitlines() == [f"{name}/{m}" for m in expected]
    assert cli.jsonl("provider", "models", name, "--json") == [{"provider": name, "model": m} for m in expected]


def test_provider_test_as_subprocess(configured, db):
    r = desk("provider", "test", "an", db=db)
    assert r.returncode == 0, r
    assert re.fullmatch(r"an: ok \(\d+ ms\)\n", r.stdout), r.stdout
    assert r.stderr == ""
    assert configured.requests[-1].path == "/v1/models"


def test_provider_test_down_is_one_line_exit_1(db, cli):
    cli.ok("provider", "add", "down", "--kind", "openai", "--base-url", f"http://127.0.0.1:{closed_port()}/v1")
    r = desk("provider", "test", "down", db=db)
    assert r.returncode == 1, r
    assert r.stdout == ""
    line = one_line_error(r.stderr)
    assert line.startswith("desk: error: down: ") and "connect" in line


def test_provider_test_and_models_unknown_or_rejected(configured, cli):
    code, out, err = cli("provider", "test", "nope")
    assert code == 2 and "unknown provider 'nope'" in one_line_error(err)
    configured.api_key = "sk-the-right-one"
    code, out, err = cli("provider", "models", "oa")
    assert code == 1 and out == ""
    assert "oa:" in one_line_error(err) and "API key" in err


# --- prices ---------------------------------------------------------------------------------


def test_price_set_list_delete(configured, db, cli):
    r = desk("price", "set", "oa/gpt-4o-mini", "--input", "0.15", "--output", "0.6", "--cached-input", "0.075", db=db)
    assert r.returncode == 0, r
    assert r.stdout == "oa/gpt-4o-mini: input $0.15, output $0.6, cached input $0.075 per million tokens\n"
    cli.ok("price", "set", "an/my/model", "--input", "3", "--output", "15")  # model part may hold '/'
    cli.ok("price", "set", "oa/gpt-4o-mini", "--input", "0.2", "--output", "0.8", "--cached-input", "0.1")

    r = desk("price", "list", "--json", db=db)
    assert r.returncode == 0, r
    assert sorted(r.json_lines(), key=lambda p: p["model"]) == [
        {"model": "an/my/model", "input": 3.0, "output": 15.0, "cached_input": None},
        {"model": "oa/gpt-4o-mini", "input": 0.2, "output": 0.8, "cached_input": 0.1},
    ]
    assert "deleted your price for an/my/model" in cli.ok("price", "delete", "an/my/model")
    assert [p["model"] for p in cli.jsonl("price", "list", "--json")] == ["oa/gpt-4o-mini"]
    code, _, err = cli("price", "delete", "an/my/model")
    assert code == 2 and "no price set for an/my/model" in one_line_error(err)


def test_price_for_unknown_provider_is_refused(configured, cli):
    code, out, err = cli("price", "set", "nope/m", "--input", "1", "--output", "2")
    assert code == 2 and out == ""
    assert "unknown provider 'nope'" in one_line_error(err)
    code, out, err = cli("price", "set", "no-slash", "--input", "1", "--output", "2")
    assert code == 2 and "PROVIDER/MODEL" in one_line_error(err)
    assert cli.ok("price", "list", "--json") == ""


@pytest.mark.parametrize("flag", ["--input", "--output", "--cached-input"])
def test_negative_or_non_numeric_price_is_refused(configured, cli, flag):
    args = {"--input": "1", "--output": "2", "--cached-input": "0.5"}
    code, _, err = cli("price", "set", "oa/m", *[x for k, v in {**args, flag: "-0.01"}.items() for x in (k, v)])
    assert code == 2 and "prices cannot be negative" in err
    code, _, err = cli("price", "set", "oa/m", *[x for k, v in {**args, flag: "cheap"}.items() for x in (k, v)])
    assert code == 2 and "'cheap' is not a number" in err
    assert cli.ok("price", "list", "--json") == ""


def test_negative_price_as_subprocess(configured, db):
    r = desk("price", "set", "oa/m", "--input", "-1", "--output", "2", db=db)
    assert r.returncode == 2, r
    assert "prices cannot be negative" in r.stderr and "Traceback" not in r.stderr


# --- trials ---------------------------------------------------------------------------------


def test_trial_json_records_text_tokens_and_costs(configured, db, cli):
    srv = configured
    srv.set_default("gpt-4o-mini", Script(
        text_pieces=["Fast ", "and ", "cheap ", "✓"], interval_ms=10,
        usage={"input_tokens": 1000, "output_tokens": 200, "cached_input_tokens": 400}))
    srv.set_default(CLAUDE, Script(text_pieces=["Bonjour", " à ", "vous"],
                                   usage={"input_tokens": 21, "output_tokens": 3}))
    srv.set_default("llama3.2", Script(text_pieces=["local"], usage={"input_tokens": 5, "output_tokens": 1}))
    cli.ok("price", "set", "oa/gpt-4o-mini", "--input", "0.15", "--output", "0.6", "--cached-input", "0.075")

    r = desk("trial", "-m", "oa/gpt-4o-mini", "--model", f"an/{CLAUDE}", "-m", "ol/llama3.2",
             "--prompt", "Say hi", "--json", db=db)
    assert r.returncode == 0, r
    assert r.stderr == ""
    records = r.json_lines()
    assert [x["model"] for x in records] == ["oa/gpt-4o-mini", f"an/{CLAUDE}", "ol/llama3.2"]
    for rec in records:
        assert RECORD_KEYS <= rec.keys()
        assert rec["status"] == "ok" and rec["error_kind"] is None and rec["http_status"] == 200
        assert rec["retries"] == 0
        assert 0 < rec["ttft_ms"] <= rec["total_ms"] < 10_000
    assert len({x["trial_id"] for x in records}) == 1
    assert len({x["response_id"] for x in records}) == 3

    oa, an, ol = records
    assert oa["text"] == "Fast and cheap ✓"
    assert (oa["input_tokens"], oa["output_tokens"], oa["cached_input_tokens"]) == (1000, 200, 400)
    # (600 uncached x 0.15 + 400 cached x 0.075 + 200 out x 0.6) / 1e6
    assert oa["cost_usd"] == pytest.approx((600 * 0.15 + 400 * 0.075 + 200 * 0.6) / 1e6, rel=1e-9)
    assert oa["price_source"] == "user"
    # 4 pieces 10 ms apart: 199 tokens after the first over ~30 ms. A busy machine that read
    # late gets them closer together (no upper bound), or in one read: then there is no rate.
    tps = oa["output_tokens_per_s"]
    assert tps is None or 199 / (0.03 + SLACK_S) < tps

    assert an["text"] == "Bonjour à vous" and (an["input_tokens"], an["output_tokens"]) == (21, 3)
    assert ol["text"] == "local" and (ol["input_tokens"], ol["output_tokens"]) == (5, 1)
    assert ol["cost_usd"] is None and ol["price_source"] is None  # no price: unknown, never $0

    sent = {rec.model: rec for rec in srv.requests if rec.method == "POST"}
    assert set(sent) == {"gpt-4o-mini", CLAUDE, "llama3.2"}
    assert sent["gpt-4o-mini"].json["messages"] == [{"role": "user", "content": "Say hi"}]
    assert sent["gpt-4o-mini"].json["stream"] is True


def test_no_price_and_no_usage_give_null_not_zero(configured, cli):
    configured.set_default("unpriced-model", Script(text_pieces=["a"]))
    configured.set_default("quiet-model", Script(text_pieces=["b"], usage=None))
    cli.ok("price", "set", "oa/quiet-model", "--input", "1", "--output", "1")
    unpriced, quiet = cli.jsonl("trial", "-m", "oa/unpriced-model", "-m", "oa/quiet-model", "-p", "x", "--json")
    assert unpriced["status"] == "ok" and unpriced["input_tokens"] == 12 and unpriced["output_tokens"] == 4
    assert unpriced["cost_usd"] is None and unpriced["cost_note"] == "no price"
    assert quiet["status"] == "ok" and quiet["text"] == "b"
    assert quiet["input_tokens"] is None and quiet["output_tokens"] is None
    assert quiet["cost_usd"] is None and quiet["cost_note"] == "no usage reported"
    assert quiet["output_tokens_per_s"] is None


def test_no_usage_on_every_wire_format(configured, cli):
    configured.default_script = Script(usage=None)
    models = ["oa/m", f"an/{CLAUDE}", "ge/gemini-2.0-flash", "ol/llama3.2"]
    records = cli.jsonl("trial", *[x for m in models for x in ("-m", m)], "-p", "x", "--json")
    for rec in records:
        assert rec["status"] == "ok" and rec["text"] == "Hello, world.", rec
        assert rec["output_tokens"] is None and rec["cost_usd"] is None, rec


def test_trial_sends_prompt_file_system_attachments_and_settings(configured, db, tmp_path, cli):
    srv = configured
    prompt = tmp_path / "prompt.txt"
    prompt.write_text("Summarise the table.\nBe brief.", encoding="utf-8")
    csv_text = 'name,note\r\n"Doe, Jane","said ""hi"""\r\nZoë,  trailing  \r\n\t,\r\n'
    csv = tmp_path / "data.csv"
    csv.write_bytes(csv_text.encode("utf-8"))
    png_bytes = tiny_png(3, 2)
    png = tmp_path / "pixel.png"
    png.write_bytes(png_bytes)

    r = desk("trial", "-m", "oa/gpt-4o-mini", "--prompt-file", str(prompt), "--system", "You are terse.",
             "--attach", str(csv), "-a", str(png), "--temperature", "0.3", "--max-tokens", "50",
             "--json", db=db)
    assert r.returncode == 0, r
    (rec,) = r.json_lines()
    assert rec["status"] == "ok"
    assert rec["settings"] == {"temperature": 0.3, "max_tokens": 50, "reasoning_effort": None}

    body = srv.requests[-1].json
    assert body["temperature"] == 0.3 and body["max_tokens"] == 50
    system, user = body["messages"]
    assert system == {"role": "system", "content": "You are terse."}
    parts = user["content"]
    assert [p["type"] for p in parts] == ["text", "image_url", "text"]
    assert parts[0]["text"] == f'<file name="data.csv">\n{csv_text}\n</file>'  # verbatim, CRLFs and all
    assert parts[1]["image_url"]["url"] == "data:image/png;base64," + base64.b64encode(png_bytes).decode()
    assert parts[2]["text"] == "Summarise the table.\nBe brief."

    # the same material is stored with the trial
    shown = cli.ok("show", rec["trial_id"])
    assert "prompt: Summarise the table." in shown and "system: You are terse." in shown
    assert f"attachment: data.csv (data, {len(csv_text.encode())} bytes)" in shown
    assert f"attachment: pixel.png (image, {len(png_bytes)} bytes)" in shown
    (again,) = cli.jsonl("show", rec["trial_id"], "--json")
    assert again["settings"] == rec["settings"]


def test_attachments_reach_anthropic_and_gemini(configured, tmp_path, cli):
    csv_text = "a;b\n1;2\n"
    (tmp_path / "t.csv").write_text(csv_text)
    png_bytes = tiny_png()
    (tmp_path / "p.png").write_bytes(png_bytes)
    b64 = base64.b64encode(png_bytes).decode()
    cli.ok("trial", "-m", f"an/{CLAUDE}", "-m", "ge/gemini-2.0-flash", "-p", "look", "--system", "sys",
           "-a", str(tmp_path / "t.csv"), "-a", str(tmp_path / "p.png"), "--max-tokens", "50", "--json")
    by_proto = {rec.protocol: rec.json for rec in configured.requests}
    an = by_proto["anthropic"]
    assert an["system"] == "sys" and an["max_tokens"] == 50
    blocks = an["messages"][0]["content"]
    assert blocks[0] == {"type": "text", "text": f'<file name="t.csv">\n{csv_text}\n</file>'}
    assert blocks[1]["source"] == {"type": "base64", "media_type": "image/png", "data": b64}
    assert blocks[2] == {"type": "text", "text": "look"}
    gem = json.dumps(by_proto["gemini"])
    assert json.dumps(f'<file name="t.csv">\n{csv_text}\n</file>') in gem and b64 in gem


def test_prompt_from_stdin(configured, cli):
    (rec,) = [json.loads(x) for x in cli.ok("trial", "-m", "oa/m", "--prompt-file", "-", "--json",
                                            stdin="from a pipe ✓\n").splitlines()]
    assert rec["status"] == "ok"
    assert configured.requests[-1].json["messages"][-1]["content"] == "from a pipe ✓\n"


def test_trial_table_output(configured, db, cli):
    configured.set_default("gpt-4o-mini", Script(text_pieces=["The answer", " is 42."]))
    configured.set_default(CLAUDE, Script(text_pieces=["Forty-two."], usage={"input_tokens": 7, "output_tokens": 3}))
    cli.ok("price", "set", "oa/gpt-4o-mini", "--input", "1000", "--output", "1000")
    r = desk("trial", "-m", "oa/gpt-4o-mini", "-m", f"an/{CLAUDE}", "-p", "What is the answer?", db=db)
    assert r.returncode == 0, r
    assert r.stderr == ""  # no progress line when stderr is not a terminal
    lines = r.stdout.splitlines()
    assert re.fullmatch(r"trial [0-9A-Z]{26}", lines[0])
    header = lines[1].split()
    for column in ("model", "status", "TTFT", "total", "tokens", "cost"):
        assert column in header, lines[1]
    assert set(lines[2].replace(" ", "")) == {"-"}
    oa_row = next(line for line in lines if line.startswith("oa/gpt-4o-mini "))
    assert re.search(r"\bok\b", oa_row) and re.search(r"\d+ ms", oa_row)
    assert "12/4" in oa_row and "$0.016000" in oa_row  # 16 tokens x $1000 per million
    an_row = next(line for line in lines if line.startswith(f"an/{CLAUDE} "))
    assert "7/3" in an_row
    text = r.stdout
    assert "=== oa/gpt-4o-mini (ok) ===\nThe answer is 42.\n" in text
    assert f"=== an/{CLAUDE} (ok) ===\nForty-two.\n" in text


def test_table_marks_missing_price_and_usage(configured, cli):
    configured.set_default("quiet", Script(usage=None))
    out = cli.ok("trial", "-m", "oa/plain", "-m", "oa/quiet", "-p", "x")
    plain_row = next(line for line in out.splitlines() if line.startswith("oa/plain "))
    quiet_row = next(line for line in out.splitlines() if line.startswith("oa/quiet "))
    assert "no price" in plain_row and "$" not in plain_row
    assert "?/?" in quiet_row and "$" not in quiet_row


# --- trial errors: one clear line, non-zero exit, nothing stored or sent ---------------------


def _attach_error_files(tmp_path: Path) -> dict[str, Path]:
    (tmp_path / "blob.csv").write_bytes(b"id,value\n1,\x00\x01\x02\x00\xff\xfe binary\x00\x00 stuff")
    (tmp_path / "empty.txt").write_bytes(b"")
    (tmp_path / "fake.png").write_bytes(b"PK\x03\x04 this is a zip")
    (tmp_path / "folder").mkdir()
    big = tmp_path / "big.txt"
    with big.open("wb") as f:
        f.truncate(10 * 1024 * 1024 + 1)  # sparse: cheap to make; all NULs but too big first
    return {"blob": tmp_path / "blob.csv", "empty": tmp_path / "empty.txt", "fake": tmp_path / "fake.png",
            "folder": tmp_path / "folder", "big": big, "missing": tmp_path / "nope.csv"}


TRIAL_ERRORS = [
    (["-m", "nope/gpt-4o", "-p", "hi"], "unknown provider 'nope'"),
    (["-m", "oa/m", "-m", "nope/m", "-p", "hi"], "unknown provider 'nope'"),
    (["-m", "gpt-4o", "-p", "hi"], "must be written PROVIDER/MODEL"),
    (["-m", "oa/", "-p", "hi"], "must be written PROVIDER/MODEL"),
    (["-m", "oa/m", "-m", "oa/m", "-p", "hi"], "the same model is listed twice"),
    (["-m", "oa/m", "-p", "   "], "the prompt is empty"),
    (["-m", "oa/m", "-p", "hi", "--temperature", "2.5"], "temperature must be between 0 and 2"),
    (["-m", "oa/m", "-p", "hi", "--max-tokens", "0"], "max tokens must be at least 1"),
    (["-m", "oa/m", "-p", "hi", "--max-retries", "-1"], "max retries cannot be negative"),
    (["-m", "oa/m", "-p", "hi", "--total-timeout", "0"], "timeout must be positive"),
    (["-m", "oa/m", "--prompt-file", "{missing}"], "cannot read the prompt file"),
    (["-m", "oa/m", "--prompt-file", "{blob}"], "looks like a binary file"),
    (["-m", "oa/m", "-p", "hi", "--system-file", "{missing}"], "cannot read the system prompt file"),
    (["-m", "oa/m", "-p", "hi", "-a", "{missing}"], "nope.csv: no such file"),
    (["-m", "oa/m", "-p", "hi", "-a", "{folder}"], "folder: is a folder"),
    (["-m", "oa/m", "-p", "hi", "-a", "{blob}"], "blob.csv: contains NUL bytes"),
    (["-m", "oa/m", "-p", "hi", "-a", "{empty}"], "empty.txt: file is empty"),
    (["-m", "oa/m", "-p", "hi", "-a", "{fake}"], "fake.png: not a readable image"),
    (["-m", "oa/m", "-p", "hi", "-a", "{big}"], "larger than the 10.0 MiB limit"),
]


@pytest.mark.parametrize(("argv", "message"), TRIAL_ERRORS, ids=[m for _, m in TRIAL_ERRORS])
def test_trial_argument_errors(configured, db, tmp_path, cli, argv, message):
    files = _attach_error_files(tmp_path)
    argv = [a.format(**{k: str(v) for k, v in files.items()}) for a in argv]
    code, out, err = cli("trial", *argv, "--json")
    assert code == 2, (out, err)
    assert out == ""
    assert message in one_line_error(err)
    assert configured.requests == []  # nothing sent...
    assert stored_trials(db) == []  # ...and nothing stored


@pytest.mark.parametrize(
    "argv",
    [["-m", "oa/m"], ["-p", "hi"], ["-m", "oa/m", "-p", "a", "--prompt-file", "f"],
     ["-m", "oa/m", "-p", "hi", "--temperature", "warm"]],
    ids=["no prompt", "no model", "two prompts", "bad number"],
)
def test_trial_usage_errors(configured, db, cli, argv):
    code, out, err = cli("trial", *argv)
    assert code == 2 and out == "" and "usage: desk trial" in err
    assert configured.requests == [] and stored_trials(db) == []


def test_trial_errors_as_subprocess(configured, db, tmp_path):
    r = desk("trial", "-m", "nope/gpt-4o", "-p", "hi", "--json", db=db)
    assert r.returncode == 2, r
    assert r.stdout == ""
    assert "unknown provider 'nope' (configured: an, ge, oa, ol)" in one_line_error(r.stderr)
    blob = tmp_path / "blob.bin"
    blob.write_bytes(bytes(range(256)) * 4)
    r = desk("trial", "-m", "oa/m", "-p", "hi", "-a", str(blob), db=db)
    assert r.returncode == 2, r
    assert "blob.bin" in one_line_error(r.stderr) and "binary" in r.stderr
    r = desk("trial", "-m", "oa/m", db=db)
    assert r.returncode == 2 and "one of the arguments --prompt/-p --prompt-file is required" in r.stderr
    assert configured.requests == [] and stored_trials(db) == []


def test_trial_against_a_down_provider(configured, db, cli):
    cli.ok("provider", "add", "down", "--kind", "openai", "--base-url", f"http://127.0.0.1:{closed_port()}/v1")
    r = desk("trial", "-m", "down/gpt-4o", "-m", "oa/gpt-4o-mini", "-p", "hi", "--json",
             "--max-retries", "0", db=db)
    assert r.returncode == 1, r
    down, ok = r.json_lines()
    assert down["model"] == "down/gpt-4o"
    assert down["status"] == "error" and down["error_kind"] == "connection"
    assert down["http_status"] is None and down["text"] == "" and down["ttft_ms"] is None
    assert down["cost_usd"] is None and down["retries"] == 0
    assert ok["status"] == "ok" and ok["text"] == "Hello, world."  # the other model is unaffected
    line = one_line_error(r.stderr)
    assert line.startswith("desk: error: down/gpt-4o failed: connection: ") and "refused" in line.lower()
    # the failure is recorded too
    assert [rec["status"] for rec in cli.jsonl("show", down["trial_id"], "--json")] == ["error", "ok"]


def test_trial_vendor_error_is_reported(configured, cli):
    configured.set_default("m", Script(status=400, error_message="messages: too long"))
    code, out, err = cli("trial", "-m", "oa/m", "-p", "hi", "--json")
    assert code == 1
    (rec,) = [json.loads(x) for x in out.splitlines()]
    assert rec["status"] == "error" and rec["http_status"] == 400 and rec["retries"] == 0
    assert "messages: too long" in rec["error_message"]
    assert "messages: too long" in one_line_error(err)


def test_multi_line_vendor_error_stays_one_line(configured, cli):
    configured.set_default("m", Script(status=500, error_message="first line\nsecond line\r\n\n  third"))
    code, out, err = cli("trial", "-m", "oa/m", "-p", "hi", "--max-retries", "0")
    assert code == 1 and "=== oa/m (error) ===" in out
    line = one_line_error(err)
    assert "first line second line third" in line


def test_output_that_cannot_encode_the_answer(configured, db):
    """A non-UTF-8 stdout (a cp1252 redirect on Windows, PYTHONIOENCODING=ascii) must not
    turn a finished, stored trial into a crash or a usage error."""
    configured.default_script = Script(text_pieces=["✓ é ", "中 😀"])
    env = cli_env(db, PYTHONIOENCODING="ascii")
    r = desk("trial", "-m", "oa/m", "-p", "naïve ✓", "--json", env=env)
    assert r.returncode == 0, r
    (rec,) = r.json_lines()
    assert r.out.isascii() and rec["text"] == "✓ é 中 😀"  # escaped: exact, still valid JSON
    r = desk("show", rec["trial_id"], env=env)
    assert r.returncode == 0, r
    assert "\\u2713" in r.stdout and r.stderr == ""


def test_rate_limited_then_ok_is_retried(configured, db):
    configured.enqueue("gpt-4o-mini", Script(status=429, headers={"Retry-After": "1"}))
    r = desk("trial", "-m", "oa/gpt-4o-mini", "-p", "hi", "--json", db=db)
    assert r.returncode == 0, r
    (rec,) = r.json_lines()
    assert rec["status"] == "ok" and rec["error_kind"] is None and rec["http_status"] == 200
    assert rec["retries"] == 1 and rec["attempts"] == 2
    assert 950 <= rec["retry_wait_ms"] <= 2000
    assert rec["text"] == "Hello, world."
    assert rec["ttft_ms"] < 1000  # the wait is not charged to the answer's own timing
    assert [x.status for x in configured.requests] == [429, 200]


# --- the store: --db, history, show ---------------------------------------------------------


def test_db_that_is_not_a_database(tmp_path, configured):
    junk = tmp_path / "notes.db"
    junk.write_bytes(b"these are my notes, not SQLite\n" * 100)
    before = junk.read_bytes()
    r = desk("--db", str(junk), "provider", "list")
    assert r.returncode == 1, r
    assert r.stdout == ""
    assert f"{junk} is not a desk database" in one_line_error(r.stderr)
    assert junk.read_bytes() == before  # left exactly as it was
    assert not Path(f"{junk}-wal").exists()


def test_db_of_another_program_is_refused(tmp_path, cli):
    other = tmp_path / "other.sqlite"
    with sqlite3.connect(other) as conn:
        conn.execute("CREATE TABLE contacts (name TEXT)")
    conn.close()
    for argv in (["history"], ["trial", "-m", "oa/m", "-p", "hi"], ["provider", "add", "x", "--kind", "openai"]):
        code, out, err = cli("--db", str(other), *argv)
        assert code == 1 and out == ""
        assert "is not a desk database (it holds other tables)" in one_line_error(err)
    with sqlite3.connect(other) as conn:
        assert [r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type='table'")] == ["contacts"]
    conn.close()


def test_db_that_is_a_folder(tmp_path, cli):
    code, _, err = cli("history", "--db", str(tmp_path))
    assert code == 1 and "cannot open" in one_line_error(err)


def test_db_flag_before_and_after_as_subprocess(tmp_path, srv, cli):
    decoy = tmp_path / "decoy" / "desk.db"
    chosen = tmp_path / "chosen.db"
    env = cli_env(decoy)
    cli.ok("--db", str(chosen), "provider", "add", "oa", "--kind", "openai", "--base-url", srv.base_url)
    for argv in (["--db", str(chosen), "provider", "list", "--json"], ["provider", "list", "--json", "--db", str(chosen)]):
        r = desk(*argv, env=env)
        assert r.returncode == 0, r
        assert [p["name"] for p in r.json_lines()] == ["oa"]
    assert not decoy.parent.exists()


@pytest.mark.parametrize("position", ["before", "after"])
def test_db_flag_works_on_every_command(tmp_path, srv, cli, monkeypatch, position):
    decoy = tmp_path / "decoy" / "desk.db"
    monkeypatch.setenv("DESK_DB", str(decoy))
    chosen = tmp_path / "elsewhere" / "mine.db"

    def run(*argv: str, stdin: str | None = None) -> str:
        where = ["--db", str(chosen)]
        # `desk --db X provider list` and `desk provider list --db X`
        return cli.ok(*(where + list(argv) if position == "before" else list(argv) + where), stdin=stdin)

    run("provider", "add", "oa", "--kind", "openai", "--base-url", f"{srv.base_url}/v1")
    run("provider", "add", "tmp", "--kind", "ollama", "--base-url", srv.base_url)
    assert "stored the key" in run("provider", "set-key", "tmp", stdin="k\n")
    assert [p["name"] for p in map(json.loads, run("provider", "list", "--json").splitlines())] == ["oa", "tmp"]
    assert "oa/gpt-4o" in run("provider", "models", "oa").split()
    assert "oa: ok" in run("provider", "test", "oa")
    run("price", "set", "oa/gpt-4o", "--input", "1", "--output", "1")
    assert "oa/gpt-4o" in run("price", "list", "--json")
    (rec,) = map(json.loads, run("trial", "-m", "oa/gpt-4o", "-p", "where am I", "--json").splitlines())
    assert rec["price_source"] == "user"
    assert rec["trial_id"] in run("history")
    assert rec["trial_id"] in run("history", "--json")
    assert json.loads(run("show", rec["trial_id"], "--json"))["response_id"] == rec["response_id"]
    run("price", "delete", "oa/gpt-4o")
    run("provider", "remove", "tmp")
    assert not decoy.parent.exists()  # $DESK_DB was never touched
    with open_store(chosen) as store:
        assert [p.name for p in store.providers.all()] == ["oa"]
        assert [t.id for t in store.trials.list()] == [rec["trial_id"]]


def test_history_newest_first_search_and_show(configured, db, cli):
    ids = []
    for prompt in ("alpha apples", "beta bananas", "gamma apples"):
        (rec,) = cli.jsonl("trial", "-m", "oa/gpt-4o-mini", "-p", prompt, "--json")
        ids.append(rec["trial_id"])

    r = desk("history", "--json", db=db)
    assert r.returncode == 0, r
    rows = r.json_lines()
    assert [x["trial_id"] for x in rows] == ids[::-1]
    assert [x["prompt"] for x in rows] == ["gamma apples", "beta bananas", "alpha apples"]
    assert rows[0]["models"] == ["oa/gpt-4o-mini"] and rows[0]["n_responses"] == 1
    assert rows[0]["created_at"] >= rows[1]["created_at"] >= rows[2]["created_at"]

    assert [x["trial_id"] for x in cli.jsonl("history", "--json", "--search", "apples")] == [ids[2], ids[0]]
    assert [x["trial_id"] for x in cli.jsonl("history", "--json", "--search", "nan")] == [ids[1]]
    assert cli.jsonl("history", "--json", "--search", "cherries") == []
    assert [x["trial_id"] for x in cli.jsonl("history", "--json", "--limit", "1")] == [ids[2]]

    plain = cli.ok("history").splitlines()
    assert [line.split()[0] for line in plain] == ids[::-1]
    assert plain[0].endswith("  gamma apples · gpt-4o-mini")


def test_show_reprints_the_stored_responses(configured, db, cli):
    configured.set_default("gpt-4o-mini", Script(text_pieces=["one ", "two"], interval_ms=5))
    cli.ok("price", "set", "oa/gpt-4o-mini", "--input", "2", "--output", "3")
    first = cli.jsonl("trial", "-m", "oa/gpt-4o-mini", "-m", f"an/{CLAUDE}", "-p", "show me", "--json")
    r = desk("show", first[0]["trial_id"], "--json", db=db)
    assert r.returncode == 0, r
    shown = r.json_lines()
    assert shown == first  # every field survives the round trip through the store

    text = cli.ok("show", first[0]["trial_id"])
    assert text.startswith("prompt: show me\n")
    assert "=== oa/gpt-4o-mini (ok) ===\none two\n" in text


def test_show_unknown_trial(configured, db, cli):
    r = desk("show", "01NOSUCHTRIAL0000000000000", "--json", db=db)
    assert r.returncode == 2, r
    assert r.stdout == ""
    assert "no trial '01NOSUCHTRIAL0000000000000'" in one_line_error(r.stderr)


# --- API keys never reach the database or the output ----------------------------------------


def _scan_for(secret: str, *blobs: bytes) -> list[int]:
    return [i for i, blob in enumerate(blobs) if secret.encode() in blob]


def test_api_keys_never_stored_or_printed(tmp_path, srv, cli):
    env_key = "sk-env-" + secrets.token_hex(16)
    ring_key = "sk-ring-" + secrets.token_hex(16)
    stdin_key = "AIza-stdin-" + secrets.token_hex(16)
    srv.api_key = env_key
    with VendorServer() as other:
        other.api_key = ring_key
        with VendorServer() as third:
            third.api_key = stdin_key
            db = tmp_path / "store" / "desk.db"
            keyring_file = tmp_path / "keyring.json"
            env = cli_env(db, PYTHON_KEYRING_BACKEND=FILE_KEYRING, DESK_TEST_KEY=env_key,
                          **{KEYRING_FILE_VAR: str(keyring_file)})
            cli.ok("--db", str(db), "provider", "add", "envp", "--kind", "openai",
                   "--base-url", f"{srv.base_url}/v1", "--key-env", "DESK_TEST_KEY")
            cli.ok("--db", str(db), "provider", "add", "ringp", "--kind", "anthropic", "--base-url", other.base_url)
            runs = [
                desk("provider", "set-key", "ringp", stdin=ring_key + "\n", env=env),
                desk("provider", "add", "stdinp", "--kind", "gemini", "--base-url", third.base_url,
                     "--key-stdin", stdin=stdin_key + "\n", env=env),
                desk("trial", "-m", "envp/gpt-4o-mini", "-m", f"ringp/{CLAUDE}", "-m", "stdinp/gemini-2.0-flash",
                     "-p", "keys?", "--json", env=env),
            ]
            for r in runs:
                assert r.returncode == 0, r
            records = runs[-1].json_lines()
            assert [x["status"] for x in records] == ["ok", "ok", "ok"], records  # every key was sent
            assert other.requests[-1].headers["x-api-key"] == ring_key
            assert third.requests[-1].headers["x-goog-api-key"] == stdin_key
            assert srv.requests[-1].headers["authorization"] == f"Bearer {env_key}"

            # a wrong key: the vendor's complaint is shown, the key itself is not
            srv.api_key = "sk-something-else"
            runs.append(desk("trial", "-m", "envp/gpt-4o-mini", "-p", "again", "--json", env=env))
            assert runs[-1].returncode == 1
            assert runs[-1].json_lines()[0]["error_kind"] == "auth"

    assert json.loads(keyring_file.read_text()) == {"desk\x1fringp": ring_key, "desk\x1fstdinp": stdin_key}
    store_files = sorted(p for p in db.parent.iterdir())  # desk.db and any -wal / -shm / journal
    assert db in store_files
    blobs = [p.read_bytes() for p in store_files] + [b for r in runs for b in (r.out, r.err)]
    for key in (env_key, ring_key, stdin_key):
        assert _scan_for(key, *blobs) == [], f"{key} leaked"
        assert _scan_for(key[-20:], *blobs) == [], f"part of {key} leaked"
    # ...while the store still knows where each key comes from
    with open_store(db) as store:
        assert store.providers.get("envp").key_env == "DESK_TEST_KEY"
        wal = Path(f"{db}-wal")
        if wal.exists():
            for key in (env_key, ring_key, stdin_key):
                assert key.encode() not in wal.read_bytes()


def test_in_process_set_key_goes_to_the_keyring(configured, db, cli):
    import keyring

    key = "sk-" + secrets.token_hex(20)
    assert "stored the key for oa" in cli.ok("provider", "set-key", "oa", stdin=f"  {key}  \n")
    assert keyring.get_password("desk", "oa") == key
    configured.api_key = key
    (rec,) = cli.jsonl("trial", "-m", "oa/gpt-4o-mini", "-p", "hi", "--json")
    assert rec["status"] == "ok"
    code, _, err = cli("provider", "set-key", "oa", stdin="\n")
    assert code == 2 and "no key given" in one_line_error(err)
    code, _, err = cli("provider", "set-key", "nope", stdin="k\n")
    assert code == 2 and "no provider named 'nope'" in one_line_error(err)
    cli.ok("provider", "remove", "oa")
    assert keyring.get_password("desk", "oa") is None  # removing a provider forgets its key
    for path in (db, Path(f"{db}-wal")):
        if path.exists():
            assert key.encode() not in path.read_bytes()


def test_no_usable_keyring_is_one_line_not_a_traceback(db, srv, cli):
    env = cli_env(db, PYTHON_KEYRING_BACKEND="keyring.backends.fail.Keyring")
    cli.ok("provider", "add", "oa", "--kind", "openai", "--base-url", srv.base_url)
    r = desk("provider", "set-key", "oa", stdin="sk-secret-123\n", env=env)
    assert r.returncode == 1, r
    assert "cannot store the key in the OS keyring" in one_line_error(r.stderr)
    assert "--key-env" in r.stderr and "sk-secret-123" not in r.stderr
    r = desk("provider", "add", "o2", "--kind", "openai", "--base-url", srv.base_url, "--key-stdin",
             stdin="sk-secret-456\n", env=env)
    assert r.returncode == 1, r
    assert "cannot store the key" in one_line_error(r.stderr)
    assert [p["name"] for p in cli.jsonl("provider", "list", "--json")] == ["oa"]  # nothing half-added


# --- timing honesty --------------------------------------------------------------------------


def test_pricing_one_answer_does_not_stall_the_others(configured, db):
    """Pricing the first answer loads the genai-prices catalog (~130 ms of parsing); that must
    not freeze the event loop while another model is still streaming (it once added ~100 ms
    to every other model's TTFT/total). The order that prevents it is pinned exactly in
    tests/engine/test_trial_engine.py; here the bounds allow for a busy machine."""
    configured.set_default("slow", Script(text_pieces=["x"] * 7, interval_ms=20))  # 120 ms of stream
    r = desk("trial", "-m", f"an/{CLAUDE}", "-m", "oa/slow", "-p", "hi", "--json", db=db)
    assert r.returncode == 0, r
    fast, slow = r.json_lines()
    assert fast["cost_usd"] is not None and fast["price_source"] == "catalog"  # the catalog was used
    assert fast["total_ms"] < SLACK_MS, fast
    assert 115 <= slow["total_ms"] < 120 + SLACK_MS, slow
