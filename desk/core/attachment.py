"""Attachments: images and text-like data files, checked before anything is sent.

Data files go to the model verbatim (decoded, never "cleaned"); images are identified
by their bytes, not their file name, so a zip renamed to .png is refused with a reason.
"""

from __future__ import annotations

import hashlib
import struct
from dataclasses import dataclass, field
from pathlib import Path

from desk.core.files import FileReadError, mib, read_bounded

MAX_DATA_BYTES = 10 * 1024 * 1024
MAX_IMAGE_BYTES = 20 * 1024 * 1024
MAX_IMAGE_PIXELS = 40_000_000  # ~ 8000 x 5000; vendors downscale far below this anyway
MAX_ATTACHMENT_BYTES = max(MAX_DATA_BYTES, MAX_IMAGE_BYTES)  # what is read at most before classifying


class AttachmentError(ValueError):
    """An attachment that cannot be sent; the message says why in plain words."""


@dataclass(frozen=True)
class Attachment:
    """One file sent with a trial.

    `kind` is "image" or "data". `data` holds the exact bytes (content-addressed by
    `sha256`); `text` is the decoded content of a data file and `encoding` the codec
    that decoded it. Images carry their pixel size.
    """

    kind: str
    name: str
    mime: str
    data: bytes = field(repr=False)
    sha256: str
    encoding: str | None = None
    text: str | None = field(default=None, repr=False)
    width: int | None = None
    height: int | None = None

    @property
    def size(self) -> int:
        return len(self.data)


def sha256_hex(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def load_attachment(path: str | Path) -> Attachment:
    """Read a file and classify it as an image or a text data file, or raise AttachmentError.

    Its kind and size are checked before it is opened and at most the image limit (the
    larger one) is read, so a FIFO, a device or a huge sparse file is refused at once."""
    p = Path(path)
    try:
        data = read_bounded(p, MAX_ATTACHMENT_BYTES, what="attachment")
    except FileReadError as exc:
        raise AttachmentError(str(exc)) from None
    return attachment_from_bytes(p.name, data)


def attachment_from_bytes(name: str, data: bytes) -> Attachment:
    """Classify bytes named `name` as an image or a data file, or raise AttachmentError."""
    image_mime = sniff_image(data)
    if image_mime is not None:
        return _image(name, image_mime, data)
    if _looks_like_image_name(name) and data:
        raise AttachmentError(f"{name}: not a readable image (unrecognised or corrupt content)")
    return _data(name, data)


_IMAGE_SUFFIXES = {".png", ".jpg", ".jpeg", ".gif", ".webp", ".bmp", ".tif", ".tiff", ".heic"}


def _looks_like_image_name(name: str) -> bool:
    return Path(name).suffix.lower() in _IMAGE_SUFFIXES


def sniff_image(data: bytes) -> str | None:
    """Return the MIME type if `data` starts like an image format vendors accept."""
    if data.startswith(b"\x89PNG\r\n\x1a\n"):
        return "image/png"
    if data.startswith(b"\xff\xd8\xff"):
        return "image/jpeg"
    if data[:6] in (b"GIF87a", b"GIF89a"):
        return "image/gif"
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "image/webp"
    return None


def _image(name: str, mime: str, data: bytes) -> Attachment:
    if len(data) > MAX_IMAGE_BYTES:
        raise AttachmentError(
            f"{name}: image is {mib(len(data))}, larger than the {mib(MAX_IMAGE_BYTES)} limit"
        )
    width, height = image_size(mime, data, name)
    if width * height > MAX_IMAGE_PIXELS:
        raise AttachmentError(
            f"{name}: image is {width}x{height} pixels, more than the "
            f"{MAX_IMAGE_PIXELS // 1_000_000} megapixel limit; scale it down first"
        )
    return Attachment("image", name, mime, data, sha256_hex(data), width=width, height=height)


def image_size(mime: str, data: bytes, name: str = "image") -> tuple[int, int]:
    """Read pixel dimensions from the header; raise AttachmentError if the file is damaged."""
    try:
        if mime == "image/png":
            if data[12:16] != b"IHDR" or b"IEND" not in data[-16:]:
                raise ValueError("truncated")
            w, h = struct.unpack(">II", data[16:24])
        elif mime == "image/gif":
            w, h = struct.unpack("<HH", data[6:10])
            if not data.rstrip(b"\x00").endswith(b"\x3b"):
                raise ValueError("truncated")
        elif mime == "image/webp":
            w, h = _webp_size(data)
        else:
            w, h = _jpeg_size(data)
    except (ValueError, struct.error, IndexError):
        raise AttachmentError(f"{name}: damaged or truncated image") from None
    if w <= 0 or h <= 0:
        raise AttachmentError(f"{name}: damaged image (zero size)")
    return w, h


def _jpeg_size(data: bytes) -> tuple[int, int]:
    if not data.rstrip(b"\x00").endswith(b"\xff\xd9"):
        raise ValueError("truncated")
    i = 2
    while i + 9 < len(data):
        if data[i] != 0xFF:
            raise ValueError("bad marker")
        marker = data[i + 1]
        if marker == 0xFF:  # fill byte
            i += 1
            continue
        length = struct.unpack(">H", data[i + 2 : i + 4])[0]
        if 0xC0 <= marker <= 0xCF and marker not in (0xC4, 0xC8, 0xCC):
            h, w = struct.unpack(">HH", data[i + 5 : i + 9])
            return w, h
        i += 2 + length
    raise ValueError("no frame header")


def _webp_size(data: bytes) -> tuple[int, int]:
    chunk = data[12:16]
    if chunk == b"VP8 ":
        w, h = struct.unpack("<HH", data[26:30])
        return w & 0x3FFF, h & 0x3FFF
    if chunk == b"VP8L":
        b = data[21:25]
        w = 1 + (((b[1] & 0x3F) << 8) | b[0])
        h = 1 + (((b[3] & 0xF) << 10) | (b[2] << 2) | ((b[1] & 0xC0) >> 6))
        return w, h
    if chunk == b"VP8X":
        w = 1 + int.from_bytes(data[24:27], "little")
        h = 1 + int.from_bytes(data[27:30], "little")
        return w, h
    raise ValueError("unknown webp chunk")


_BOMS = (
    (b"\xef\xbb\xbf", "utf-8-sig"),
    (b"\xff\xfe\x00\x00", "utf-32"),
    (b"\x00\x00\xfe\xff", "utf-32"),
    (b"\xff\xfe", "utf-16"),
    (b"\xfe\xff", "utf-16"),
)

_TEXT_MIME = {
    ".csv": "text/csv",
    ".tsv": "text/tab-separated-values",
    ".json": "application/json",
    ".jsonl": "application/jsonl",
    ".ndjson": "application/jsonl",
    ".md": "text/markdown",
    ".xml": "application/xml",
    ".yaml": "application/yaml",
    ".yml": "application/yaml",
    ".html": "text/html",
}


def decode_text(data: bytes) -> tuple[str, str]:
    """Decode text bytes, returning (text, encoding); raise ValueError for binary content.

    A BOM wins; then strict UTF-8; then BOM-less UTF-16 (every other byte NUL); then
    Windows-1252, which is what spreadsheets on Windows export. NUL bytes anywhere
    else mean binary.
    """
    for bom, codec in _BOMS:
        if data.startswith(bom):
            return data.decode(codec), codec.replace("-sig", "") + " (BOM)"
    if b"\x00" in data:
        utf16 = _bomless_utf16(data)
        if utf16 is not None:
            return utf16
        raise ValueError("contains NUL bytes: looks like a binary file")
    try:
        return data.decode("utf-8"), "utf-8"
    except UnicodeDecodeError:
        pass
    text = data.decode("cp1252", errors="strict") if _is_cp1252(data) else None
    if text is None:
        text = data.decode("latin-1")
        encoding = "latin-1"
    else:
        encoding = "cp1252"
    if _control_ratio(text) > 0.05:
        raise ValueError("mostly non-text bytes: looks like a binary file")
    return text, encoding


def _bomless_utf16(data: bytes) -> tuple[str, str] | None:
    sample = data[:4096]
    if len(sample) < 4 or len(sample) % 2:
        return None
    odd_nuls = sample[1::2].count(0) / (len(sample) / 2)
    even_nuls = sample[0::2].count(0) / (len(sample) / 2)
    codec = "utf-16-le" if odd_nuls > 0.9 else "utf-16-be" if even_nuls > 0.9 else None
    if codec is None:
        return None
    try:
        return data.decode(codec), codec
    except UnicodeDecodeError:
        return None


def _is_cp1252(data: bytes) -> bool:
    try:
        data.decode("cp1252")
        return True
    except UnicodeDecodeError:
        return False


def _control_ratio(text: str) -> float:
    if not text:
        return 0.0
    sample = text[:8192]
    bad = sum(1 for c in sample if ord(c) < 32 and c not in "\t\n\r\f\v")
    return bad / len(sample)


def _data(name: str, data: bytes) -> Attachment:
    if len(data) > MAX_DATA_BYTES:
        raise AttachmentError(
            f"{name}: file is {mib(len(data))}, larger than the {mib(MAX_DATA_BYTES)} limit "
            "for data files"
        )
    if not data:
        raise AttachmentError(f"{name}: file is empty")
    try:
        text, encoding = decode_text(data)
    except ValueError as exc:
        raise AttachmentError(f"{name}: {exc}; only images and text files can be attached") from None
    if _control_ratio(text) > 0.05:
        raise AttachmentError(f"{name}: looks like a binary file; only images and text files can be attached")
    mime = _TEXT_MIME.get(Path(name).suffix.lower(), "text/plain")
    return Attachment("data", name, mime, data, sha256_hex(data), encoding=encoding, text=text)
