"""Tiny real media files for tests, built from their formats' definitions."""

from __future__ import annotations

import struct
import zlib


def png(width: int = 2, height: int = 3, rgb: bytes = b"\xff\x00\x00") -> bytes:
    """A valid RGB PNG of the given size filled with one colour."""

    def chunk(tag: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + tag + data + struct.pack(">I", zlib.crc32(tag + data))

    raw = b"".join(b"\x00" + rgb * width for _ in range(height))
    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", zlib.compress(raw)) + chunk(b"IEND", b"")
