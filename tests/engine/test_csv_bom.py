"""CSV exports open correctly in Excel when double-clicked: a file starts with a UTF-8 byte
order mark by default; --no-bom leaves it out, and stdout never gets one."""

from __future__ import annotations

import csv
import io

from desk.engine.export import export_file
from desk.store import Store
from tests.store.test_store_ratings import _answer

BOM = "\ufeff".encode()


def rated(store: Store) -> None:
    from desk.core.trial import TrialInput

    trial = store.trials.create(TrialInput("Résumé des ventes — Q3"))
    answer = _answer(store, trial, "p/m")
    store.ratings.save(answer.id, "Zoë", {"outcome": "success", "uncertainty": "confident_correct",
                                         "constraints": "na", "quality": 4})


def test_csv_file_has_a_bom_by_default_and_not_when_asked(store, tmp_path):
    rated(store)
    path = tmp_path / "r.csv"
    export_file(store, "csv", path)
    data = path.read_bytes()
    assert data.startswith(BOM) and "Résumé des ventes — Q3".encode() in data
    with path.open(encoding="utf-8-sig", newline="") as f:  # what Excel and pandas do with it
        (row,) = csv.DictReader(f)
    assert row["trial_id"] and row["rater"] == "Zoë"

    export_file(store, "csv", path, excel_bom=False)
    assert not path.read_bytes().startswith(BOM)
    export_file(store, "jsonl", path)
    assert not path.read_bytes().startswith(BOM)  # JSON Lines never


def test_csv_to_a_stream_has_no_bom(store):
    rated(store)
    out = io.StringIO()
    export_file(store, "csv", out)
    assert out.getvalue().startswith("trial_id,")
