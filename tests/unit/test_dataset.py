"""vision/captioner/dataset.py: cached encoder features are reused only when they were made the same way."""

from __future__ import annotations

from pathlib import Path

import torch
from PIL import Image

from photosearch.vision.captioner.dataset import SPLIT_FILES, cache_features, feature_key
from photosearch.vision.encoder import Features


class CountingEncoder:
    """An encoder that counts its batches (a reused cache calls it never)."""

    name = "counting"
    feature_dim = 1280
    grid_size = 7

    def __init__(self, session: object | None = None) -> None:
        self.session = session  # what EfficientNetLite0Encoder holds when ONNX Runtime runs it
        self.calls = 0

    def encode(self, images: list[Image.Image]) -> Features:
        self.calls += 1
        grid = torch.full((len(images), 49, self.feature_dim), float(self.calls))
        return Features(grid=grid, pooled=grid.mean(1))


def flickr_folder(root: Path, photos: int) -> Path:
    (root / "Images").mkdir(parents=True)
    names = [f"photo{i}.jpg" for i in range(photos)]
    for name in names:
        Image.new("RGB", (32, 24), "gray").save(root / "Images" / name)
    (root / "Flickr8k.token.txt").write_text("".join(f"{n}#0\ta photo\n" for n in names))
    for split_file in SPLIT_FILES.values():
        (root / split_file).write_text("\n".join(names))
    return root


def test_features_are_cached_per_runtime(tmp_path: Path) -> None:
    data, cache = flickr_folder(tmp_path / "flickr", 3), tmp_path / "cache"
    torch_encoder, onnx_encoder = CountingEncoder(), CountingEncoder(session=object())
    assert feature_key(torch_encoder).startswith("torch-") and feature_key(onnx_encoder).startswith("onnx-")
    first = cache_features(torch_encoder, data, "dev", cache)
    reader = CountingEncoder()
    again = cache_features(reader, data, "dev", cache)  # a new process, the same way: read back, not encoded
    assert reader.calls == 0 and first["names"] == again["names"] == ["photo0.jpg", "photo1.jpg", "photo2.jpg"]
    torch.testing.assert_close(again["grid"], first["grid"])
    onnx = cache_features(onnx_encoder, data, "dev", cache)  # another runtime: encoded anew, not the torch file
    assert onnx_encoder.calls == 1 and len(list(cache.glob("counting-*-dev.pt"))) == 2
    assert onnx["grid"].shape == (3, 49, 1280)
