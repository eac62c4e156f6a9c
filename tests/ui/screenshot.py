"""Render the main window on a real X server (Xvfb) after a real trial and save a PNG.

    python -m tests.ui.screenshot --out resources/screenshot.png

Starts Xvfb on a free display (unless DISPLAY is already set and --no-xvfb is given), a
loopback vendor server with four scripted models (two from one provider, so their full
names matter), sends a trial through the window exactly as a user would at laptop size
(1366×768, or --size WxH), and grabs the X screen.
"""

from __future__ import annotations

from pathlib import Path

from tests.ui.shot_kit import (
    SIZE,
    answered,
    main_window,
    scene,
    send_and_grab,
    shot_main,
    shot_parser,
    start_xvfb,
)

__all__ = ["start_xvfb"]  # tests/bench/bench_ui.py starts its Xvfb from here

ANSWER_A = [
    "Three customers churned in Q3 2026:\n\n",
    "| customer | MRR lost | last invoice |\n|---|---:|---|\n",
    "| Initech | $800 | 2026-08-31 |\n", "| Umbrella | $1,150 | 2026-09-15 |\n",
    "| Hooli | $400 | 2026-07-31 |\n\n",
    "**Caveat:** `Globex` has no `status` value in row 4, so I could not tell ",
    "whether it churned; I left it out rather than guess.",
]
ANSWER_B = [
    "Before I answer: the CSV has no dates, so *last quarter* is ambiguous.\n\n",
    "- Do you mean calendar Q3 (July–September)?\n",
    "- Should rows with an empty `status` count as churned?\n",
]
ANSWER_C = [
    "Churned accounts: **Initech**, **Umbrella** and **Hooli**.\n\n",
    "Monthly revenue lost: $800 + $1,150 + $400 = **$2,350**.\n\n",
    "Globex (row 4) has no status; if it churned too, the loss is $3,300.",
]
ANSWER_D = [
    "Three customers churned, losing **$2,350** of MRR a month.\n\n",
    "1. Umbrella: $1,150\n2. Initech: $800\n3. Hooli: $400\n\n",
    "Note: the export has no churn dates, so I assumed every `churned` row is from last quarter.",
]
# --two-turns: the user answers the question, and each model continues (README's second picture).
REPLY = "Calendar Q3 (July–September); a row with an empty status is still active."
SECOND = {
    "claude-sonnet-4-5-20250929": [
        "Thanks. Then three customers churned in Q3 2026:\n\n",
        "| customer | MRR lost |\n|---|---:|\n| Umbrella | $1,150 |\n| Initech | $800 |\n| Hooli | $400 |\n\n",
        "That is **$2,350** of monthly revenue; Globex stays active.",
    ],
    "gpt-4.1-2025-04-14": [
        "With those rules my answer stands: Umbrella, Initech and Hooli churned, ",
        "**$2,350** of MRR a month. Globex counts as active.",
    ],
}


def shoot(out: Path, two_turns: bool = False, size: tuple[int, int] = SIZE) -> None:
    from desk.core.attachment import load_attachment
    from desk.core.pricing import Price
    from desk.engine.session import Engine
    from tests.vendor_server import Script

    models = [("openai", "gpt-4o-mini-2024-07-18"), ("openai", "gpt-4.1-2025-04-14"),
              ("anthropic", "claude-sonnet-4-5-20250929"), ("ollama", "llama3.2:3b-instruct-q4_K_M")]
    with scene([("openai", "openai"), ("anthropic", "anthropic"), ("ollama", "ollama")], models) as at:
        server, store = at.server, at.store
        store.prices.set("openai", "gpt-4o-mini-2024-07-18", Price(0.15, 0.6, 0.075))
        store.prices.set("openai", "gpt-4.1-2025-04-14", Price(2.0, 8.0, 0.5))
        for (_, model), pieces, ttft, tokens in zip(models, (ANSWER_A, ANSWER_D, ANSWER_B, ANSWER_C),
                                                 (420, 530, 610, 180), (96, 71, 58, 64), strict=True):
            server.set_default(model, Script(text_pieces=pieces, first_token_delay_ms=ttft, interval_ms=60,
                                             usage={"input_tokens": 412, "output_tokens": tokens}))
        csv = at.tmp / "customers-2026.csv"
        csv.write_text("customer,plan,mrr,status\nInitech,pro,800,churned\nUmbrella,team,1150,churned\n"
                       "Globex,pro,950,\nHooli,starter,400,churned\nAcme,team,1200,active\n")
        engine = Engine(store)
        window = main_window(engine, at.tmp, size)
        if two_turns:  # the model that asks and one that guesses, side by side, over two turns
            models = [models[2], models[1]]
        window.picker.set_checked({f"{p}/{m}" for p, m in models})
        window.compose.prompt.setPlainText(
            "Which customers churned last quarter, and how much monthly revenue did we lose?\n"
            "Use the attached export; say so if something is missing."
        )
        window.compose.add_attachment(load_attachment(csv))

        async def second_turn() -> None:
            for model, pieces in SECOND.items():
                server.enqueue(model, Script(text_pieces=pieces, first_token_delay_ms=300, interval_ms=60,
                                             usage={"input_tokens": 530, "output_tokens": 61}))
            window.reply_all(REPLY)
            await answered(window)

        send_and_grab(at, window, engine, out, second_turn if two_turns else None)


def main(argv: list[str] | None = None) -> int:
    ap = shot_parser(__doc__, "screenshot.png")
    ap.add_argument("--two-turns", action="store_true",
                    help="two models, then Reply to all: the README's two-turn comparison")
    args = ap.parse_args(argv)
    return shot_main(args, lambda: shoot(args.out, args.two_turns, args.size))


if __name__ == "__main__":
    raise SystemExit(main())
