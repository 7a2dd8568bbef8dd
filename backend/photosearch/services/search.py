"""Hybrid search: full-text BM25F (Whoosh) fused with two semantic similarities.

For a query q and every photo p of the profile:
    text(p)             BM25F of q over caption, alternatives, labels, poster caption, hashtags
    semantic(p)         cos( head.text(MiniLM(q)), head.image(features of p) )   the trained joint space
    caption_semantic(p) cos( MiniLM(q), MiniLM(caption of p) )                    paraphrases of the caption
Fusion (chosen by measurement on the Flickr8k dev split, see docs/search-eval-dev.md):
    "weighted": w_text * text / max(text) + w_sem * semantic + w_cap * caption_semantic
    "rrf":      sum over components of 1 / (60 + rank)
Ties break by photo id, so the order is deterministic.

Every result says why it matched: the query words found (and in which texts), the component scores, and the
caption split into highlighted segments.
"""

from __future__ import annotations

import re
import threading
from collections import OrderedDict
from dataclasses import dataclass, field
from datetime import UTC, datetime

import numpy as np
from sqlalchemy import func, select

from photosearch.config import Settings
from photosearch.errors import InvalidInput, NotFound
from photosearch.services.library import photo_summary, profile_by_name
from photosearch.services.relevance import (
    LABEL_MEANING_MIN_PROB,
    LABEL_MEANING_MIN_SIM,
    RELEVANCE_CUTOFF,
    ProfileTexts,
    plan_query,
    reasons,
)
from photosearch.services.timeline import date_key
from photosearch.storage.db import Database
from photosearch.storage.index import FIELD_ORIGIN, PhotoIndex, stems
from photosearch.storage.models import Description, Photo
from photosearch.text.label_meaning import LabelMeaning, label_arrays

SORTS = ("best", "newest", "oldest")
TEXT_CANDIDATES = 1000  # BM25 hits considered per query
QUERY_CACHE = 10_000  # query vectors kept


@dataclass
class FusionConfig:
    """Chosen on the Flickr8k dev split (docs/search-eval-dev.md). Weighted beats RRF (k=60 ranks below the 12
    weightings listed there). The MiniLM caption similarity adds nothing on top of the joint space (weight 0;
    still computed and shown). BM25 at 0.1 is the dev optimum for sentence queries, but then a one-word label
    query ("espresso" on the demo photos) loses to loose semantic matches (coffee 0.23 + 0.10 vs cat 0.32), so
    BM25 keeps 0.2: dev R@1/5/10 0.216/0.515/0.668 (0.231/0.529/0.682 at 0.1)."""

    method: str = "weighted"
    w_text: float = 0.2
    w_semantic: float = 1.0
    w_caption: float = 0.0
    w_label: float = 0.1  # label meaning: query vs the labels' plain nouns (text/label_meaning.py)
    rrf_k: int = 60


@dataclass
class _ProfileVectors:
    key: tuple
    ids: np.ndarray  # [N] photo ids
    image: np.ndarray | None  # [N, d]
    text: np.ndarray | None  # [N, 384]
    taken_at: list = field(default_factory=list)


def highlight_segments(text: str, matched_stems: set[str]) -> list[dict]:
    """'a dog runs' + {'dog'} -> [{'text': 'a ', 'match': False}, {'text': 'dog', 'match': True}, ...]."""
    segments: list[dict] = []
    for piece in re.findall(r"\w+|\W+", text or ""):
        is_match = bool(piece.strip()) and piece[0].isalnum() and any(s in matched_stems for s in stems(piece))
        if segments and segments[-1]["match"] == is_match:
            segments[-1]["text"] += piece
        else:
            segments.append({"text": piece, "match": is_match})
    return segments


class Searcher:
    def __init__(self, settings: Settings, db: Database, index: PhotoIndex, models, fusion: FusionConfig | None = None):  # noqa: ANN001
        """`models()` returns an object with `text_embedder` and `retrieval` (the Describer), loaded lazily."""
        self.settings = settings
        self.db = db
        self.index = index
        self._models = models
        self.fusion = fusion or FusionConfig()
        self._cache: dict[int, _ProfileVectors] = {}
        self._cache_lock = threading.Lock()
        # MiniLM vectors of recent queries: typing re-sends the same prefixes, and evaluation embeds in batches.
        self._query_vectors: OrderedDict[str, np.ndarray] = OrderedDict()
        self.texts = ProfileTexts(db)  # vocabulary ("did you mean") and label arrays (label meaning)
        self.cutoff = RELEVANCE_CUTOFF
        self._label_meaning: LabelMeaning | None = None

    # -- inputs ------------------------------------------------------------------------------------
    def check_query(self, query: object) -> str:
        if not isinstance(query, str) or not query.strip():
            raise InvalidInput("type a few words to search for, e.g. 'dog on the beach'")
        query = " ".join(query.split())
        if len(query) > self.settings.max_query_chars:
            raise InvalidInput(f"the query is {len(query)} characters; keep it under {self.settings.max_query_chars}")
        return query

    def _profile_id(self, name: str) -> int:
        with self.db.session() as session:
            return profile_by_name(session, name).id

    # -- vectors -----------------------------------------------------------------------------------
    def _vectors(self, profile_id: int) -> _ProfileVectors:
        with self.db.session() as session:
            # Changes whenever a photo is added, purged, deleted or restored.
            key = tuple(session.execute(
                select(func.count(Photo.id), func.max(Photo.id), func.count(Photo.deleted_at),
                       func.max(Photo.deleted_at)).where(Photo.profile_id == profile_id)
            ).one())
            cached = self._cache.get(profile_id)
            if cached is not None and cached.key == key:
                return cached
            rows = session.execute(
                select(Photo.id, Description.image_vector, Description.text_vector, date_key())
                .join(Description, Description.photo_id == Photo.id)
                .where(Photo.profile_id == profile_id, Photo.deleted_at.is_(None))
                .order_by(Photo.id)
            ).all()
        ids = np.array([r[0] for r in rows], dtype=np.int64)
        image = _stack([r[1] for r in rows])
        text = _stack([r[2] for r in rows])
        vectors = _ProfileVectors(key=key, ids=ids, image=image, text=text, taken_at=[r[3] for r in rows])
        with self._cache_lock:
            self._cache[profile_id] = vectors
        return vectors

    # -- search ------------------------------------------------------------------------------------
    def search(self, profile: str, query: object, limit: int = 20, offset: int = 0,
               after: datetime | None = None, before: datetime | None = None, sort: str = "best") -> dict:
        query = self.check_query(query)
        if sort not in SORTS:
            raise InvalidInput(f"'sort' is one of {', '.join(SORTS)}")
        if not 1 <= limit <= 200:
            raise InvalidInput("limit must be between 1 and 200")
        if not 0 <= offset <= 100_000:
            raise InvalidInput("offset must be between 0 and 100000")
        profile_id = self._profile_id(profile)
        plan = plan_query(query, self.texts.get(profile_id).vocabulary)
        answer = {"query": query, "searched_for": plan.search_text, "did_you_mean": plan.did_you_mean,
                  "notice": plan.notice, "cutoff": self.cutoff}
        if plan.search_text is None:  # nothing we can read: say so rather than rank the collection by noise
            return {**answer, "total": 0, "matches": 0, "results": []}
        ranked = self.rank(profile_id, plan.search_text, after=after, before=before)
        for r in ranked:
            r["strong"] = self.is_match(r)
        if sort != "best":  # the matches by date, then the weaker results by date
            dated = self._by_date(profile_id, ranked, newest=sort == "newest")
            ranked = [r for r in dated if r["strong"]] + [r for r in dated if not r["strong"]]
        page = ranked[offset : offset + limit]
        searched = plan.search_text
        with self.db.session() as session:
            photos = {p.id: p for p in session.scalars(select(Photo).where(Photo.id.in_([r["id"] for r in page])))}
            results = []
            for r in page:
                photo = photos[r["id"]]
                d = photo.description
                caption = d.caption if d else ""
                labels = list(d.labels or []) if d else []
                all_stems = set().union(*r["matched"].values()) if r["matched"] else set()
                query_words = [w for w in re.findall(r"\w+", searched) if set(stems(w)) & all_stems]
                results.append({
                    "photo": photo_summary(photo, profile),
                    "score": round(r["score"], 6),
                    "scores": {k: (None if v is None else round(v, 4)) for k, v in r["scores"].items()},
                    "matched": list(dict.fromkeys(w.lower() for w in query_words)),
                    "matched_in": sorted({FIELD_ORIGIN[f] for f in r["matched"]}),
                    "highlight": highlight_segments(caption or "", set(r["matched"].get("caption", set()))
                                                    | set(r["matched"].get("alternatives", set()))),
                    "strong": r["strong"],
                    "reasons": reasons(searched, r["matched"], labels, photo.poster_caption or "",
                                       list(photo.hashtags or []), r["scores"]["semantic"],
                                       self._label_reason(searched, labels)),
                })
        return {**answer, "total": len(ranked), "matches": sum(r["strong"] for r in ranked), "results": results}

    def is_match(self, row: dict) -> bool:
        """A real match: the fused score reaches the calibrated cut-off. Without the semantic models (nothing to
        calibrate against) a full-text hit is the evidence."""
        scores = row["scores"]
        if scores["semantic"] is None and scores["caption_semantic"] is None:
            return scores["text"] is not None
        return row["score"] >= self.cutoff

    def rank(self, profile_id: int, query: str, after: datetime | None = None,
             before: datetime | None = None) -> list[dict]:
        """All matching photos of a profile, best first: [{"id", "score", "scores", "matched"}]."""
        hits = self.index.search(profile_id, query, limit=TEXT_CANDIDATES, taken_after=after, taken_before=before)
        vectors = self._vectors(profile_id)
        visible = set(vectors.ids.tolist())  # the index still holds deleted photos until they are purged
        text_scores = {h.photo_id: h.score for h in hits if h.photo_id in visible}
        matched = {h.photo_id: h.matched for h in hits if h.photo_id in visible}
        semantic, caption_sem = self._semantic(vectors, query)
        label_meaning = self._label_scores(profile_id, vectors.ids, query) if semantic is not None else None

        candidates = set(text_scores)
        if semantic is not None or caption_sem is not None:
            keep = np.ones(len(vectors.ids), dtype=bool)
            if after or before:
                keep = np.array([_in_range(t, after, before) for t in vectors.taken_at], dtype=bool)
            candidates |= set(vectors.ids[keep].tolist())
        position = {int(pid): i for i, pid in enumerate(vectors.ids)}

        def component(values: np.ndarray | None, pid: int) -> float | None:
            if values is None or pid not in position:
                return None
            value = float(values[position[pid]])
            return None if np.isnan(value) else value

        max_text = max(text_scores.values(), default=0.0) or 1.0
        rows = []
        for pid in candidates:
            scores = {"text": text_scores.get(pid), "semantic": component(semantic, pid),
                      "caption_semantic": component(caption_sem, pid),
                      "label_meaning": component(label_meaning, pid)}
            rows.append({"id": pid, "scores": scores, "matched": matched.get(pid, {}),
                         "score": 0.0 if self.fusion.method == "rrf" else self._weighted(scores, max_text)})
        if self.fusion.method == "rrf":
            self._rrf(rows)
        rows.sort(key=lambda r: (-r["score"], r["id"]))
        return rows

    def _by_date(self, profile_id: int, ranked: list[dict], newest: bool) -> list[dict]:
        """The same results in date order (taken, else added; ties by id)."""
        vectors = self._vectors(profile_id)
        when = {int(pid): _utc(t) for pid, t in zip(vectors.ids.tolist(), vectors.taken_at, strict=True)}
        floor = datetime.min.replace(tzinfo=UTC)
        ordered = sorted(ranked, key=lambda r: (when.get(r["id"]) or floor, r["id"]))
        return ordered[::-1] if newest else ordered

    def _semantic(self, vectors: _ProfileVectors, query: str) -> tuple[np.ndarray | None, np.ndarray | None]:
        if vectors.image is None and vectors.text is None:
            return None, None
        models = self._models()
        if models.text_embedder is None:
            return None, None
        q = self.embed_queries([query])  # [1, 384]
        semantic = caption = None
        if vectors.image is not None and models.retrieval is not None:
            semantic = vectors.image @ models.retrieval.text_vectors(q)[0]  # [N]
        if vectors.text is not None:
            caption = vectors.text @ q[0]  # [N]
        return semantic, caption

    def embed_queries(self, queries: list[str]) -> np.ndarray:
        """MiniLM vectors [N, 384] of queries, embedding only those not seen recently (in one batch)."""
        missing = list(dict.fromkeys(q for q in queries if q not in self._query_vectors))
        if missing:
            vectors = self._models().text_embedder.embed(missing)
            with self._cache_lock:
                for q, v in zip(missing, vectors, strict=True):
                    self._query_vectors[q] = v
                while len(self._query_vectors) > QUERY_CACHE:
                    self._query_vectors.popitem(last=False)
        with self._cache_lock:
            return np.stack([self._query_vectors.get(q) if q in self._query_vectors
                             else self._models().text_embedder.embed([q])[0] for q in queries])

    # -- label meaning -------------------------------------------------------------------------------
    def label_meaning(self) -> LabelMeaning | None:
        models = self._models()
        if models is None or models.text_embedder is None:
            return None
        if self._label_meaning is None:
            self._label_meaning = LabelMeaning(models.text_embedder.embed)
        return self._label_meaning if self._label_meaning.available else None

    def _label_scores(self, profile_id: int, ids: np.ndarray, query: str) -> np.ndarray | None:
        """Label meaning of each photo of `ids` (NaN where its labels are unknown); None without the table."""
        meaning = self.label_meaning()
        if meaning is None:
            return None
        texts = self.texts.get(profile_id)
        rows = texts.label_rows(ids)
        classes = meaning.class_scores(self.embed_queries([query])[0])
        if classes is None:
            return None
        safe = np.maximum(rows, 0)
        scores = meaning.photo_scores(classes, texts.label_index[safe], texts.label_prob[safe])
        return np.where(rows >= 0, scores, np.nan).astype(np.float32)

    def _label_reason(self, query: str, labels: list[dict]) -> tuple[str, str, float] | None:
        """(class word, label, probability) of the sure label whose plain word is closest to the query's meaning,
        when it is close enough to say "looks like a bird (crane, 62 %)"."""
        meaning = self.label_meaning() if labels and query in self._query_vectors else None
        if meaning is None:
            return None
        index, prob = label_arrays([labels])
        found = []
        for j, (c, p) in enumerate(zip(index[0].tolist(), prob[0].tolist(), strict=True)):
            if c >= 0 and p >= LABEL_MEANING_MIN_PROB:
                word = meaning.best_words(self._query_vectors[query], c)
                if word is not None and word[1] >= LABEL_MEANING_MIN_SIM:
                    found.append((word[1] * p, word[0], labels[j]["label"], p))
        if not found:
            return None
        _, word, label, p = max(found)
        return word, label, p

    def _weighted(self, scores: dict, max_text: float) -> float:
        f = self.fusion
        return (f.w_text * (scores["text"] or 0.0) / max_text
                + f.w_semantic * (scores["semantic"] or 0.0)
                + f.w_caption * (scores["caption_semantic"] or 0.0)
                + f.w_label * (scores.get("label_meaning") or 0.0))

    def _rrf(self, rows: list[dict]) -> None:
        for name in ("text", "semantic", "caption_semantic", "label_meaning"):
            present = sorted((r for r in rows if r["scores"][name] is not None),
                             key=lambda r, n=name: (-r["scores"][n], r["id"]))
            for rank, r in enumerate(present):
                r["score"] += 1.0 / (self.fusion.rrf_k + rank + 1)

    # -- similar photos ----------------------------------------------------------------------------
    def similar(self, photo_id: int, limit: int = 12) -> dict:
        if not 1 <= limit <= 100:
            raise InvalidInput("limit must be between 1 and 100")
        with self.db.session() as session:
            photo = session.get(Photo, photo_id)
            if photo is None:
                raise NotFound(f"no photo {photo_id}")
            profile_id, profile_name = photo.profile_id, photo.profile.name
        vectors = self._vectors(profile_id)
        matrix = vectors.image if vectors.image is not None else vectors.text
        if matrix is None or photo_id not in set(vectors.ids.tolist()):
            return {"results": []}
        me = int(np.where(vectors.ids == photo_id)[0][0])
        sims = matrix @ matrix[me]
        order = sorted((i for i in range(len(sims)) if i != me), key=lambda i: (-sims[i], vectors.ids[i]))[:limit]
        with self.db.session() as session:
            photos = {p.id: p for p in session.scalars(select(Photo).where(Photo.id.in_([int(vectors.ids[i])
                                                                                         for i in order])))}
            return {"results": [{"photo": photo_summary(photos[int(vectors.ids[i])], profile_name),
                                 "score": round(float(sims[i]), 4)} for i in order]}


def _stack(blobs: list[bytes | None]) -> np.ndarray | None:
    """Blobs -> [N, d]; None when no photo has this vector, zero rows for photos that lack it."""
    present = [np.frombuffer(b, dtype=np.float32) for b in blobs if b is not None]
    if not present:
        return None
    zero = np.zeros_like(present[0])
    return np.stack([zero if b is None else np.frombuffer(b, dtype=np.float32) for b in blobs])


def _utc(value: datetime | None) -> datetime | None:
    return value if value is None or value.tzinfo else value.replace(tzinfo=UTC)


def _in_range(value: datetime | None, after: datetime | None, before: datetime | None) -> bool:
    if value is None:
        return False
    if value.tzinfo is None and (after and after.tzinfo or before and before.tzinfo):
        value = value.replace(tzinfo=UTC)
    return (after is None or value >= after) and (before is None or value <= before)
