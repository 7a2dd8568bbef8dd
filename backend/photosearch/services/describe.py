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
alone and a confidence for the caption: which of the two the joint space finds closer to the photo. `shown` says
which one the product puts on the card and in the alt text: the caption when its confidence reaches
SHOW_CAPTION_MIN (or cannot be worked out: no retrieval head), else the grounded sentence.
"""

from __future__ import annotations

import threading
from concurrent.futures import Future
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
from PIL import Image

if TYPE_CHECKING:
    import torch

from photosearch.vision.captioner import joint_nouns, people
from photosearch.vision.captioner.grounding import (
    GROUNDING_VERSION,
    MAX_CONSTRAINTS,
    caption_bans,
    confident_nouns,
    grounded_sentence,
    joint_confidences,
    noun_masses,
    shown_text,
)
from photosearch.vision.labels import top_labels

ALTERNATIVES = 5  # captions kept per photo (the beam size)
SENTENCE_CACHE = 4096  # MiniLM vectors of grounded sentences kept ("A photo of a cat." recurs across photos)


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


def attention_maps(alphas: torch.Tensor) -> list[list[float]]:
    """[words, P] attention weights -> rows of P floats rounded to 4 places, as stored and sent: numpy rounds
    them in one call (per-element Python round() took ~0.5 ms a photo, ~3 % of describing)."""
    return np.round(alphas.numpy().astype(np.float64), 4).tolist()


class Describer:
    """Holds the models; `describe` is thread-safe (one batch at a time). services/describe_pool.py runs one per
    worker process behind the same `describe` / `submit` / `ahead`."""

    ahead = 1  # batches an ingest job submits before it stores the first: here `submit` describes at once

    def __init__(self, encoder=None, captioner=None, retrieval=None, text_embedder=None) -> None:  # noqa: ANN001
        self.encoder = encoder
        self.captioner = captioner
        self.retrieval = retrieval
        self.text_embedder = text_embedder
        self.max_constraints = MAX_CONSTRAINTS  # label nouns a caption must use (0: plain beam search)
        self._people_prompts: np.ndarray | None = None  # joint-space vectors of people.py's prompts
        self._noun_phrases: np.ndarray | None = None  # joint-space vectors of joint_nouns.phrases()
        self._noun_scale = 1.0  # the retrieval head's inverse temperature, read with the phrases
        self._sentence_vectors: dict[str, np.ndarray] = {}  # grounded sentence -> MiniLM vector [384]
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
        """Per photo, the words its caption may not use (grounding.caption_bans); the people check needs the
        retrieval head and the text model."""
        scores = None
        if self.retrieval is not None and self.text_embedder is not None:
            if self._people_prompts is None:
                self._people_prompts = self.retrieval.text_vectors(self.text_embedder.embed(list(people.PROMPTS)))
            scores = people.people_scores(image_vectors, self._people_prompts)
        return caption_bans(probs, scores) or [() for _ in image_vectors]

    def _seen_nouns(self, image_vectors: np.ndarray | list) -> list[joint_nouns.SeenNoun | None]:
        """Per photo the noun the joint space is sure of (joint_nouns.py), or None; all None without the
        retrieval head or the text model."""
        if self.retrieval is None or self.text_embedder is None:
            return [None] * len(image_vectors)
        if self._noun_phrases is None:
            self._noun_phrases = self.retrieval.text_vectors(self.text_embedder.embed(joint_nouns.phrases()))
            self._noun_scale = self.retrieval.scale
        seen = joint_nouns.likeliest(image_vectors, self._noun_phrases, self._noun_scale)
        return joint_nouns.sure_nouns(seen)

    def _confidences(self, image_vectors: np.ndarray | list, caption_vectors: np.ndarray | list,
                     captions: list[str], grounded: list[str | None]) -> list[float | None]:
        """Per photo grounding.caption_confidence: the joint-space cosines of the photo with its caption and with
        its grounded sentence. None where either sentence is missing, or without the retrieval head or MiniLM."""
        if self.retrieval is None or self.text_embedder is None or not any(captions):
            return [None] * len(captions)
        missing = [g for g in dict.fromkeys(grounded) if g and g not in self._sentence_vectors]
        if missing:
            self._sentence_vectors.update(zip(missing, self.text_embedder.embed(missing), strict=True))
            while len(self._sentence_vectors) > SENTENCE_CACHE:  # oldest first
                del self._sentence_vectors[next(iter(self._sentence_vectors))]
        blank = np.zeros(caption_vectors.shape[1], np.float32)
        sentences = np.stack([self._sentence_vectors[g] if g else blank for g in grounded])
        confidences = joint_confidences(image_vectors, self.retrieval.text_vectors(caption_vectors),
                                        self.retrieval.text_vectors(sentences))
        return [c if text and sentence else None for c, text, sentence in zip(confidences, captions, grounded,
                                                                             strict=True)]

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

    def submit(self, images: list[Image.Image]) -> Future[list[PhotoDescription]]:
        """`describe`, as a future that is already settled (the pool's `submit` returns one still running)."""
        future: Future[list[PhotoDescription]] = Future()
        try:
            future.set_result(self.describe(images))
        except Exception as exc:  # noqa: BLE001 - raised again by future.result(), as the pool's would be
            future.set_exception(exc)
        return future

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
            seen = self._seen_nouns(image_vectors)
            banned = self._banned_words(probs, image_vectors)
            captions = (
                self.captioner.caption(features.grid, required=required, banned=banned)
                if self.captioner else [[] for _ in images]
            )
            texts = [caps[0].text if caps else "" for caps in captions]
            text_vectors = (
                self.text_embedder.embed(texts) if self.text_embedder and any(texts) else [None] * len(images)
            )
            grounded = [grounded_sentence(m, s) if m else None for m, s in zip(masses, seen, strict=True)]
            confidences = self._confidences(image_vectors, text_vectors, texts, grounded)
        grid_side = int(round(features.grid.shape[1] ** 0.5))
        out = []
        for i in range(len(images)):
            caps = captions[i]
            best = caps[0] if caps else None
            out.append(
                PhotoDescription(
                    labels=labels[i],
                    caption=best.text if best else None,
                    alternatives=[{"text": c.text, "score": round(c.score, 4)} for c in caps],
                    attention=(
                        {
                            "grid": [grid_side, grid_side],
                            "words": best.words,
                            "maps": attention_maps(best.alphas),
                        }
                        if best
                        else None
                    ),
                    image_vector=None if image_vectors[i] is None else np.asarray(image_vectors[i], np.float32),
                    text_vector=None if text_vectors[i] is None or not texts[i]
                    else np.asarray(text_vectors[i], np.float32),
                    model=self.model_name,
                    caption_confidence=confidences[i],
                    grounded_caption=grounded[i],
                    shown=shown_text(best.text if best else None, confidences[i], grounded[i]),
                    caption_model=self.caption_model,
                )
            )
        return out
