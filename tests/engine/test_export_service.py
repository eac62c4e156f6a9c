"""engine.exports: the one export and merge service the CLI and the window share, built
on the store the engine has open now (again after switch_store)."""

from __future__ import annotations

import asyncio
import json

import pytest

from desk.engine.errors import EngineError
from desk.engine.export_files import ExportError
from desk.engine.jobs import Job
from desk.engine.services.exports import ExportParams, ExportService, RunExportParams
from desk.engine.session import Engine
from desk.store.db import open_store
from tests.engine.test_export import fx  # noqa: F401  (the rated fixture store)


def test_the_service_follows_the_store_after_switch_store(fx, tmp_path):  # noqa: F811
    other = tmp_path / "other.db"
    open_store(other).close()

    async def go():
        async with Engine(fx.store) as engine:
            assert engine.exports.export(ExportParams("jsonl", str(tmp_path / "a.jsonl"))).rows == 4
            engine.switch_store(str(other))  # fx.store is closed by this
            empty = engine.exports.export(ExportParams("jsonl", str(tmp_path / "b.jsonl")))
            merged = await engine.exports.merge_in_background(str(fx.path), Job("merge"))
            again = await engine.exports.export_in_background(ExportParams("jsonl", str(tmp_path / "c.jsonl")),
                                                              Job("export"))
            return empty, merged, again

    empty, merged, again = asyncio.run(go())
    assert empty.rows == 0 and merged.added["ratings"] > 0 and again.rows == 4
    mine = [json.loads(x) for x in (tmp_path / "a.jsonl").read_text(encoding="utf-8").splitlines()]
    theirs = [json.loads(x) for x in (tmp_path / "c.jsonl").read_text(encoding="utf-8").splitlines()]
    # the same answers, now carrying the origin of the store they were merged from
    assert [m["response"] for m in mine] == [t["response"] for t in theirs]
    assert {t["rating"]["origin"] for t in theirs} != {None}


def test_mistakes_are_one_plain_error(fx, tmp_path):  # noqa: F811
    service = ExportService(fx.store, fx.store, lambda: open_store(fx.path))
    with pytest.raises(ExportError, match="no run nope"):
        service.export_run(RunExportParams("nope", "csv", str(tmp_path / "x.csv"), per_http_request=True))
    with pytest.raises(ExportError, match="not one of"):
        service.export(ExportParams("xlsx", str(tmp_path / "x.xlsx")))
    with pytest.raises(EngineError, match="nothing to merge"):
        service.merge(fx.path)
    assert not list(tmp_path.glob("x.*"))
