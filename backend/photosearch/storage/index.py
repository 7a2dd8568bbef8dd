"""The full-text index (Whoosh, BM25F) over what was said about each photo.

One document per photo: the generated caption, its alternatives, the ImageNet labels, and the poster's own
caption and hashtags. Words are stemmed ("running" matches "runs") and stop words dropped. Fields carry
different weights in BM25F: the best caption and the poster's words count most.

The database is the source of truth; this index can always be rebuilt from it (`photosearch reindex`).
Only one writer at a time (a lock in this process; Whoosh's file lock across processes).

Reading is built for many queries a second: searchers are long-lived (a small pool, one per concurrent
query, each refreshed only when the index changed), a query asks for its best `limit` documents only (Whoosh
then skips blocks that cannot reach them) and no per-document term lists; which words matched is worked out
afterwards for the page that is shown (`matched_stems`).
"""

from __future__ import annotations

import functools
import queue as queue_module
import re
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from whoosh import index as whoosh_index
from whoosh import qparser, query, scoring
from whoosh.analysis import LanguageAnalyzer
from whoosh.fields import DATETIME, ID, KEYWORD, TEXT, Schema
from whoosh.filedb.filestore import FileStorage
from whoosh.query.qcore import QueryError

# English stop words + the Snowball (Porter2) stemmer: whoosh-reloaded's plain Porter stems "running" to
# "runn", which would never meet "runs".
ANALYZER = LanguageAnalyzer("en")
FIELD_BOOSTS = {"caption": 2.0, "alternatives": 1.0, "labels": 1.5, "poster": 1.5, "hashtags": 1.5}
# Which of the person-facing texts each field belongs to (for "why it matched").
FIELD_ORIGIN = {"caption": "caption", "alternatives": "caption", "labels": "labels", "poster": "poster",
                "hashtags": "poster"}


def schema() -> Schema:
    return Schema(
        photo_id=ID(stored=True, unique=True),
        profile=ID(stored=True),
        caption=TEXT(analyzer=ANALYZER, field_boost=FIELD_BOOSTS["caption"]),
        alternatives=TEXT(analyzer=ANALYZER, field_boost=FIELD_BOOSTS["alternatives"]),
        labels=TEXT(analyzer=ANALYZER, field_boost=FIELD_BOOSTS["labels"]),
        poster=TEXT(analyzer=ANALYZER, field_boost=FIELD_BOOSTS["poster"]),
        hashtags=KEYWORD(lowercase=True, commas=True, scorable=True, field_boost=FIELD_BOOSTS["hashtags"]),
        taken_at=DATETIME(),
    )


def _naive_utc(value: datetime | None) -> datetime | None:
    """Whoosh compares datetimes as numbers: store and query them all as naive UTC."""
    if value is None or value.tzinfo is None:
        return value
    return value.astimezone(UTC).replace(tzinfo=None)


def stems(text: str) -> list[str]:
    """The index's view of a text: lowercased, stop words dropped, stemmed (as ANALYZER, word by word with a
    cache: explaining a page of results stems the same few thousand words over and over)."""
    return [stem for word in _TOKEN.findall(text or "") for stem in _word_stems(word)]


_TOKEN = re.compile(r"\w+(?:\.?\w+)*", re.UNICODE)  # whoosh's RegexTokenizer default expression


@functools.lru_cache(maxsize=200_000)
def _word_stems(word: str) -> tuple[str, ...]:
    return tuple(token.text for token in ANALYZER(word))


@dataclass
class IndexDoc:
    photo_id: int
    profile_id: int
    caption: str = ""
    alternatives: list[str] = field(default_factory=list)
    labels: list[str] = field(default_factory=list)
    poster: str = ""
    hashtags: list[str] = field(default_factory=list)
    taken_at: datetime | None = None


def matched_stems(query_text: str, fields: dict[str, str | list[str]]) -> dict[str, set[str]]:
    """Which of the query's words occur in which field of one photo: {field: stems}, as the index sees them.

    `fields` holds the photo's texts by index field name (caption, alternatives, labels, poster: strings or
    lists of strings; hashtags: a list of tags, matched whole and case-blind as the index stores them).
    """
    wanted = set(stems(query_text))
    words = {w.lower() for w in query_text.replace(",", " ").split()}
    out: dict[str, set[str]] = {}
    for name, value in fields.items():
        texts = [value] if isinstance(value, str) else list(value or [])
        if name == "hashtags":
            found = {t.lower() for t in texts} & words
        else:
            found = wanted & {s for text in texts for s in stems(text)}
        if found:
            out[name] = found
    return out


@dataclass
class TextHit:
    photo_id: int
    score: float
    matched: dict[str, set[str]]  # field -> matched stems


PARSE_CACHE = 1024  # parsed queries kept
CREATE_LOCK = "CREATE"  # lock file beside the index, held while a process opens or creates it


class PhotoIndex:
    def __init__(self, path: Path) -> None:
        self.path = Path(path)
        self.path.mkdir(parents=True, exist_ok=True)
        # Two processes may open a fresh folder at once (`serve --processes 2` on a new data folder): without
        # the lock both created the index, and one failed renaming its table of contents over the other's.
        creating = FileStorage(str(self.path)).lock(CREATE_LOCK)
        creating.acquire(blocking=True)
        try:
            if whoosh_index.exists_in(str(self.path)):
                self.ix = whoosh_index.open_dir(str(self.path))
            else:
                self.ix = whoosh_index.create_in(str(self.path), schema())
        finally:
            creating.release()
        self._write_lock = threading.Lock()
        self._searchers: queue_module.SimpleQueue = queue_module.SimpleQueue()  # idle long-lived searchers
        self._epoch = 0  # bumped by clear(): searchers of the old index are dropped
        fields = list(FIELD_BOOSTS)
        # OR of the words: BM25 sums over matched words, so photos matching more of them rank higher.
        # (OrGroup.factory(scale) scores single-word matches 0 in whoosh-reloaded 2.7.5, so not that.)
        self.parser = qparser.MultifieldParser(fields, self.ix.schema, group=qparser.OrGroup)
        self.parser.remove_plugin_class(qparser.FieldsPlugin)  # "a:b" is text, not a field name
        self.parser.remove_plugin_class(qparser.WildcardPlugin)  # "*" alone would match everything
        # Parsing costs ~2 ms of Python per query; a query is parsed twice per search (its candidates and
        # whether the photo says a one-word query), and again for every page or repeat. Query objects are not
        # changed by searching, so the parsed ones are shared.
        self.parse = functools.lru_cache(maxsize=PARSE_CACHE)(self._parse)

    # -- writing ---------------------------------------------------------------------------------
    def add(self, docs: list[IndexDoc]) -> None:
        if not docs:
            return
        with self._write_lock, self.ix.writer(timeout=60.0, delay=0.1) as writer:
            for doc in docs:
                fields = {
                    "photo_id": str(doc.photo_id),
                    "profile": str(doc.profile_id),
                    "caption": doc.caption or "",
                    "alternatives": " . ".join(doc.alternatives),
                    "labels": " . ".join(doc.labels),
                    "poster": doc.poster or "",
                    "hashtags": ",".join(doc.hashtags),
                }
                if doc.taken_at:
                    fields["taken_at"] = _naive_utc(doc.taken_at)
                writer.update_document(**fields)

    def delete(self, photo_ids: list[int]) -> None:
        if not photo_ids:
            return
        with self._write_lock, self.ix.writer(timeout=60.0, delay=0.1) as writer:
            for photo_id in photo_ids:
                writer.delete_by_term("photo_id", str(photo_id))

    def delete_profile(self, profile_id: int) -> None:
        with self._write_lock, self.ix.writer(timeout=60.0, delay=0.1) as writer:
            writer.delete_by_term("profile", str(profile_id))

    def clear(self) -> None:
        with self._write_lock:
            self.ix = whoosh_index.create_in(str(self.path), schema())
            self._epoch += 1

    # -- long-lived searchers --------------------------------------------------------------------
    @contextmanager
    def _searcher(self) -> Iterator:
        """A pooled BM25F searcher, refreshed if the index changed since it was last used."""
        epoch = self._epoch
        try:
            searcher, made_in = self._searchers.get_nowait()
            if made_in != epoch or not searcher.up_to_date():
                # (not Searcher.refresh(): whoosh-reloaded 2.7.5 fails reusing a one-segment reader)
                searcher.close()
                raise queue_module.Empty
        except queue_module.Empty:
            searcher = self.ix.searcher(weighting=scoring.BM25F())
        if not hasattr(searcher, "photo_ids"):
            searcher.photo_ids = {}  # docnum -> photo id, valid for this reader
        try:
            yield searcher
        finally:
            if epoch == self._epoch:
                self._searchers.put((searcher, epoch))
            else:
                searcher.close()

    # -- reading ---------------------------------------------------------------------------------
    def _parse(self, text: str) -> query.Query:
        """The person's words as a query; syntax Whoosh cannot parse falls back to plain words. (Called through
        `parse`, which remembers the last PARSE_CACHE.)"""
        try:
            parsed = self.parser.parse(text)
        except Exception:  # noqa: BLE001 - any parser failure means: treat it as plain words
            parsed = None
        if parsed is None or parsed is query.NullQuery or not list(parsed.leaves()):
            parsed = self.plain(text)
        return parsed

    def plain(self, text: str) -> query.Query:
        """Any of the text's words in any text field: the query that cannot fail."""
        return query.Or([query.Term(f, w) for w in stems(text) for f in FIELD_BOOSTS if f != "hashtags"])

    def top(self, profile_id: int, text: str, limit: int = 1000, taken_after: datetime | None = None,
            taken_before: datetime | None = None) -> tuple[list[int], list[float]]:
        """The `limit` best BM25F matches of one profile: (photo ids, scores), best first. No term lists."""
        q = self.parse(text)
        with self._searcher() as searcher:
            filters: list[query.Query] = []
            # One profile per index is the common case: then no per-query filter set is built at all.
            if searcher.doc_frequency("profile", str(profile_id)) != searcher.doc_count_all():
                filters.append(query.Term("profile", str(profile_id)))
            if taken_after or taken_before:
                filters.append(query.DateRange("taken_at", _naive_utc(taken_after), _naive_utc(taken_before)))
            allow = query.And(filters) if filters else None
            try:
                results = searcher.search(q, limit=limit, filter=allow)
            except QueryError:  # e.g. a "quoted phrase" meets a field without positions (hashtags)
                results = searcher.search(self.plain(text), limit=limit, filter=allow)
            ids, scores = [], []
            cache = searcher.photo_ids
            for score, docnum in results.top_n:
                photo_id = cache.get(docnum)
                if photo_id is None:
                    photo_id = cache[docnum] = int(searcher.stored_fields(docnum)["photo_id"])
                ids.append(photo_id)
                scores.append(float(score))
        return ids, scores

    def search(self, profile_id: int, text: str, limit: int = 200, taken_after: datetime | None = None,
               taken_before: datetime | None = None) -> list[TextHit]:
        """Like `top`, with the matched terms of every hit (slower: for tools and tests, not for serving)."""
        q = self.parse(text)
        filters: list[query.Query] = [query.Term("profile", str(profile_id))]
        if taken_after or taken_before:
            filters.append(query.DateRange("taken_at", _naive_utc(taken_after), _naive_utc(taken_before)))
        with self.ix.searcher(weighting=scoring.BM25F()) as searcher:
            try:
                results = searcher.search(q, limit=limit, filter=query.And(filters), terms=True)
            except QueryError:  # e.g. a "quoted phrase" meets a field without positions (hashtags)
                results = searcher.search(self.plain(text), limit=limit, filter=query.And(filters), terms=True)
            hits = []
            for hit in results:
                matched: dict[str, set[str]] = {}
                for fieldname, term in hit.matched_terms():
                    word = term.decode("utf-8") if isinstance(term, bytes) else str(term)
                    matched.setdefault(fieldname, set()).add(word)
                hits.append(TextHit(int(hit["photo_id"]), float(hit.score), matched))
        return hits

    def photo_ids(self, profile_id: int | None = None) -> set[int]:
        with self.ix.searcher() as searcher:
            if profile_id is None:
                return {int(doc["photo_id"]) for doc in searcher.all_stored_fields()}
            return {int(doc["photo_id"]) for doc in searcher.documents(profile=str(profile_id))}
