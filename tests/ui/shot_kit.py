"""What the screenshot scripts (tests/ui/screenshot*.py) share: their options (--out, --size,
--no-xvfb), an Xvfb screen at laptop size (or --size WxH), a throwaway store on a loopback
vendor, the main window filling the screen, and the grab."""

from __future__ import annotations

import argparse
import asyncio
import os
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
SIZE = (1366, 768)  # a common laptop screen; --size picks another (1024x700: a small window)


def screen_size(text: str) -> tuple[int, int]:
    """`WxH` (e.g. 1024x700) as (width, height), for --size."""
    try:
        width, height = (int(part) for part in text.lower().split("x"))
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not WxH (e.g. 1024x700)") from None
    if not (320 <= width <= 8192 and 240 <= height <= 8192):
        raise argparse.ArgumentTypeError(f"{text!r}: give a width of 320 to 8192 and a height of 240 to 8192")
    return width, height


def shot_parser(doc: str, out: str) -> argparse.ArgumentParser:
    """A screenshot script's parser (described by its docstring's first line) with the options
    every script has; `out` is the PNG's default name under resources/."""
    ap = argparse.ArgumentParser(description=doc.splitlines()[0])
    ap.add_argument("--out", type=Path, default=ROOT / "resources" / out)
    ap.add_argument("--size", type=screen_size, default=SIZE, metavar="WxH",
                    help="the screen and the window, e.g. 1024x700 (default 1366x768)")
    ap.add_argument("--no-xvfb", action="store_true", help="use the current DISPLAY or offscreen")
    return ap


def shot_main(args: argparse.Namespace, shoot: Callable[[], None]) -> int:
    """Run `shoot` as the parsed options say (on Xvfb at --size unless --no-xvfb); an exit code."""
    if code := on_xvfb(shoot, not args.no_xvfb, args.size):
        return code
    print(f"saved {args.out}")
    return 0


def start_xvfb(size: tuple[int, int] = SIZE) -> subprocess.Popen[bytes]:
    for n in range(90, 120):
        if not Path(f"/tmp/.X11-unix/X{n}").exists() and not Path(f"/tmp/.X{n}-lock").exists():
            proc = subprocess.Popen(["Xvfb", f":{n}", "-screen", "0", f"{size[0]}x{size[1]}x24", "-nolisten", "tcp"],
                                    stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            for _ in range(100):
                if Path(f"/tmp/.X11-unix/X{n}").exists():
                    os.environ["DISPLAY"] = f":{n}"
                    return proc
                time.sleep(0.05)
            proc.kill()
    raise RuntimeError("could not start Xvfb")


def on_xvfb(shoot: Callable[[], None], use_xvfb: bool = True, size: tuple[int, int] = SIZE) -> int:
    """Run `shoot` on a fresh Xvfb screen of `size` (else on the current DISPLAY or offscreen);
    an exit code."""
    xvfb = None
    if use_xvfb:
        if shutil.which("Xvfb") is None:
            print("Xvfb is not installed; use --no-xvfb to render offscreen", file=sys.stderr)
            return 2
        xvfb = start_xvfb(size)
        os.environ["QT_QPA_PLATFORM"] = "xcb"
    try:
        shoot()
    finally:
        if xvfb is not None:
            xvfb.terminate()
            xvfb.wait(5)
    return 0


def save_grab(widget, out: Path) -> None:
    """Under Xvfb the whole screen (what a person sees, open menus and dialogs included),
    elsewhere the widget alone; saved as `out`."""
    from PySide6.QtGui import QGuiApplication

    screen = QGuiApplication.primaryScreen()
    pixmap = screen.grabWindow(0) if os.environ.get("QT_QPA_PLATFORM") == "xcb" else widget.grab()
    out.parent.mkdir(parents=True, exist_ok=True)
    if not pixmap.save(str(out)):
        raise RuntimeError(f"could not save {out}")


@dataclass
class Scene:
    tmp: Path
    server: Any  # tests.vendor_server.VendorServer
    store: Any  # desk.store.db.Store
    loop: asyncio.AbstractEventLoop


@contextmanager
def scene(providers: Sequence[tuple[str, str]], models: Sequence[tuple[str, str]]) -> Iterator[Scene]:
    """A store in a temporary folder with `providers` ((name, kind) each) at a started loopback
    vendor and their `models` ((provider, model) each), and a qasync loop on the QApplication;
    the store, the vendor and the folder are gone afterwards."""
    import qasync
    from PySide6.QtWidgets import QApplication

    sys.path.insert(0, str(ROOT))
    from desk.core.provider import ProviderConfig
    from desk.store.db import open_store
    from tests.vendor_server import VendorServer

    tmp = Path(tempfile.mkdtemp(prefix="desk-shot-"))
    server = VendorServer().start()
    store = open_store(tmp / "desk.db")
    try:
        for name, kind in providers:
            store.providers.add(ProviderConfig(name, kind, server.base_url + ("/v1" if kind == "openai" else "")))
        for provider, model in models:
            store.providers.add_model(provider, model)
        app = QApplication.instance() or QApplication([])
        loop = qasync.QEventLoop(app)
        asyncio.set_event_loop(loop)
        yield Scene(tmp, server, store, loop)
    finally:
        store.close()
        server.stop()
        shutil.rmtree(tmp, ignore_errors=True)


def main_window(engine, tmp: Path, size: tuple[int, int] = SIZE):
    """The main window filling a screen of `size` (no window manager adds a frame), shown."""
    from PySide6.QtCore import QSettings

    from desk.ui.main_window import MainWindow

    window = MainWindow(engine, QSettings(str(tmp / "ui.ini"), QSettings.Format.IniFormat))
    window.move(0, 0)
    window.resize(*size)
    window.show()
    return window


async def answered(window) -> None:
    """Until the window's current send (or reply) has finished."""
    await asyncio.sleep(0.1)  # the send starts its task on the loop
    while window._run_task is not None and not window._run_task.done():
        await asyncio.sleep(0.05)


def send_and_grab(at: Scene, window, engine, out: Path, then: Callable[[], Awaitable[None]] | None = None) -> None:
    """Send what the window holds, wait for the answers (and for `then`, e.g. a reply and its
    answers), let the last repaint land, save the screen as `out`, then close."""

    async def run() -> None:
        window.send()
        await answered(window)
        if then is not None:
            await then()
        await asyncio.sleep(0.5)  # let the last repaint land
        save_grab(window, out)
        await engine.aclose()

    with at.loop:
        at.loop.run_until_complete(run())
    window.close()
