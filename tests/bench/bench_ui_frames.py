"""The GUI thread's own cost of showing N streaming panes, frame by frame, with no streams.

bench_ui measures stalls on the wall clock, which on a shared machine are mostly waiting for
a core. This drives the real main window's panes the way the window does (panes made ahead
while idle, then placed a few per turn of the loop, each frame's text appended and the scrollbars settled a few panes a frame,
then every answer ending in one frame), processes the events each frame causes (layout,
paint) and reports the GUI thread's CPU time per frame: the same work whatever the load, so
two versions compare on it directly.

    python -m tests.bench.bench_ui_frames [--panes 16] [--rate 200] [--seconds 5]
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
FPS = 60


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--panes", type=int, default=16)
    ap.add_argument("--rate", type=float, default=200.0, help="chunks per second per pane")
    ap.add_argument("--seconds", type=float, default=5.0)
    args = ap.parse_args(argv)
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    sys.path.insert(0, str(ROOT))
    from PySide6.QtCore import QSettings
    from PySide6.QtWidgets import QApplication

    from desk.core.response import ResponseResult, Status
    from desk.engine.session import Engine
    from desk.store.db import open_store
    from desk.ui import frame_queue
    from desk.ui.main_window import MainWindow

    try:  # the frame's own steps, where this version has them (so an older version compares too)
        from desk.ui.live_text import new_frame
        from desk.ui.trial_view import SETTLE_FRAMES
    except ImportError:
        new_frame, SETTLE_FRAMES = (lambda: None), 0

    app = QApplication.instance() or QApplication([])
    tmp = Path(tempfile.mkdtemp(prefix="desk-bench-frames-"))
    window = MainWindow(Engine(open_store(tmp / "desk.db")), QSettings(str(tmp / "ui.ini"), QSettings.Format.IniFormat))
    window.resize(1600, 1000)
    window.show()
    for _ in range(20):
        app.processEvents()
    chunks = int(args.rate * args.seconds)
    pieces = [f"word{i % 97} " + ("\n" if i % 12 == 11 else "") for i in range(chunks)]
    frames: list[float] = []

    def frame(work: Callable[[], object]) -> None:
        cpu = time.thread_time()
        work()
        app.processEvents()  # the layout and painting the frame's changes cause
        frames.append((time.thread_time() - cpu) * 1000)

    results = [ResponseResult(id=f"r{i}", trial_id="t", model=f"bench/stream-{i + 1}", settings={})
               for i in range(args.panes)]
    ahead: list[float] = []  # panes made ahead while the window idles (the models picked)
    if hasattr(window.grid, "keep_spares"):
        window.grid.keep_spares(args.panes)
        while len(window.grid._spares) < args.panes:
            frame(lambda: None)
        ahead, frames[:] = list(frames), []
    panes = []
    if hasattr(window.pane_binder, "_place_panes"):  # the binder places them, a few per turn
        for r in results:
            window.pane_binder.started(r)
        while frame_queue.pending():
            frame(lambda: None)
        panes = [window.panes_by_id[r.id] for r in results]
    else:
        for r in results:  # one pane built per turn, as the window's binder did
            frame(lambda r=r: (panes.append(pane := window.pane_for(r)), pane))
    start, frames[:] = list(frames), []
    sent, count = 0, int(args.seconds * FPS)
    for k in range(1, count + 1):
        upto = k * chunks // count
        text, sent = "".join(pieces[sent:upto]), upto

        def flush(k: int = k, text: str = text) -> None:
            new_frame()
            for i, pane in enumerate(panes):
                pane.queue_text(text)
                pane.flush()
                if SETTLE_FRAMES and (k + i) % SETTLE_FRAMES == 0:
                    pane.settle()

        frame(flush)
    streaming, frames[:] = list(frames), []

    def end() -> None:
        for r in results:
            r.text, r.status = "".join(pieces), Status.OK
            window.pane_binder.finished(r)

    frame(end)
    while frame_queue.pending():
        frame(lambda: None)
    ending = list(frames)
    print(f"desk UI frame cost ({os.environ['QT_QPA_PLATFORM']}): {args.panes} panes x {args.rate:g} chunks/s "
          f"for {args.seconds:g} s, GUI-thread CPU per frame (ms), load average {os.getloadavg()[0]:.1f}")
    for name, values in (*((("panes made ahead (idle)", ahead),) if ahead else ()),
                         ("panes placed", start), ("streaming", streaming),
                         ("answers ending (and after)", ending)):
        print(f"  {name:28} p50 {pct(values, .5):6.2f}  p99 {pct(values, .99):6.2f}  max {max(values):6.2f}"
              f"  total {sum(values) / 1000:5.2f} s  ({len(values)} frames)")
    return 0


if __name__ == "__main__":
    code = main()
    sys.stdout.flush()
    os._exit(code)  # as bench_ui: skip a teardown PySide6 may crash in
