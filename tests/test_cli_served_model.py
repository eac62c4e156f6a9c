"""What the vendor says it served reaches every surface: `desk trial --json`, `desk show`
(plain and --json), the answer's details, and the CSV / JSON Lines exports."""

from __future__ import annotations

import csv
import json

from desk.cli import main
from desk.store.db import open_store
from desk.ui.response_pane import details_text
from tests.vendor_server import Script


def _run(capsys, *argv: str) -> str:
    capsys.readouterr()
    assert main(list(argv)) == 0
    return capsys.readouterr().out


def test_served_model_on_every_surface(srv, db, capsys, tmp_path):
    _run(capsys, "provider", "add", "oa", "--kind", "openai", "--base-url", f"{srv.base_url}/v1")
    _run(capsys, "provider", "add", "ol", "--kind", "ollama", "--base-url", srv.base_url)
    srv.enqueue("gpt-4o-mini", Script(served_model="gpt-4o-mini-2026-02-02", fingerprint="fp_new1"))
    srv.digests["qwen2.5:0.5b"] = "c0ffee" * 8
    out = _run(capsys, "trial", "-m", "oa/gpt-4o-mini", "-m", "ol/qwen2.5:0.5b", "-p", "hi", "--json")
    recs = [json.loads(line) for line in out.splitlines()]
    assert [(r["served_model"], r["system_fingerprint"]) for r in recs] == [
        ("gpt-4o-mini-2026-02-02", "fp_new1"), ("qwen2.5:0.5b", "c0ffee" * 8)]
    trial_id = recs[0]["trial_id"]

    shown = [json.loads(line) for line in _run(capsys, "show", trial_id, "--json").splitlines()]
    assert [r["system_fingerprint"] for r in shown] == ["fp_new1", "c0ffee" * 8]
    assert "[served] gpt-4o-mini-2026-02-02 (fp_new1)" in _run(capsys, "show", trial_id)

    with open_store(db) as store:
        answer = store.responses.get(recs[0]["response_id"])
        assert "served: gpt-4o-mini-2026-02-02 · fingerprint: fp_new1" in details_text(answer)
        for r in recs:
            store.ratings.save(r["response_id"], "ann", {"outcome": "success", "uncertainty": "confident_correct",
                                                        "constraints": "na", "quality": 4})
    _run(capsys, "export", "--format", "csv", "-o", str(tmp_path / "out.csv"))
    rows = list(csv.DictReader((tmp_path / "out.csv").open(encoding="utf-8-sig")))
    assert sorted((r["served_model"], r["system_fingerprint"]) for r in rows) == [
        ("gpt-4o-mini-2026-02-02", "fp_new1"), ("qwen2.5:0.5b", "c0ffee" * 8)]
    _run(capsys, "export", "--format", "jsonl", "-o", str(tmp_path / "out.jsonl"))
    lines = [json.loads(x) for x in (tmp_path / "out.jsonl").read_text(encoding="utf-8").splitlines()]
    assert sorted(x["response"]["system_fingerprint"] for x in lines) == sorted(["fp_new1", "c0ffee" * 8])
