"""Flickr8k for training and evaluation: captions, the standard split, and cached encoder features.

Flickr8k (Hodosh, Young & Hockenmaier, 2013, JAIR 47:853-899): 8,000 photos with 5 human captions each;
6,000 train / 1,000 dev / 1,000 test. Research-use data: it is read from a path the person gives
(e.g. ../shared/flickr8k) and nothing of it is copied into the project.

The encoder is frozen, so its features are computed once per photo and cached:
    <cache>/<encoder>-<runtime>-<code hash>-<split>.pt = {"names": [N photo names], "grid": float16 [N, 49, 1280]}
The captioner then trains on the cache, ~100x faster than re-encoding pixels every epoch.

Tokenisation (training, evaluation and the word map alike): lowercase, then the runs of letters a-z
(`re.findall("[a-z]+")`); punctuation and digits are dropped.
"""

from __future__ import annotations

import hashlib
import re
import sys
from collections import defaultdict
from pathlib import Path

import torch
from PIL import Image
from tqdm import tqdm

from photosearch.errors import InvalidInput
from photosearch.vision import imageio
from photosearch.vision.encoder import ImageEncoder

SPLIT_FILES = {
    "train": "Flickr_8k.trainImages.txt",
    "dev": "Flickr_8k.devImages.txt",
    "test": "Flickr_8k.testImages.txt",
}
BAD_IDS = {"2258277193_586949ec62.jpg.1"}  # listed in the token file, no such photo


def tokenize(text: str) -> list[str]:
    return re.findall(r"[a-z]+", text.lower())


def check_data_dir(data_dir: Path) -> Path:
    data_dir = Path(data_dir)
    needed = ["Flickr8k.token.txt", "Images", *SPLIT_FILES.values()]
    missing = [name for name in needed if not (data_dir / name).exists()]
    if missing:
        raise InvalidInput(f"{data_dir} is not a Flickr8k folder: missing {', '.join(missing)}")
    return data_dir


def read_split(data_dir: Path, split: str) -> list[str]:
    """Photo file names of one split, in file order, only those that exist."""
    if split not in SPLIT_FILES:
        raise InvalidInput(f"unknown split {split!r}: choose train, dev or test")
    data_dir = check_data_dir(data_dir)
    names = (data_dir / SPLIT_FILES[split]).read_text().split()
    return [name for name in names if (data_dir / "Images" / name).exists()]


def read_captions(data_dir: Path) -> dict[str, list[list[str]]]:
    """{photo file name: [tokenised caption, ...]} (5 per photo)."""
    captions: dict[str, list[list[str]]] = defaultdict(list)
    for line in (Path(data_dir) / "Flickr8k.token.txt").read_text(encoding="utf-8").splitlines():
        if "\t" not in line:
            continue
        ident, text = line.split("\t", 1)
        name = ident.split("#")[0]
        if name in BAD_IDS:
            continue
        tokens = tokenize(text)
        if tokens:
            captions[name].append(tokens)
    return dict(captions)


def feature_key(encoder: ImageEncoder) -> str:
    """What a photo's features depend on besides the photo: the runtime that runs the encoder (ONNX Runtime's
    features are 2e-5 from torch's, enough to flip near-tied captions) and the code that prepares and encodes the
    pixels. A cache made another way is never reused: an evaluation scores the features the product computes."""
    runtime = "onnx" if getattr(encoder, "session", None) is not None else "torch"
    code = b"".join(Path(module.__file__).read_bytes() for module in (sys.modules[type(encoder).__module__], imageio))
    return f"{runtime}-{hashlib.sha256(code).hexdigest()[:8]}"


def cache_features(
    encoder: ImageEncoder, data_dir: Path, split: str, cache_dir: Path, batch_size: int = 32
) -> dict:
    """Encode every photo of a split once; reuse the cache file if it is already complete and was made the same
    way (`feature_key`)."""
    cache_dir.mkdir(parents=True, exist_ok=True)
    path = cache_dir / f"{encoder.name}-{feature_key(encoder)}-{split}.pt"
    names = read_split(data_dir, split)
    if path.exists():
        cached = torch.load(path)
        if cached["names"] == names:
            return cached
    grids = []
    for start in tqdm(range(0, len(names), batch_size), desc=f"encoding {split}", unit="batch"):
        batch = [Image.open(data_dir / "Images" / n).convert("RGB") for n in names[start : start + batch_size]]
        grids.append(encoder.encode(batch).grid.to(torch.float16).cpu())
    cached = {"names": names, "grid": torch.cat(grids)}
    tmp = path.with_suffix(".tmp")
    torch.save(cached, tmp)
    tmp.replace(path)  # atomic: a killed run never leaves a half cache behind
    return cached
