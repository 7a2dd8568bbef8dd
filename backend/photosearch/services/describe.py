"""Describing photos: ONE encoder pass per photo feeds every model.

    images ──encode──> Features(grid [B,49,1280], pooled, logits)
                          ├─ logits ──────────────> labels       top-5 ImageNet classes
                          ├─ grid ──beam search───> caption      best + alternatives + attention per word
                          └─ grid ──retrieval head> image vector the joint image-text space (semantic search)
    caption text ──MiniLM──> text vector (query <-> caption similarity)

Each model is optional (weights missing -> that part is None) so the app still works with labels only.

People (vision/captioner/people.py): the caption of a photo the joint space sees no people in may not use
person words ("a man", "people"), which the Flickr8k decoder otherwise puts into most photos of things; nor
may it say "dog" where the classifier's 118 dog breeds hold almost no probability (grounding.no_dog_bans).

Grounding (vision/captioner/grounding.py): the classifier's confident label nouns, hedged up WordNet to a
sure category when no single noun is sure (at most two), are words the caption must use, each met by the
noun or its nearest category (constrained beam search); every description also gets a sentence made from the labels
alone and a confidence for the caption. `shown` says which one the product puts on the card and in the alt
text: the caption when its confidence reaches SHOW_CAPTION_MIN, else the grounded sentence.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
from PIL import Image

if TYPE_CHECKING:
    import torch

from photosearch.vision.captioner import people
from photosearch.vision.captioner.grounding import (
    GROUNDING_VERSION,
    MAX_CONSTRAINTS,
    SHOW_CAPTION_MIN,
    caption_confidence,
    confident_nouns,
    grounded_sentence,
    no_dog_bans,
    noun_masses,
)
from photosearch.vision.labels import top_labels

ALTERNATIVES = 5  # captions kept per photo (the beam size)


@dataclass
class PhotoDescription:
    labels: list[dict]
    caption: str | None
    alternatives: list[dict]  # [{"text", "score"}], best first, including the caption itself
    attention: dict | None  # {"grid": [7, 7], "words": [...], "maps": [[49 floats], ...]}
    image_vector: np.ndarray | None  # [d] float32, normalised
    text_vector: np.ndarray | None  # [384] float32, normalised
    model: str
    caption_confidence: float | None = None  # 0..1, grounding.caption_confidence
    grounded_caption: str | None = None  # the labels' own sentence ("A photo of an espresso.")
    shown: str = "caption"  # "caption" | "grounded": which the card title and alt text use
    caption_model: str | None = None  # the captioner's name@version that wrote the caption

    @property
    def display_caption(self) -> str | None:
        return self.grounded_caption if self.shown == "grounded" else self.caption


class Describer:
    """Holds the models; `describe` is thread-safe (one batch at a time)."""

    def __init__(self, encoder=None, captioner=None, retrieval=None, text_embedder=None) -> None:  # noqa: ANN001
        self.encoder = encoder
        self.captioner = captioner
        self.retrieval = retrieval
        self.text_embedder = text_embedder
        self.max_constraints = MAX_CONSTRAINTS  # label nouns a caption must use (0: plain beam search)
        self._people_prompts: np.ndarray | None = None  # joint-space vectors of people.py's prompts
        self._lock = threading.Lock()

    @classmethod
    def default(cls) -> Describer:
        """The product's models, from registry packages and the weights committed in the package."""
        from photosearch.text.embedder import TextEmbedder
        from photosearch.text.retrieval import RetrievalHead
        from photosearch.vision.captioner.captioner import Captioner
        from photosearch.vision.encoder import EfficientNetLite0Encoder

        captioner = Captioner.load(beam_size=ALTERNATIVES) if Captioner.available() else None
        retrieval = RetrievalHead.load() if RetrievalHead.available() else None
        return cls(EfficientNetLite0Encoder(), captioner, retrieval, TextEmbedder.shared())

    def _banned_words(self, probs: torch.Tensor | None, image_vectors: np.ndarray | list) -> list[tuple[str, ...]]:
        """Per photo, the words its caption may not use: person words where the joint space sees no people
        (people.py; needs the retrieval head and the text model), dog words where the classifier sees no dog."""
        bans: list[tuple[str, ...]] = [() for _ in image_vectors]
        if self.retrieval is not None and self.text_embedder is not None:
            if self._people_prompts is None:
                self._people_prompts = self.retrieval.text_vectors(self.text_embedder.embed(list(people.PROMPTS)))
            scores = people.people_scores(image_vectors, self._people_prompts)
            bans = [a + b for a, b in zip(bans, people.banned_words(scores), strict=True)]
        if probs is not None:
            bans = [a + b for a, b in zip(bans, no_dog_bans(probs), strict=True)]
        return bans

    @property
    def model_name(self) -> str:
        parts = [self.encoder.name if self.encoder else "none"]
        if self.captioner:
            parts.append(self.captioner.name)
        if self.retrieval:
            parts.append(getattr(self.retrieval, "name", "retrieval"))
        return "+".join(parts)

    @property
    def caption_model(self) -> str | None:
        """What wrote the caption: the captioner's name@version and the grounding version (redescribe redoes
        photos whose stored caption_model differs)."""
        return f"{self.captioner.name}+{GROUNDING_VERSION}" if self.captioner else None

    def describe(self, images: list[Image.Image]) -> list[PhotoDescription]:
        if not images:
            return []
        with self._lock:
            features = self.encoder.encode(images)
            labels = top_labels(features.logits) if features.logits is not None else [[] for _ in images]
            probs = features.logits.float().softmax(dim=1) if features.logits is not None else None  # [B, 1000]
            masses = [noun_masses(p) for p in probs] if probs is not None else [[] for _ in images]
            required = [[n.words for n in confident_nouns(m, limit=self.max_constraints)] for m in masses]
            image_vectors = (
                self.retrieval.image_vectors(features.grid) if self.retrieval else [None] * len(images)
            )
            banned = self._banned_words(probs, image_vectors)
            captions = (
                self.captioner.caption(features.grid, required=required, banned=banned)
                if self.captioner else [[] for _ in images]
            )
            texts = [caps[0].text if caps else "" for caps in captions]
            text_vectors = (
                self.text_embedder.embed(texts) if self.text_embedder and any(texts) else [None] * len(images)
            )
        grid_side = int(round(features.grid.shape[1] ** 0.5))
        out = []
        for i in range(len(images)):
            caps = captions[i]
            best = caps[0] if caps else None
            confidence = caption_confidence(best.words, best.logprob, masses[i]) if best else None
            grounded = grounded_sentence(masses[i]) if masses[i] else None
            shown = "caption" if best and (confidence >= SHOW_CAPTION_MIN or grounded is None) else "grounded"
            out.append(
                PhotoDescription(
                    labels=labels[i],
                    caption=best.text if best else None,
                    alternatives=[{"text": c.text, "score": round(c.score, 4)} for c in caps],
                    attention=(
                        {
                            "grid": [grid_side, grid_side],
                            "words": best.words,
                            "maps": [[round(float(a), 4) for a in row] for row in best.alphas],
                        }
                        if best
                        else None
                    ),
                    image_vector=None if image_vectors[i] is None else np.asarray(image_vectors[i], np.float32),
                    text_vector=None if text_vectors[i] is None or not texts[i]
                    else np.asarray(text_vectors[i], np.float32),
                    model=self.model_name,
                    caption_confidence=confidence,
                    grounded_caption=grounded,
                    shown=shown if (best or grounded) else "caption",
                    caption_model=self.caption_model,
                )
            )
        return out
