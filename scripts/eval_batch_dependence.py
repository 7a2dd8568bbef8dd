"""How many captions change with the photos they are described beside.

The int8 decoder quantizes each step's activations with one scale per tensor, and a tensor holds every photo of
the batch (vision/captioner/captioner.py, quantize_decoder), so a photo's caption can depend on its neighbours where
two candidate sentences score almost alike. This counts the photos whose caption differs between describing them
in batches (as ingest does) and one at a time.

    PYTHONPATH=backend python scripts/eval_batch_dependence.py --photos ../shared/flickr8k/Images --count 160
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from PIL import Image

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "backend"))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--photos", type=Path, required=True, help="a folder of photos (Flickr8k's Images)")
    parser.add_argument("--count", type=int, default=160)
    parser.add_argument("--batch", type=int, default=16, help="the batch size to compare with (ingest's: 16)")
    args = parser.parse_args()
    from photosearch.services.describe import Describer

    describer = Describer.default()
    files = sorted(p for p in args.photos.iterdir() if p.suffix.lower() in (".jpg", ".jpeg", ".png"))[: args.count]
    photos = [Image.open(f).convert("RGB") for f in files]
    batches = [photos[i : i + args.batch] for i in range(0, len(photos), args.batch)]
    batched = [d.caption for batch in batches for d in describer.describe(batch)]
    alone = [describer.describe([photo])[0].caption for photo in photos]
    differ = [(f.name, a, b) for f, a, b in zip(files, batched, alone, strict=True) if a != b]
    print(json.dumps({"photos": len(photos), "batch": args.batch, "captions_differ": len(differ),
                      "examples": [{"photo": n, "batched": a, "alone": b} for n, a, b in differ[:5]]}, indent=1))


if __name__ == "__main__":
    main()
