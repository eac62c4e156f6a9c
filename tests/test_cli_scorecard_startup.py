"""A `desk scorecard --json` starts lean (issue 21): it runs no event loop, so it never
imports asyncio (~30 ms), and opening the store does not load the merge machinery. Each
check runs in a fresh interpreter; `desk merge` and the window still get what they need."""

import shutil
import subprocess
import sys
from pathlib import Path

from tests.test_cli_lazy_imports import SCORECARD_JSON

GOLDEN = Path(__file__).resolve().parent / "golden"
LEAN = ("asyncio", "uvloop", "desk.store.merge", "desk.engine.suite_records")


def _loaded_by(code: str, *args: str) -> list[str]:
    report = f"\nimport sys\nprint(sorted(m for m in {LEAN!r} if m in sys.modules))\n"
    done = subprocess.run([sys.executable, "-c", code + report, *args], capture_output=True, text=True,
                          timeout=120, check=True)
    return eval(done.stdout.splitlines()[-1])


def test_a_json_scorecard_loads_no_event_loop_nor_merge(tmp_path):
    db = tmp_path / "store.db"
    shutil.copyfile(GOLDEN / "store.db", db)
    assert _loaded_by(SCORECARD_JSON, str(db)) == []


def test_the_store_package_still_names_its_records():
    code = ("import desk.store as s\nassert s.open_store and s.Store and s.MergeReport and s.StoredTrial\n"
            "from desk.engine.session import QueueItem, RunInfo, SuiteInfo, SuiteMatrix, SuiteRunInfo\n")
    assert _loaded_by(code) == ["asyncio", "desk.engine.suite_records", "desk.store.merge"]


def test_a_merge_still_merges(tmp_path):
    db, other = tmp_path / "store.db", tmp_path / "other.db"
    shutil.copyfile(GOLDEN / "store.db", other)
    done = subprocess.run([sys.executable, "-m", "desk", "merge", "--db", str(db), str(other)], capture_output=True,
                          text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    again = subprocess.run([sys.executable, "-m", "desk", "scorecard", "--db", str(db), "--json"],
                           capture_output=True, text=True, timeout=120, check=True)
    assert again.stdout.startswith("[{")
