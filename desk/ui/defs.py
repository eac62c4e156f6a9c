"""Spacing, sizes and colours in one place, so every panel lines up."""

MARGIN = 8
SPACING = 6
PANE_MIN_WIDTH = 180
THUMB_SIZE = 56
FRAME_MS = 16  # coalesce streamed text to one repaint per frame

# A paste longer than desk.core.trial.MAX_PROMPT_CHARS (the one prompt limit) is refused with
# a message, not truncated. Qt lays out a wrapped line in time quadratic in its length (400k
# chars on one line: seconds per keystroke), so a paste with a longer single line (minified
# JSON, a one-line dump) is refused too, with the same advice: attach it as a file.
MAX_PASTE_LINE_CHARS = 100_000

OK_COLOUR = "#2e7d32"
ERROR_COLOUR = "#c62828"
MUTED_COLOUR = "#666666"
STREAMING_COLOUR = "#1565c0"
# A line per model in the charts (the Load tab's, the runs' timeline): here, so a dialog that
# draws one imports no other chart's module (the Load tab's pulled in its engine: 30 ms on opening).
CHART_COLOURS = ("#1565c0", "#2e7d32", "#6a1b9a", "#ef6c00", "#00838f", "#5d4037", "#ad1457", "#9e9d24")


def dark() -> bool:
    """Whether the system palette is dark (the window follows it; tints must too)."""
    from PySide6.QtGui import QGuiApplication

    return QGuiApplication.palette().window().color().lightness() < 128


def muted() -> str:
    """Secondary text: #666 is readable on a light window but nearly vanishes on a dark one."""
    return "#a0a0a0" if dark() else MUTED_COLOUR


def error_tint() -> str:
    return "#4a1f1f" if dark() else "#fdecea"


def info_tint() -> str:
    return "#1d3347" if dark() else "#e8f4fd"


def error_text() -> str:
    return "#ff8a80" if dark() else ERROR_COLOUR


def ok_text() -> str:
    return "#81c784" if dark() else OK_COLOUR


def streaming_text() -> str:
    return "#90caf9" if dark() else STREAMING_COLOUR


def chosen_fill() -> str:
    """The chosen rating option's fill: strong in either palette."""
    return "#90caf9" if dark() else "#1565c0"


def chosen_text() -> str:
    return "#0d1b2a" if dark() else "#ffffff"
