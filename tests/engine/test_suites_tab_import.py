"""The Suites tab's model imports a suite whose attachments lie outside its folder only when
asked and told yes, and paces re-reading a live matrix; no window involved."""

from __future__ import annotations

import asyncio
import json

import pytest

from desk.engine.session import EngineError
from desk.engine.suites_tab import RELOAD_BUDGET, SuitesTab, imported_text, outside_question
from tests.engine.conftest import engine_for


def _outside_suite(tmp_path):
    private = tmp_path / "private.txt"
    private.write_text("mine\n")
    folder = tmp_path / "suites"
    folder.mkdir()
    path = folder / "s.jsonl"
    path.write_text(json.dumps({"id": "a", "prompt": "p", "attachments": [str(private)]}) + "\n")
    return path, str(private)


def test_outside_attachments_are_imported_only_when_the_user_says_yes(providers, tmp_path):
    path, private = _outside_suite(tmp_path)
    asked: list[tuple[str, ...]] = []

    async def go():
        async with engine_for(providers) as engine:
            tab = SuitesTab(engine)

            async def no(refused: EngineError) -> bool:
                asked.append(refused.outside)
                return False

            async def yes(refused: EngineError) -> bool:
                asked.append(refused.outside)
                return True

            with pytest.raises(EngineError) as err:
                await tab.import_suite(path, "mine", no)
            assert err.value.outside == (private,)
            assert [s.name for s in engine.suites.list_suites() if s.name == "mine"] == []
            info = await tab.import_suite(path, "mine", yes)
            assert imported_text(info) == "Imported 1 case as mine v1."
            assert engine.suites.get("mine").cases[0].attachments[0].text == "mine\n"

    asyncio.run(go())
    assert asked == [(private,), (private,)]


def test_a_file_inside_its_folder_is_imported_without_asking(providers, tmp_path):
    path = tmp_path / "s.jsonl"
    path.write_text(json.dumps({"id": "a", "prompt": "p"}) + "\n" + json.dumps({"id": "b", "prompt": "q"}) + "\n")

    async def never(refused: EngineError) -> bool:
        raise AssertionError("asked")

    async def go():
        async with engine_for(providers) as engine:
            info = await SuitesTab(engine).import_suite(path, "two", never)
            assert imported_text(info) == "Imported 2 cases as two v1."

    asyncio.run(go())


def test_the_question_lists_ten_files_and_counts_the_rest():
    text = outside_question([f"/f{i}" for i in range(12)])
    assert "/f9\n… and 2 more" in text and "/f10" not in text


def test_a_live_matrix_is_read_again_only_when_due(providers):
    async def go():
        async with engine_for(providers) as engine:
            tab = SuitesTab(engine)
            tab.running_run_id = tab.current_run_id = "R"
            assert not tab.reload_due(0.0)  # nothing changed yet
            tab.dirty = True
            assert tab.reload_due(0.0)
            tab.reloaded(10.0, 0.05)  # a read of 50 ms waits 50 / budget ms before the next
            assert not tab.reload_due(10.0 + 0.05 / RELOAD_BUDGET - 0.01)
            assert tab.reload_due(10.0 + 0.05 / RELOAD_BUDGET)
            tab.current_run_id = "other"  # the open run is not the one streaming
            assert not tab.reload_due(100.0)

    asyncio.run(go())
