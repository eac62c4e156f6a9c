"""Spacing, sizes and colours in one place, so every panel lines up."""

MARGIN = 8
SPACING = 6
PANE_MIN_WIDTH = 320
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
