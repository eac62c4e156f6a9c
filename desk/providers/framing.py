"""Incremental SSE and NDJSON framing: bytes in any split, whole events out.

Each event carries the arrival time of the bytes that completed it, so timing does not
depend on how quickly the events are parsed afterwards.

Framing is linear in the bytes received: the buffer grows in place and each byte is
searched for a line end once, so a line split into many chunks costs no more than the
same line in one. A line (or SSE event) longer than `max_line` is refused as soon as the
buffer passes it, before it is decoded: a hostile or broken server can neither make desk
spin on it nor hold the event loop (and every other stream's arrival stamps) with it.
"""

from __future__ import annotations

from dataclasses import dataclass

from desk.core.response import ErrorKind
from desk.providers.errors import ProviderError

MAX_LINE_BYTES = 8 * 1024 * 1024  # one SSE event or NDJSON line (an inline image fits)
MAX_BODY_BYTES = 32 * 1024 * 1024  # one non-streamed JSON answer
MAX_STRAY_CHARS = 64 * 1024


def too_large(what: str, limit: int) -> ProviderError:
    """The error for a line or body beyond its limit: says which limit and what to do."""
    return ProviderError(
        ErrorKind.TOO_LARGE,
        f"the server sent {what} larger than desk's limit of {limit / 2**20:g} MB, so desk "
        "stopped reading; check the base URL points at a model server, or lower max tokens",
    )


@dataclass(slots=True)
class SSEEvent:
    event: str  # "message" when the server named none
    data: str
    at: float


class SSEDecoder:
    """Server-sent events per the WHATWG spec: CRLF, LF or CR line ends, multi-line data."""

    def __init__(self, max_line: int = MAX_LINE_BYTES) -> None:
        self._buf = bytearray()
        self._scanned = 0  # bytes at the start of _buf already known to hold no line end
        self._event = ""
        self._data: list[str] = []
        self._data_bytes = 0
        self._max = max_line
        # Lines that are no SSE field at all, which the spec ignores: a protocol may look
        # at them (Gemini ends a failed stream with a bare JSON error object). Capped.
        self.stray: list[str] = []
        self._stray_chars = 0

    def feed(self, chunk: bytes, at: float) -> list[SSEEvent]:
        buf = self._buf
        buf += chunk
        events: list[SSEEvent] = []
        start = 0
        pos = self._scanned
        n = len(buf)
        crs = buf.count(b"\r", pos)
        if crs == 0 or crs == buf.count(b"\r\n", pos):
            # The usual stream: LF or CRLF line ends only among the bytes not yet searched
            # (a CR at the very end is not followed by its LF yet, so it takes the slow
            # path), so the complete lines are split off in one call, not found one by one.
            last = buf.rfind(b"\n", pos)
            if last >= 0:
                line = self._line
                for raw in buf[:last].split(b"\n"):
                    line(raw[:-1] if crs and raw[-1:] == b"\r" else raw, at, events)
                start = last + 1
            pos = n
        while pos < n:
            # The next line end (\n, \r\n or lone \r), searching only bytes not yet searched.
            nl = buf.find(b"\n", pos)
            cr = buf.find(b"\r", pos, nl if nl >= 0 else n)
            if cr >= 0:
                end, nxt = cr, cr + 1
                if nxt < n and buf[nxt] == 0x0A:
                    nxt += 1
                elif nxt == n:
                    pos = cr  # a CR at the very end may be half of CRLF: wait for more
                    break
            elif nl >= 0:
                end, nxt = nl, nl + 1
            else:
                pos = n
                break
            self._line(buf[start:end], at, events)
            start = pos = nxt
        del buf[:start]
        self._scanned = pos - start
        if len(buf) + self._data_bytes > self._max:
            raise too_large("a stream event", self._max)
        return events

    def _line(self, raw: bytes | bytearray, at: float, events: list[SSEEvent]) -> None:
        if not raw:
            if self._data:
                events.append(SSEEvent(self._event or "message", "\n".join(self._data), at))
            self._event = ""
            self._data = []
            self._data_bytes = 0
            return
        if raw[:5] == b"data:":  # most lines: their value decoded alone (the prefix is ASCII)
            self._data.append(raw[6 if raw[5:6] == b" " else 5:].decode("utf-8", errors="replace"))
            self._data_bytes += len(raw)
            if self._data_bytes > self._max:
                raise too_large("a stream event", self._max)
            return
        if raw[0] == 0x3A:  # ":" — a comment / keep-alive, never decoded
            return
        line = raw.decode("utf-8", errors="replace")
        field, _, value = line.partition(":")
        if value.startswith(" "):
            value = value[1:]
        if field == "data":
            self._data.append(value)
            self._data_bytes += len(raw)
            if self._data_bytes > self._max:
                raise too_large("a stream event", self._max)
        elif field == "event":
            self._event = value
        elif field not in ("id", "retry") and self._stray_chars < MAX_STRAY_CHARS:
            self.stray.append(line)
            self._stray_chars += len(line)

    def close(self, at: float) -> list[SSEEvent]:
        """Flush at end of stream: a last event without its blank line still counts."""
        events: list[SSEEvent] = []
        if self._buf:
            self._line(bytes(self._buf).rstrip(b"\r"), at, events)
            self._buf = bytearray()
            self._scanned = 0
        self._line(b"", at, events)
        return events

    @property
    def pending(self) -> bool:
        return bool(self._buf or self._data)


def sse_data(pieces: list[tuple[bytes, float]]) -> list[tuple[str, float]] | None:
    """The data of every event in `pieces` (taken from the start of a stream or right after an
    event's end) with the arrival of the piece that completed it, as SSEDecoder would give
    them, framed at once: for the usual stream only, where each piece holds whole events of
    one `data:` line each (or comments) and LF line ends. None for anything else, which
    SSEDecoder then reads."""
    out: list[tuple[str, float]] = []
    append = out.append
    for chunk, at in pieces:
        if chunk[-2:] != b"\n\n" or b"\r" in chunk or len(chunk) > MAX_LINE_BYTES:
            return None
        for block in chunk[:-2].split(b"\n\n"):
            if b"\n" in block:
                return None
            if block[:5] == b"data:":
                append((block[6 if block[5:6] == b" " else 5:].decode("utf-8", errors="replace"), at))
            elif block[:1] != b":":  # not a comment either
                return None
    return out


class NDJSONDecoder:
    """Newline-delimited JSON (Ollama): one object per line; blank lines ignored."""

    def __init__(self, max_line: int = MAX_LINE_BYTES) -> None:
        self._buf = bytearray()
        self._scanned = 0  # bytes at the start of _buf already known to hold no newline
        self._max = max_line

    def feed(self, chunk: bytes, at: float) -> list[tuple[str, float]]:
        buf = self._buf
        buf += chunk
        out: list[tuple[str, float]] = []
        start = 0
        pos = self._scanned
        while (nl := buf.find(b"\n", pos)) >= 0:
            line = buf[start:nl]
            if line.strip():
                out.append((line.decode("utf-8", errors="replace"), at))
            start = pos = nl + 1
        del buf[:start]
        self._scanned = len(buf)
        if len(buf) > self._max:
            raise too_large("a stream line", self._max)
        return out

    def close(self, at: float) -> list[tuple[str, float]]:
        rest, self._buf, self._scanned = self._buf, bytearray(), 0
        return [(rest.decode("utf-8", errors="replace"), at)] if rest.strip() else []
