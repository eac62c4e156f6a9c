"""Render two models' tool calls side by side in the main window (Xvfb) and save a PNG.

    python -m tests.ui.screenshot_tools --out resources/screenshot-tools.png

As tests/ui/screenshot.py, with a trial that offers tools: one model calls both tools
correctly, the other sends an argument of the wrong type, and each pane shows desk's verdict.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import shutil
import sys
import tempfile
from pathlib import Path

from tests.ui.screenshot import ROOT, SIZE, save_grab, start_xvfb

TOOLS = [
    {"type": "function", "function": {"name": "get_weather", "description": "Current weather in a city",
     "parameters": {"type": "object", "required": ["city"], "additionalProperties": False,
                    "properties": {"city": {"type": "string"},
                                   "unit": {"type": "string", "enum": ["celsius", "fahrenheit"]}}}}},
    {"type": "function", "function": {"name": "get_time", "description": "Local time in a time zone",
     "parameters": {"type": "object", "required": ["tz"], "properties": {"tz": {"type": "string"}}}}},
]
GOOD = [("get_weather", ['{"city": "Lis', 'bon", "unit": ', '"celsius"}']), ("get_time", ['{"tz": "Europe/', 'Lisbon"}'])]
WRONG = [("get_weather", ['{"city": "Lisbon", ', '"unit": "C"}']), ("get_time", ['{"tz": ', "0}"])]


def shoot(out: Path) -> None:
    import qasync
    from PySide6.QtCore import QSettings
    from PySide6.QtWidgets import QApplication

    sys.path.insert(0, str(ROOT))
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
    models = [("openai", "gpt-4o-mini-2024-07-18", WRONG), ("anthropic", "claude-sonnet-4-5-20250929", GOOD)]
    for provider, model, calls in models:
        store.providers.add_model(provider, model)
        server.set_default(model, Script(tool_calls=calls, first_token_delay_ms=300))
    app = QApplication.instance() or QApplication([])
    loop = qasync.QEventLoop(app)
    asyncio.set_event_loop(loop)
    engine = Engine(store)
    window = MainWindow(engine, QSettings(str(tmp / "ui.ini"), QSettings.Format.IniFormat))
    window.move(0, 0)
    window.resize(*SIZE)
    window.show()
    window.picker.set_checked({f"{p}/{m}" for p, m, _ in models})
    window.compose.prompt.setPlainText("What's the weather and the local time in Lisbon right now?")
    window.compose.tools.text.setPlainText(json.dumps(TOOLS, indent=2))
    window.compose.tools_toggle.setChecked(True)

    async def run() -> None:
        window.send()
        await asyncio.sleep(0.1)
        while window._run_task is not None and not window._run_task.done():
            await asyncio.sleep(0.05)
        await asyncio.sleep(0.5)
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
    ap.add_argument("--out", type=Path, default=ROOT / "resources" / "screenshot-tools.png")
    args = ap.parse_args(argv)
    if shutil.which("Xvfb") is None:
        print("Xvfb is not installed", file=sys.stderr)
        return 2
    xvfb = start_xvfb()
    os.environ["QT_QPA_PLATFORM"] = "xcb"
    try:
        shoot(args.out)
    finally:
        xvfb.terminate()
        xvfb.wait(5)
    print(f"saved {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
