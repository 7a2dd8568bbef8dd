"""Caption metrics against all references of each photo, on our own tokenisation (dataset.tokenize).

BLEU-1..4 (corpus level, Papineni et al. 2002) and CIDEr-D (Vedantam et al. 2015) come from the COCO
caption evaluation code (`pycocoevalcap`); METEOR 1.5 too when Java is installed (it runs the bundled jar,
offline). BLEU matches nltk's corpus_bleu up to rounding; we use the COCO code so numbers are comparable
with published tables.
"""

from __future__ import annotations

import shutil


def corpus_scores(
    references: list[list[list[str]]], hypotheses: list[list[str]], meteor: bool = False, cider: bool = False
) -> dict[str, float]:
    """references[i] = the tokenised reference captions of photo i; hypotheses[i] = its generated caption."""
    from pycocoevalcap.bleu.bleu import Bleu

    refs = {i: [" ".join(r) for r in rs] for i, rs in enumerate(references)}
    hyps = {i: [" ".join(h) if h else "<empty>"] for i, h in enumerate(hypotheses)}
    bleu, _ = Bleu(4).compute_score(refs, hyps, verbose=0)
    scores = {f"BLEU-{n + 1}": float(b) for n, b in enumerate(bleu)}
    if cider:
        from pycocoevalcap.cider.cider import Cider  # the COCO implementation is CIDEr-D

        scores["CIDEr-D"] = float(Cider().compute_score(refs, hyps)[0])
    if meteor and shutil.which("java"):
        from pycocoevalcap.meteor.meteor import Meteor

        scorer = Meteor()
        try:
            scores["METEOR"] = float(scorer.compute_score(refs, hyps)[0])
        finally:
            scorer.close() if hasattr(scorer, "close") else None
    return scores
