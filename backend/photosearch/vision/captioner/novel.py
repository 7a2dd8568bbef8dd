"""Novel objects, DCC / nocaps style: can the captioner name things its training captions never mentioned?

    photosearch train-captioner --data ../shared/flickr8k --out runs/heldout --hold-out "$(python -m \\
        photosearch.vision.captioner.novel --print-hold-out)"            # retrain without those words
    python -m photosearch.vision.captioner.novel --data ../shared/flickr8k --heldout runs/heldout/best.pt \\
        [--split test] [--out docs/novel-objects.md]

Six object words with ImageNet counterparts (HELD_OUT; each with its plural and synonyms, all removed from
training together) are held out: every training caption mentioning one is dropped before training. At test
time the held-out decoder gets every label noun back through word vectors (vocabulary.py). A test photo
"shows" an object when one of its reference captions mentions it; a caption "mentions" it when it uses one
of the object's words. Per object F1 of mentioning, for
    current     the shipped decoder (trained WITH those words: an upper reference, not a novel-object model)
    new         the held-out decoder, plain beam search
    new + CBS   the held-out decoder, the classifier's confident label nouns as constraints (beam.py)
Hendricks et al. 2016 (DCC) report a mean F1 of about 0.39 on their COCO split; Anderson et al. 2017
(constrained beam search) about 0.55.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import torch

from photosearch.research import command_line, report_footer, write_report

HELD_OUT: dict[str, tuple[str, ...]] = {
    "dog": ("dog", "dogs", "puppy", "puppies"),
    "bicycle": ("bicycle", "bicycles", "bike", "bikes", "biker", "bikers", "biking", "bicyclist", "bicyclists",
                "cyclist", "cyclists"),
    "boat": ("boat", "boats", "canoe", "canoes", "kayak", "kayaks", "sailboat", "sailboats"),
    "swing": ("swing", "swings"),
    "cliff": ("cliff", "cliffs"),
    "fountain": ("fountain", "fountains"),
}


def hold_out_words() -> list[str]:
    return sorted({w for words in HELD_OUT.values() for w in words})


def f1_table(references: list[list[list[str]]], hypotheses: list[list[str]]) -> dict[str, dict]:
    """Per object: precision, recall, F1 of mentioning it, and how many photos show it."""
    out = {}
    for obj, words in HELD_OUT.items():
        vocab = set(words)
        truth = [any(vocab & set(ref) for ref in refs) for refs in references]
        said = [bool(vocab & set(hyp)) for hyp in hypotheses]
        tp = sum(t and s for t, s in zip(truth, said, strict=True))
        fp = sum(s and not t for t, s in zip(truth, said, strict=True))
        fn = sum(t and not s for t, s in zip(truth, said, strict=True))
        precision = tp / (tp + fp) if tp + fp else 0.0
        recall = tp / (tp + fn) if tp + fn else 0.0
        f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
        out[obj] = {"photos": sum(truth), "precision": precision, "recall": recall, "f1": f1}
    return out


def evaluate(args: argparse.Namespace) -> dict:
    from photosearch.vision.captioner.captioner import Captioner
    from photosearch.vision.captioner.dataset import cache_features, read_captions
    from photosearch.vision.captioner.evaluate import caption_split, classifier_probs, required_words
    from photosearch.vision.captioner.metrics import corpus_scores
    from photosearch.vision.captioner.train import default_cache_dir
    from photosearch.vision.encoder import EfficientNetLite0Encoder

    if args.threads:
        torch.set_num_threads(args.threads)
    data = Path(args.data)
    cache = cache_features(EfficientNetLite0Encoder(), data, args.split, Path(args.cache_dir or default_cache_dir()))
    if args.limit:
        cache = {"names": cache["names"][: args.limit], "grid": cache["grid"][: args.limit]}
    captions = read_captions(data)
    references = [captions[name] for name in cache["names"]]
    required = required_words(classifier_probs(cache["grid"]), args.min_mass)
    current = Captioner.load(args.current) if args.current else Captioner.load()
    heldout = Captioner.load(Path(args.heldout))
    leaked = [w for w in hold_out_words() if w in heldout.word_map.word_to_id and w not in _label_words()]
    if leaked:
        raise SystemExit(f"{args.heldout} knows held-out words it cannot have got from labels: {leaked}")
    runs = {
        "current": (current, None),
        "new": (heldout, None),
        "new + CBS": (heldout, required),
    }
    if args.only_constrained:
        runs = {"new + CBS": runs["new + CBS"]}
    results = {}
    for name, (captioner, needed) in runs.items():
        hyps = caption_split(captioner, cache["grid"], args.beam, needed)
        scores = corpus_scores(references, hyps, cider=True)
        results[name] = {"f1": f1_table(references, hyps), "BLEU-4": scores["BLEU-4"], "CIDEr-D": scores["CIDEr-D"],
                         "model": captioner.name}
        mean = sum(r["f1"] for r in results[name]["f1"].values()) / len(HELD_OUT)
        print(f"{name:10s} mean F1 {mean:.3f}  BLEU-4 {scores['BLEU-4']:.4f}  CIDEr-D {scores['CIDEr-D']:.4f}",
              flush=True)
    table = render(results, args, len(references))
    print(table)
    if args.out:
        write_report(args.out, [table])
    return results


def _label_words() -> set[str]:
    from photosearch.vision.captioner.vocabulary import label_words

    return set(label_words())


def render(results: dict, args: argparse.Namespace, photos: int) -> str:
    names = list(results)
    photos_per = results[names[0]]["f1"]
    objects = "; ".join(f"**{obj}** ({', '.join(words)})" for obj, words in HELD_OUT.items())
    lines = [
        f"# Novel objects on Flickr8k ({args.split} split)",
        "",
        f"Held-out objects (every training caption using one of their words removed before training the "
        f"held-out decoder): {objects}.",
        f"{photos} photos; a photo shows an object when one of its 5 references mentions it. Beam {args.beam}; "
        f"constraints (grounding.py): the most specific label nouns or everyday categories with summed class "
        f"probability >= {args.min_mass_used} (hedged up WordNet), at most 2, each met by the noun, its nearest "
        f"category or their plurals.",
        "",
        "| object | test photos showing it | " + " | ".join(f"F1 {n}" for n in names) + " |",
        "|---|---|" + "---|" * len(names),
    ]
    for obj in HELD_OUT:
        cells = [f"{results[n]['f1'][obj]['f1']:.3f} (P {results[n]['f1'][obj]['precision']:.2f} / "
                 f"R {results[n]['f1'][obj]['recall']:.2f})" for n in names]
        lines.append(f"| {obj} | {photos_per[obj]['photos']} | " + " | ".join(cells) + " |")
    means = [sum(results[n]["f1"][o]["f1"] for o in HELD_OUT) / len(HELD_OUT) for n in names]
    lines.append("| **mean** | | " + " | ".join(f"**{m:.3f}**" for m in means) + " |")
    lines.append("| BLEU-4 (all photos) | | " + " | ".join(f"{results[n]['BLEU-4']:.4f}" for n in names) + " |")
    lines.append("| CIDEr-D (all photos) | | " + " | ".join(f"{results[n]['CIDEr-D']:.4f}" for n in names) + " |")
    lines += [
        "",
        "Models: " + ", ".join(f"{n} = `{results[n]['model']}`" for n in names) + ". `current` was trained with "
        "the held-out words (a reference point, not a novel-object result).",
        "",
        *report_footer(command_line("python -m photosearch.vision.captioner.novel")),
    ]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--print-hold-out", action="store_true", help="print the held-out words and exit")
    parser.add_argument("--data", help="Flickr8k folder")
    parser.add_argument("--heldout", help="weights of the decoder trained without the held-out words (exported)")
    parser.add_argument("--current", default=None, help="weights of the current decoder (default: the shipped)")
    parser.add_argument("--split", default="test", choices=["dev", "test"])
    parser.add_argument("--beam", type=int, default=5)
    parser.add_argument("--min-mass", type=float, default=None, help="constraint threshold (default: the product's)")
    parser.add_argument("--only-constrained", action="store_true", help="only the held-out decoder with constraints")
    parser.add_argument("--limit", type=int, default=None, help="only the first N photos (quick looks)")
    parser.add_argument("--cache-dir", default=None)
    parser.add_argument("--threads", type=int, default=None)
    parser.add_argument("--out", default=None)
    args = parser.parse_args(argv)
    if args.print_hold_out:
        print(",".join(hold_out_words()))
        return
    if not (args.data and args.heldout):
        parser.error("--data and --heldout are needed")
    from photosearch.vision.captioner import grounding

    args.min_mass_used = grounding.CONSTRAINT_MIN_MASS if args.min_mass is None else args.min_mass
    evaluate(args)


if __name__ == "__main__":
    main()

