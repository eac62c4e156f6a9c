"""Price data: the date in use, refreshing from a (loopback) server, importing a team's prices."""

from __future__ import annotations

import asyncio
import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import httpx
import pytest

from desk.core.provider import ProviderConfig
from desk.core.response import Usage
from desk.engine import price_data
from desk.engine.price_data import PriceDataError, read_price_csv
from desk.engine.pricing import Pricer

RAW = [{"id": "testco", "name": "TestCo", "api_pattern": r"https://api\.testco\.example",
        "models": [{"id": "m1", "match": {"equals": "m1"}, "prices": {"input_mtok": 1, "output_mtok": 2}}]}]


@pytest.fixture(autouse=True)
def _fresh_catalog(tmp_path, monkeypatch):
    from genai_prices import data_snapshot

    monkeypatch.setenv("DESK_PRICE_DATA", str(tmp_path / "prices.json"))
    yield
    data_snapshot.set_custom_snapshot(None)  # the catalog is process-wide: leave it bundled


@pytest.fixture
def price_server():
    body = {"payload": json.dumps(RAW).encode()}

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self):
            data = body["payload"]
            self.send_response(200 if self.path == "/data.json" else 404)
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}", body
    server.shutdown()


def update(url):
    async def go():
        async with httpx.AsyncClient() as client:
            return await price_data.update(client, url)

    return asyncio.run(go())


def test_bundled_then_fetched_data_is_used_dated_and_kept(price_server, tmp_path):
    assert price_data.current_info().source == "bundled"
    assert "genai-prices" in price_data.current_info().description
    base, _ = price_server
    info = update(base + "/data.json")
    assert info.source == "fetched" and info.providers == 1 and "fetched" in info.description
    cost = Pricer().cost(ProviderConfig("t", "openai", "https://api.testco.example/v1"), "m1", Usage(1_000_000, 1_000_000))
    assert cost.usd == pytest.approx(3.0) and cost.source == "catalog"
    # A later run (offline) picks the kept copy up.
    from genai_prices import data_snapshot

    data_snapshot.set_custom_snapshot(None)
    assert price_data.load_cached().source == "fetched"


def test_failed_update_keeps_the_current_data(price_server):
    base, body = price_server
    with pytest.raises(PriceDataError, match="HTTP 404"):
        update(base + "/missing.json")
    body["payload"] = b'{"not": "a list"}'
    with pytest.raises(PriceDataError, match="list of vendors"):
        update(base + "/data.json")
    with pytest.raises(PriceDataError, match="cannot fetch"):
        update("http://127.0.0.1:9/data.json")
    assert price_data.current_info().source == "bundled"


def test_import_csv_all_or_nothing(tmp_path):
    good = tmp_path / "team.csv"
    good.write_text("model,input,output,cached_input\nopenai/gpt-4o,$2.00,8,1.0\nclaude/claude-x,3,15,\n")
    rows = read_price_csv(good)
    assert [(str(r), p.input_per_mtok, p.output_per_mtok, p.cached_input_per_mtok) for r, p in rows] == [
        ("openai/gpt-4o", 2.0, 8.0, 1.0), ("claude/claude-x", 3.0, 15.0, None)]
    bad = tmp_path / "bad.csv"
    bad.write_text("model,input,output\nopenai/gpt-4o,1,2\ngpt-4o,1,2\nopenai/x,-1,2\n")
    with pytest.raises(PriceDataError, match=r"line 3: .*PROVIDER/MODEL.*line 4: prices cannot be negative"):
        read_price_csv(bad)
    missing = tmp_path / "m.csv"
    missing.write_text("name,cost\nx,1\n")
    with pytest.raises(PriceDataError, match="missing column"):
        read_price_csv(missing)


def test_newest_price_change_ignores_announced_future_prices():
    from datetime import date

    from genai_prices.types import ConditionalPrice, ModelInfo, ModelPrice, Provider, StartDateConstraint

    def priced(*starts):
        return [ConditionalPrice(constraint=StartDateConstraint(start_date=s) if s else None,
                                 prices=ModelPrice(input_mtok=1)) for s in starts]

    models = [ModelInfo(id="a", match={"equals": "a"}, prices=priced(None, date(2026, 3, 1), date(2027, 1, 1))),
              ModelInfo(id="b", match={"equals": "b"}, prices=priced(None, date(2026, 5, 2)))]
    vendor = Provider(id="v", name="V", api_pattern="x", models=models)
    assert price_data.newest_price_change([vendor], today=date(2026, 11, 28)) == date(2026, 5, 2)
    assert price_data.newest_price_change([vendor], today=date(2027, 2, 1)) == date(2027, 1, 1)
    assert price_data.newest_price_change([], today=date(2026, 11, 28)) is None
