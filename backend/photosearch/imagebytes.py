"""What untrusted bytes are, from their first bytes alone: which image type, or what else they look like.

Shared by the two places that receive strangers' bytes: `sources/fetch.py` (refuse an HTML page served as
`image/jpeg` before it is stored) and `vision/imageio.py` (open only the sniffed format's Pillow plugin).
Pure byte inspection, no Pillow and no I/O, so importing it costs nothing. The file-name side lives here too:
`IMAGE_SUFFIXES`, the endings a folder listing or an upload treats as photos.
"""

from __future__ import annotations

import struct

# File endings taken as photos when listing a folder or saving an upload (the bytes decide in the end).
IMAGE_SUFFIXES = frozenset(
    {".jpg", ".jpeg", ".png", ".webp", ".gif", ".bmp", ".tif", ".tiff", ".heic", ".heif", ".avif"}
)


def sniff_image_type(data: bytes) -> str | None:
    """The image type the magic bytes announce ("jpeg", "png", "gif", "webp", "bmp", "tiff", "ico", "avif",
    "heic", "jpeg2000"), or None when the bytes don't start like any image we know."""
    head = data[:64]
    if head.startswith(b"\xff\xd8\xff"):
        return "jpeg"
    if head.startswith(b"\x89PNG\r\n\x1a\n"):
        return "png"
    if head[:6] in (b"GIF87a", b"GIF89a"):
        return "gif"
    if head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        return "webp"
    # "BM" alone is too weak (text can start with it): also require a known DIB header size
    if (
        head[:2] == b"BM"
        and len(head) >= 18
        and struct.unpack_from("<I", head, 14)[0] in (12, 40, 52, 56, 64, 108, 124)
    ):
        return "bmp"
    if head[:4] in (b"II*\x00", b"MM\x00*", b"II+\x00", b"MM\x00+"):
        return "tiff"
    if head[:4] == b"\x00\x00\x01\x00" and len(head) >= 6 and struct.unpack_from("<H", head, 4)[0] > 0:
        return "ico"
    if head.startswith(b"\x00\x00\x00\x0cjP  \r\n\x87\n") or head.startswith(b"\xff\x4f\xff\x51"):
        return "jpeg2000"
    if head[4:8] == b"ftyp":
        box = data[8 : min(len(data), max(16, struct.unpack_from(">I", head, 0)[0]))]
        brands = {box[i : i + 4] for i in range(0, len(box) - 3, 4)}  # major brand, version, compatibles
        if brands & {b"avif", b"avis"}:
            return "avif"
        if brands & {b"heic", b"heix", b"heim", b"heis", b"hevc", b"hevx", b"mif1", b"msf1"}:
            return "heic"
    return None


def non_image_reason(data: bytes) -> str:
    """What the bytes look like instead of an image, for messages ("looks like HTML (a web page)")."""
    if not data:
        return "the file is empty (0 bytes)"
    head = data[:512].lstrip(b"\xef\xbb\xbf \t\r\n\f").lower()
    if head.startswith((b"<!doctype html", b"<html", b"<head", b"<body", b"<script", b"<meta", b"<title")):
        return "looks like HTML (a web page)"
    if head.startswith(b"<svg") or (head.startswith((b"<?xml", b"<!doctype svg")) and b"<svg" in data[:4096].lower()):
        return "an SVG drawing; vector images are not supported"
    if head.startswith(b"<?xml"):
        return "looks like XML"
    if head.startswith(b"<") and b"<html" in data[:4096].lower():
        return "looks like HTML (a web page)"
    if data.startswith(b"%PDF-"):
        return "looks like a PDF document"
    if data.startswith(b"PK\x03\x04"):
        return "looks like a ZIP archive"
    if data.startswith(b"\x1f\x8b"):
        return "looks like a gzip-compressed file"
    if data[4:8] == b"ftyp" or data[4:8] in (b"moov", b"mdat") or data.startswith(b"\x1aE\xdf\xa3"):
        return "looks like a video"
    if head.startswith((b"{", b"[")):
        return "looks like JSON"
    sample = data[:1024]
    try:
        text = sample.decode("utf-8")
    except UnicodeDecodeError:
        text = None
    if text is not None and sum(ch.isprintable() or ch in "\r\n\t" for ch in text) >= 0.95 * len(text):
        return "looks like text"
    return f"unrecognised data (starts with {data[:8].hex(' ')})"
