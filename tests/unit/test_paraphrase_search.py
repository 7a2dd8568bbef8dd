"""Semantic search finds photos by words that none of their generated text contains.

A small profile of real photos (the ones scikit-image ships) is described by the product's full model stack —
the committed captioner and retrieval head, MiniLM and EfficientNet-Lite0 — and then searched with
paraphrases: BM25 alone cannot find the photo (the words are not in its caption or labels); the hybrid ranks
it first.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from photosearch.config import Settings
from photosearch.services import Services
from photosearch.services.demo import demo_folder
from photosearch.text.retrieval import RetrievalHead
from photosearch.vision.captioner.captioner import Captioner

pytestmark = pytest.mark.skipif(
    not (Captioner.available() and RetrievalHead.available()), reason="the committed weights are missing"
)

PHOTOS = ["chelsea.png", "coffee.png", "astronaut.png", "rocket.jpg", "motorcycle_left.png", "coins.png"]
# query -> the photo it must find
PARAPHRASES = {
    "a kitty": "chelsea.png",
    "a chopper": "motorcycle_left.png",  # not "a motorbike": that is now a label noun (moped -> motorbike)
    "a spacecraft taking off": "rocket.jpg",
}


@pytest.fixture(scope="module")
def described(tmp_path_factory) -> tuple[Services, dict[str, int]]:
    from photosearch.services.describe import Describer

    data = tmp_path_factory.mktemp("data")
    services = Services.create(Settings(data_dir=data, demo=False), describer=Describer.default)
    services.library.create_profile("album")
    files = [{"path": str(demo_folder() / name), "name": name} for name in PHOTOS]
    job = services.jobs.create_job("album", "upload", {"files": files})
    assert services.jobs.run_job(job).done == len(PHOTOS)
    ids = {p.source.removeprefix("upload:"): p.id for p in services.timeline.photos("album", limit=200)["photos"]}
    return services, ids


def test_every_photo_gets_a_caption_alternatives_and_attention(described):
    services, ids = described
    photo = services.library.photo(ids["chelsea.png"])
    assert photo.caption and len(photo.alternatives) > 1
    words = photo.attention["words"]
    assert len(photo.attention["maps"]) == len(words) and len(photo.attention["maps"][0]) == 49


@pytest.mark.parametrize("query,photo", PARAPHRASES.items())
def test_paraphrase_found_where_bm25_alone_fails(described, query, photo):
    services, ids = described
    with services.db.session() as session:
        from sqlalchemy import select

        from photosearch.storage.models import Profile

        profile_id = session.scalar(select(Profile.id).where(Profile.name == "album"))
    text_hits = [h.photo_id for h in services.index.search(profile_id, query)]
    assert not text_hits or text_hits[0] != ids[photo], f"BM25 alone already finds {photo}: not a paraphrase"
    results = services.searcher.search("album", query)["results"]
    assert results[0]["photo"].id == ids[photo], [r["photo"].caption for r in results]
    assert results[0]["scores"]["semantic"] is not None


def test_similar_photos_exclude_the_photo_itself(described):
    services, ids = described
    similar = services.searcher.similar(ids["chelsea.png"], limit=3)["results"]
    assert len(similar) == 3 and ids["chelsea.png"] not in {r["photo"].id for r in similar}


def test_demo_folder_has_the_photos():
    assert all((Path(demo_folder()) / name).exists() for name in PHOTOS)
