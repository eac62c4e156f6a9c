"""This machine's name, read once at import like desk.core.clock's anchor: the store marks
the rows a process writes with it (so a restart tells its own dead writers from another
machine's live ones) and a run's conditions say which machine sent."""

from __future__ import annotations

import socket

HOST = socket.gethostname()
