"""An Instagram export goes through the real ingest pipeline: the poster's captions, hashtags and dates are
stored, indexed and searchable, results say the poster's text matched, and dates filter."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from test_instagram import make_export  # the export builder of the source's own tests

from photosearch.config import Settings
from photosearch.services import Services
from photosearch.services.describe import Describer

pytestmark = pytest.mark.databases("sqlite", "postgresql")  # storage on both stores (conftest.py)


@pytest.fixture(scope="module")
def encoder():
    from photosearch.vision.encoder import EfficientNetLite0Encoder

    return EfficientNetLite0Encoder()


@pytest.fixture
def ingested(tmp_path, encoder):
    services = Services.create(Settings(data_dir=tmp_path / "data", demo=False),
                               describer=lambda: Describer(encoder=encoder))
    services.library.create_profile("insta")
    job = services.jobs.create_job("insta", "instagram", {"path": str(make_export(tmp_path, "content"))})
    return services, services.jobs.run_job(job)


def test_export_photos_are_stored_with_their_posts(ingested):
    services, status = ingested
    assert status.status == "done"
    assert (status.done, status.skipped, status.failed) == (5, 1, 0)
    assert [(f.source, f.error) for f in status.failures] == [("instagram:media/posts/202401/17904.mp4",
                                                                "video posts are skipped")]
    photos = {p.source: p for p in services.timeline.photos("insta", limit=200)["photos"]}
    first = services.library.photo(photos["instagram:media/posts/202401/17901.jpg"].id)
    assert first.poster_caption == "Café ☕ au lever du soleil 😍 #Paris #café"
    assert first.hashtags == ["paris", "café"]
    assert first.taken_at == datetime(2024, 1, 1, 10, tzinfo=UTC)


def test_poster_words_and_hashtags_are_searchable(ingested):
    services, _ = ingested
    page = services.searcher.search("insta", "Montmartre")
    carousel = {"instagram:media/posts/202401/17902.jpg", "instagram:media/posts/202401/17903.jpg"}
    top_two = {r["photo"].source for r in page["results"][:2]}
    assert top_two == carousel
    assert page["results"][0]["matched_in"] == ["poster"]
    assert page["results"][0]["matched"] == ["montmartre"]
    assert services.searcher.search("insta", "café")["results"][0]["photo"].source.endswith("17901.jpg")


def test_dates_filter_results(ingested):
    services, _ = ingested
    after = services.searcher.search("insta", "paris", after=datetime(2024, 1, 2, tzinfo=UTC))
    sources = {r["photo"].source for r in after["results"]}
    assert "instagram:media/posts/202401/17901.jpg" not in sources  # posted on Jan 1st
    assert "instagram:media/posts/202401/17902.jpg" in sources
