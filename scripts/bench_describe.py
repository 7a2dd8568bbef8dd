"""Describing speed: photos per second through the product's Describer (encoder, labels, captioner with
grounding, retrieval head, MiniLM), model loading excluded.

    PYTHONPATH=backend python scripts/bench_describe.py --data ../shared/flickr8k [--photos 64] [--rounds 3]
        [--threads 1 | --processes 2]

Photos are the first N of the Flickr8k test split, decoded once, described in batches of 16 (the ingest
batch). Each round times all batches; the best round is reported (the machine is shared: the best round
is the least disturbed). To compare two versions, run this file against each checkout's backend/ with
PYTHONPATH, alternating, and compare the photos/s. `--threads T` runs the models in this process with T torch
threads; `--processes N` runs them in N worker processes (services/describe_pool.py, each with cores / N threads),
all batches submitted at once, as an ingest keeps its workers busy.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import torch
from PIL import Image


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", required=True)
    parser.add_argument("--photos", type=int, default=64)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--batch", type=int, default=16)
    parser.add_argument("--threads", type=int, default=1, help="torch threads of the in-process describer")
    parser.add_argument("--processes", type=int, default=0, help="describe in this many worker processes instead")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    from photosearch.services.describe import Describer
    from photosearch.services.describe_pool import describer_for

    names = (Path(args.data) / "Flickr_8k.testImages.txt").read_text().split()[: args.photos]
    images = [Image.open(Path(args.data) / "Images" / n).convert("RGB") for n in names]
    describer = describer_for(args.processes) if args.processes else Describer.default()
    if args.processes:
        describer.start(wait=True)
    describer.describe(images[:2])  # warm-up: lazy loads
    times = []
    for _ in range(args.rounds):
        started = time.perf_counter()
        batches = [describer.submit(images[i : i + args.batch]) for i in range(0, len(images), args.batch)]
        for batch in batches:
            batch.result()
        times.append(time.perf_counter() - started)
    best = min(times)
    print(json.dumps({"photos": len(images), "best_seconds": round(best, 2),
                      "photos_per_s": round(len(images) / best, 2), "rounds": [round(t, 2) for t in times],
                      "threads": None if args.processes else args.threads, "processes": args.processes}))


if __name__ == "__main__":
    main()
