"""Opening a store makes only the tables that opening it and a scorecard read (issue 21: a
command's start-up); the others, and their modules, are made on first use, once per store
even when several threads reach one first together (the window's store is reached from the
GUI thread and its streaming thread)."""

from __future__ import annotations

import subprocess
import sys
import threading

from desk.store.db import open_store

LATER = ("desk.store.suites", "desk.store.export_reads", "desk.store.judges", "desk.store.prices",
         "desk.store.settings", "desk.store.merge")


def test_opening_a_store_loads_only_the_tables_it_reads(tmp_path):
    code = ("import sys\nfrom desk.store.db import open_store\nopen_store(sys.argv[1]).close()\n"
            f"print(sorted(m for m in {LATER!r} if m in sys.modules))\n")
    done = subprocess.run([sys.executable, "-c", code, str(tmp_path / "s.db")], capture_output=True, text=True,
                          timeout=120, check=True)
    assert done.stdout.splitlines()[-1] == "[]"


def test_a_table_made_on_first_use_is_one_whatever_the_threads(tmp_path):
    store = open_store(tmp_path / "s.db")
    try:
        for name in ("providers", "prices", "settings", "trials", "rubrics", "suites", "judge_prompts", "verdicts",
                     "calibration", "exports"):
            arrived = threading.Barrier(8)
            got = []

            def reach(name=name, arrived=arrived, got=got):
                arrived.wait()
                got.append(getattr(store, name))

            threads = [threading.Thread(target=reach) for _ in range(8)]
            for t in threads:
                t.start()
            for t in threads:
                t.join()
            assert len({id(table) for table in got}) == 1, name
            assert getattr(store, name) is got[0]
        assert store.suites.db is store.db and store.verdicts._ratings is store.ratings
    finally:
        store.close()


def test_the_tables_still_work(tmp_path):
    store = open_store(tmp_path / "s.db")
    try:
        assert store.rubrics.default().id
        store.settings.set("k", "v")
        assert store.settings.get("k") == "v"
        assert store.suites.get_suite("nothing") is None
    finally:
        store.close()
