"""Render a suite's history (the Suites tab's "Compare runs…" dialog) on Xvfb and save a PNG.

    python -m tests.ui.screenshot_history --out resources/suite-history.png

Six weekly runs of a 12-case suite on two models of the loopback vendor; from the fourth week
on, one vendor reports a new served model version and is slower to start. The runs' dates
are set a week apart (the store stamps them with the time they ran, seconds apart here), the
answers rated, and the dialog shown at laptop size (1366×768, or --size WxH) on its History tab.
"""

from __future__ import annotations

import asyncio
import random
import time
from pathlib import Path

from tests.ui.shot_kit import SIZE, save_grab, scene, shot_main, shot_parser

WEEK = 7 * 24 * 3600
MODELS = [("openai", "gpt-4o-mini"), ("anthropic", "claude-sonnet-4-5")]
CASES = 12


def shoot(out: Path, figure: str, compare: bool = False, size: tuple[int, int] = SIZE) -> None:
    with scene([("openai", "openai"), ("anthropic", "anthropic")], MODELS) as at:
        _shoot(at, out, figure, compare, size)


def _shoot(at, out: Path, figure: str, compare: bool, size: tuple[int, int]) -> None:
    from desk.core.trial import ModelRef
    from desk.engine.session import Engine
    from desk.ui.run_compare_view import RunCompareDialog
    from tests.vendor_server import Script

    server, store, loop = at.server, at.store, at.loop
    suite = at.tmp / "weekly.jsonl"
    suite.write_text("".join(f'{{"id": "case-{i:02}", "prompt": "Task {i}", "expect": "clarify"}}\n'
                             for i in range(CASES)))
    engine = Engine(store)
    engine.suites.import_suite(suite, "weekly")
    rng = random.Random(7)
    start = time.time() - 6 * WEEK

    async def weeks() -> None:
        for week in range(6):
            changed = week >= 3
            for _, model in MODELS:
                slow = 260 if changed and model == "gpt-4o-mini" else 0
                served = "gpt-4o-mini-2026-11-20" if changed and model == "gpt-4o-mini" else None
                server.enqueue(model, *(Script(first_token_delay_ms=rng.uniform(60, 160) + slow, served_model=served)
                                        for _ in range(CASES)))
            result = await engine.suites.run("weekly", [ModelRef.parse(f"{p}/{m}") for p, m in MODELS],
                                             label=f"week {week + 1}")
            for item in result.responses:
                asks = rng.random() < (0.35 if changed and "gpt" in item.response.model else 0.85)
                engine.ratings.save_rating(item.response.id, {
                    "outcome": "success" if rng.random() < 0.8 else "failure",
                    "uncertainty": "asked_clarifying" if asks else "confident_correct",
                    "constraints": "na", "quality": 3}, rater="ana")
            store.db.execute("UPDATE runs SET created_at = ? WHERE id = ?", [start + week * WEEK, result.run_id])
            store.db.conn.commit()

    loop.run_until_complete(weeks())
    dialog = RunCompareDialog(engine, "weekly")
    dialog.move(0, 0)
    dialog.resize(*size)
    dialog.tabs.setCurrentIndex(0 if compare else 1)
    dialog.figure.setCurrentIndex(dialog.figure.findData(figure))
    if compare:  # the newest run against the one before, the first worse figure's evidence open
        dialog.run_a.setCurrentIndex(dialog.run_a.findData(dialog.tab.runs[2].run_id))
        dialog.table.selectRow(next(i for i, r in enumerate(dialog.tab.rows) if r.flag == "worse"))
    dialog.show()

    async def grab() -> None:
        await asyncio.sleep(0.5)  # let the plot lay out and paint
        save_grab(dialog, out)
        await engine.aclose()

    with loop:
        loop.run_until_complete(grab())
    dialog.close()


def main(argv: list[str] | None = None) -> int:
    ap = shot_parser(__doc__, "suite-history.png")
    ap.add_argument("--figure", default="ttft_p50", help="the figure plotted (default ttft_p50)")
    ap.add_argument("--compare", action="store_true", help="the Compare tab (week 3 against week 6) instead")
    args = ap.parse_args(argv)
    return shot_main(args, lambda: shoot(args.out, args.figure, args.compare, args.size))


if __name__ == "__main__":
    raise SystemExit(main())
