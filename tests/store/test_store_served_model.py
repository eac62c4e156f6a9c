"""m009: a store from before served-model recording upgrades in place; old answers say nothing."""

from __future__ import annotations

from pathlib import Path

from desk.store.db import connect, open_store
from desk.store.migrations import MIGRATIONS, applied_migrations, migrate


def test_m009_adds_served_model_to_an_m008_store(tmp_path: Path) -> None:
    path = tmp_path / "old.db"
    db = connect(path)
    names = [m.__name__ for m in MIGRATIONS]
    migrate(db, MIGRATIONS[: names.index("m008_response_notes") + 1])
    assert "served_model" not in db.table("responses").columns_dict
    db.execute("INSERT INTO trials (id, created_at, prompt) VALUES ('t1', 1.0, 'old prompt')")
    db.execute(
        "INSERT INTO responses (id, trial_id, model, provider_name, model_name, status, created_at, "
        "updated_at) VALUES ('r1', 't1', 'p/m', 'p', 'm', 'ok', 1.0, 1.0)"
    )
    db.close()
    with open_store(path) as store:
        assert "m009_served_model" in applied_migrations(store.db)
        old = store.responses.get("r1")
        assert (old.served_model, old.system_fingerprint) == (None, None)
        old.served_model, old.system_fingerprint = "m-2026-01-01", "fp_abc"
        store.responses.finish(old)
        again = store.responses.get("r1")
        assert (again.served_model, again.system_fingerprint) == ("m-2026-01-01", "fp_abc")
