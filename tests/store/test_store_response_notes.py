"""m008: a store from before answer notes upgrades in place; old answers have none."""

from __future__ import annotations

from pathlib import Path

from desk.store.db import connect, open_store
from desk.store.migrations import MIGRATIONS, migrate


def test_m008_adds_notes_to_an_m005_store(tmp_path: Path) -> None:
    path = tmp_path / "old.db"
    db = connect(path)
    migrate(db, MIGRATIONS[:5])
    db.execute("INSERT INTO trials (id, created_at, prompt) VALUES ('t1', 1.0, 'old prompt')")
    db.execute(
        "INSERT INTO responses (id, trial_id, model, provider_name, model_name, status, created_at, "
        "updated_at) VALUES ('r1', 't1', 'p/m', 'p', 'm', 'ok', 1.0, 1.0)"
    )
    db.close()
    with open_store(path) as store:
        old = store.responses.get("r1")
        assert old.notes == []
        old.notes = ["a note"]
        store.responses.finish(old)
        assert store.responses.get("r1").notes == ["a note"]
