"""`desk prices info|import|update` from a real subprocess."""

from __future__ import annotations

import json
import time

from tests.cli_helpers import desk


def test_prices_info_import_and_offline_update(db, tmp_path):
    info = json.loads(desk("prices", "info", "--json", db=db).stdout)
    assert info["source"] == "bundled" and "genai-prices" in info["description"] and info["your_prices"] == 0
    # the bundled snapshot has no date of its own: its newest price in force says how stale it is
    newest = info["newest_price_change"]
    assert newest and newest <= time.strftime("%Y-%m-%d") and f"newest price change {newest}" in info["description"]

    desk("provider", "add", "oa", "--kind", "openai", db=db)
    sheet = tmp_path / "negotiated.csv"
    sheet.write_text("model,input,output,cached_input\noa/gpt-4o,2.0,8.0,1.0\n", encoding="utf-8")
    proc = desk("prices", "import", str(sheet), db=db)
    assert proc.returncode == 0 and "imported 1 price" in proc.stdout
    listed = [json.loads(line) for line in desk("price", "list", "--json", db=db).stdout.splitlines()]
    assert listed == [{"model": "oa/gpt-4o", "input": 2.0, "output": 8.0, "cached_input": 1.0}]

    unknown = tmp_path / "unknown.csv"
    unknown.write_text("model,input,output\nnobody/m,1,2\n", encoding="utf-8")
    proc = desk("prices", "import", str(unknown), db=db)
    assert proc.returncode == 2 and "unknown provider(s) nobody" in proc.stderr

    proc = desk("prices", "update", "--url", "http://127.0.0.1:9/data.json", db=db)
    assert proc.returncode == 1 and "keeping the current data" in proc.stderr and proc.stderr.count("\n") == 1
