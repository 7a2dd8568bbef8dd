"""The full-text index and the fusion, on real Whoosh indexes and a real SQLite database (no models needed:
vectors are written directly, as the describer would)."""

from __future__ import annotations

import numpy as np
import pytest

from photosearch.config import Settings
from photosearch.services import Services
from photosearch.services.search import FusionConfig, highlight_segments
from photosearch.storage.index import IndexDoc, PhotoIndex, stems
from photosearch.storage.models import Description, Photo, Profile

pytestmark = pytest.mark.databases("sqlite", "postgresql")  # storage on both stores (conftest.py)


def test_stemming_and_stop_words():
    assert stems("The dogs are running") == ["dog", "run"]


@pytest.fixture
def index(tmp_path) -> PhotoIndex:
    ix = PhotoIndex(tmp_path / "index")
    ix.add(
        [
            IndexDoc(1, 1, caption="a dog runs along the beach", labels=["golden retriever"]),
            IndexDoc(2, 1, caption="two children splash in a pool", labels=["swimming trunks"]),
            IndexDoc(3, 1, caption="a man rides a bike down a dirt path", poster="Sunday ride #mtb", hashtags=["mtb"]),
            IndexDoc(4, 2, caption="a dog sleeps on a couch"),  # another profile
        ]
    )
    return ix


def test_bm25_ranks_within_one_profile(index):
    hits = index.search(1, "dog running")
    assert [h.photo_id for h in hits] == [1]
    assert hits[0].score > 0
    assert hits[0].matched["caption"] == {"dog", "run"}
    assert {h.photo_id for h in index.search(2, "dog")} == {4}


def test_poster_text_and_hashtags_are_searchable(index):
    assert [h.photo_id for h in index.search(1, "mtb")] == [3]
    assert "poster" in index.search(1, "sunday")[0].matched


@pytest.mark.parametrize(
    "query", ['"unbalanced', 'a dog "runs along"', "AND OR", "(((", "title:x", "*", "dog AND", "🐶 dog", "x" * 500]
)
def test_queries_that_break_the_parser_still_search(index, query):
    hits = index.search(1, query)  # must not raise
    if "dog" in query:
        assert 1 in {h.photo_id for h in hits}


def test_delete_and_ids(index):
    index.delete([2])
    assert index.photo_ids(1) == {1, 3}
    index.delete_profile(1)
    assert index.photo_ids() == {4}


def test_highlight_segments_mark_matched_words():
    segments = highlight_segments("A dog runs, fast.", {"dog", "run"})
    assert "".join(s["text"] for s in segments) == "A dog runs, fast."
    assert [s["text"] for s in segments if s["match"]] == ["dog", "runs"]


@pytest.fixture
def services(tmp_path) -> Services:
    settings = Settings(data_dir=tmp_path / "data", demo=False)
    return Services.create(settings, describer=lambda: None)


def _add_photo(services, profile_id, caption, image_vec, text_vec, confidence=None, grounded=None) -> int:
    with services.db.session() as session:
        photo = Photo(profile_id=profile_id, source=f"test:{caption}", kind="upload", content_hash=caption[:64])
        photo.description = Description(
            caption=caption,
            alternatives=[{"text": caption, "score": -1.0}],
            labels=[],
            model="test",
            image_vector=np.asarray(image_vec, np.float32).tobytes(),
            text_vector=np.asarray(text_vec, np.float32).tobytes(),
            caption_confidence=confidence,
            grounded_caption=grounded,
        )
        session.add(photo)
        session.flush()
        photo_id = photo.id
    services.ingestor.repair_index()
    return photo_id


def test_weighted_fusion_is_deterministic_and_explained(services):
    services.library.create_profile("p")
    with services.db.session() as session:
        profile_id = session.query(Profile.id).scalar()
    a = _add_photo(services, profile_id, "a dog on the beach", [1, 0], [1, 0])
    b = _add_photo(services, profile_id, "a cat on a sofa", [1, 0], [1, 0])  # identical vectors: a tie

    class Models:  # the semantic components need a query embedding: a fixed one keeps this test model-free
        text_embedder = type("E", (), {"embed": staticmethod(lambda texts: np.array([[1.0, 0.0]], np.float32))})()
        retrieval = type("R", (), {"text_vectors": staticmethod(lambda q: q)})()

    services.searcher._models = lambda: Models()
    first = services.searcher.search("p", "dog")
    assert [r["photo"].id for r in first["results"]] == [a, b]  # the BM25 hit wins the semantic tie
    assert first["results"][0]["matched"] == ["dog"]
    assert first["results"][0]["matched_in"] == ["caption"]
    assert first["results"][0]["scores"]["semantic"] == pytest.approx(1.0)
    assert first["results"][1]["scores"]["text"] is None
    assert services.searcher.search("p", "dog") == first  # same input, same answer

    services.searcher.fusion = FusionConfig("rrf")
    assert [r["photo"].id for r in services.searcher.search("p", "dog")["results"]] == [a, b]
    tie = services.searcher.search("p", "zebra")  # no text hit: ties break by photo id
    assert [r["photo"].id for r in tie["results"]] == [a, b]


def test_a_word_only_an_unsure_caption_says_makes_no_match(services):
    """The card of a photo whose caption is unsure shows the labels' sentence ("Possibly a daisy or a fungus.");
    search takes that as what the photo says. Its hidden caption's "person" no longer makes it a match for
    "person" nor is given as "in the description", while "daisy" now is; a sure caption still counts."""
    services.library.create_profile("p")
    with services.db.session() as session:
        profile_id = session.query(Profile.id).scalar()
    flower = _add_photo(services, profile_id, "a person in a red jacket", [0, 1], [0, 1], confidence=0.1,
                        grounded="Possibly a daisy or a fungus.")
    man = _add_photo(services, profile_id, "a person on a bench", [0, 1], [0, 1], confidence=0.8,
                     grounded="A photo of a bench.")

    class Models:  # a query vector orthogonal to both photos: only the words can make a match
        text_embedder = type("E", (), {"embed": staticmethod(lambda texts: np.array([[1.0, 0.0]], np.float32))})()
        retrieval = type("R", (), {"text_vectors": staticmethod(lambda q: q)})()

    services.searcher._models = lambda: Models()
    found = {r["photo"].id: r for r in services.searcher.search("p", "person")["results"]}
    assert found[man]["strong"] and not found[flower]["strong"]
    assert [r["text"] for r in found[flower]["reasons"]] == ["“person” in the captioner's other sentences"]
    assert [r["text"] for r in found[man]["reasons"]] == ["“person” in the description"]
    daisy = {r["photo"].id: r for r in services.searcher.search("p", "daisy")["results"]}
    assert daisy[flower]["strong"] and daisy[flower]["reasons"][0]["text"] == "“daisy” in the description"
    assert not services.searcher.search("p", "possibly")["matches"]  # the sentence's frame is not indexed


@pytest.mark.parametrize("query", ["", "   ", None, "x" * 501])
def test_bad_queries_get_a_clear_error(services, query):
    from photosearch.errors import InvalidInput

    services.library.create_profile("p")
    with pytest.raises(InvalidInput):
        services.searcher.search("p", query)


def test_long_lived_searchers_see_documents_added_and_deleted_later(index):
    assert index.top(1, "dog")[0] == [1]
    index.add([IndexDoc(5, 1, caption="a dog jumps over a fence")])
    assert sorted(index.top(1, "dog")[0]) == [1, 5]
    index.delete([1])
    assert index.top(1, "dog")[0] == [5]
    index.clear()
    assert index.top(1, "dog") == ([], [])
