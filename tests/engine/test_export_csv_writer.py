"""The exports' own CSV writer makes exactly what the csv module's default writer makes of
`csv_cell` values (it only skips the module's per-character scan of long answers)."""

from __future__ import annotations

import csv
import io
import random

from desk.engine.export_files import csv_cell, write_csv, write_csv_lists

TRICKY = ["", " ", ",", '"', '""', "\n", "\r", "\r\n", "a,b", 'say "hi"', "line\nbreak", "=SUM(A1)", "+1",
          "-x", "@me", "\tx", "\rx", "'", "é — ü", "\u2028", "a;b", "  lead", "trail  ", "1e-05", "NaN"]


def module_csv(columns, rows) -> str:
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(columns)
    for row in rows:
        writer.writerow([csv_cell(v) for v in row])
    return out.getvalue()


def ours(columns, rows) -> str:
    out = io.StringIO()
    write_csv_lists(out, columns, rows)
    return out.getvalue()


def test_every_kind_of_cell_is_written_as_the_csv_module_writes_it():
    rng = random.Random(5)
    values = [*TRICKY, None, True, False, 0, -3, 2.5, -0.0, 1e-7, 12345678901234567890, 0.1 + 0.2]
    rows = [[v, *rng.sample(values, 6)] for v in values]
    for _ in range(300):
        rows.append(["".join(rng.choice(TRICKY) for _ in range(rng.randint(0, 5))) for _ in range(4)])
    columns = ["a", "b,c", 'd"e', "f", "g", "h", "i"][: len(rows[0])]
    assert ours(columns, [r[: len(columns)] for r in rows]) == module_csv(columns, [r[: len(columns)] for r in rows])


def test_dict_rows_pick_the_columns_in_order():
    out = io.StringIO()
    write_csv(out, ["x", "y"], [{"y": "=1", "x": 'a"b'}, {"x": None}], bom=True)
    assert out.getvalue() == '\ufeffx,y\r\n"a""b",\'=1\r\n,\r\n'
