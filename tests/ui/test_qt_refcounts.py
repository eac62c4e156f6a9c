"""Guards against a Qt binding that miscounts references to True/False.

PySide6 6.12.0 dropped a reference to True on every emit of a signal defined in Python;
after enough emits (a long session, or this test suite) the interpreter aborts with
"bool_dealloc". pyproject.toml excludes that release; this catches a repeat in another one.
"""

from __future__ import annotations

import sys

from PySide6.QtCore import QObject, Signal


class _Emitter(QObject):
    plain = Signal()
    flag = Signal(bool)
    number = Signal(int)
    thing = Signal(object)


def test_emitting_python_signals_keeps_true_and_false_alive(qapp):
    emitter = _Emitter()
    seen: list[object] = []
    emitter.flag.connect(seen.append)
    emitter.number.connect(seen.append)
    emitter.thing.connect(seen.append)
    before = sys.getrefcount(True), sys.getrefcount(False)
    for _ in range(200):
        emitter.plain.emit()
        emitter.flag.emit(True)
        emitter.flag.emit(False)
        emitter.number.emit(1)
        emitter.thing.emit(False)
    seen.clear()
    after = sys.getrefcount(True), sys.getrefcount(False)
    # Other threads may hold or drop a few references meanwhile; a leak here is 200+.
    assert after[0] > before[0] - 50 and after[1] > before[1] - 50, (before, after)
