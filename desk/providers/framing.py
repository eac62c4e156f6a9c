"""Incremental SSE and NDJSON framing: bytes in any split, whole events out.

Each event carries the arrival time of the bytes that completed it, so timing does not
depend on how quickly the events are parsed afterwards.
"""

from __future__ import annotations

from dataclasses import dataclass

MAX_STRAY_CHARS = 64 * 1024


@dataclass(slots=True)
class SSEEvent:
    event: str  # "message" when the server named none
    data: str
    at: float


class SSEDecoder:
    """Server-sent events per the WHATWG spec: CRLF, LF or CR line ends, multi-line data."""

    def __init__(self) -> None:
        self._buf = b""
        self._event = ""
        self._data: list[str] = []
        self._pending_cr = False
        # Lines that are no SSE field at all, which the spec ignores: a protocol may look
        # at them (Gemini ends a failed stream with a bare JSON error object). Capped.
        self.stray: list[str] = []
        self._stray_chars = 0

    def feed(self, chunk: bytes, at: float) -> list[SSEEvent]:
        buf = self._buf + chunk
        events: list[SSEEvent] = []
        start = 0
        n = len(buf)
        while start < n:
            # Find the next line end (\n, \r\n or lone \r).
            nl = buf.find(b"\n", start)
            cr = buf.find(b"\r", start, nl if nl >= 0 else n)
            if cr >= 0:
                end, nxt = cr, cr + 1
                if nxt < n and buf[nxt] == 0x0A:
                    nxt += 1
                elif nxt == n:
                    break  # a CR at the very end may be half of CRLF: wait for more
            elif nl >= 0:
                end, nxt = nl, nl + 1
            else:
                break
            self._line(buf[start:end], at, events)
            start = nxt
        self._buf = buf[start:]
        return events

    def _line(self, raw: bytes, at: float, events: list[SSEEvent]) -> None:
        if not raw:
            if self._data:
                events.append(SSEEvent(self._event or "message", "\n".join(self._data), at))
            self._event = ""
            self._data = []
            return
        line = raw.decode("utf-8", errors="replace")
        if line[0] == ":":
            return  # comment / keep-alive
        field, _, value = line.partition(":")
        if value.startswith(" "):
            value = value[1:]
        if field == "data":
            self._data.append(value)
        elif field == "event":
            self._event = value
        elif field not in ("id", "retry") and self._stray_chars < MAX_STRAY_CHARS:
            self.stray.append(line)
            self._stray_chars += len(line)

    def close(self, at: float) -> list[SSEEvent]:
        """Flush at end of stream: a last event without its blank line still counts."""
        events: list[SSEEvent] = []
        if self._buf:
            self._line(self._buf.rstrip(b"\r"), at, events)
            self._buf = b""
        self._line(b"", at, events)
        return events

    @property
    def pending(self) -> bool:
        return bool(self._buf or self._data)


class NDJSONDecoder:
    """Newline-delimited JSON (Ollama): one object per line; blank lines ignored."""

    def __init__(self) -> None:
        self._buf = b""

    def feed(self, chunk: bytes, at: float) -> list[tuple[str, float]]:
        buf = self._buf + chunk
        lines = buf.split(b"\n")
        self._buf = lines.pop()
        return [(ln.decode("utf-8", errors="replace"), at) for ln in lines if ln.strip()]

    def close(self, at: float) -> list[tuple[str, float]]:
        rest, self._buf = self._buf, b""
        return [(rest.decode("utf-8", errors="replace"), at)] if rest.strip() else []
