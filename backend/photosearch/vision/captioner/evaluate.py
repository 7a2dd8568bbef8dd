"""Evaluate the captioner on a Flickr8k split and write the table to docs/.

    photosearch eval-captioner --data ../shared/flickr8k --split test --beam 1,3,5

Each photo's best caption is scored against all 5 human references, at corpus level. Tokenisation: lowercase,
runs of letters a-z (dataset.tokenize) for references and hypotheses alike. BLEU-1..4 and CIDEr-D from the
COCO caption evaluation code; METEOR 1.5 (the COCO jar, run offline) when Java is installed.

Captions are made as the product makes them: the classifier's confident label nouns (from the same cached
features: the classifier reads their mean) constrain the beam search (grounding.py); `--no-constraints`
gives the plain beam search.
"""

from __future__ import annotations

import argparse
import re
import time
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import torch

from photosearch.research import MACHINE, command_line, report_footer, write_report
from photosearch.vision.captioner import joint_nouns
from photosearch.vision.captioner.captioner import Captioner
from photosearch.vision.captioner.dataset import cache_features, read_captions
from photosearch.vision.captioner.metrics import corpus_scores
from photosearch.vision.captioner.train import default_cache_dir

if TYPE_CHECKING:
    from photosearch.text.embedder import TextEmbedder
    from photosearch.text.retrieval import RetrievalHead


def evaluate(args: argparse.Namespace) -> list[dict]:
    captioner = Captioner.load(args.model, args.word_map, int8=not getattr(args, "float32", False))
    if captioner.encoder is not None:
        raise SystemExit("eval-captioner evaluates captioners on the product's encoder (EfficientNet-Lite0)")
    from photosearch.vision.encoder import EfficientNetLite0Encoder

    data = Path(args.data)
    cache = cache_features(EfficientNetLite0Encoder(), data, args.split, Path(args.cache_dir or default_cache_dir()))
    captions = read_captions(data)
    references = [captions[name] for name in cache["names"]]
    length_penalty = args.length_penalty if args.length_penalty is not None else captioner.length_penalty
    captioner.length_penalty = length_penalty
    probs = classifier_probs(cache["grid"])  # [N, 1000], once for constraints, bans and grounded sentences
    joint = JointSpace.load(cache["grid"])
    seen = joint.seen_nouns(getattr(args, "seen_sure", None)) if joint else [None] * len(probs)
    required = None if args.no_constraints else required_words(probs, args.min_mass)
    below = getattr(args, "people_below", None)
    banned = word_bans(probs, joint if not getattr(args, "no_people_check", False) else None, below)
    rows = []
    for beam in [int(b) for b in str(args.beam).split(",") if b.strip()]:
        started = time.time()
        hyps = caption_split(captioner, cache["grid"], beam, required, banned)
        seconds = time.time() - started
        scores = corpus_scores(references, hyps, meteor=True, cider=True)
        rows.append({"beam": beam, **scores, "seconds": seconds,
                     "mean_words": sum(map(len, hyps)) / max(len(hyps), 1)})
        print(_row(rows[-1]), flush=True)
        shown = shown_sentences(probs, joint, hyps, seen) if joint is not None else None
        if shown is not None:  # what the cards would say: the caption, or the grounded sentence where unsure
            texts, grounded = shown
            shown_scores = corpus_scores(references, texts, meteor=False, cider=True)
            rows[-1]["shown"] = {"grounded": grounded, "BLEU-4": shown_scores["BLEU-4"],
                                 "CIDEr-D": shown_scores["CIDEr-D"]}
            print(f"shown text: the grounded sentence on {grounded} of {len(hyps)} photos; "
                  f"BLEU-4 {shown_scores['BLEU-4']:.4f}, CIDEr-D {shown_scores['CIDEr-D']:.4f}", flush=True)
    if args.out:
        write_table(Path(args.out), rows, args, captioner.name, len(references), length_penalty)
    return rows


@dataclass
class JointSpace:
    """The retrieval head, MiniLM and the split's image vectors [N, d]: what the people check and the caption
    confidence read, loaded once per evaluation."""

    head: RetrievalHead
    embedder: TextEmbedder
    image_vectors: np.ndarray

    @classmethod
    def load(cls, grid: torch.Tensor) -> JointSpace | None:
        """None without the retrieval head's weights."""
        from photosearch.text.embedder import TextEmbedder
        from photosearch.text.retrieval import RetrievalHead

        if not RetrievalHead.available():
            return None
        head = RetrievalHead.load()
        return cls(head, TextEmbedder(), head.image_vectors(grid))

    def text_vectors(self, sentences: list[str]) -> np.ndarray:
        return self.head.text_vectors(self.embedder.embed(sentences))

    def seen_nouns(self, sure: float | None = None) -> list[joint_nouns.SeenNoun | None]:
        """Per photo the noun the joint space is sure of, as the product finds it (joint_nouns.py)."""
        seen = joint_nouns.likeliest(self.image_vectors, self.text_vectors(joint_nouns.phrases()), self.head.scale)
        return joint_nouns.sure_nouns(seen, joint_nouns.SURE if sure is None else sure)


def shown_sentences(probs: torch.Tensor, joint: JointSpace, hyps: list[list[str]],
                    seen: list[joint_nouns.SeenNoun | None]) -> tuple[list[list[str]], int]:
    """The words each photo's card would show (grounding.shown_text with the product's joint-space
    confidence) and how many show the grounded sentence."""
    from photosearch.vision.captioner import grounding

    captions = [" ".join(words) for words in hyps]
    grounded = [grounding.grounded_sentence(grounding.noun_masses(p), s) for p, s in zip(probs, seen, strict=True)]
    confidences = grounding.joint_confidences(joint.image_vectors, joint.text_vectors(captions),
                                              joint.text_vectors(grounded))
    shown = [grounding.shown_text(c, conf, g) for c, conf, g in zip(captions, confidences, grounded, strict=True)]
    texts = [re.findall(r"[a-z]+", g.lower()) if which == "grounded" else words
             for which, g, words in zip(shown, grounded, hyps, strict=True)]
    return texts, shown.count("grounded")


def classifier_probs(grid: torch.Tensor, batch_size: int = 500) -> torch.Tensor:
    """Cached grids [N, P, E] -> ImageNet class probabilities [N, 1000] (the encoder's own head)."""
    from photosearch.vision.encoder import EfficientNetLite0Encoder

    head = EfficientNetLite0Encoder(runtime="torch").model._fc  # only its classifier head: no ONNX session
    with torch.inference_mode():
        return torch.cat([head(grid[i : i + batch_size].float().mean(1)).softmax(1)
                          for i in range(0, len(grid), batch_size)])


def required_words(probs: torch.Tensor, min_mass: float | None = None) -> list[list[tuple[str, ...]]]:
    """Each photo's constraint words, as the product chooses them (grounding.confident_nouns)."""
    from photosearch.vision.captioner import grounding

    mass = grounding.CONSTRAINT_MIN_MASS if min_mass is None else min_mass
    return [[n.words for n in grounding.confident_nouns(grounding.noun_masses(p), min_mass=mass)]
            for p in probs]


def word_bans(probs: torch.Tensor, joint: JointSpace | None, below: float | None = None) -> list[tuple[str, ...]]:
    """Each photo's banned words, as the product chooses them (grounding.caption_bans); the people check when
    there is a joint space."""
    from photosearch.vision.captioner import grounding, people

    scores = people.people_scores(joint.image_vectors, joint.text_vectors(list(people.PROMPTS))) if joint else None
    return grounding.caption_bans(probs, scores, below)


def caption_split(captioner: Captioner, grid: torch.Tensor, beam: int, required: list[list] | None,
                  banned: list[tuple[str, ...]] | None = None, batch_size: int = 100) -> list[list[str]]:
    """Best caption (words) of every photo, `required` words forced and `banned` words banned as in the
    product."""
    out = []
    for start in range(0, grid.shape[0], batch_size):
        needed = required[start : start + batch_size] if required is not None else None
        bans = banned[start : start + batch_size] if banned is not None else None
        for caps in captioner.caption(grid[start : start + batch_size], beam_size=beam, required=needed,
                                      banned=bans):
            out.append(caps[0].words)
    return out


METRICS = ["BLEU-1", "BLEU-2", "BLEU-3", "BLEU-4", "METEOR", "CIDEr-D"]


def _row(row: dict) -> str:
    cells = [f"{row[m]:.4f}" if m in row else "n/a" for m in METRICS]
    return f"| {row['beam']} | " + " | ".join(cells) + f" | {row['mean_words']:.1f} | {row['seconds']:.0f} |"


def _shown_table(rows: list[dict], photos: int) -> list[str]:
    shown = [r for r in rows if "shown" in r]
    if not shown:
        return []
    return ["", "Shown text (the caption, or the grounded sentence where the joint space finds it closer to the "
            "photo; grounding.py), scored the same way:", "",
            "| beam | grounded sentence shown | BLEU-4 | CIDEr-D |", "|---|---|---|---|",
            *[f"| {r['beam']} | {r['shown']['grounded']} of {photos} | {r['shown']['BLEU-4']:.4f} | "
              f"{r['shown']['CIDEr-D']:.4f} |" for r in shown]]


def write_table(path: Path, rows: list[dict], args: argparse.Namespace, model: str, photos: int,
                length_penalty: float) -> None:
    command = command_line(default=f"photosearch eval-captioner --data ../shared/flickr8k --split {args.split}")
    lines = [
        f"# Captioner evaluation: Flickr8k {args.split} split",
        "",
        f"Model `{model}` (Show-Attend-Tell decoder over frozen EfficientNet-Lite0 7×7 features), "
        f"{photos} photos, each best caption scored against its 5 human references (corpus level).",
        f"Length penalty {length_penalty}. Tokenisation: lowercase, runs of letters a-z. Constraints: "
        + ("none (plain beam search)." if args.no_constraints else
           "the classifier's confident label nouns, as in the product (grounding.py)."),
        "",
        "| beam | " + " | ".join(METRICS) + " | words/caption | seconds |",
        "|---" * (len(METRICS) + 3) + "|",
        *[_row(r) for r in rows],
        *_shown_table(rows, photos),
        "",
        *report_footer(command, machine=f"{MACHINE}, {torch.get_num_threads()} threads",
                       data="Flickr8k (M. Hodosh, P. Young, J. Hockenmaier, 2013, *Framing Image Description as a "
                       "Ranking Task*, JAIR 47:853-899). For scale, Xu et al. 2015 report BLEU-4 0.195 (soft) / "
                       "0.213 (hard) on Flickr8k."),
    ]
    write_report(path, lines)
