"""Many trials read at once are the same trials as read one by one (exports read a batch)."""

from __future__ import annotations

from desk.core.attachment import attachment_from_bytes
from desk.core.trial import TrialInput

from .conftest import tiny_png


def test_get_trials_equals_get_trial_for_each(store):
    ids = [
        store.trials.create(TrialInput("plain")),
        store.trials.create(TrialInput("with files", system="be brief", attachments=(
            attachment_from_bytes("dot.png", tiny_png(2, 3)), attachment_from_bytes("a.csv", b"x,y\n1,2\n")))),
        store.trials.create(TrialInput("one file", attachments=(attachment_from_bytes("b.txt", b"hello"),))),
    ]
    many = store.trials.get_many([*reversed(ids), "missing", ids[0]])
    assert set(many) == set(ids)
    for trial_id in ids:
        assert many[trial_id] == store.trials.get(trial_id)
    assert [a.name for a in many[ids[1]].input.attachments] == ["dot.png", "a.csv"]  # in their order
    assert store.trials.get_many([]) == {}
