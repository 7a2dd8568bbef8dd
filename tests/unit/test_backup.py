"""`photosearch backup DEST` and a damaged database.

A backup is a library photosearch opens as it is (search answers, `check` finds nothing); backing up again copies
only what changed and drops the files of purged photos; a damaged library never overwrites a good backup; and a
damaged database gets a one-line reason from the CLI and the API, never a traceback, and is never rewritten.
"""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from photosearch.config import Settings
from photosearch.errors import DatabaseDamaged, InvalidInput, NotFound
from photosearch.services import Services
from photosearch.services.backup import backup
from photosearch.services.check import check

ROOT = Path(__file__).resolve().parents[2]


def _open(data_dir: Path, describer) -> Services:  # noqa: ANN001
    return Services.create(Settings(data_dir=data_dir, demo=False), describer=lambda: describer)


def _files(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir())


def test_a_backup_is_a_library_photosearch_opens(stocked: Services, tmp_path: Path, describer) -> None:  # noqa: ANN001
    dest = tmp_path / "usb" / "photos-backup"
    report = backup(stocked.settings, dest)
    assert (report.photos, report.files_copied, report.files_unchanged, report.files_missing) == (3, 6, 0, [])
    assert sorted(os.listdir(dest)) == ["images", "photosearch.db", "thumbs"]  # one self-contained file, no -wal

    restored = _open(dest, describer)
    try:
        with sqlite3.connect(dest / "photosearch.db") as db:
            label = json.loads(db.execute("SELECT labels FROM descriptions").fetchone()[0])[0]["label"]
        found = restored.searcher.search("p", label)  # the index is rebuilt from the database on opening
        assert found["matches"] >= 1
        assert found["results"][:3] == stocked.searcher.search("p", label)["results"][:3]
        assert check(restored)["problems"] == 0
        assert _files(dest / "images") == _files(stocked.settings.images_dir)
    finally:
        restored.db.dispose()


def test_backing_up_again_copies_what_changed_and_drops_purged_photos(
    stocked: Services, make_photos, tmp_path: Path  # noqa: ANN001
) -> None:
    dest = tmp_path / "backup"
    backup(stocked.settings, dest)
    first, *_ = sorted(stocked.ingestor.stored_photo_ids())
    stocked.deletion.delete([first])
    stocked.deletion.purge(older_than=0)
    make_photos(tmp_path / "more", 1, start=10)
    job_id = stocked.jobs.create_job("p", "folder", {"folder": str(tmp_path / "more")})
    assert stocked.jobs.run_job(job_id).done == 1

    report = backup(stocked.settings, dest)
    assert (report.photos, report.files_copied, report.files_unchanged, report.files_removed) == (3, 2, 4, 2)
    assert _files(dest / "images") == _files(stocked.settings.images_dir)
    assert _files(dest / "thumbs") == _files(stocked.settings.thumbs_dir)
    with sqlite3.connect(dest / "photosearch.db") as db:
        assert {row[0] for row in db.execute("SELECT id FROM photos")} == stocked.ingestor.stored_photo_ids()


def test_a_damaged_library_never_overwrites_a_good_backup(stocked: Services, tmp_path: Path) -> None:
    dest = tmp_path / "backup"
    backup(stocked.settings, dest)
    good = (dest / "photosearch.db").read_bytes()
    stocked.db.dispose()
    database = stocked.settings.data_dir / "photosearch.db"
    with sqlite3.connect(database) as db:
        db.execute("PRAGMA wal_checkpoint(TRUNCATE)")  # every page in the file, so that damage to it shows
        page_size = db.execute("PRAGMA page_size").fetchone()[0]
        page = db.execute("SELECT rootpage FROM sqlite_master WHERE name = 'descriptions'").fetchone()[0]
    with database.open("r+b") as f:  # a disk fault in a page that listing the photos never reads
        f.seek((page - 1) * page_size)
        f.write(b"\xff" * page_size)

    with pytest.raises(DatabaseDamaged, match="is damaged"):
        backup(stocked.settings, dest)
    assert (dest / "photosearch.db").read_bytes() == good
    assert sorted(os.listdir(dest)) == ["images", "photosearch.db", "thumbs"]  # no half-written copy left


def test_a_backup_goes_to_a_folder_of_its_own(stocked: Services, tmp_path: Path) -> None:
    library = stocked.settings.data_dir
    with pytest.raises(InvalidInput, match="outside the library"):
        backup(stocked.settings, library / "backup")
    with pytest.raises(InvalidInput, match="is inside"):
        backup(stocked.settings, library.parent)
    (tmp_path / "documents").mkdir()
    (tmp_path / "documents" / "letter.txt").write_text("dear ...")
    with pytest.raises(InvalidInput, match="holds no photosearch backup"):
        backup(stocked.settings, tmp_path / "documents")
    assert (tmp_path / "documents" / "letter.txt").exists()
    with pytest.raises(NotFound, match="nothing to back up"):
        backup(Settings(data_dir=tmp_path / "elsewhere"), tmp_path / "backup")
    backup(stocked.settings, tmp_path / "opened")  # a backup someone has open (or had, when it was killed)
    (tmp_path / "opened" / "photosearch.db-wal").write_bytes(b"frames of the old copy")
    with pytest.raises(InvalidInput, match="is open in photosearch"):
        backup(stocked.settings, tmp_path / "opened")
    postgres = Settings(data_dir=tmp_path / "pg", database_url="postgresql://me@db.example/photos")
    with pytest.raises(InvalidInput, match="pg_dump"):  # said before any connection is tried
        backup(postgres, tmp_path / "backup")
    (tmp_path / "a-file").write_text("x")
    with pytest.raises(InvalidInput, match="can't make the backup folder"):
        backup(stocked.settings, tmp_path / "a-file" / "backup")


def test_backup_from_the_command_line(stocked: Services, tmp_path: Path) -> None:
    result = _cli(["backup", str(tmp_path / "backup"), "--data-dir", str(stocked.settings.data_dir)])
    assert result.returncode == 0, result.stderr
    assert "backed up 3 photos" in result.stdout and "6 files copied" in result.stdout


def _cli(args: list[str]) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONPATH": str(ROOT / "backend"), "PHOTOSEARCH_DEMO": "0"}
    return subprocess.run([sys.executable, "-m", "photosearch.cli", *args], env=env, capture_output=True,
                          text=True, timeout=120)


@pytest.mark.parametrize("damage", ["garbage", "truncated"])
def test_a_damaged_database_is_named_and_left_alone(tmp_path: Path, damage: str) -> None:
    data = tmp_path / "data"
    assert _cli(["profile", "create", "holiday", "--data-dir", str(data)]).returncode == 0
    database = data / "photosearch.db"
    with sqlite3.connect(database) as db:
        db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    content = database.read_bytes()
    database.write_bytes(b"not a database\n" * 100 if damage == "garbage" else content[: len(content) // 3])
    before = database.read_bytes()

    for command in (["profile", "list"], ["search", "holiday", "a dog"], ["check"]):
        result = _cli([*command, "--data-dir", str(data)])
        assert result.returncode == 2, (command, result.stderr)
        assert result.stderr.startswith(f"photosearch: the database {database} is damaged"), result.stderr
        assert "Traceback" not in result.stderr and len(result.stderr.splitlines()) == 1
    assert database.read_bytes() == before


def test_the_api_says_the_database_is_damaged(app, client, services: Services) -> None:  # noqa: ANN001
    assert client.post("/api/profiles", json={"name": "holiday"}).status_code == 201
    with services.db.engine.connect() as connection:
        connection.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")
    services.db.dispose()
    (services.settings.data_dir / "photosearch.db").write_bytes(b"not a database\n" * 100)

    response = client.get("/api/profiles")
    assert response.status_code == 500
    assert "is damaged: it is not an SQLite database" in response.get_json()["error"]
