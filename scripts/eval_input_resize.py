"""Do the captions of full-size photos depend on how the encoder's 224 px input is resampled?

    python scripts/eval_input_resize.py --data ../shared/flickr8k [--split dev] [--size 1600]

Flickr8k's photos are small, so `eval-captioner` never exercises the shrinking that real photos go through.
This upscales each photo of the split to SIZE x SIZE (bicubic), makes the encoder input with Pillow's
`reducing_gap` 2 and 3 (vision/imageio.model_input: a box reduction by a whole factor to >= gap x 224, then
bicubic), describes both with the product's models, and prints BLEU and CIDEr-D of each against the human
references, and how many captions differ.
"""

from __future__ import annotations

import argparse
import re
import sys
import time
from collections import defaultdict
from pathlib import Path

from PIL import Image

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "backend"))

from photosearch.services.describe import Describer  # noqa: E402
from photosearch.vision.captioner.dataset import read_split  # noqa: E402
from photosearch.vision.captioner.metrics import corpus_scores  # noqa: E402

GAPS = (2.0, 3.0)


def words(text: str) -> list[str]:
    return re.findall(r"[a-z]+", text.lower())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--data", type=Path, required=True, help="the Flickr8k folder")
    parser.add_argument("--split", default="dev", choices=["dev", "test"])
    parser.add_argument("--size", type=int, default=1600, help="side of the upscaled photos")
    args = parser.parse_args()
    names = read_split(args.data, args.split)
    references = defaultdict(list)
    for line in (args.data / "Flickr8k.token.txt").read_text().splitlines():
        key, text = line.split("\t", 1)
        references[key.split("#")[0]].append(words(text))
    describer = Describer.default()
    captions: dict[float, list[list[str]]] = {gap: [] for gap in GAPS}
    t0 = time.perf_counter()
    for start in range(0, len(names), 16):
        big = []
        for name in names[start : start + 16]:
            with Image.open(args.data / "Images" / name) as image:
                big.append(image.convert("RGB").resize((args.size, args.size), Image.Resampling.BICUBIC))
        for gap in GAPS:
            inputs = [b.resize((224, 224), Image.Resampling.BICUBIC, reducing_gap=gap) for b in big]
            captions[gap] += [words(d.caption or "") for d in describer.describe(inputs)]
    refs = [references[name] for name in names]
    for gap in GAPS:
        scores = corpus_scores(refs, captions[gap], cider=True)
        print(f"reducing_gap {gap}: " + ", ".join(f"{k} {v:.4f}" for k, v in scores.items()))
    differ = sum(a != b for a, b in zip(*captions.values(), strict=True))
    print(f"captions that differ: {differ} of {len(names)} ({time.perf_counter() - t0:.0f} s)")


if __name__ == "__main__":
    main()
