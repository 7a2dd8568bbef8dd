"""decode_image on a corpus of awkward, broken and hostile files: RGB image or ImageError, nothing else."""

from __future__ import annotations

import io
import random
import sys
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from photosearch.errors import ImageError
from photosearch.vision import imageio
from photosearch.vision.imageio import (
    decode_image,
    header_size,
    make_thumbnail,
    normalised_jpeg,
    sniff_image_type,
)

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "fixtures"))
import make_bad_images as mbi  # noqa: E402 - the corpus generator; conftest's loader finds this same module

LIMIT = mbi.LIMIT
NAMES = [entry[0] for entry in mbi._items()]


@pytest.fixture(scope="module")
def corpus(tmp_path_factory) -> dict:
    return {item.name: item for item in mbi.generate_corpus(tmp_path_factory.mktemp("corpus"))}


def _close(actual, expected, tol: int = 12) -> bool:
    return all(abs(a - e) <= tol for a, e in zip(actual, expected, strict=True))


def test_corpus_is_big_and_mixed():
    assert len(NAMES) >= 50
    assert len(set(NAMES)) == len(NAMES)
    expects = [entry[1] for entry in mbi._items()]
    assert expects.count("ok") >= 20 and expects.count("error") >= 20


@pytest.mark.parametrize("name", NAMES)
def test_corpus_file_decodes_or_says_why(corpus, name):
    item = corpus[name]
    try:
        img = decode_image(item.path.read_bytes(), LIMIT)
    except ImageError as exc:  # any other exception type fails the test by propagating
        assert exc.message.strip(), "an ImageError needs a reason a person can read"
        assert item.expect == "error", f"{name} ({item.what}) should decode but: {exc.message}"
        if item.reason:
            assert item.reason in exc.message
        return
    assert item.expect == "ok", f"{name} ({item.what}) should be refused"
    assert img.mode == "RGB"
    assert img.width > 0 and img.height > 0
    if item.size:
        assert img.size == item.size
    if item.pixel:
        x, y, rgb = item.pixel
        assert _close(img.getpixel((x, y)), rgb), img.getpixel((x, y))


# ------------------------------------------------------------------------------------ specific behaviour


@pytest.mark.parametrize(
    ("orientation", "size", "red_at", "blue_at"),
    [
        (1, (40, 20), (2, 10), (37, 10)),
        (3, (40, 20), (37, 10), (2, 10)),  # 180°: red ends on the right
        (6, (20, 40), (10, 2), (10, 37)),  # shown turned 90° clockwise: left edge becomes the top
        (8, (20, 40), (10, 37), (10, 2)),  # 90° counter-clockwise: left edge becomes the bottom
    ],
)
def test_exif_orientation_is_applied(corpus, orientation, size, red_at, blue_at):
    img = decode_image(corpus[f"jpeg_exif_orientation_{orientation}.jpg"].path.read_bytes(), LIMIT)
    assert img.size == size
    assert _close(img.getpixel(red_at), mbi.RED, tol=40)
    assert _close(img.getpixel(blue_at), mbi.BLUE, tol=40)


@pytest.mark.parametrize(
    "name",
    [
        "bomb_png_header.png",
        "bomb_png_real.png",
        "bomb_jpeg_header.jpg",
        "bomb_gif_header.gif",
        "bomb_webp_header.webp",
        "bomb_bmp_header.bmp",
        "bomb_tiff_header.tif",
    ],
)
def test_bomb_refused_before_pillow_opens_it(corpus, monkeypatch, name):
    def no_open(*args, **kwargs):
        raise AssertionError("Pillow must not even open a bomb")

    monkeypatch.setattr(imageio.Image, "open", no_open)
    with pytest.raises(ImageError, match="over the 80 MP limit"):
        decode_image(corpus[name].path.read_bytes(), LIMIT)


def test_bomb_refused_from_pillow_header_before_load(corpus, monkeypatch):
    """Second fence, for formats our header reader doesn't know: Pillow's lazy size, checked before load."""
    monkeypatch.setattr(imageio, "header_size", lambda data, kind=None: None)

    def no_load(self):
        raise AssertionError("pixels must not be decoded")

    monkeypatch.setattr(Image.Image, "load", no_load)
    with pytest.raises(ImageError, match=r"9000×9000 = 81 MP, over the 80 MP limit"):
        decode_image(corpus["bomb_png_real.png"].path.read_bytes(), LIMIT)


def test_pillow_bomb_error_becomes_image_error(corpus, monkeypatch):
    monkeypatch.setattr(imageio, "header_size", lambda data, kind=None: None)
    with pytest.raises(ImageError, match=r"900 MP, over the 80 MP limit"):
        decode_image(corpus["bomb_png_header.png"].path.read_bytes(), LIMIT)


def test_max_pixels_is_the_callers_limit(corpus):
    data = corpus["jpeg_plain.jpg"].path.read_bytes()
    with pytest.raises(ImageError, match=r"300×200 = 0.06 MP, over the 0.001 MP limit"):
        decode_image(data, 1000)
    assert decode_image(data, 60_000).size == (300, 200)


@pytest.mark.parametrize(
    ("cmyk", "rgb"),
    [
        ((0, 255, 255, 0), (255, 0, 0)),
        ((255, 0, 255, 0), (0, 255, 0)),
        ((255, 255, 0, 0), (0, 0, 255)),
        ((0, 0, 0, 0), (255, 255, 255)),
        ((0, 0, 0, 255), (0, 0, 0)),
        ((0, 0, 0, 128), (127, 127, 127)),
    ],
)
@pytest.mark.parametrize("fmt", ["JPEG", "TIFF"])
def test_cmyk_colours_survive(cmyk, rgb, fmt):
    out = io.BytesIO()
    Image.new("CMYK", (16, 16), cmyk).save(out, fmt, quality=95)
    img = decode_image(out.getvalue(), LIMIT)
    assert img.mode == "RGB"
    assert _close(img.getpixel((8, 8)), rgb, tol=8)


def test_cmyk_with_broken_icc_profile_falls_back():
    out = io.BytesIO()
    Image.new("CMYK", (8, 8), (0, 255, 255, 0)).save(out, "JPEG", quality=95, icc_profile=b"not a profile")
    assert _close(decode_image(out.getvalue(), LIMIT).getpixel((4, 4)), (255, 0, 0), tol=8)


def test_sixteen_bit_grey_is_scaled_not_clipped():
    arr = np.array([[0, 257 * 64, 32768, 65535]], dtype=np.uint16)
    out = io.BytesIO()
    Image.fromarray(arr).save(out, "PNG")
    img = decode_image(out.getvalue(), LIMIT)
    assert [img.getpixel((x, 0))[0] for x in range(4)] == [0, 64, 128, 255]


def test_max_side_decodes_a_smaller_copy(corpus):
    img = decode_image(corpus["jpeg_large.jpg"].path.read_bytes(), LIMIT, max_side=1600)
    assert img.size == (1600, 1280)
    assert img.mode == "RGB"


@pytest.mark.parametrize(
    ("data", "kind"),
    [
        (b"\xff\xd8\xff\xe0", "jpeg"),
        (b"\x89PNG\r\n\x1a\n....", "png"),
        (b"GIF89a..", "gif"),
        (b"GIF87a..", "gif"),
        (b"RIFF\x00\x00\x00\x00WEBPVP8 ", "webp"),
        (b"BM" + bytes(12) + b"\x28\x00\x00\x00" + bytes(8), "bmp"),
        (b"BM is how this text starts, not a bitmap", None),
        (b"II*\x00\x08\x00\x00\x00", "tiff"),
        (b"MM\x00*\x00\x00\x00\x08", "tiff"),
        (b"\x00\x00\x00\x1cftypavif\x00\x00\x00\x00avifmif1", "avif"),
        (b"\x00\x00\x00\x18ftypheic\x00\x00\x00\x00mif1heic", "heic"),
        (b"\x00\x00\x00\x18ftypisom\x00\x00\x02\x00isomiso2", None),
        (b"<html>", None),
        (b"", None),
    ],
)
def test_sniff_image_type(data, kind):
    assert sniff_image_type(data) == kind


def test_type_comes_from_bytes_not_name(corpus):
    assert sniff_image_type(corpus["png_named.jpg"].path.read_bytes()) == "png"
    assert header_size(corpus["png_named.jpg"].path.read_bytes()) == (300, 200)


def test_thumbnail_and_normalised_copy(corpus):
    img = decode_image(corpus["jpeg_large.jpg"].path.read_bytes(), LIMIT)
    thumb = make_thumbnail(img)
    assert thumb.startswith(b"\xff\xd8\xff")
    assert Image.open(io.BytesIO(thumb)).size == (320, 256)
    full = Image.open(io.BytesIO(normalised_jpeg(img)))
    assert full.size == (1600, 1280) and full.mode == "RGB"
    tiny = decode_image(corpus["png_1x1.png"].path.read_bytes(), LIMIT)
    assert Image.open(io.BytesIO(make_thumbnail(tiny))).size == (1, 1)  # never enlarged
    assert img.size == (5000, 4000)  # the caller's image is left alone


def test_served_copies_carry_no_exif(corpus):
    img = decode_image(corpus["jpeg_exif_orientation_6.jpg"].path.read_bytes(), LIMIT)
    for data in (make_thumbnail(img), normalised_jpeg(img)):
        served = Image.open(io.BytesIO(data))
        assert served.size == (20, 40)
        assert not served.getexif()


@pytest.mark.filterwarnings("ignore:Corrupt EXIF data")
def test_mangled_images_never_raise_anything_but_image_error(corpus):
    """Seeded fuzz: flipped bytes and cuts in valid files. Decoded garbage is fine; a crash is not."""
    rng = random.Random(1234)
    seeds = [
        "jpeg_plain.jpg",
        "png_palette.png",
        "gif_animated.gif",
        "webp_lossy.webp",
        "bmp_rgb.bmp",
        "tiff_lzw.tif",
        "png_16bit_gray.png",
        "jpeg_cmyk.jpg",
        "png_animated.png",
    ]
    outcomes = {"ok": 0, "error": 0}
    for name in seeds:
        original = corpus[name].path.read_bytes()
        for _ in range(25):
            data = bytearray(original)
            if rng.random() < 0.5:
                for _ in range(rng.randint(1, 8)):
                    data[rng.randrange(len(data))] = rng.randrange(256)
            else:
                del data[rng.randrange(1, len(data)) :]
            try:
                img = decode_image(bytes(data), LIMIT)
            except ImageError as exc:
                assert exc.message.strip()
                outcomes["error"] += 1
            else:
                assert img.mode == "RGB"
                outcomes["ok"] += 1
    assert outcomes["error"] > 0
