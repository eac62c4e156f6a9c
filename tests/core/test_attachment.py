import struct

import pytest

from desk.core.attachment import (
    MAX_DATA_BYTES,
    AttachmentError,
    attachment_from_bytes,
    decode_text,
    load_attachment,
)
from tests.media import png


def test_png_is_an_image_with_its_size():
    att = attachment_from_bytes("shot.png", png(4, 5))
    assert (att.kind, att.mime, att.width, att.height) == ("image", "image/png", 4, 5)
    assert len(att.sha256) == 64


def test_image_is_recognised_by_content_not_name():
    att = attachment_from_bytes("screenshot.dat", png())
    assert att.kind == "image"


def test_huge_pixel_count_is_refused_with_reason():
    data = bytearray(png(2, 2))
    data[16:24] = struct.pack(">II", 20000, 20000)  # header claims 20000x20000
    with pytest.raises(AttachmentError, match="20000x20000 pixels"):
        attachment_from_bytes("big.png", bytes(data))


def test_truncated_png_and_jpeg_are_refused():
    with pytest.raises(AttachmentError, match="damaged or truncated"):
        attachment_from_bytes("cut.png", png()[:-12])
    jpeg = b"\xff\xd8\xff\xe0\x00\x10JFIF\x00\x01\x01\x00\x00\x01\x00\x01\x00\x00" + b"\x00" * 50
    with pytest.raises(AttachmentError, match="damaged or truncated"):
        attachment_from_bytes("cut.jpg", jpeg)


def test_zip_named_png_is_refused():
    with pytest.raises(AttachmentError, match="not a readable image"):
        attachment_from_bytes("photo.png", b"PK\x03\x04" + b"\x00" * 100)


def test_csv_goes_verbatim_with_detected_encoding():
    text = "name;city\r\nJosé;Zürich\t\r\n  odd   spacing ;\r\n"
    for encoding, expected in [("utf-8", "utf-8"), ("cp1252", "cp1252"), ("utf-16", "utf-16 (BOM)")]:
        att = attachment_from_bytes("data.csv", text.encode(encoding))
        assert att.kind == "data" and att.mime == "text/csv"
        assert att.text == text, encoding  # nothing stripped or normalised
        assert att.encoding == expected


def test_utf8_bom_is_reported_and_removed_from_text_only():
    att = attachment_from_bytes("x.csv", b"\xef\xbb\xbfa,b\n1,2\n")
    assert att.text == "a,b\n1,2\n" and att.encoding == "utf-8 (BOM)"
    assert att.data.startswith(b"\xef\xbb\xbf")  # the stored bytes stay exact


def test_binary_file_is_refused_clearly():
    with pytest.raises(AttachmentError, match="binary"):
        attachment_from_bytes("tool.exe", b"MZ\x90\x00\x03\x00\x00\x00" * 20)


def test_empty_and_oversized_files_are_refused(tmp_path):
    with pytest.raises(AttachmentError, match="empty"):
        attachment_from_bytes("e.txt", b"")
    big = tmp_path / "big.log"
    big.write_bytes(b"x" * (MAX_DATA_BYTES + 1))
    with pytest.raises(AttachmentError, match="larger than"):
        load_attachment(big)


def test_missing_file_and_folder(tmp_path):
    with pytest.raises(AttachmentError, match="no such file"):
        load_attachment(tmp_path / "nope.csv")
    with pytest.raises(AttachmentError, match="folder"):
        load_attachment(tmp_path)


def test_bomless_utf16_is_decoded():
    text, enc = decode_text("id,value\n1,ü\n".encode("utf-16-le"))
    assert text == "id,value\n1,ü\n" and enc == "utf-16-le"
