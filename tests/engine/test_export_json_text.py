"""JSON Lines take the answers' text as JSON text from SQLite (json_quote): the bytes are
those Python's escaper gives, for every kind of character, and Python escapes instead on a
SQLite whose json_quote writes otherwise."""

from __future__ import annotations

import json
from pathlib import Path

from desk.core.response import Attempt, ErrorKind, ResponseResult, Status
from desk.core.trial import TrialInput, Variant
from desk.engine.export import export_file, response_record
from desk.store import Store, export_reads, open_store

# NUL and every other control, DEL, quotes and backslashes, Latin-1 and beyond, the
# separators JavaScript rejects, a BOM, the last BMP character, astral characters.
EDGE = ("".join(map(chr, range(0x800))) + "\u2028\u2029\ufeff\uffff\U0001f600\U0010ffff"
        + 'end "quoted" \\ / </script>')


def _edge_store(path: Path) -> Store:
    store = open_store(path)
    trial_id = store.trials.create(TrialInput("prompt " + EDGE, "system " + EDGE))
    for n, variant in enumerate((None, Variant("v" + EDGE, "variant system " + EDGE))):
        rid = f"r{n}"
        store.responses.finish(ResponseResult(
            id=rid, trial_id=trial_id, model="oa/m", settings={}, variant=variant, text=EDGE, reasoning_text=EDGE[::-1],
            status=Status.ERROR if n else Status.OK, error_kind=ErrorKind.SERVER_ERROR if n else None,
            error_message=EDGE if n else None, finish_reason=EDGE, cost_note=EDGE, price_source=EDGE,
            vendor_request_id=EDGE, served_model=EDGE, system_fingerprint=EDGE, started_at=1.0, ended_at=2.5,
        ))
        values = {"outcome": "failure"} if n else {"outcome": "partial", "uncertainty": "stated_uncertainty",
                                                   "constraints": "followed", "quality": 3}
        store.ratings.save(rid, "ann", {**values, "note": EDGE})
    return store


def _python_escapes(monkeypatch) -> None:
    monkeypatch.setattr(export_reads, "_json_quote_is_pythons", lambda db: False)


def test_text_from_sqlite_is_byte_identical_to_pythons_escaping(tmp_path, monkeypatch):
    with _edge_store(tmp_path / "edge.db") as store:
        assert export_reads._json_quote_is_pythons(store.db)  # this SQLite quotes in the query
        export_file(store, "jsonl", tmp_path / "sql.jsonl")
        _python_escapes(monkeypatch)
        export_file(store, "jsonl", tmp_path / "python.jsonl")
    sql, python = (tmp_path / "sql.jsonl").read_bytes(), (tmp_path / "python.jsonl").read_bytes()
    assert sql == python
    lines = sql.decode("utf-8").split("\n")  # not splitlines: U+2028 and \x1c are no line ends here
    assert lines.pop() == ""
    records = [json.loads(line) for line in lines]
    assert [r["response"]["text"] for r in records] == [EDGE, EDGE]
    assert records[1]["response"]["error_message"] == EDGE and records[0]["response"]["error_message"] is None
    assert records[1]["response"]["system"] == "variant system " + EDGE
    # Each line is what the encoder gives its record (ensure_ascii off): "\u2028" raw, "\x00" escaped.
    encoder = json.JSONEncoder(ensure_ascii=False, allow_nan=False)
    assert lines == [encoder.encode(r) for r in records]


def test_a_sqlite_quoting_otherwise_leaves_the_escaping_to_python(tmp_path):
    with _edge_store(tmp_path / "edge.db") as store:
        export_file(store, "jsonl", tmp_path / "before.jsonl")
        # A json_quote that escapes every non-ASCII character, as another SQLite might.
        store.db.conn.create_function("json_quote", 1, lambda v: "null" if v is None else json.dumps(v))
        assert not export_reads._json_quote_is_pythons(store.db)
        export_file(store, "jsonl", tmp_path / "after.jsonl")
    assert (tmp_path / "after.jsonl").read_bytes() == (tmp_path / "before.jsonl").read_bytes()


def test_answers_with_none_one_or_several_attempts_in_one_batch(tmp_path):
    """An only attempt comes with its answer; none or several are read apart: in one batch,
    each record lists its own, in order, and what the user waited spans them."""
    with open_store(tmp_path / "attempts.db") as store:
        trial_id = store.trials.create(TrialInput("Summarise."))
        tries = {"none": [], "one": [_attempt(1, 10.0, 10.5)], "two": [_attempt(1, 20.0, 20.25), _attempt(2, 21.0, 22.0)],
                 "one again": [_attempt(1, 30.0, 30.125)]}  # fmt: skip
        for rid, attempts in tries.items():
            store.responses.finish(ResponseResult(id=rid, trial_id=trial_id, model="oa/m", settings={}, text=rid,
                                                  status=Status.OK, attempts=attempts))
            store.ratings.save(rid, "ann", GOOD)
        store.ratings.save("two", "bob", GOOD)  # the same answer twice in the batch
        export_file(store, "jsonl", tmp_path / "out.jsonl")
        stored = {rid: response_record(store.responses.get(rid)) for rid in tries}  # type: ignore[arg-type]
    records = [json.loads(line) for line in (tmp_path / "out.jsonl").read_text(encoding="utf-8").split("\n")[:-1]]
    assert [r["response"]["id"] for r in records] == ["none", "one", "two", "two", "one again"]
    assert [r["response"]["attempts"] for r in records] == [stored[r["response"]["id"]]["attempts"] for r in records]
    assert [len(r["response"]["attempts"]) for r in records] == [0, 1, 2, 2, 1]
    assert [r["response"]["wall_ms"] for r in records] == [None, 500.0, 2000.0, 2000.0, 125.0]


GOOD = {"outcome": "success", "uncertainty": "confident_correct", "constraints": "followed", "quality": 4}


def _attempt(number: int, started: float, ended: float) -> Attempt:
    return Attempt(number=number, started_at=started, ended_at=ended, http_status=200 if number > 1 else 503,
                   status=Status.OK if number > 1 else Status.ERROR, total_ms=(ended - started) * 1000,
                   vendor_request_id=f"req-{number}", ratelimit={"x-remaining": str(number)})


def test_rated_records_read_lines_that_hold_raw_separators(tmp_path):
    from desk.engine.export import rated_records

    with _edge_store(tmp_path / "edge.db") as store:
        records = rated_records(store)
    assert [r["response"]["text"] for r in records] == [EDGE, EDGE]
