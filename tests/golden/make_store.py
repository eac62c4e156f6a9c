"""Record the golden store and the outputs the current code gives on it.

    PYTHONPATH=$PWD python -m tests.golden.make_store          # a new store.db AND new expected/
    PYTHONPATH=$PWD python -m tests.golden.make_store --expected  # only expected/, from the kept store.db

The store is made by real desk code (the `desk` CLI in a child process, and the window's
Engine for a trial with system-prompt variants) against the loopback vendor server
(tests/vendor_server.py): two providers, trials with image and text attachments, variants,
answers that failed, were refused (content filter), reported no token counts, and needed
retries; a price; ratings by two raters, one of them merged in from another store (`desk
merge`); preferences; a second rubric version; a suite with constraint cases, two suite runs
(with automatic constraint verdicts); a load run with retried requests.

Only rerun it when an output is MEANT to change (then review the diff of expected/): the
test (tests/test_golden_outputs.py) compares today's outputs to these files byte for byte,
so a refactor that changes what a user sees fails it. The test never runs this script.
"""

from __future__ import annotations

import asyncio
import json
import shutil
import sys
import tempfile
from dataclasses import replace
from pathlib import Path

HERE = Path(__file__).resolve().parent
STORE = HERE / "store.db"
EXPECTED = HERE / "expected"

SUITE_CASES = [
    {"id": "c1", "prompt": "Name three primary colours, one per line.", "expect": "answer", "tags": ["easy"]},
    {"id": "c2", "prompt": "Reply in exactly three words.", "expect": "follow_constraints",
     "constraints": [{"id": "count:word_count_range", "kwargs": {"min_words": 3, "max_words": 3}}]},
    {"id": "c3", "prompt": "What did I have for breakfast?", "expect": "abstain", "system": "Be honest."},
]


def _ok(run) -> None:  # a step that fails makes a store not worth keeping
    if run.returncode != 0:
        raise SystemExit(f"step failed: {run}")


def record_store(path: Path) -> None:
    from tests.cli_helpers import desk
    from tests.media import png
    from tests.vendor_server import LoadProfile, Script, VendorServer

    with VendorServer() as srv, tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        db = path

        def cli(*args: str, on: Path = db):
            run = desk(*args, db=on, timeout=120)
            _ok(run)
            return run

        cli("provider", "add", "oa", "--kind", "openai", "--base-url", f"{srv.base_url}/v1")
        cli("provider", "add", "an", "--kind", "anthropic", "--base-url", srv.base_url)
        cli("price", "set", "oa/good", "--input", "2.5", "--output", "10")
        srv.set_default("good", Script(text_pieces=["Red", "\nYellow", "\nBlue"]))
        srv.set_default("nousage", Script(text_pieces=["No ", "counts ", "here."], usage=None))
        srv.set_default("refuser", Script(text_pieces=["I can't"], finish_reason="content_filter"))
        srv.set_default("broken", Script(status=500, error_message="upstream exploded", error_type="server_error"))
        srv.set_default("claude", Script(text_pieces=["Bonjour", " — ", "ça va ?"]))
        image, table = work / "dot.png", work / "data.csv"
        image.write_bytes(png(2, 3))
        table.write_text("a,b\n1,2\n", encoding="utf-8")

        t1 = cli("trial", "-m", "oa/good", "-m", "oa/nousage", "-m", "an/claude", "--prompt",
                 "Describe the picture, then sum the table.", "--system", "Be brief.",
                 "--attach", str(image), "--attach", str(table), "--temperature", "0.2", "--json").json_lines()
        srv.enqueue("good", Script(status=429, headers={"retry-after": "0"}, error_message="slow down"))
        t2 = desk("trial", "-m", "oa/good", "-m", "oa/refuser", "-m", "oa/broken", "--prompt",
                  "Tell me something risky.", "--max-retries", "1", "--json", db=db, timeout=120).json_lines()
        assert len(t2) == 3, t2
        t3 = _variant_trial(db)

        by_model = {r["model"]: r["response_id"] for r in t1}
        risky = {r["model"]: r["response_id"] for r in t2}
        cli("rate", by_model["oa/good"], "--outcome", "success", "--uncertainty", "confident_correct",
            "--constraints", "na", "--quality", "4", "--note", "tidy, \"quoted\"", "--tag", "colours", "--tag", "ok", "--rater", "ann")
        cli("rate", by_model["oa/nousage"], "--outcome", "partial", "--uncertainty", "partial_with_caveats",
            "--constraints", "followed", "--quality", "2", "--rater", "ann")
        cli("rate", by_model["an/claude"], "--outcome", "success", "--uncertainty", "stated_uncertainty",
            "--constraints", "na", "--quality", "5", "--tag", "ok", "--rater", "ann")
        cli("rate", risky["oa/broken"], "--outcome", "failure", "--rater", "ann")
        cli("rate", t3[0], "--outcome", "success", "--uncertainty", "confident_correct", "--constraints", "na",
            "--quality", "3", "--rater", "ann", "--value", "tone=formal")
        cli("prefer", by_model["oa/good"], by_model["oa/nousage"], "--winner", "a", "--reason", "counts",
            "--rater", "ann")
        cli("prefer", by_model["oa/good"], by_model["an/claude"], "--winner", "tie", "--rater", "ann")

        other = work / "bob.db"
        shutil.copyfile(db, other)
        cli("rate", risky["oa/good"], "--outcome", "success", "--uncertainty", "confident_correct",
            "--constraints", "na", "--quality", "5", "--rater", "bob", on=other)
        cli("rate", by_model["oa/good"], "--outcome", "partial", "--uncertainty", "partial_with_caveats",
            "--constraints", "violated", "--quality", "3", "--rater", "bob", on=other)
        cli("rate", risky["oa/refuser"], "--outcome", "failure", "--rater", "bob", on=other)
        cli("prefer", by_model["an/claude"], by_model["oa/nousage"], "--winner", "a", "--rater", "bob", on=other)
        cli("merge", str(other))

        suite = work / "cases.jsonl"
        suite.write_text("".join(json.dumps(c) + "\n" for c in SUITE_CASES), encoding="utf-8")
        cli("suite", "import", str(suite), "--name", "golden")
        srv.set_default("three", Script(text_pieces=["one ", "two ", "three"]))
        srv.set_default("wordy", Script(text_pieces=["This answer has far more than three words."]))
        for label in ("first", "second"):
            cli("suite", "run", "golden", "-m", "oa/three", "-m", "oa/wordy", "--concurrency", "1",
                "--label", label)

        srv.set_default("loaded", Script(text_pieces=["ok"]))
        srv.set_load("loaded", LoadProfile(limit_requests=3, window_s=60))
        cli("load", "-m", "oa/loaded", "--prompt", "hi", "--requests", "5", "--concurrency", "1",
            "--max-retries", "1", "--no-retry-after", "--backoff-base", "0", "--no-warmup", "--name", "golden load")


def _variant_trial(db: Path) -> list[str]:
    """A trial with two system-prompt variants and a second rubric version (window paths)."""
    from desk.core.rubric import Criterion, Option
    from desk.core.trial import ModelRef, TrialInput, Variant
    from desk.engine.session import Engine
    from desk.store.db import open_store

    async def go() -> list[str]:
        store = open_store(str(db))
        try:
            async with Engine(store) as engine:
                rubric = engine.ratings.rubrics.default()
                tone = Criterion("tone", "Tone", "choice", (Option("formal", "Formal"), Option("casual", "Casual")),
                                 required=False)
                engine.ratings.save_rubric(replace(rubric, criteria=(*rubric.criteria, tone)))
                outcome = await engine.trials.run(
                    TrialInput("Say hello."), [ModelRef("an", "claude")],
                    variants=[Variant("terse", "One word."), Variant("none", None)])
                return [r.id for r in outcome.responses]
        finally:
            store.close()

    return asyncio.run(go())


def main(argv: list[str]) -> int:
    if "--expected" not in argv:
        if STORE.exists():
            STORE.unlink()
        record_store(STORE)
    from tests.golden.outputs import produce

    if EXPECTED.exists():
        shutil.rmtree(EXPECTED)
    with tempfile.TemporaryDirectory() as tmp:
        copy = Path(tmp) / "store.db"
        shutil.copyfile(STORE, copy)
        for name, data in produce(copy, Path(tmp) / "out").items():
            target = EXPECTED / name
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(data)
    print(f"wrote {STORE} and {EXPECTED}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
