"""The in-memory vector store (storage/vectors.py) and the pure ranking functions (services/search.py), on a
real SQLite database; no models."""

from __future__ import annotations

from datetime import UTC, datetime

import numpy as np
import pytest

from photosearch.config import Settings
from photosearch.services import Services
from photosearch.services.search import Candidates, FusionConfig, best, fuse, rank_of, rrf, strong, weighted
from photosearch.storage import vectors as vectors_module
from photosearch.storage.models import Description, Photo, Profile
from photosearch.storage.vectors import ProfileVectors, VectorStore, quantize


def candidates(ids, text, semantic, caption=None, label=None) -> Candidates:
    n = len(ids)
    as32 = lambda v: np.array([np.nan if x is None else x for x in v], np.float32)  # noqa: E731
    return Candidates(np.array(ids, np.int64), as32(text), as32(semantic), as32(caption or [None] * n),
                      as32(label or [None] * n))


def test_weighted_fusion_normalises_bm25_and_counts_missing_as_zero():
    c = candidates([1, 2, 3], [4.0, None, 2.0], [0.1, 0.5, None])
    scores = weighted(c, FusionConfig(w_text=0.2, w_semantic=1.0))
    np.testing.assert_allclose(scores, [0.2 + 0.1, 0.5, 0.1], rtol=1e-6)


def test_weighted_fusion_adds_label_meaning_by_its_weight():
    c = candidates([1, 2], [None, None], [0.3, 0.3], label=[0.8, None])
    scores = weighted(c, FusionConfig(w_text=0.2, w_semantic=1.0, w_label=0.1))
    np.testing.assert_allclose(scores, [0.3 + 0.08, 0.3], rtol=1e-6)


def test_strong_uses_the_cutoff_and_falls_back_to_text_hits_without_models():
    c = candidates([1, 2, 3], [2.0, None, None], [0.6, 0.5, 0.2])
    assert strong(c, np.array([0.6, 0.5, 0.2]), 0.45).tolist() == [True, True, False]
    no_models = candidates([1, 2], [2.0, None], [None, None])
    assert strong(no_models, np.array([0.2, 0.0]), 0.45).tolist() == [True, False]


def test_a_sure_label_with_the_querys_meaning_is_a_match_below_the_cutoff():
    c = candidates([1, 2, 3], [1.0, None, None], [0.23, 0.32, 0.2], label=[0.9, 0.1, None])
    fused = weighted(c, FusionConfig())
    assert fused[0] < 0.45  # one word ("espresso") is far from any photo in the joint space
    assert strong(c, fused, 0.45, label_cutoff=0.6).tolist() == [True, False, False]


def test_a_photo_that_says_a_one_word_query_is_a_match():
    c = candidates([1, 2, 3], [2.0, 1.0, None], [0.25, 0.2, 0.3])
    fused = weighted(c, FusionConfig())
    assert strong(c, fused, 0.45).tolist() == [False, False, False]  # a sentence needs the cut-off
    said = np.array([True, False, False])  # photo 2's hit is elsewhere (a 3 % label, an alternative caption)
    assert strong(c, fused, 0.45, said).tolist() == [True, False, False]


def test_rrf_ranks_each_component_with_ties_by_id():
    c = candidates([5, 3, 9], [1.0, 1.0, None], [0.2, 0.9, 0.9])
    scores = rrf(c, k=60)
    # text: 3 (tie, lower id) then 5; semantic: 3, 9 (tie by id), then 5
    np.testing.assert_allclose(scores, [1 / 62 + 1 / 63, 1 / 61 + 1 / 61, 1 / 62], rtol=1e-9)
    assert fuse(c, FusionConfig("rrf")).tolist() == scores.tolist()


def test_best_is_a_stable_partial_sort():
    ids = np.array([7, 3, 5, 1, 9], np.int64)
    scores = np.array([0.5, 0.9, 0.5, 0.5, 0.1])
    assert ids[best(ids, scores, 3)].tolist() == [3, 1, 5]  # the tie at the boundary resolved by id
    assert ids[best(ids, scores, 10)].tolist() == [3, 1, 5, 7, 9]
    assert best(ids, scores, 0).tolist() == []


def test_rank_of():
    ids = np.array([4, 2, 8], np.int64)
    scores = np.array([0.3, 0.3, np.nan])
    assert rank_of(2, ids, scores, bottom=100) == 1
    assert rank_of(4, ids, scores, bottom=100) == 2
    assert rank_of(8, ids, scores, bottom=100) == 100  # no score: bottom
    assert rank_of(99, ids, scores, bottom=100) == 100


def test_quantized_scores_and_shortlist_track_the_exact_product(monkeypatch):
    monkeypatch.setattr(vectors_module, "ANN_THRESHOLD", 500)
    rng = np.random.default_rng(0)
    x = rng.standard_normal((2000, 64)).astype(np.float32)
    x /= np.linalg.norm(x, axis=1, keepdims=True)
    pv = ProfileVectors(1)
    for start in range(0, 2000, 300):  # crosses the threshold part way
        rows = x[start : start + 300]
        pv.append(list(range(start + 1, start + len(rows) + 1)), [0] * len(rows), [r.tobytes() for r in rows])
    view = pv.view()
    assert view.quantized and len(view) == 2000
    q = x[42] + 0.2 * rng.standard_normal(64).astype(np.float32)
    np.testing.assert_allclose(view.scores(q), x @ q, atol=0.02)
    assert 42 in view.shortlist(q, 100)
    mask = np.zeros(2000, bool)
    mask[1000:] = True
    assert (view.shortlist(q, 50, mask) >= 1000).all()
    codes, scale = quantize(x[:3])
    np.testing.assert_allclose(codes * scale[:, None], x[:3], atol=0.01)


@pytest.fixture
def services(tmp_path) -> Services:
    return Services.create(Settings(data_dir=tmp_path / "data", demo=False), describer=lambda: None)


def _photo(session, profile_id: int, n: int, vector, taken=None) -> int:
    photo = Photo(profile_id=profile_id, source=f"t:{n}", kind="upload", content_hash=f"{n:064x}", taken_at=taken)
    photo.description = Description(caption="x", model="t", image_vector=np.asarray(vector, np.float32).tobytes())
    session.add(photo)
    session.flush()
    return photo.id


def test_store_appends_new_photos_and_rereads_after_a_removal(services, monkeypatch):
    monkeypatch.setattr(vectors_module, "RECOUNT_S", 0.0)
    services.library.create_profile("p")
    with services.db.session() as session:
        pid = session.query(Profile.id).scalar()
        a = _photo(session, pid, 1, [1, 0], datetime(2020, 1, 1, tzinfo=UTC))
        b = _photo(session, pid, 2, [0, 1])
    store = VectorStore(services.db)
    first = store.get(pid)
    assert first.ids.tolist() == [a, b] and first.dim == 2
    with services.db.session() as session:
        c = _photo(session, pid, 3, [0.6, 0.8])
    second = store.get(pid)
    assert second.ids.tolist() == [a, b, c]
    assert first.ids.tolist() == [a, b]  # a view taken earlier never changes under a running query
    np.testing.assert_allclose(second.scores(np.array([1, 0], np.float32)), [1, 0, 0.6])
    in_2020 = second.in_range(datetime(2019, 12, 1, tzinfo=UTC), datetime(2020, 2, 1, tzinfo=UTC))
    assert in_2020.tolist() == [True, False, False]  # no date: outside every range
    with services.db.session() as session:
        session.delete(session.get(Photo, b))
    assert store.get(pid).ids.tolist() == [a, c]


def test_profile_texts_read_only_the_photos_added_since(services):
    from photosearch.services.relevance import ProfileTexts

    def add(session, pid: int, n: int, caption: str, label: str) -> int:
        photo = Photo(profile_id=pid, source=f"t:{n}", kind="upload", content_hash=f"{n:064x}")
        photo.description = Description(caption=caption, model="t", labels=[{"label": label, "score": 0.9}],
                                        image_vector=np.ones(2, np.float32).tobytes())
        session.add(photo)
        session.flush()
        return photo.id

    services.library.create_profile("p")
    with services.db.session() as session:
        pid = session.query(Profile.id).scalar()
        add(session, pid, 1, "a dog on the beach", "tabby")
    store, texts = VectorStore(services.db), ProfileTexts(services.db)
    first = texts.get(pid, store.get(pid).stamp)
    assert first.vocabulary["dog"] == 1 and "rocket" not in first.vocabulary
    with services.db.session() as session:
        b = add(session, pid, 2, "a rocket and a dog", "espresso")
    grown = texts.get(pid, store.get(pid).stamp)
    fresh = ProfileTexts(services.db).get(pid)  # read whole, keyed by a count
    assert grown.vocabulary == fresh.vocabulary and grown.vocabulary["dog"] == 2
    assert grown.ids.tolist() == fresh.ids.tolist()
    np.testing.assert_array_equal(grown.label_index, fresh.label_index)
    assert first.vocabulary["dog"] == 1  # an earlier answer never changes under a running query
    with services.db.session() as session:  # deleted (as the app deletes: soft, then purged)
        session.get(Photo, b).deleted_at = datetime.now(UTC)
    assert "rocket" not in texts.get(pid, store.get(pid).stamp).vocabulary


def test_a_profile_known_to_be_large_is_quantized_chunk_by_chunk(monkeypatch):
    """A full read that counted ANN_THRESHOLD+ photos never holds them as float32: the same codes, scores and
    shortlist as when the float32 rows are quantized once the threshold is crossed."""
    monkeypatch.setattr(vectors_module, "ANN_THRESHOLD", 500)
    rng = np.random.default_rng(1)
    x = rng.standard_normal((1200, 32)).astype(np.float32)
    x /= np.linalg.norm(x, axis=1, keepdims=True)
    late, early = ProfileVectors(1), ProfileVectors(1, expected=1200)
    for start in range(0, 1200, 200):
        rows = x[start : start + 200]
        for pv in (late, early):
            pv.append(list(range(start + 1, start + 201)), [0] * 200, [r.tobytes() for r in rows])
        assert early._image is None  # never float32
    a, b = late.view(), early.view()
    assert a.quantized and b.quantized
    np.testing.assert_array_equal(a.codes, b.codes)
    np.testing.assert_array_equal(a.scale, b.scale)
    q = x[7]
    np.testing.assert_allclose(a.scores(q), b.scores(q))
    assert a.shortlist(q, 20).tolist() == b.shortlist(q, 20).tolist()
