"""Keyboard shortcuts, in one place."""

SEND = "Ctrl+Return"
SEND_ALT = "Ctrl+Enter"
CANCEL = "Escape"
ATTACH = "Ctrl+Shift+A"
FIND_HISTORY = "Ctrl+F"
SETTINGS = "Ctrl+,"
RUN_AGAIN = "Ctrl+R"
NEW_TRIAL = "Ctrl+N"
QUIT = "Ctrl+Q"
BLIND = "Ctrl+B"
RATE = "Ctrl+Shift+R"  # to the first unrated answer's rating (keyboard-first rating starts here)
PREFER_LEFT = "Alt+Left"
PREFER_RIGHT = "Alt+Right"
PREFER_TIE = "Alt+Down"
PREFER_BOTH_BAD = "Alt+Up"
SCORECARD = "Ctrl+Shift+S"
EXPORT = "Ctrl+E"
TAB_TRIALS = "Alt+1"
TAB_LOAD = "Alt+2"
TAB_SUITES = "Alt+3"
MAXIMISE = "Ctrl"  # Ctrl+1 … Ctrl+9: that answer alone, the same keys again: back to the row
PANE_LAYOUT = "Ctrl+Shift+L"  # many answers: columns, two rows, tabs
LINK_SCROLL = "Ctrl+Shift+K"  # scroll every answer together
HELP = "F1"
OPEN_STORE = "Ctrl+O"
REPLY_ALL = "Ctrl+Shift+Y"  # the reply box under the answers: the same reply to every model
