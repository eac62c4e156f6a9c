"""The flat export's CSV, built a column at a time (desk.engine.export_table.csv_lines), is
byte for byte what the csv module's default writer makes of `csv_cell` of each value."""

from __future__ import annotations

import csv
import io
import random

from desk.engine.export_files import csv_cell
from desk.engine.export_table import BOOL_COLUMNS, csv_lines
from tests.engine.test_export_csv_writer import TRICKY


def module_csv(rows) -> str:
    out = io.StringIO()
    writer = csv.writer(out)
    for row in rows:
        writer.writerow([csv_cell(v) for v in row])
    return out.getvalue()


def test_every_kind_of_column_is_written_as_the_csv_module_writes_it():
    rng = random.Random(7)
    values = [*TRICKY, None, True, False, 0, -3, 2.5, -0.0, 1e-7, 12345678901234567890, 0.1 + 0.2]
    kinds = {
        "mixed": lambda: rng.choice(values),
        "text": lambda: rng.choice([None, *TRICKY, "".join(rng.choice(TRICKY) for _ in range(3))]),
        "plain": lambda: rng.choice(["a", "b c", "é", None]),  # needs neither quotes nor guard
        "numbers": lambda: rng.choice([None, 0, 7, -1.5, 2e-9]),
        "none": lambda: None,
        "blind": lambda: rng.choice([True, False]),  # a flag column
    }
    assert "blind" in BOOL_COLUMNS
    names = list(kinds)
    for _ in range(20):
        rows = [[kinds[name]() for name in names] for _ in range(rng.randint(1, 40))]
        columns = [list(column) for column in zip(*rows, strict=True)]
        assert csv_lines(columns, names) == module_csv(rows)
