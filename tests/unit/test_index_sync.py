"""Several processes, one database, an index each: every index follows the photo_changes log.

The second process is played by a second `Services` on the same database with its own index directory
(what PHOTOSEARCH_INDEX_DIR gives each API process in a deployment).
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest
from sqlalchemy import func, select

from photosearch.services import Services
from photosearch.storage.models import Photo, PhotoChange

pytestmark = pytest.mark.databases("sqlite", "postgresql")


@pytest.fixture
def other(services: Services, describer, tmp_path: Path):  # noqa: ANN001, ANN201
    """A second process's services: same database and photo files, its own index."""
    settings = replace(services.settings, index_path=tmp_path / "index-of-process-2")
    if settings.database_url is None:  # SQLite: name the same file explicitly
        settings = replace(settings, database_url=services.settings.database)
    second = Services.create(settings, describer=lambda: describer)
    yield second
    second.db.dispose()


def _album(services: Services, make_photos, folder: Path, photos: int) -> object:  # noqa: ANN001
    """Profile "p" with `photos` photos ingested from `folder` by the first process; -> the job's status."""
    make_photos(folder, photos)
    services.library.create_profile("p")
    return services.jobs.run_job(services.jobs.create_job("p", "folder", {"folder": str(folder)}))


def test_photos_stored_by_one_process_are_found_by_the_other(
    services: Services, other: Services, make_photos, tmp_path: Path
) -> None:
    assert _album(services, make_photos, tmp_path / "album", 6).done == 6
    with services.db.session() as session:
        profile_id = session.scalar(select(Photo.profile_id))
        stored = set(session.scalars(select(Photo.id)))

    assert other.index.photo_ids(profile_id) == stored  # caught up before reading
    label = services.library.photo(min(stored)).labels[0]["label"]
    hits = {hit.photo_id for hit in other.index.search(profile_id, label)}
    assert min(stored) in hits


def test_a_phrase_search_in_the_other_process_catches_up_too(
    services: Services, other: Services, make_photos, tmp_path: Path
) -> None:
    """Whoosh answers phrases, NOT and AND itself (`top`): that read catches up first like every other."""
    _album(services, make_photos, tmp_path / "album", 3)
    with services.db.session() as session:
        profile_id, first = session.execute(select(Photo.profile_id, Photo.id).order_by(Photo.id).limit(1)).one()
    label = services.library.photo(first).labels[0]["label"]
    ids, _ = other.index.top(profile_id, f'"{label}"')
    assert first in ids


def test_a_deletion_in_one_process_leaves_the_other_index(
    services: Services, other: Services, make_photos, tmp_path: Path
) -> None:
    _album(services, make_photos, tmp_path / "album", 4)
    assert len(other.index.photo_ids()) == 4
    services.library.delete_profile("p")
    assert other.index.photo_ids() == set()
    with services.db.session() as session:  # stored 4, deleted 4: the log says both
        assert session.scalar(select(func.count()).select_from(PhotoChange)) >= 8


def test_a_new_index_replays_the_log_and_reindex_resumes_after_it(
    services: Services, other: Services, make_photos, tmp_path: Path
) -> None:
    _album(services, make_photos, tmp_path / "album", 3)
    assert len(other.index.photo_ids()) == 3
    position = other.index.position
    assert position > 0
    other.index.clear()  # `photosearch reindex` empties, then refills from the database
    assert other.index.position == position
    assert other.index.photo_ids() == set()  # nothing left to replay: the refill is reindex's job
    other.ingestor.repair_index()
    assert len(other.index.photo_ids()) == 3


def test_check_is_clean_in_both_processes(services: Services, other: Services, make_photos, tmp_path: Path) -> None:
    from photosearch.services.check import check

    _album(services, make_photos, tmp_path / "album", 3)
    assert check(services)["problems"] == 0
    assert check(other)["problems"] == 0
