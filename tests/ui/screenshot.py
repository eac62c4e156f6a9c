"""Render the main window on a real X server (Xvfb) after a real trial and save a PNG.

    python -m tests.ui.screenshot --out resources/screenshot.png

Starts Xvfb on a free display (unless DISPLAY is already set and --no-xvfb is given), a
loopback vendor server with four scripted models (two from one provider, so their full
names matter), sends a trial through the window exactly as a user would at laptop size
(1366×768), and grabs the X screen.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]

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
SIZE = (1366, 768)
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


def start_xvfb() -> subprocess.Popen[bytes]:
    for n in range(90, 120):
        if not Path(f"/tmp/.X11-unix/X{n}").exists() and not Path(f"/tmp/.X{n}-lock").exists():
            proc = subprocess.Popen(["Xvfb", f":{n}", "-screen", "0", f"{SIZE[0]}x{SIZE[1]}x24", "-nolisten", "tcp"],
                                    stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            for _ in range(100):
                if Path(f"/tmp/.X11-unix/X{n}").exists():
                    os.environ["DISPLAY"] = f":{n}"
                    return proc
                time.sleep(0.05)
            proc.kill()
    raise RuntimeError("could not start Xvfb")


def save_grab(widget, out: Path) -> None:
    """Under Xvfb the whole screen (what a person sees, open menus and dialogs included),
    elsewhere the widget alone; saved as `out`."""
    from PySide6.QtGui import QGuiApplication

    screen = QGuiApplication.primaryScreen()
    pixmap = screen.grabWindow(0) if os.environ.get("QT_QPA_PLATFORM") == "xcb" else widget.grab()
    out.parent.mkdir(parents=True, exist_ok=True)
    if not pixmap.save(str(out)):
        raise RuntimeError(f"could not save {out}")


def shoot(out: Path, two_turns: bool = False) -> None:
    import qasync
    from PySide6.QtCore import QSettings
    from PySide6.QtWidgets import QApplication

    sys.path.insert(0, str(ROOT))
    from desk.core.attachment import load_attachment
    from desk.core.pricing import Price
    from desk.core.provider import ProviderConfig
    from desk.engine.session import Engine
    from desk.store.db import open_store
    from desk.ui.main_window import MainWindow
    from tests.vendor_server import Script, VendorServer

    tmp = Path(tempfile.mkdtemp(prefix="desk-shot-"))
    server = VendorServer().start()
    store = open_store(tmp / "desk.db")
    store.providers.add(ProviderConfig("openai", "openai", server.base_url + "/v1"))
    store.providers.add(ProviderConfig("anthropic", "anthropic", server.base_url))
    store.providers.add(ProviderConfig("ollama", "ollama", server.base_url))
    models = [("openai", "gpt-4o-mini-2024-07-18"), ("openai", "gpt-4.1-2025-04-14"),
              ("anthropic", "claude-sonnet-4-5-20250929"), ("ollama", "llama3.2:3b-instruct-q4_K_M")]
    for provider, model in models:
        store.providers.add_model(provider, model)
    store.prices.set("openai", "gpt-4o-mini-2024-07-18", Price(0.15, 0.6, 0.075))
    store.prices.set("openai", "gpt-4.1-2025-04-14", Price(2.0, 8.0, 0.5))
    for (_, model), pieces, ttft, tokens in zip(models, (ANSWER_A, ANSWER_D, ANSWER_B, ANSWER_C),
                                             (420, 530, 610, 180), (96, 71, 58, 64), strict=True):
        server.set_default(model, Script(text_pieces=pieces, first_token_delay_ms=ttft, interval_ms=60,
                                         usage={"input_tokens": 412, "output_tokens": tokens}))
    csv = tmp / "customers-2026.csv"
    csv.write_text("customer,plan,mrr,status\nInitech,pro,800,churned\nUmbrella,team,1150,churned\n"
                   "Globex,pro,950,\nHooli,starter,400,churned\nAcme,team,1200,active\n")

    app = QApplication.instance() or QApplication([])
    loop = qasync.QEventLoop(app)
    asyncio.set_event_loop(loop)
    engine = Engine(store)
    window = MainWindow(engine, QSettings(str(tmp / "ui.ini"), QSettings.Format.IniFormat))
    window.move(0, 0)
    window.resize(*SIZE)  # the whole Xvfb screen: no window manager adds a frame
    window.show()
    if two_turns:  # the model that asks and one that guesses, side by side, over two turns
        models = [models[2], models[1]]
    window.picker.set_checked({f"{p}/{m}" for p, m in models})
    window.compose.prompt.setPlainText(
        "Which customers churned last quarter, and how much monthly revenue did we lose?\n"
        "Use the attached export; say so if something is missing."
    )
    window.compose.add_attachment(load_attachment(csv))

    async def run() -> None:
        window.send()
        await asyncio.sleep(0.1)
        while window._run_task is not None and not window._run_task.done():
            await asyncio.sleep(0.05)
        if two_turns:
            for model, pieces in SECOND.items():
                server.enqueue(model, Script(text_pieces=pieces, first_token_delay_ms=300, interval_ms=60,
                                             usage={"input_tokens": 530, "output_tokens": 61}))
            window.reply_all(REPLY)
            await asyncio.sleep(0.1)
            while window._run_task is not None and not window._run_task.done():
                await asyncio.sleep(0.05)
        await asyncio.sleep(0.5)  # let the last repaint land
        save_grab(window, out)
        await engine.aclose()

    with loop:
        loop.run_until_complete(run())
    window.close()
    store.close()
    server.stop()
    shutil.rmtree(tmp, ignore_errors=True)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", type=Path, default=ROOT / "resources" / "screenshot.png")
    ap.add_argument("--no-xvfb", action="store_true", help="use the current DISPLAY or offscreen")
    ap.add_argument("--two-turns", action="store_true",
                    help="two models, then Reply to all: the README's two-turn comparison")
    args = ap.parse_args(argv)
    xvfb = None
    if not args.no_xvfb:
        if shutil.which("Xvfb") is None:
            print("Xvfb is not installed; use --no-xvfb to render offscreen", file=sys.stderr)
            return 2
        xvfb = start_xvfb()
        os.environ["QT_QPA_PLATFORM"] = "xcb"
    try:
        shoot(args.out, args.two_turns)
    finally:
        if xvfb is not None:
            xvfb.terminate()
            xvfb.wait(5)
    print(f"saved {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
