"""When two runs' machines differ enough that their latencies speak for the machine too."""

from __future__ import annotations

from desk.core.run_conditions import RunConditions, conditions_note, conditions_of


def _leg(host: str = "lab", cpus: int = 2, start: float | None = 0.2, end: float | None = 0.4) -> RunConditions:
    return RunConditions(host, cpus, start, end)


def test_alike_machines_get_no_note():
    assert conditions_note([_leg()], [_leg(start=0.5, end=0.3)]) is None


def test_a_run_without_a_record_gets_no_note():
    assert conditions_note([], [_leg(start=9, end=9)]) is None


def test_a_much_busier_machine_is_named_with_its_load_per_core():
    note = conditions_note([_leg(start=0.2, end=0.3)], [_leg(start=1.0, end=3.6)])
    assert note is not None and "run B's machine was busier" in note and "1.80 per core against 0.15" in note


def test_busy_but_alike_is_not_a_difference():
    assert conditions_note([_leg(start=3.0, end=3.2)], [_leg(start=3.1, end=3.4)]) is None


def test_other_machines_are_named_and_a_resumed_run_counts_every_sending():
    note = conditions_note([_leg("lab")], [_leg("lab"), _leg("laptop", cpus=8, start=12.0, end=0.1)])
    assert note is not None
    assert "different machines (lab and lab, laptop)" in note and "run B's machine was busier" in note


def test_a_system_without_load_averages_says_nothing_of_load():
    assert conditions_note([_leg(start=None, end=None)], [_leg(start=5.0, end=5.0)]) is None


def test_stored_summaries_read_back_and_older_runs_have_none():
    legs = (_leg(), _leg("laptop", 8, None, 1.5))
    assert conditions_of({"conditions": [c.as_json() for c in legs]}) == legs
    assert conditions_of({"ok": 3}) == () and conditions_of(None) == ()
    assert conditions_of({"conditions": "garbled"}) == ()
