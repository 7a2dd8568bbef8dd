"""CPU denial of service at decode time: a progressive JPEG with thousands of scans, an ICO whose entry is
far larger than its directory says, a decode that runs past its time budget, 50,000 hashtags."""

from __future__ import annotations

import io
import struct
import threading

import pytest
from PIL import Image

from photosearch.errors import ImageError
from photosearch.sources.instagram import extract_hashtags
from photosearch.vision import imageio
from photosearch.vision.imageio import MAX_JPEG_SCANS, decode_image


def _scans(data: bytes) -> list[tuple[int, int]]:
    """(start, end) of each scan (SOS header and its entropy-coded data) in a JPEG."""
    found, pos = [], 2
    while pos < len(data):
        marker = data[pos + 1]
        if marker == 0xD9:
            break
        end = pos + 2 + struct.unpack_from(">H", data, pos + 2)[0]
        if marker == 0xDA:
            while True:
                end = data.index(b"\xff", end)
                if data[end + 1] == 0 or 0xD0 <= data[end + 1] <= 0xD7:
                    end += 2
                    continue
                break
            found.append((pos, end))
        pos = end
    return found


def progressive_jpeg(side: int, scans: int) -> bytes:
    """A flat grey progressive JPEG whose last scan is repeated until the file has `scans` scans (libjpeg
    only warns about the bogus progression and does the work of every one)."""
    buffer = io.BytesIO()
    Image.new("L", (side, side), 128).save(buffer, "JPEG", progressive=True, quality=50)
    data = buffer.getvalue()
    found = _scans(data)
    start, end = found[-1]
    return data[:end] + data[start:end] * (scans - len(found)) + data[end:]


def test_a_jpeg_with_thousands_of_scans_is_refused_before_decoding() -> None:
    data = progressive_jpeg(1024, 2000)
    assert len(_scans(data)) == 2000
    with pytest.raises(ImageError, match="2,000 scans"):
        decode_image(data, 80_000_000)


def test_an_ordinary_progressive_jpeg_still_decodes() -> None:
    data = progressive_jpeg(256, 12)
    assert len(_scans(data)) <= MAX_JPEG_SCANS
    assert decode_image(data, 80_000_000).size == (256, 256)


def ico_wrapping(png: bytes, claimed: int = 0) -> bytes:
    """An ICO whose one entry claims `claimed`×`claimed` (0 means 256) and holds `png`."""
    header = struct.pack("<HHH", 0, 1, 1)
    entry = struct.pack("<BBBBHHII", claimed, claimed, 0, 0, 1, 32, len(png), 6 + 16)
    return header + entry + png


def test_an_ico_wrapping_a_huge_png_is_judged_by_the_png(monkeypatch: pytest.MonkeyPatch) -> None:
    """Refused from the embedded PNG's header, before a pixel is decoded (it used to be decoded first)."""
    from PIL import IcoImagePlugin

    def no_decoding(self):  # noqa: ANN001, ANN202
        raise AssertionError("the ICO was decoded")

    monkeypatch.setattr(IcoImagePlugin.IcoImageFile, "load", no_decoding)
    buffer = io.BytesIO()
    Image.new("L", (2000, 2000), 0).save(buffer, "PNG")
    ico = ico_wrapping(buffer.getvalue())
    with pytest.raises(ImageError, match=r"2000×2000 = 4 MP, over the 1 MP limit"):
        decode_image(ico, 1_000_000)


def test_a_small_ico_still_decodes() -> None:
    buffer = io.BytesIO()
    Image.new("RGB", (48, 48), (200, 10, 10)).save(buffer, "PNG")
    assert decode_image(ico_wrapping(buffer.getvalue(), 48), 1_000_000).size == (48, 48)


def test_a_decode_past_its_time_budget_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    """A clock that jumps 1 s per look: the decoder's later reads find the budget spent."""
    ticks = iter(range(1_000_000))
    monkeypatch.setattr(imageio.time, "monotonic", lambda: float(next(ticks)))
    buffer = io.BytesIO()
    Image.effect_noise((400, 400), 64).convert("RGB").save(buffer, "PNG")  # noise: many deflate blocks
    with pytest.raises(ImageError, match="took longer than 3 s to decode"):
        decode_image(buffer.getvalue(), 80_000_000, decode_seconds=3)


def test_fifty_thousand_hashtags_are_read_in_one_pass() -> None:
    """12-14 s before (a list lookup per tag); ~0.1 s now. The bound is a hang guard, 50x the need."""
    text = " ".join(f"#tag{i}x" for i in range(50_000)) + " #tag7x #Tag8X"
    result: list[list[str]] = []
    worker = threading.Thread(target=lambda: result.append(extract_hashtags(text)), daemon=True)
    worker.start()
    worker.join(timeout=10)
    assert result, "extracting 50,000 hashtags did not finish in 10 s"
    assert len(result[0]) == 50_000 and result[0][:2] == ["tag0x", "tag1x"] and result[0][-1] == "tag49999x"
