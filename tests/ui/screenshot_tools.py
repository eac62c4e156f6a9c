"""Render two models' tool calls side by side in the main window (Xvfb) and save a PNG.

    python -m tests.ui.screenshot_tools --out resources/screenshot-tools.png

As tests/ui/screenshot.py, with a trial that offers tools: one model calls both tools
correctly, the other sends an argument of the wrong type, and each pane shows desk's verdict.
"""

from __future__ import annotations

import json
from pathlib import Path

from tests.ui.shot_kit import SIZE, main_window, scene, send_and_grab, shot_main, shot_parser

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


def shoot(out: Path, size: tuple[int, int] = SIZE) -> None:
    from desk.engine.session import Engine
    from tests.vendor_server import Script

    models = [("openai", "gpt-4o-mini-2024-07-18", WRONG), ("anthropic", "claude-sonnet-4-5-20250929", GOOD)]
    with scene([("openai", "openai"), ("anthropic", "anthropic")], [(p, m) for p, m, _ in models]) as at:
        for _, model, calls in models:
            at.server.set_default(model, Script(tool_calls=calls, first_token_delay_ms=300))
        engine = Engine(at.store)
        window = main_window(engine, at.tmp, size)
        window.picker.set_checked({f"{p}/{m}" for p, m, _ in models})
        window.compose.prompt.setPlainText("What's the weather and the local time in Lisbon right now?")
        window.compose.tools.text.setPlainText(json.dumps(TOOLS, indent=2))
        window.compose.tools_toggle.setChecked(True)

        send_and_grab(at, window, engine, out)


def main(argv: list[str] | None = None) -> int:
    args = shot_parser(__doc__, "screenshot-tools.png").parse_args(argv)
    return shot_main(args, lambda: shoot(args.out, args.size))


if __name__ == "__main__":
    raise SystemExit(main())
