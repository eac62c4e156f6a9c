"""Opening a store imports neither sqlite-utils nor, through it, pandas (issue 21: over a
second of the window's cold start); sqlite-utils' conveniences still work when asked for."""

import json
import subprocess
import sys
from pathlib import Path

from desk.store.db import connect

ROOT = Path(__file__).resolve().parents[2]

PROBE = """
import json, sys
from desk.store.db import open_store
store = open_store(sys.argv[1])
store.providers.all()
print(json.dumps([m for m in ("sqlite_utils", "pandas", "numpy") if m in sys.modules]))
"""


def test_opening_a_store_leaves_sqlite_utils_and_pandas_unimported(tmp_path):
    out = subprocess.run([sys.executable, "-c", PROBE, str(tmp_path / "desk.db")], cwd=ROOT, check=True,
                         capture_output=True, text=True, timeout=60).stdout
    assert json.loads(out) == []


def test_sqlite_utils_conveniences_work_on_the_same_connection(tmp_path):
    db = connect(tmp_path / "desk.db")
    assert db.execute("PRAGMA recursive_triggers").fetchone() == (1,)  # as sqlite-utils set it
    db["scratch"].insert({"id": 1, "name": "x"}, pk="id")
    assert "scratch" in db.table_names()
    assert db.execute("SELECT name FROM scratch").fetchall() == [("x",)]
    db.close()
