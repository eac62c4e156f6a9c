"""Which price data is in use, refreshing it when online, and importing a team's prices.

genai-prices ships a snapshot of vendor prices with the package. `desk prices update`
fetches the maintained newer list and keeps it in desk's data folder, so later runs
(offline too) use it; the date it was fetched is shown wherever prices are. A team's
negotiated prices come in as user overrides (they win over any catalog).
"""

from __future__ import annotations

import csv
import io
import json
import os
import tempfile
import time
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

import platformdirs

from desk.core.attachment import MAX_DATA_BYTES, decode_text
from desk.core.files import FileReadError, read_bounded
from desk.core.pricing import Price
from desk.core.trial import ModelRef, ModelRefError
from desk.providers.connections import HttpClient
from desk.providers.price_feed import PriceFeedError, fetch_price_list

DEFAULT_URL = "https://raw.githubusercontent.com/pydantic/genai-prices/refs/heads/main/prices/new_data/v2/data.json"


class PriceDataError(ValueError):
    """Price data that cannot be fetched or read; the message says why in one line."""


@dataclass(frozen=True)
class PriceDataInfo:
    source: str  # "bundled" or "fetched"
    description: str  # what to show a user
    fetched_at: float | None = None
    providers: int | None = None
    newest_change: str | None = None  # ISO date of the newest price in force in the data


def cache_path() -> Path:
    env = os.environ.get("DESK_PRICE_DATA")
    if env:
        return Path(env)
    return Path(platformdirs.user_data_dir("desk", appauthor=False)) / "prices.json"


def _genai_version() -> str:
    try:
        from importlib.metadata import version

        return version("genai-prices")
    except Exception:
        return "?"


_named: tuple[Any, date, PriceDataInfo] | None = None  # (snapshot, day, its description)


def current_info() -> PriceDataInfo:
    """The price data in use: a fetched copy if one was loaded, else the bundled snapshot.
    Named once per snapshot and day: dating the bundled one walks the whole catalog
    (40-200 ms), which the background preload does before anyone asks."""
    global _named
    from genai_prices import data_snapshot

    snapshot = data_snapshot.get_snapshot()
    named = _named
    if named is not None and named[0] is snapshot and named[1] == date.today():
        return named[2]
    info = _describe(snapshot)
    _named = (snapshot, date.today(), info)
    return info


def _describe(snapshot: Any) -> PriceDataInfo:
    if snapshot.from_auto_update:
        when = time.strftime("%Y-%m-%d", time.localtime(snapshot.timestamp.timestamp()))
        return PriceDataInfo("fetched", f"price data fetched {when} ({len(snapshot.providers)} vendors)",
                             snapshot.timestamp.timestamp(), len(snapshot.providers))
    newest = newest_price_change(snapshot.providers)
    dated = f", newest price change {newest.isoformat()}" if newest else ""
    return PriceDataInfo("bundled", f"price data bundled with genai-prices {_genai_version()}{dated}",
                         None, len(snapshot.providers), newest.isoformat() if newest else None)


def newest_price_change(providers: Any, today: date | None = None) -> date | None:
    """The latest start date of any price already in force. The bundled snapshot carries no
    date of its own, so this is how a user tells how stale it is (later dates are price
    changes the vendors announced ahead; they are not evidence of freshness)."""
    from genai_prices.types import StartDateConstraint

    today = today or date.today()
    newest: date | None = None
    seen: set[int] = set()
    stack = list(providers)
    while stack:  # the catalog is dataclasses, lists and tuples; walk them without recursion
        item = stack.pop()
        if isinstance(item, StartDateConstraint):
            if item.start_date <= today and (newest is None or item.start_date > newest):
                newest = item.start_date
        elif isinstance(item, list | tuple):
            stack.extend(item)
        elif hasattr(item, "__dataclass_fields__") and id(item) not in seen:
            seen.add(id(item))
            stack.extend(getattr(item, f) for f in item.__dataclass_fields__)
    return newest


def _install(raw: Any, fetched_at: float) -> int:
    """Validate raw provider data and make it the catalog in use; return the vendor count."""
    from datetime import datetime

    from genai_prices import data_snapshot
    from genai_prices.types import _providers_from_raw  # the documented fetch path uses it too

    if not isinstance(raw, list) or not raw:
        raise PriceDataError("price data must be a non-empty list of vendors")
    try:
        providers = _providers_from_raw(raw)
    except Exception as exc:
        raise PriceDataError(f"price data does not match the genai-prices format: {str(exc)[:200]}") from None
    data_snapshot.set_custom_snapshot(
        data_snapshot.DataSnapshot(providers, from_auto_update=True, timestamp=datetime.fromtimestamp(fetched_at))
    )
    return len(providers)


def load_cached() -> PriceDataInfo | None:
    """Use the price data fetched earlier, if any (a damaged file is ignored, not fatal)."""
    path = cache_path()
    if not path.exists():
        return None
    try:
        saved = json.loads(path.read_text(encoding="utf-8"))
        _install(saved["providers"], float(saved["fetched_at"]))
    except (OSError, ValueError, KeyError, TypeError):
        return None
    return current_info()


async def update(client: HttpClient, url: str = DEFAULT_URL, timeout: float = 20.0) -> PriceDataInfo:
    """Fetch the newer price list, check it, keep it for later runs and use it now."""
    try:
        raw = await fetch_price_list(client, url, timeout)
    except PriceFeedError as exc:
        raise PriceDataError(f"{exc}; keeping the current data") from None
    fetched_at = time.time()
    count = _install(raw, fetched_at)
    path = cache_path()
    path.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.NamedTemporaryFile("w", dir=path.parent, delete=False, encoding="utf-8", suffix=".tmp") as f:
        json.dump({"fetched_at": fetched_at, "url": url, "providers": raw}, f)
    os.replace(f.name, path)
    info = current_info()
    return PriceDataInfo(info.source, info.description, fetched_at, count)


def read_price_csv(path: str | Path) -> list[tuple[ModelRef, Price]]:
    """Read negotiated prices: columns `model` (PROVIDER/MODEL), `input`, `output` and optional
    `cached_input`, in USD per million tokens. Every problem names its line; nothing is
    returned unless every row is valid."""
    p = Path(path)
    try:  # a FIFO or a device is refused, not waited on or read forever
        text, _ = decode_text(read_bounded(p, MAX_DATA_BYTES, what="price list"))
    except ValueError as exc:  # FileReadError included: its message names the file
        raise PriceDataError(str(exc) if isinstance(exc, FileReadError) else f"{p.name}: {exc}") from None
    reader = csv.DictReader(io.StringIO(text))
    fields = {(f or "").strip().lower() for f in reader.fieldnames or []}
    missing = {"model", "input", "output"} - fields
    if missing:
        raise PriceDataError(f"{p.name}: missing column(s) {', '.join(sorted(missing))} "
                             "(need model, input, output; cached_input optional)")
    rows: list[tuple[ModelRef, Price]] = []
    problems: list[str] = []
    for line, row in enumerate(reader, start=2):
        row = {(k or "").strip().lower(): (v or "").strip() for k, v in row.items()}
        if not any(row.values()):
            continue
        try:
            ref = ModelRef.parse(row["model"])
            values = [_usd(row[c]) if row.get(c) else None for c in ("input", "output", "cached_input")]
            if values[0] is None or values[1] is None:
                raise ValueError("input and output prices are required")
            rows.append((ref, Price(values[0], values[1], values[2])))
        except (ModelRefError, ValueError) as exc:
            problems.append(f"line {line}: {exc}")
    if problems:
        raise PriceDataError(f"{p.name}: " + "; ".join(problems[:5]) + ("; …" if len(problems) > 5 else "")
                             + " (nothing imported)")
    if not rows:
        raise PriceDataError(f"{p.name}: no prices in the file")
    return rows


def _usd(text: str) -> float:
    try:
        value = float(text.replace("$", "").replace(",", "").strip())
    except ValueError:
        raise ValueError(f"{text!r} is not a price") from None
    if value < 0:
        raise ValueError("prices cannot be negative")
    return value
