"""Hybrid search: full-text BM25F (Whoosh) fused with semantic similarity, at a cost that does not grow with
the collection's size faster than one pass over a vector matrix.

Components, for a query q and a photo p of the profile:
    text(p)             BM25F of q over caption, alternatives, labels (+ their WordNet nouns), poster, hashtags
    semantic(p)         cos( head.text(MiniLM(q)), head.image(features of p) )   the trained joint space
    caption_semantic(p) cos( MiniLM(q), MiniLM(caption of p) )                    paraphrases of the caption
    label_meaning(p)    sum_k prob_k * cos( MiniLM(q), MiniLM(noun or category of label k) )  (text/label_meaning.py)
Fusion (chosen by measurement on the Flickr8k dev split, see docs/search-eval-dev.md):
    "weighted": w_text * text / max(text) + w_sem * semantic + w_cap * caption_semantic + w_label * label_meaning
    "rrf":      sum over components of 1 / (rrf_k + rank)
Ties break by photo id, so the order is deterministic. A result is a *match* when its fused score reaches the
calibrated cut-off (services/relevance.py); the query is first planned there (typos, unusable words).

How one query runs (docs/performance.md has the measured cost of each step):
    1. candidates   the best TEXT_CANDIDATES BM25F hits (storage/index.py) and every photo's semantic score,
                    one matrix-vector product over the profile's vectors held in memory (storage/vectors.py);
                    profiles of ANN_THRESHOLD photos or more score a sign-bit shortlist instead of all.
    2. fuse         `fuse(Candidates, FusionConfig) -> scores`: pure numpy, no per-photo Python objects
    3. page         `best(ids, scores, k)`: a partial sort for the page asked for
    4. explain      only the returned page is read from the database: summaries, the words that matched
                    (`matched_stems`), the caption similarity, the highlighted caption and plain-word reasons.

The ranking core (`Candidates`, `fuse`, `weighted`, `rrf`, `best`, `rank_of`) is a handful of pure
functions over arrays; evaluation (services/eval_search.py) and new signals use them directly.
"""

from __future__ import annotations

import os
import re
import sys
import threading
from collections import OrderedDict
from dataclasses import dataclass
from datetime import datetime

import numpy as np
from sqlalchemy import select
from sqlalchemy.orm import selectinload

from photosearch.config import Settings
from photosearch.errors import InvalidInput, NotFound
from photosearch.services.ingest import index_doc
from photosearch.services.library import photo_summary, profile_by_name
from photosearch.services.relevance import (
    LABEL_MATCH,
    LABEL_MEANING_MIN_PROB,
    LABEL_MEANING_MIN_SIM,
    RELEVANCE_CUTOFF,
    ProfileTexts,
    is_keyword,
    plan_query,
    reasons,
)
from photosearch.storage.db import Database
from photosearch.storage.index import FIELD_ORIGIN, PhotoIndex, matched_stems, stems
from photosearch.storage.models import Description, Photo, Profile
from photosearch.storage.postings import ProfilePostings, plain_leaves
from photosearch.storage.vectors import NO_DATE, VectorStore, VectorView
from photosearch.text.label_meaning import LabelMeaning, label_arrays
from photosearch.vision.labels import NOUNS_DIGEST

SORTS = ("best", "newest", "oldest")
SAID_FIELDS = ("caption", "poster", "hashtags")  # where a photo "says" a word (`Searcher.said`)
TEXT_CANDIDATES = 1000  # BM25 hits considered per query
SHORTLIST = 4000  # photos scored exactly from the sign-bit shortlist of a large profile
QUERY_CACHE = 10_000  # query vectors kept


@dataclass
class FusionConfig:
    """Chosen on the Flickr8k dev split (docs/search-eval-dev.md: a grid over BM25, caption and label-meaning
    weights). Weighted beats RRF (k=60 ranks below the 12 weightings listed there). The MiniLM caption
    similarity adds nothing on top of the joint space (weight 0; computed and shown for the returned page
    only). BM25 at 0.1 is the dev optimum; it once lost one-word label queries ("espresso" on the demo photos)
    to loose semantic matches, which label meaning now wins back (the espresso photo's label scores its
    meaning). Label meaning 0.1 is within 0.002 of the dev optimum (0.05) and is what carries label words and
    their categories ("a kitten", "a large bird") on real photos (docs/search-eval-real.md)."""

    method: str = "weighted"
    w_text: float = 0.1
    w_semantic: float = 1.0
    w_caption: float = 0.0
    w_label: float = 0.1  # label meaning: query vs the labels' plain nouns (text/label_meaning.py)
    rrf_k: int = 60


# -- the ranking core: pure functions over arrays ------------------------------------------------------
COMPONENTS = ("text", "semantic", "caption_semantic", "label_meaning")


@dataclass
class Candidates:
    """The photos a query considers and their component scores, aligned; NaN = the component has no score
    for that photo (no BM25 hit among the candidates, no vector, or not computed)."""

    ids: np.ndarray  # int64 [C] photo ids
    text: np.ndarray  # float32 [C] BM25F
    semantic: np.ndarray  # float32 [C] joint-space cosine
    caption_semantic: np.ndarray  # float32 [C] MiniLM caption cosine
    label_meaning: np.ndarray  # float32 [C] query meaning vs the photo's labels

    def component(self, name: str) -> np.ndarray:
        return getattr(self, name)

    def take(self, rows: np.ndarray) -> Candidates:
        return Candidates(*(getattr(self, name)[rows] for name in ("ids", *COMPONENTS)))


def weighted(c: Candidates, fusion: FusionConfig) -> np.ndarray:
    """w_text * text / max(text) + w_sem * semantic + w_cap * caption_semantic + w_label * label_meaning;
    a missing score counts 0."""
    text = np.nan_to_num(c.text, nan=0.0)
    top = float(text.max()) if len(text) else 0.0
    return (fusion.w_text * text / (top or 1.0)
            + fusion.w_semantic * np.nan_to_num(c.semantic, nan=0.0)
            + fusion.w_caption * np.nan_to_num(c.caption_semantic, nan=0.0)
            + fusion.w_label * np.nan_to_num(c.label_meaning, nan=0.0)).astype(np.float64)


def rrf(c: Candidates, k: int = 60) -> np.ndarray:
    """Reciprocal rank fusion: each component ranks the photos it scores (ties by id); sum of 1/(k + rank)."""
    total = np.zeros(len(c.ids), np.float64)
    for name in COMPONENTS:
        values = c.component(name)
        present = np.flatnonzero(~np.isnan(values))
        order = present[np.lexsort((c.ids[present], -values[present]))]
        total[order] += 1.0 / (k + np.arange(1, len(order) + 1))
    return total


def fuse(c: Candidates, fusion: FusionConfig) -> np.ndarray:
    """One fused score per candidate (higher is better)."""
    return rrf(c, fusion.rrf_k) if fusion.method == "rrf" else weighted(c, fusion)


def strong(c: Candidates, scores: np.ndarray, cutoff: float, said: np.ndarray | None = None,
           label_cutoff: float = LABEL_MATCH) -> np.ndarray:
    """bool per candidate: a real match, i.e. the fused score reaches the calibrated cut-off, or the photo's
    sure labels mean what the query says (label meaning alone reaches `label_cutoff`: "espresso" on a photo
    labelled espresso 90 %, whose joint-space similarity to one word is low), or the photo says a one-word
    query in its caption or the poster's words (`said`, bool per candidate: `Searcher.said`). Without the
    semantic models (nothing to calibrate against) a full-text hit is the evidence."""
    if np.isnan(c.semantic).all() and np.isnan(c.caption_semantic).all():
        return ~np.isnan(c.text)
    match = (scores >= cutoff) | (np.nan_to_num(c.label_meaning, nan=0.0) >= label_cutoff)
    return match if said is None else match | said


MATCHES_FIRST = 100.0  # above any fused score: `ranking` puts every match before every weaker result


def ranking(c: Candidates, fused: np.ndarray, is_match: np.ndarray) -> np.ndarray:
    """The order the app shows, as one score per candidate: the matches first, each group by fused score (a
    photo that is a match by its labels alone ranks above weaker results with a higher fused score)."""
    return fused + MATCHES_FIRST * is_match


def best(ids: np.ndarray, scores: np.ndarray, k: int) -> np.ndarray:
    """Positions of the k best candidates, best first; equal scores in photo-id order. O(C + k log k)."""
    if k <= 0 or not len(ids):
        return np.zeros(0, np.int64)
    if k < len(scores):
        kth = np.partition(scores, len(scores) - k)[len(scores) - k]
        rows = np.flatnonzero(scores >= kth)  # every tie at the boundary, so ids decide among them
    else:
        rows = np.arange(len(scores))
    return rows[np.lexsort((ids[rows], -scores[rows]))][:k]


def rank_of(target: int, ids: np.ndarray, scores: np.ndarray, bottom: int) -> int:
    """1-based rank of photo `target` by descending score (ties by id); absent or NaN -> `bottom`."""
    at = np.flatnonzero(ids == target)
    if not len(at) or np.isnan(scores[at[0]]):
        return bottom
    mine = scores[at[0]]
    valid = ~np.isnan(scores)
    better = valid & ((scores > mine) | ((scores == mine) & (ids < target)))
    return int(better.sum()) + 1


def by_date(ids: np.ndarray, vectors: VectorView, newest: bool) -> np.ndarray:
    """Positions of `ids` in date order (taken, else added; ties by id), oldest first unless `newest`."""
    rows = vectors.positions(ids)
    dates = np.where(rows >= 0, vectors.dated[np.maximum(rows, 0)], NO_DATE)
    order = np.lexsort((ids, dates))
    return order[::-1] if newest else order


def highlight_segments(text: str, matched: set[str]) -> list[dict]:
    """'a dog runs' + {'dog'} -> [{'text': 'a ', 'match': False}, {'text': 'dog', 'match': True}, ...]."""
    segments: list[dict] = []
    for piece in re.findall(r"\w+|\W+", text or ""):
        is_match = bool(piece.strip()) and piece[0].isalnum() and any(s in matched for s in stems(piece))
        if segments and segments[-1]["match"] == is_match:
            segments[-1]["text"] += piece
        else:
            segments.append({"text": piece, "match": is_match})
    return segments


def _nan(n: int) -> np.ndarray:
    return np.full(n, np.nan, np.float32)


def serving_threads() -> None:
    """One BLAS/OpenMP thread per request thread, for a server answering many small queries on a few cores:
    thread teams per query fight each other and the GIL (measured in docs/performance.md)."""
    from threadpoolctl import threadpool_limits

    threadpool_limits(1)  # numpy's BLAS (OpenBLAS, the query models), and any OpenMP runtime already loaded
    # Searching never imports torch (text/query_models.py); describing an upload does, later, with one thread.
    os.environ["OMP_NUM_THREADS"] = "1"
    torch = sys.modules.get("torch")
    if torch is not None:
        torch.set_num_threads(1)


# -- the service -----------------------------------------------------------------------------------------
class Searcher:
    def __init__(self, settings: Settings, db: Database, index: PhotoIndex, models,  # noqa: ANN001
                 fusion: FusionConfig | None = None) -> None:
        """`models()` returns an object with `text_embedder` and `retrieval` (the Describer), loaded lazily."""
        self.settings = settings
        self.db = db
        self.index = index
        self._models = models
        self.fusion = fusion or FusionConfig()
        self.vectors = VectorStore(db, settings.snapshots_dir)
        # the row has both's columns; snapshots spare a restart building the arrays again (storage/snapshots.py)
        self.postings = ProfilePostings(db, lambda row: index_doc(row, row), snapshot_dir=settings.snapshots_dir,
                                        snapshot_key=NOUNS_DIGEST)  # index_doc adds the labels' plain nouns
        self._cache_lock = threading.Lock()
        # MiniLM vectors of recent queries: typing re-sends the same prefixes, and evaluation embeds in batches.
        self._query_vectors: OrderedDict[str, np.ndarray] = OrderedDict()
        self._caption_matrices: dict[int, tuple[int, np.ndarray | None]] = {}
        self.texts = ProfileTexts(db, settings.snapshots_dir, NOUNS_DIGEST)  # vocabulary, label arrays
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

    def profile_id(self, name: str) -> int:
        with self.db.session() as session:
            return profile_by_name(session, name).id

    _profile_id = profile_id  # older name

    def warm(self) -> None:
        """Load what the first query would wait for: the query models, the label words' vectors, and every
        profile's vectors, postings, vocabulary and label arrays. Not a Whoosh searcher: plain words are
        scored from the postings, and only a phrase, NOT or AND opens one (≈ 0.15 s, ≈ 300 MB at 100K)."""
        models = self._models()
        if models is not None and models.text_embedder is not None:
            self.embed_queries(["a photo"])
            if models.retrieval is not None:
                models.retrieval.text_vectors(self.embed_queries(["a photo"]))
            self.label_meaning()
        with self.db.session() as session:
            profile_ids = list(session.scalars(select(Profile.id)))
        for profile_id in profile_ids:
            self.vectors.get(profile_id)
            self.postings.warm(profile_id)
            self.texts.get(profile_id, self.vectors.get(profile_id).stamp)

    # -- query vectors -------------------------------------------------------------------------------
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

    def _query_vectors_for(self, query: str) -> tuple[np.ndarray | None, np.ndarray | None]:
        """(MiniLM vector, joint-space vector) of the query; None where the models are missing."""
        models = self._models()
        if models is None or models.text_embedder is None:
            return None, None
        minilm = self.embed_queries([query])  # [1, 384]
        joint = models.retrieval.text_vectors(minilm)[0] if models.retrieval is not None else None
        return minilm[0], (None if joint is None else np.asarray(joint, np.float32))

    def _caption_matrix(self, vectors: VectorView) -> np.ndarray | None:
        cached = self._caption_matrices.get(vectors.profile_id)
        if cached is None or cached[0] != len(vectors):
            cached = (len(vectors), self.vectors.caption_matrix(vectors))
            self._caption_matrices[vectors.profile_id] = cached
        return cached[1]

    # -- candidates and ranking ----------------------------------------------------------------------
    def candidates(self, profile_id: int, query: str, after: datetime | None = None,
                   before: datetime | None = None, exhaustive: bool = False,
                   caption: bool | None = None, vectors: VectorView | None = None) -> Candidates:
        """The photos this query considers with their component scores.

        Small profiles (and `exhaustive=True`): every photo in the date range, each semantic score exact.
        Large profiles: the BM25 hits plus the SHORTLIST photos nearest in the sign-bit sketch, scored exactly.
        `caption` (default: only when its fusion weight is not 0) also fills caption_semantic for all of them.
        """
        leaves = plain_leaves(self.index.parse(query))
        if leaves is None:  # syntax only Whoosh answers (a "phrase", NOT, ...): its own top hits
            hit_ids, hit_scores = self.index.top(profile_id, query, limit=TEXT_CANDIDATES, taken_after=after,
                                                 taken_before=before)
            hit_ids, hit_scores = np.asarray(hit_ids, np.int64), np.asarray(hit_scores, np.float32)
        else:  # plain words: the same BM25F from the posting arrays (storage/postings.py)
            hit_ids, hit_scores = self.postings.scores(profile_id, leaves)
            if len(hit_ids) > TEXT_CANDIDATES and not (after or before):  # the best hits before any lookup
                keep = best(hit_ids, hit_scores.astype(np.float64), TEXT_CANDIDATES)
                hit_ids, hit_scores = hit_ids[keep], hit_scores[keep]
        # Read after the hits, it knows every photo they name. A view the caller read before (`search`, one read
        # per query: two SQL statements) may miss a photo stored in between: that photo waits for the next query.
        vectors = vectors if vectors is not None else self.vectors.get(profile_id)
        hit_rows = vectors.positions(hit_ids)
        found = hit_rows >= 0  # the Whoosh index still holds deleted photos until they are purged
        if leaves is not None and (after or before):
            in_range = vectors.in_range(after, before)
            if in_range is not None:
                found &= in_range[np.maximum(hit_rows, 0)]
        hit_ids, hit_scores, hit_rows = hit_ids[found], hit_scores[found], hit_rows[found]
        if len(hit_ids) > TEXT_CANDIDATES:  # the best BM25 hits, as Whoosh's top-N
            keep = best(hit_ids, hit_scores.astype(np.float64), TEXT_CANDIDATES)
            hit_ids, hit_scores, hit_rows = hit_ids[keep], hit_scores[keep], hit_rows[keep]
        minilm, joint = self._query_vectors_for(query)
        if caption is None:
            caption = self.fusion.w_caption != 0 or (self.fusion.method == "rrf")
        use_vectors = minilm is not None and len(vectors) and (vectors.dim and joint is not None or caption)
        if not use_vectors:
            n = len(hit_ids)
            return Candidates(hit_ids, hit_scores, _nan(n), _nan(n), _nan(n))

        in_range = vectors.in_range(after, before)
        if vectors.quantized and not exhaustive and joint is not None:
            near = vectors.shortlist(joint, SHORTLIST, in_range)
            if in_range is not None:
                near = near[in_range[near]]
            rows = np.union1d(near, hit_rows)
        else:
            rows = np.arange(len(vectors)) if in_range is None else np.flatnonzero(in_range)
            rows = np.union1d(rows, hit_rows)
        n = len(rows)
        text = _nan(n)
        text[np.searchsorted(rows, hit_rows)] = hit_scores
        if vectors.dim and joint is not None:
            semantic = vectors.scores(joint, None if n == len(vectors) else rows).astype(np.float32)
        else:
            semantic = _nan(n)
        caption_sem = _nan(n)
        if caption:
            matrix = self._caption_matrix(vectors)
            if matrix is not None:
                caption_sem = (matrix[rows] @ minilm).astype(np.float32)
        ids = vectors.ids[rows]
        label_meaning = self._label_scores(vectors, ids, minilm) if joint is not None else None
        return Candidates(ids, text, semantic, caption_sem, _nan(n) if label_meaning is None else label_meaning)

    def rank(self, profile_id: int, query: str, after: datetime | None = None,
             before: datetime | None = None, vectors: VectorView | None = None) -> tuple[Candidates, np.ndarray]:
        """Candidates and their fused scores (not sorted: `best` picks a page)."""
        candidates = self.candidates(profile_id, query, after=after, before=before, vectors=vectors)
        return candidates, fuse(candidates, self.fusion)

    def said(self, profile_id: int, query: str, ids: np.ndarray) -> np.ndarray | None:
        """For a one-word query (relevance.is_keyword): bool per photo of `ids`, whether its caption or the
        poster's words (text, hashtags) contain the word. None for any other query. Labels are left to label
        meaning, which weighs them by probability (a 3 % 'ladybug' among five guesses says little), and the
        captioner's alternatives are not what the person sees."""
        if not is_keyword(query):
            return None
        leaves = plain_leaves(self.index.parse(query))
        said_fields = [leaf for leaf in leaves or [] if leaf[0] in SAID_FIELDS]
        if not said_fields:
            return np.zeros(len(ids), bool)
        found, _ = self.postings.scores(profile_id, said_fields)
        return np.isin(ids, found)

    # -- search --------------------------------------------------------------------------------------
    def search(self, profile: str, query: object, limit: int = 20, offset: int = 0,
               after: datetime | None = None, before: datetime | None = None, sort: str = "best") -> dict:
        query = self.check_query(query)
        if sort not in SORTS:
            raise InvalidInput(f"'sort' is one of {', '.join(SORTS)}")
        if not 1 <= limit <= 200:
            raise InvalidInput("limit must be between 1 and 200")
        if not 0 <= offset <= 100_000:
            raise InvalidInput("offset must be between 0 and 100000")
        profile_id = self.profile_id(profile)
        vectors = self.vectors.get(profile_id)
        plan = plan_query(query, self.texts.get(profile_id, vectors.stamp).vocabulary)
        answer = {"query": query, "searched_for": plan.search_text, "did_you_mean": plan.did_you_mean,
                  "notice": plan.notice, "cutoff": self.cutoff}
        if plan.search_text is None:  # nothing we can read: say so rather than rank the collection by noise
            return {**answer, "total": 0, "matches": 0, "results": []}
        candidates, scores = self.rank(profile_id, plan.search_text, after=after, before=before, vectors=vectors)
        is_match = strong(candidates, scores, self.cutoff, self.said(profile_id, plan.search_text, candidates.ids))
        if sort == "best":
            page = best(candidates.ids, ranking(candidates, scores, is_match), offset + limit)[offset:]
        else:  # the matches by date, then the weaker results by date
            dated = by_date(candidates.ids, vectors, newest=sort == "newest")
            page = np.concatenate([dated[is_match[dated]], dated[~is_match[dated]]])[offset:offset + limit]
        results = self._explain(profile, plan.search_text, candidates.take(page), scores[page], is_match[page])
        return {**answer, "total": len(candidates.ids), "matches": int(is_match.sum()), "results": results}

    def _explain(self, profile: str, query: str, page: Candidates, fused: np.ndarray,
                 is_match: np.ndarray) -> list[dict]:
        """The returned page only: summaries, matched words, caption similarity, highlighted caption, reasons."""
        ids = page.ids.tolist()
        caption_sem = page.caption_semantic.copy()
        with self._cache_lock:
            minilm = self._query_vectors.get(query)  # embedded by `candidates` moments ago
        meaning = self.label_meaning() if minilm is not None else None
        word_sims = meaning.word_sims(minilm) if meaning is not None else None  # once for every label below
        query_words = re.findall(r"\w+", query)
        results = []
        with self.db.session() as session:
            photos = {p.id: p for p in session.scalars(  # (not the attention maps: the photo view reads them)
                select(Photo).where(Photo.id.in_(ids))
                .options(selectinload(Photo.description).defer(Description.attention)))}
            for i, pid in enumerate(ids):
                photo = photos.get(pid)
                if photo is None or photo.deleted_at is not None:  # removed since the candidates were read
                    continue
                d = photo.description
                if np.isnan(caption_sem[i]) and minilm is not None and d is not None and d.text_vector:
                    caption_vector = np.frombuffer(d.text_vector, dtype=np.float32)  # loaded with the row
                    if len(caption_vector) == len(minilm):
                        caption_sem[i] = float(caption_vector @ minilm)
                doc = index_doc(photo, d)  # the texts exactly as the index holds them
                matched = {} if np.isnan(page.text[i]) else matched_stems(query, {
                    "caption": doc.caption, "alternatives": doc.alternatives, "labels": doc.labels,
                    "poster": doc.poster, "hashtags": doc.hashtags,
                })
                all_stems = set().union(*matched.values()) if matched else set()
                words = [w for w in query_words if set(stems(w)) & all_stems or w.lower() in all_stems]
                components = {name: page.component(name)[i] for name in COMPONENTS}
                components["caption_semantic"] = caption_sem[i]
                scores = {k: (None if np.isnan(v) else round(float(v), 4)) for k, v in components.items()}
                labels = list(d.labels or []) if d else []
                results.append({
                    "photo": photo_summary(photo, profile),
                    "score": round(float(fused[i]), 6),
                    "scores": scores,
                    "matched": list(dict.fromkeys(w.lower() for w in words)),
                    "matched_in": sorted({FIELD_ORIGIN[f] for f in matched}),
                    "highlight": highlight_segments(d.caption or "" if d else "",  # the caption, shown or not
                                                    matched.get("caption", set()) | matched.get("alternatives", set())),
                    "strong": bool(is_match[i]),
                    "reasons": reasons(query, matched, labels, photo.poster_caption or "",
                                       list(photo.hashtags or []), scores["semantic"],
                                       self._label_reason(query, labels, word_sims), strong=bool(is_match[i])),
                })
        return results

    # -- label meaning -------------------------------------------------------------------------------
    def label_meaning(self) -> LabelMeaning | None:
        models = self._models()
        if models is None or models.text_embedder is None:
            return None
        if self._label_meaning is None:
            self._label_meaning = LabelMeaning(models.text_embedder.embed)
        return self._label_meaning if self._label_meaning.available else None

    def _label_scores(self, vectors: VectorView, ids: np.ndarray, query_vector: np.ndarray) -> np.ndarray | None:
        """Label meaning of each photo of `ids` (NaN where its labels are unknown); None without the table."""
        meaning = self.label_meaning()
        if meaning is None:
            return None
        classes = meaning.class_scores(query_vector)
        if classes is None:
            return None
        texts = self.texts.get(vectors.profile_id, vectors.stamp)
        rows = texts.label_rows(ids)
        safe = np.maximum(rows, 0)
        scores = meaning.photo_scores(classes, texts.label_index[safe], texts.label_prob[safe])
        return np.where(rows >= 0, scores, np.nan).astype(np.float32)

    def _label_reason(self, query: str, labels: list[dict],
                      word_sims: np.ndarray | None = None) -> tuple[str, str, float] | None:
        """(class word, label, probability) of the sure label whose plain word is closest to the query's meaning,
        when it is close enough to say "looks like a bird (crane, 62 %)"."""
        meaning = self.label_meaning() if labels and query in self._query_vectors else None
        if meaning is None:
            return None
        index, prob = label_arrays([labels])
        found = []
        for j, (c, p) in enumerate(zip(index[0].tolist(), prob[0].tolist(), strict=True)):
            if c >= 0 and p >= LABEL_MEANING_MIN_PROB:
                word = meaning.best_words(self._query_vectors[query], c, word_sims)
                if word is not None and word[1] >= LABEL_MEANING_MIN_SIM:
                    found.append((word[1] * p, word[0], labels[j]["label"], p))
        if not found:
            return None
        _, word, label, p = max(found)
        return word, label, p

    # -- similar photos ----------------------------------------------------------------------------
    def similar(self, photo_id: int, limit: int = 12) -> dict:
        if not 1 <= limit <= 100:
            raise InvalidInput("limit must be between 1 and 100")
        with self.db.session() as session:
            photo = session.get(Photo, photo_id)
            if photo is None:
                raise NotFound(f"no photo {photo_id}")
            profile_id, profile_name = photo.profile_id, photo.profile.name
        vectors = self.vectors.get(profile_id)
        me = vectors.positions(np.array([photo_id]))[0]
        if me < 0:
            return {"results": []}
        if vectors.dim:
            query = vectors.vector(int(me))
            rows = vectors.shortlist(query, SHORTLIST) if vectors.quantized else np.arange(len(vectors))
            sims = vectors.scores(query, None if len(rows) == len(vectors) else rows)
        else:
            matrix = self._caption_matrix(vectors)
            if matrix is None:
                return {"results": []}
            rows = np.arange(len(vectors))
            sims = matrix @ matrix[me]
        keep = rows != me
        rows, sims = rows[keep], sims[keep]
        order = best(vectors.ids[rows], sims.astype(np.float64), limit)
        chosen = [int(vectors.ids[rows[i]]) for i in order]
        with self.db.session() as session:
            photos = {p.id: p for p in session.scalars(select(Photo).where(Photo.id.in_(chosen)))}
            return {"results": [{"photo": photo_summary(photos[pid], profile_name),
                                 "score": round(float(sims[i]), 4)}
                                for pid, i in zip(chosen, order, strict=True) if pid in photos]}
