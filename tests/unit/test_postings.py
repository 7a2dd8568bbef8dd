"""The in-memory BM25F (storage/postings.py) against Whoosh's own scores, and following the database's change
log; real SQLite and a real Whoosh index, no models."""

from __future__ import annotations

import random
from datetime import UTC, datetime

import numpy as np
import pytest

from photosearch.config import Settings
from photosearch.services import Services
from photosearch.services.ingest import index_doc
from photosearch.storage.index import IndexDoc, PhotoIndex
from photosearch.storage.models import Description, Photo, Profile
from photosearch.storage.postings import Postings, ProfilePostings, plain_leaves

SUBJECTS = ["a dog", "two dogs", "a black cat", "a man", "a girl in a red coat", "three children", "a horse"]
ACTIONS = ["runs", "jumps over a log", "sits", "plays with a ball", "swims", "rides a bike", "is sleeping"]
PLACES = ["on the beach", "in the snow", "in a park", "near the water", "on a city street", "in the grass"]
LABELS = ["golden retriever", "tabby cat", "espresso", "sorrel", "seashore", "mountain bike", "snowplow"]


def _docs(n: int, seed: int = 0) -> list[IndexDoc]:
    rng = random.Random(seed)

    def sentence() -> str:
        return f"{rng.choice(SUBJECTS)} {rng.choice(ACTIONS)} {rng.choice(PLACES)}"

    return [IndexDoc(photo_id=i + 1, profile_id=1, caption=sentence(), alternatives=[sentence() for _ in range(3)],
                     labels=rng.sample(LABELS, 2), poster=rng.choice(["", "summer in Nice", "my dog Rex"]),
                     hashtags=rng.sample(["beach", "dog", "summer", "snow"], rng.randrange(3)))
            for i in range(n)]


QUERIES = ["dog", "a dog runs on the beach", "black cat in the snow", "espresso", "summer", "dog dog beach",
           "girl, red coat!", "horse^2 grass", "rides a mountain bike near the water", "zebra"]


def test_scores_equal_whooshs_bm25f(tmp_path):
    docs = _docs(300)
    index = PhotoIndex(tmp_path / "index")
    index.add(docs)
    postings = Postings()
    postings.add(docs)
    for q in QUERIES:
        whoosh_ids, whoosh_scores = index.top(1, q, limit=1000)
        leaves = plain_leaves(index.parse(q))
        assert leaves is not None, q
        ids, scores = postings.scores(leaves)
        ours = dict(zip(ids.tolist(), scores.tolist(), strict=True))
        assert set(ours) == set(whoosh_ids), q
        np.testing.assert_allclose([ours[i] for i in whoosh_ids], whoosh_scores, rtol=1e-4, err_msg=q)
    assert postings.scores(plain_leaves(index.parse("zebra")))[0].tolist() == []


def test_queries_with_syntax_are_left_to_whoosh(tmp_path):
    index = PhotoIndex(tmp_path / "index")
    for q in ['"a dog runs"', "dog NOT cat", "dog AND beach"]:
        assert plain_leaves(index.parse(q)) is None, q
    assert plain_leaves(index.parse("dog beach")) is not None


def test_a_replaced_or_removed_photo_scores_as_now(tmp_path):
    docs = _docs(50, seed=1)
    postings = Postings()
    postings.add(docs)
    postings.add([IndexDoc(photo_id=3, profile_id=1, caption="an astronaut floats in space")])
    postings.remove([4])
    found = postings.scores([("caption", "astronaut", 1.0)])[0].tolist()
    assert found == [3]
    every = set(postings.scores([(f, w, 1.0) for w in ("dog", "cat", "man", "girl", "children", "horse")
                                 for f in ("caption", "alternatives")])[0].tolist())
    assert 4 not in every and 3 not in every and len(postings) == 49
    # a fresh build of the same photos gives the same scores: dead rows count in no statistic
    fresh = Postings()
    fresh.add([d for d in docs if d.photo_id not in (3, 4)] +
              [IndexDoc(photo_id=3, profile_id=1, caption="an astronaut floats in space")])
    leaves = [("caption", "dog", 1.0), ("alternatives", "beach", 1.0)]
    a_ids, a_scores = postings.scores(leaves)
    b_ids, b_scores = fresh.scores(leaves)
    assert dict(zip(a_ids.tolist(), a_scores.tolist(), strict=True)) == pytest.approx(
        dict(zip(b_ids.tolist(), b_scores.tolist(), strict=True)))


@pytest.fixture
def services(tmp_path) -> Services:
    return Services.create(Settings(data_dir=tmp_path / "data", demo=False), describer=lambda: None)


def _photo(session, profile_id: int, n: int, caption: str) -> int:
    photo = Photo(profile_id=profile_id, source=f"t:{n}", kind="upload", content_hash=f"{n:064x}")
    photo.description = Description(caption=caption, model="t")
    session.add(photo)
    session.flush()
    return photo.id


def test_profile_postings_follow_the_database(services):
    services.library.create_profile("p")
    services.library.create_profile("q")
    with services.db.session() as session:
        p, q = session.query(Profile.id).order_by(Profile.id).all()
        p, q = p[0], q[0]
        a = _photo(session, p, 1, "a dog on the beach")
        b = _photo(session, p, 2, "a cat on a sofa")
        other = _photo(session, q, 3, "a dog in the snow")
    follower = ProfilePostings(services.db, lambda row: index_doc(row, row))
    dog = [("caption", "dog", 1.0)]
    assert follower.scores(p, dog)[0].tolist() == [a]
    assert follower.scores(q, dog)[0].tolist() == [other]
    with services.db.session() as session:  # a new photo, a re-description and a soft delete
        c = _photo(session, p, 4, "two dogs play")
        session.get(Photo, b).description.caption = "a dog sleeps on a sofa"
        session.get(Photo, a).deleted_at = datetime.now(UTC)
    assert sorted(follower.scores(p, dog)[0].tolist()) == [b, c]
    assert follower.scores(p, [("caption", "cat", 1.0)])[0].tolist() == []
    with services.db.session() as session:  # restored, and one purged
        session.get(Photo, a).deleted_at = None
        session.delete(session.get(Photo, c))
    assert sorted(follower.scores(p, dog)[0].tolist()) == [a, b]
    assert follower.scores(q, dog)[0].tolist() == [other]


def test_said_is_the_caption_or_posters_words_of_a_one_word_query(services):
    services.library.create_profile("p")
    with services.db.session() as session:
        pid = session.query(Profile.id).scalar()
        in_caption = _photo(session, pid, 1, "a ladybug on a leaf")
        photo = Photo(profile_id=pid, source="t:2", kind="upload", content_hash=f"{2:064x}")
        photo.description = Description(caption="a person in a yellow jacket", model="t",
                                        labels=[{"label": "daisy", "score": 0.5}, {"label": "ladybug", "score": 0.03}])
        session.add(photo)
        session.flush()
        only_label = photo.id
        tagged = Photo(profile_id=pid, source="t:3", kind="upload", content_hash=f"{3:064x}", hashtags=["ladybug"])
        session.add(tagged)
        session.flush()
        tagged = tagged.id
    ids = np.array([in_caption, only_label, tagged])
    said = services.searcher.said(pid, "a ladybug", ids)
    assert said.tolist() == [True, False, True]  # a 3 % label is not the photo saying it
    assert services.searcher.said(pid, "a ladybug on a leaf", ids) is None  # not one word
