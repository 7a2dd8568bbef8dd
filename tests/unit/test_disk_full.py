"""A full disk: said plainly ("disk full", HTTP 507), nothing half-written left behind, and an ingest job it
stops resumes where it stopped. ENOSPC is injected at the write layer (no root, no loop mounts); the
database's "database or disk is full" is real SQLite, made by capping the file's page count."""

from __future__ import annotations

import errno
import io
from pathlib import Path

import pytest
from sqlalchemy import event, text

from photosearch.services.jobs import DISK_FULL_JOB_ERROR


def _enospc_after(monkeypatch: pytest.MonkeyPatch, writes_allowed: int) -> None:
    """Path.write_bytes works `writes_allowed` times, then writes half its data and fails like a full disk."""
    real = Path.write_bytes
    count = {"n": 0}

    def write_bytes(self: Path, data: bytes) -> int:
        count["n"] += 1
        if count["n"] > writes_allowed:
            real(self, data[: len(data) // 2])  # what a full disk leaves: a partial file
            raise OSError(errno.ENOSPC, "No space left on device", str(self))
        return real(self, data)

    monkeypatch.setattr(Path, "write_bytes", write_bytes)


def test_a_job_stopped_by_a_full_disk_says_so_leaves_nothing_stray_and_resumes(
    make_client, make_photos, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    client, services = make_client(batch_size=2, folder_roots=[tmp_path])
    make_photos(tmp_path / "album", 6)
    assert client.post("/api/profiles", json={"name": "p"}).status_code == 201
    job_id = services.jobs.create_job("p", "folder", {"folder": str(tmp_path / "album")})

    with monkeypatch.context() as patch:
        _enospc_after(patch, writes_allowed=5)  # batch 1 (2 photos, 4 files) is stored; batch 2 fails mid-way
        status = services.jobs.run_job(job_id)
    assert status.status == "failed" and status.error == DISK_FULL_JOB_ERROR
    assert status.error.startswith("disk full")
    assert (status.done, status.failed, status.total) == (2, 0, 6)  # the rest is still pending, not failed
    images = sorted(p.name for p in services.settings.images_dir.iterdir())
    thumbs = sorted(p.name for p in services.settings.thumbs_dir.iterdir())
    assert len(images) == 2 and images == thumbs  # no file of the rolled-back batch, not even half of one

    assert services.jobs.resume_unfinished() == [job_id]  # what the next start does
    services.jobs.wait_idle(timeout=120)
    final = services.jobs.job_status(job_id)
    assert (final.status, final.done, final.failed, final.error) == ("done", 6, 0, None)
    assert len(list(services.settings.images_dir.iterdir())) == 6


def _database_full(services) -> None:  # noqa: ANN001
    """Cap the SQLite file at its current size: the next write that needs a page fails with SQLITE_FULL."""
    engine = services.db.engine

    @event.listens_for(engine, "connect")
    def cap(dbapi_connection, _record) -> None:  # noqa: ANN001
        pages = dbapi_connection.execute("PRAGMA page_count").fetchone()[0]
        dbapi_connection.execute(f"PRAGMA max_page_count = {pages}")

    engine.dispose()  # new connections get the cap
    with engine.connect() as connection:
        connection.execute(text("SELECT 1"))


def test_creating_a_profile_on_a_full_disk_is_507_with_a_clear_message(make_client) -> None:
    client, services = make_client()
    _database_full(services)
    for i in range(2000):  # until the pages the file had spare are used up
        response = client.post("/api/profiles", json={"name": f"p{i}", "display_name": "x" * 200})
        if response.status_code != 201:
            break
    assert response.status_code == 507, response.get_json()
    body = response.get_json()
    assert body["status"] == 507 and body["error"].startswith("disk full")


def test_an_upload_that_fills_the_disk_leaves_no_saved_files(make_client, monkeypatch: pytest.MonkeyPatch) -> None:
    from werkzeug.datastructures import FileStorage

    client, services = make_client()
    assert client.post("/api/profiles", json={"name": "p"}).status_code == 201
    real = FileStorage.save
    calls = {"n": 0}

    def save(self, dst, buffer_size=16384):  # noqa: ANN001, ANN202
        calls["n"] += 1
        if calls["n"] == 2:  # the second file meets a full disk, half written
            Path(dst).write_bytes(b"\xff\xd8\xff")
            raise OSError(errno.ENOSPC, "No space left on device")
        return real(self, dst, buffer_size)

    monkeypatch.setattr(FileStorage, "save", save)
    files = [(io.BytesIO(b"\xff\xd8\xff" + bytes(100)), f"{i}.jpg") for i in range(3)]
    response = client.post("/api/profiles/p/uploads", data={"files": files}, content_type="multipart/form-data")
    assert response.status_code == 507 and response.get_json()["error"].startswith("disk full")
    assert list(services.settings.uploads_dir.iterdir()) == []
    assert client.get("/api/profiles/p/jobs").get_json()["jobs"] == []
