"""Ingest jobs end to end through `Ingestor` (real decoder, real encoder, real SQLite and Whoosh index).

What these prove: a folder of hostile and odd files never crashes a job: every listed file ends either
described (stored, indexed, with its image and thumbnail) or failed with the reason the decoder gives; the
same bytes are stored once per profile; and database, index and files agree afterwards.
"""

from __future__ import annotations

import hashlib
import shutil
from pathlib import Path

import pytest
from sqlalchemy import func, select

from photosearch.services import Services
from photosearch.services.check import check
from photosearch.sources.folder import IMAGE_SUFFIXES
from photosearch.storage.models import Job, JobItem, Photo

pytestmark = pytest.mark.databases("sqlite", "postgresql")  # storage on both stores (conftest.py)


def _items(services: Services, job_id: int) -> dict[str, JobItem]:
    with services.db.session() as session:
        return {item.source: item for item in session.scalars(select(JobItem).where(JobItem.job_id == job_id))}


def _photo_ids(services: Services) -> set[int]:
    with services.db.session() as session:
        return set(session.scalars(select(Photo.id)))


def _folder_job(services: Services, profile: str, folder: Path) -> int:
    services.library.ensure_profile(profile)
    return services.jobs.create_job(profile, "folder", {"folder": str(folder)})


def test_bad_image_corpus_as_a_folder_job_every_file_described_or_failed_with_its_reason(
    services: Services, bad_corpus: list
) -> None:
    """The whole corpus in one folder job: status done; each ok file is a stored, indexed photo with both
    files; each bad file failed with the decoder's reason; no two photos share bytes."""
    folder = bad_corpus[0].path.parent
    services.settings.folder_roots.append(folder)
    job_id = _folder_job(services, "corpus", folder)

    status = services.jobs.run_job(job_id)

    listed = [c for c in bad_corpus if c.path.suffix.lower() in IMAGE_SUFFIXES]
    assert len(listed) >= 50
    assert status.status == "done" and status.error is None
    assert status.total == len(listed)
    items = _items(services, job_id)
    assert set(items) == {str(c.path) for c in listed}  # files without an image suffix are not listed
    ok_hashes: set[str] = set()
    for c in listed:
        item = items[str(c.path)]
        if c.expect == "ok":
            assert item.status == "done", (c.name, item.error)
            assert item.photo_id is not None
            ok_hashes.add(hashlib.sha256(c.path.read_bytes()).hexdigest())
        else:
            assert item.status == "failed", c.name
            assert item.error, c.name
            assert c.reason is None or c.reason in item.error, (c.name, item.error)
    assert status.done == sum(c.expect == "ok" for c in listed)
    assert status.failed == sum(c.expect == "error" for c in listed)

    with services.db.session() as session:
        hashes = list(session.scalars(select(Photo.content_hash)))
    assert sorted(hashes) == sorted(ok_hashes)  # each distinct photo once, nothing else
    ids = _photo_ids(services)
    assert services.index.photo_ids() == ids
    for pid in ids:
        assert (services.settings.images_dir / f"{pid}.jpg").is_file()
        assert (services.settings.thumbs_dir / f"{pid}.jpg").is_file()
    assert check(services)["problems"] == 0


def test_the_same_bytes_twice_in_a_job_and_again_in_a_second_job_are_stored_once(
    services: Services, make_photos, tmp_path: Path
) -> None:
    """Duplicates inside a batch share one photo; running the folder again adds nothing."""
    folder = tmp_path / "dupes"
    first, second = make_photos(folder, 2)
    shutil.copy(first, folder / "copy_of_first.jpg")

    status = services.jobs.run_job(_folder_job(services, "dupes", folder))
    assert (status.status, status.done, status.failed) == ("done", 3, 0)
    items = _items(services, status.id)
    assert items[str(first)].photo_id == items[str(folder / "copy_of_first.jpg")].photo_id
    assert len(_photo_ids(services)) == 2

    again = services.jobs.run_job(_folder_job(services, "dupes", folder))
    assert (again.status, again.done) == ("done", 3)
    assert len(_photo_ids(services)) == 2
    assert services.index.photo_ids() == _photo_ids(services)


def test_a_folder_gone_before_its_job_runs_fails_the_job_with_a_reason(
    services: Services, make_photos, tmp_path: Path
) -> None:
    """Listing errors end the job as `failed` with a message, not an exception."""
    folder = tmp_path / "gone"
    make_photos(folder, 1)
    job_id = _folder_job(services, "gone", folder)
    shutil.rmtree(folder)

    status = services.jobs.run_job(job_id)
    assert status.status == "failed"
    assert "not found" in status.error


def test_running_a_finished_job_again_changes_nothing(services: Services, make_photos, tmp_path: Path) -> None:
    """run_job is idempotent: a finished job is reported, not redone."""
    folder = tmp_path / "once"
    make_photos(folder, 2)
    job_id = _folder_job(services, "once", folder)
    first = services.jobs.run_job(job_id)
    second = services.jobs.run_job(job_id)
    assert first == second
    with services.db.session() as session:
        assert session.scalar(select(func.count()).select_from(JobItem)) == 2
        assert session.get(Job, job_id).status == "done"


def test_a_job_indexes_what_it_stored_when_it_ends_not_after_every_batch(
    services: Services, make_photos, tmp_path: Path, monkeypatch
) -> None:
    """One index update per job (and at most one per INDEX_EVERY_S): a Whoosh commit per batch cost more than the
    commit of the whole job. A job that fails midway still indexes the photos it stored."""
    from photosearch.services import ingest
    from photosearch.storage.index import PhotoIndex

    monkeypatch.setattr(services.settings, "batch_size", 2)
    ingestor = services.jobs.ingestor
    updates: list[int] = []
    add = ingestor.index.add
    monkeypatch.setattr(ingestor.index, "add", lambda docs: (updates.append(len(docs)), add(docs)))
    make_photos(tmp_path / "six", 6)
    assert services.jobs.run_job(_folder_job(services, "six", tmp_path / "six")).done == 6
    assert [n for n in updates if n] == [6]  # three batches, one update (repair_index at the start adds none)
    monkeypatch.setattr(ingest, "INDEX_EVERY_S", 0.0)
    make_photos(tmp_path / "four", 4, start=100)
    updates.clear()
    services.jobs.run_job(_folder_job(services, "four", tmp_path / "four"))
    assert [n for n in updates if n] == [2, 2]  # due after every batch

    monkeypatch.setattr(ingest, "INDEX_EVERY_S", 30.0)
    describe, calls = ingestor.describer().describe, []

    def fail_second_batch(images):  # noqa: ANN001, ANN202
        calls.append(1)
        if len(calls) == 2:
            raise RuntimeError("the disk went away")
        return describe(images)

    monkeypatch.setattr(ingestor.describer(), "describe", fail_second_batch)
    make_photos(tmp_path / "broken", 4, start=200)
    status = services.jobs.run_job(_folder_job(services, "broken", tmp_path / "broken"))
    assert status.status == "failed" and status.done == 2
    with services.db.session() as session:
        stored = set(session.scalars(select(Photo.id)))
    assert PhotoIndex.photo_ids(services.index) == stored  # the index itself, without catching up on read
