"""Can the joint space name what Flickr8k seldom says? Why it cannot stand in for an open-vocabulary recognizer.

    apt-get install wordnet-base
    PYTHONPATH=backend python scripts/eval_rare_nouns.py --data ../shared/flickr8k [--split dev] [--rare-from 10]

The real photos the captioner misses show subjects that neither ImageNet's 1,000 classes nor Flickr8k's
captions know well (moss, coins, the moon, graffiti: docs/real-photos-eval.md). The joint image-text space
(text/retrieval.py) reads any sentence through MiniLM, so in principle it could score any noun. This measures
whether it does, on nouns Flickr8k has but seldom: the vocabulary is every thing-noun of at least --rare-from
training captions (scripts/make_joint_nouns.py's rules), "frequent" the product's (joint_nouns.json, at least 50
captions), "rare" the others. Each photo of the split is scored against the whole vocabulary as joint_nouns.py
does; a noun is right when one of the photo's 5 references uses it. Printed, for frequent and rare nouns: how
often the likeliest noun is right (all photos, p >= 0.3, p >= 0.4), and for the photos whose references (2 of
5) name such a noun, how often it is among the 5 likeliest.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
from pathlib import Path

import numpy as np
import torch

from photosearch.vision.captioner import joint_nouns
from photosearch.vision.captioner.dataset import cache_features, read_captions
from photosearch.vision.captioner.evaluate import JointSpace
from photosearch.vision.captioner.train import default_cache_dir
from photosearch.vision.encoder import EfficientNetLite0Encoder

ROOT = Path(__file__).resolve().parents[1]


def vocabulary(data: Path, wordnet: Path, min_captions: int) -> list[joint_nouns.JointNoun]:
    """make_joint_nouns.py's nouns at a lower caption count (scripts/ is no package: loaded from its file)."""
    spec = importlib.util.spec_from_file_location("make_joint_nouns", ROOT / "scripts" / "make_joint_nouns.py")
    maker = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(maker)
    return [joint_nouns.JointNoun(tuple(n["forms"]), n["article"]) for n in maker.build(data, wordnet, min_captions)]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", required=True)
    parser.add_argument("--split", default="dev", choices=["dev", "test"])
    parser.add_argument("--rare-from", type=int, default=10, help="fewest training captions of a rare noun")
    parser.add_argument("--wordnet", default="/usr/share/wordnet")
    parser.add_argument("--cache-dir", default=None)
    args = parser.parse_args()
    cache = cache_features(EfficientNetLite0Encoder(), Path(args.data), args.split,
                           Path(args.cache_dir or default_cache_dir()))
    captions = read_captions(Path(args.data))
    nouns = vocabulary(Path(args.data), Path(args.wordnet), args.rare_from)
    frequent = {noun.forms[0] for noun in joint_nouns.NOUNS}
    rare = np.array([noun.forms[0] not in frequent for noun in nouns])  # [V]
    joint = JointSpace.load(cache["grid"])
    phrases = joint.text_vectors([noun.phrase for noun in nouns])  # [V, d]
    probs = (joint.head.scale * torch.as_tensor(joint.image_vectors @ phrases.T)).softmax(dim=1).numpy()  # [N, V]
    # mentions[i, v]: how many of photo i's references use noun v
    mentions = np.array([[sum(bool(set(noun.forms) & set(caption)) for caption in captions[name]) for noun in nouns]
                         for name in cache["names"]])
    best, best_p = probs.argmax(axis=1), probs.max(axis=1)  # [N]
    best_right = mentions[np.arange(len(best)), best] >= 1
    top5 = np.argsort(-probs, axis=1)[:, :5]
    summary = {"split": args.split, "photos": len(best), "nouns": len(nouns), "rare nouns": int(rare.sum())}
    for kind, of_kind in (("frequent", ~rare), ("rare", rare)):
        for sure in (0.0, 0.3, 0.4):
            chosen = of_kind[best] & (best_p >= sure)
            summary[f"{kind}: likeliest, p >= {sure}"] = f"{int(best_right[chosen].sum())} right of {int(chosen.sum())}"
        named = [(i, set(np.flatnonzero((mentions[i] >= 2) & of_kind))) for i in range(len(best))]
        named = [(i, wanted) for i, wanted in named if wanted]
        found = sum(bool(wanted & set(top5[i])) for i, wanted in named)
        summary[f"{kind}: named by 2 of 5 references, in the top 5"] = f"{found} of {len(named)}"
    print(json.dumps(summary, indent=1))


if __name__ == "__main__":
    main()
