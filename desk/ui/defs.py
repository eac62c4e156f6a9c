"""Spacing, sizes and colours in one place, so every panel lines up."""

MARGIN = 8
SPACING = 6
PANE_MIN_WIDTH = 320
THUMB_SIZE = 56
FRAME_MS = 16  # coalesce streamed text to one repaint per frame

MAX_PASTE_CHARS = 5_000_000  # a paste this large is refused with a message, not truncated

OK_COLOUR = "#2e7d32"
ERROR_COLOUR = "#c62828"
MUTED_COLOUR = "#666666"
STREAMING_COLOUR = "#1565c0"
