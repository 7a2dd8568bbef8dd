"""`photosearch redescribe`: a library described by older models gets today's descriptions, as a job with
progress (CLI and API), committed batch by batch so search keeps working, and a second run skips them all."""

from __future__ import annotations

from pathlib import Path

import pytest

from photosearch.services import Services
from photosearch.services.describe import Describer
from photosearch.storage.models import Photo
from photosearch.vision.captioner.captioner import Captioner
from photosearch.vision.captioner.grounding import GROUNDING_VERSION

pytestmark = pytest.mark.skipif(not Captioner.available(), reason="the committed captioner weights are missing")


@pytest.fixture(scope="module")
def full_describer() -> Describer:
    from photosearch.text.embedder import TextEmbedder
    from photosearch.text.retrieval import RetrievalHead
    from photosearch.vision.encoder import EfficientNetLite0Encoder

    # the product's models (a smaller beam): the joint space gives the caption its confidence
    return Describer(encoder=EfficientNetLite0Encoder(), captioner=Captioner.load(beam_size=3),
                     retrieval=RetrievalHead.load(), text_embedder=TextEmbedder.shared())


def _ingest(services: Services, folder: Path) -> list[int]:
    services.library.ensure_profile("album")
    services.settings.folder_roots.append(folder)
    job = services.jobs.create_job("album", "folder", {"folder": str(folder)})
    assert services.jobs.run_job(job).status == "done"
    return sorted(p.id for p in services.timeline.photos("album", limit=100)["photos"])


def test_redescribe_fills_captions_grounding_and_version(
    services: Services, full_describer: Describer, make_photos, tmp_path: Path
) -> None:
    ids = _ingest(services, tmp_path / "photos") if make_photos(tmp_path / "photos", 5) else []
    before = services.library.photo(ids[0])
    assert before.caption is None  # the test describer has no captioner: an "old" library
    # Labels alone: the card shows the labels' sentence, and there is no caption to trust.
    assert before.description["shown"] == "grounded" and before.description["caption_confidence"] is None
    assert before.description["grounded_caption"].startswith(("A photo", "Possibly"))

    services.ingestor.describer = lambda: full_describer  # today's models
    job = services.jobs.create_job("album", "redescribe", {})
    seen: list = []
    status = services.jobs.run_job(job, progress=seen.append)

    assert status.status == "done" and status.done == len(ids) and status.failed == 0
    assert status.title and seen and seen[-1].done == len(ids)
    for photo_id in ids:
        photo = services.library.photo(photo_id)
        d = photo.description
        assert photo.caption and d["caption"] == photo.caption
        assert 0.0 <= d["caption_confidence"] <= 1.0
        assert d["grounded_caption"] and d["shown"] in ("caption", "grounded")
        assert "<unk>" not in photo.caption
        assert photo.model and full_describer.captioner.name in photo.model
    # The index follows: a word of a new caption finds its photo.
    word = next(w for w in services.library.photo(ids[0]).caption.split() if len(w) > 3)
    hits = services.index.search(services.library.profile_id("album"), word)
    assert ids[0] in {hit.photo_id for hit in hits}

    again = services.jobs.run_job(services.jobs.create_job("album", "redescribe", {}))
    assert again.status == "done" and again.skipped == len(ids) and again.done == 0
    assert again.failures == []  # already current is no failure: nothing for the job card to list

    # Same weights, older grounding (the caption_model written before GROUNDING_VERSION): described again.
    with services.ingestor.db.session() as session:
        session.get(Photo, ids[0]).description.caption_model = full_describer.captioner.name
    third = services.jobs.run_job(services.jobs.create_job("album", "redescribe", {}))
    assert third.done == 1 and third.skipped == len(ids) - 1
    with services.ingestor.db.session() as session:
        assert session.get(Photo, ids[0]).description.caption_model == full_describer.caption_model
    assert full_describer.caption_model.endswith(GROUNDING_VERSION)


def test_redescribe_over_the_api_is_a_job(make_client, make_photos, tmp_path: Path, job_waiter) -> None:
    client, services = make_client()
    _ingest(services, tmp_path / "photos") if make_photos(tmp_path / "photos", 2) else None
    response = client.post("/api/profiles/album/redescribe")
    assert response.status_code == 202
    job = response.get_json()
    assert job["kind"] == "redescribe" and job["profile"] == "album"
    final = job_waiter(client, job["id"])
    assert final["status"] == "done" and final["done"] + final["skipped"] == 2
    photo_id = services.timeline.photos("album")["photos"][0].id
    description = client.get(f"/api/photos/{photo_id}").get_json()["description"]
    assert set(description) == {"caption", "caption_confidence", "grounded_caption", "shown"}
    assert client.post("/api/profiles/nobody/redescribe").status_code == 404


def test_the_collection_says_how_many_photos_older_models_described(
    make_client, full_describer: Describer, make_photos, tmp_path: Path, capsys
) -> None:
    """After an upgrade the cards keep their old sentences until redescribe: the API (which the collection page
    asks) and `photosearch profile list` say how many, and a redescribe brings it to 0."""
    from photosearch import cli
    from photosearch.vision.captioner import caption_model_today

    client, services = make_client()
    _ingest(services, tmp_path / "photos") if make_photos(tmp_path / "photos", 3) else None
    today = caption_model_today()
    assert today == full_describer.caption_model  # the weights' version file agrees with the weights
    # the test describer has no captioner: its descriptions are older models'
    assert client.get("/api/profiles/album/outdated").get_json() == {"profile": "album", "photos": 3,
                                                                    "caption_model": today}
    cli.main(["profile", "list", "--data-dir", str(services.settings.data_dir)])
    assert "3 described by older models: photosearch redescribe album" in capsys.readouterr().out

    services.ingestor.describer = lambda: full_describer
    assert services.jobs.run_job(services.jobs.create_job("album", "redescribe", {})).status == "done"
    assert client.get("/api/profiles/album/outdated").get_json()["photos"] == 0
    cli.main(["profile", "list", "--data-dir", str(services.settings.data_dir)])
    assert "older models" not in capsys.readouterr().out
    assert client.get("/api/profiles/nobody/outdated").status_code == 404
