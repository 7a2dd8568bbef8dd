"""How often the grounded sentence's first noun is right, with and without the joint space's nouns.

    PYTHONPATH=backend python scripts/eval_joint_nouns.py --data ../shared/flickr8k [--split dev] [--sure 0.5]

On the photos of a Flickr8k split where the classifier is sure of nothing (no noun or category at
grounding.GROUND_SURE_MASS: the grounded sentence says "Possibly ..."), a noun counts as right when one of
the photo's 5 references uses it (any of its forms, or its plural). Printed: how often the classifier's
likeliest noun is right, how often the joint space's likeliest noun is (joint_nouns.py), and both on the
photos where the joint space is sure (p >= --sure), whose grounded sentence now names the joint space's noun
first.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from photosearch.vision.captioner import grounding, joint_nouns
from photosearch.vision.captioner.dataset import cache_features, read_captions
from photosearch.vision.captioner.evaluate import JointSpace, classifier_probs
from photosearch.vision.captioner.train import default_cache_dir
from photosearch.vision.encoder import EfficientNetLite0Encoder


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", required=True)
    parser.add_argument("--split", default="dev", choices=["dev", "test"])
    parser.add_argument("--sure", type=float, default=joint_nouns.SURE)
    parser.add_argument("--cache-dir", default=None)
    args = parser.parse_args()
    cache = cache_features(EfficientNetLite0Encoder(), Path(args.data), args.split,
                           Path(args.cache_dir or default_cache_dir()))
    captions = read_captions(Path(args.data))
    used = [{word for caption in captions[name] for word in caption} for name in cache["names"]]
    probs = classifier_probs(cache["grid"])
    joint = JointSpace.load(cache["grid"])
    seen = joint.seen_nouns(sure=0.0)  # every photo's likeliest noun; --sure picks the sure ones below

    def right(photo: int, words: tuple[str, ...]) -> bool:
        return any(w in used[photo] or grounding.plural(w) in used[photo] for w in words)

    counts = {"unsure photos": 0, "classifier right": 0, "joint right": 0,
              "joint sure": 0, "classifier right where joint sure": 0, "joint right where sure": 0}
    for photo, p in enumerate(probs):
        masses = grounding.noun_masses(p)
        if grounding.confident_nouns(masses, min_mass=grounding.GROUND_SURE_MASS, limit=1):
            continue
        guess = (masses[0].noun,)
        counts["unsure photos"] += 1
        counts["classifier right"] += right(photo, guess)
        counts["joint right"] += right(photo, seen[photo].forms)
        if seen[photo].probability >= args.sure:
            counts["joint sure"] += 1
            counts["classifier right where joint sure"] += right(photo, guess)
            counts["joint right where sure"] += right(photo, seen[photo].forms)
    print(json.dumps({"split": args.split, "photos": len(probs), "sure": args.sure, **counts}))


if __name__ == "__main__":
    main()
