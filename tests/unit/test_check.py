"""`photosearch check [--repair]`: database, index and files are compared, every kind of drift is reported,
and --repair fixes what can be fixed (and keeps reporting what can't).
"""

from __future__ import annotations

import json
import socket
import subprocess
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import select, update

from photosearch import cli
from photosearch.services import Services
from photosearch.services.check import check
from photosearch.services.ingest import index_drift
from photosearch.services.jobs import this_runner
from photosearch.storage.index import IndexDoc
from photosearch.storage.models import Job

pytestmark = pytest.mark.databases("sqlite", "postgresql")  # storage on both stores (conftest.py)


def _ids(services: Services) -> list[int]:
    return sorted(services.index.photo_ids())


def test_a_consistent_library_has_no_problems(stocked: Services) -> None:
    """Right after an ingest: 3 photos, 3 indexed, nothing else."""
    report = check(stocked)
    assert report["problems"] == 0
    assert (report["photos"], report["indexed"]) == (3, 3)
    assert "repaired" not in check(stocked, repair=True)  # nothing to do, nothing done


def test_index_drift_is_reported_and_repaired(stocked: Services) -> None:
    """A photo missing from the index and an index entry without a photo are both found and fixed."""
    first, *_ = _ids(stocked)
    stocked.index.delete([first])
    stocked.index.add([IndexDoc(photo_id=999, profile_id=1, caption="ghost")])

    report = check(stocked)
    assert (report["missing_from_index"], report["stale_in_index"], report["problems"]) == ([first], [999], 2)

    repaired = check(stocked, repair=True)
    assert repaired["repaired"]["index"] == {"added": 1, "removed": 1, "photos": 3}
    assert check(stocked)["problems"] == 0
    assert first in _ids(stocked) and 999 not in _ids(stocked)


def test_missing_and_stray_files(stocked: Services) -> None:
    """A lost thumbnail is rebuilt from the image; a lost image can't be and stays reported; files of no
    photo are removed."""
    s = stocked.settings
    a, b, _ = _ids(stocked)
    (s.thumbs_dir / f"{a}.jpg").unlink()
    (s.images_dir / f"{b}.jpg").unlink()
    (s.images_dir / "999.jpg").write_bytes(b"stray")
    (s.thumbs_dir / "notes.jpg").write_bytes(b"stray")

    report = check(stocked)
    assert report["photos_missing_files"] == [a, b]
    assert sorted(Path(p).name for p in report["stray_files"]) == ["999.jpg", "notes.jpg"]

    repaired = check(stocked, repair=True)
    assert repaired["repaired"]["stray_files_removed"] == 2
    assert (s.thumbs_dir / f"{a}.jpg").read_bytes()[:3] == b"\xff\xd8\xff"  # rebuilt as a JPEG
    after = check(stocked)
    assert after["photos_missing_files"] == [b]  # nothing to rebuild it from: still reported
    assert after["stray_files"] == []


def test_files_of_a_killed_ingest(stocked: Services) -> None:
    """Files are written as <id>.jpg.partial before the commit and renamed after it. Killed before the
    commit: .partial files of an id with no row, not a problem (an ingest elsewhere may be writing them);
    --repair removes them once an hour old. Killed between commit and rename: the photo lacks its files
    until --repair finishes the rename."""
    import os
    import time

    s = stocked.settings
    a, _, _ = _ids(stocked)
    (s.images_dir / f"{a}.jpg").rename(s.images_dir / f"{a}.jpg.partial")
    (s.thumbs_dir / f"{a}.jpg").rename(s.thumbs_dir / f"{a}.jpg.partial")
    fresh, old = s.images_dir / "998.jpg.partial", s.images_dir / "999.jpg.partial"
    fresh.write_bytes(b"in flight")
    old.write_bytes(b"killed")
    os.utime(old, (time.time() - 7200, time.time() - 7200))

    report = check(stocked)
    assert report["photos_missing_files"] == [a]
    assert (report["problems"], report["unpublished_files"]) == (1, 2)
    check(stocked, repair=True)
    after = check(stocked)
    assert (after["problems"], after["unpublished_files"]) == (0, 1)
    assert (s.images_dir / f"{a}.jpg").exists() and fresh.exists() and not old.exists()


def test_an_unfinished_job_is_reported_and_finished_by_repair(
    stocked: Services, make_photos, tmp_path: Path
) -> None:
    """A job still 'queued' (its process stopped) is listed; --repair runs it to the end."""
    make_photos(tmp_path / "more", 2, start=10)
    job_id = stocked.jobs.create_job("p", "folder", {"folder": str(tmp_path / "more")})

    assert check(stocked)["unfinished_jobs"] == [job_id]
    repaired = check(stocked, repair=True)
    assert repaired["repaired"]["jobs_finished"] == [job_id]
    assert stocked.jobs.job_status(job_id).status == "done"
    after = check(stocked)
    assert (after["problems"], after["photos"], after["indexed"]) == (0, 5, 5)


def _set_runner(services: Services, job_id: int, runner: str | None, beat: datetime | None) -> None:
    with services.db.session() as session:
        session.execute(update(Job).where(Job.id == job_id).values(status="running", runner=runner, heartbeat_at=beat))


def test_a_job_that_a_live_process_runs_is_in_progress_not_a_problem(
    stocked: Services, make_photos, tmp_path: Path
) -> None:
    """`check` while a server (here: this process) runs a job: not a problem, and --repair leaves it alone (it ran
    it a second time beside its runner). Once the runner is gone (a killed process, or a machine that stopped
    beating), the job is unfinished again and --repair finishes it."""
    make_photos(tmp_path / "more", 2, start=10)
    job_id = stocked.jobs.create_job("p", "folder", {"folder": str(tmp_path / "more")})
    _set_runner(stocked, job_id, this_runner(), datetime.now(UTC))
    report = check(stocked, repair=True)
    assert (report["problems"], report["unfinished_jobs"], report["jobs_in_progress"]) == (0, [], [job_id])
    assert "repaired" not in report and stocked.jobs.job_status(job_id).status == "running"

    dead = f"{socket.gethostname()}:{_exited_pid()}"  # a process of this machine that has exited
    for runner, beat in [(dead, datetime.now(UTC)), ("elsewhere:1", datetime.now(UTC) - timedelta(minutes=5))]:
        _set_runner(stocked, job_id, runner, beat)
        assert check(stocked)["unfinished_jobs"] == [job_id], runner
    _set_runner(stocked, job_id, "elsewhere:1", datetime.now(UTC))  # another machine that beat just now
    assert check(stocked)["jobs_in_progress"] == [job_id]

    _set_runner(stocked, job_id, dead, datetime.now(UTC))
    assert check(stocked, repair=True)["repaired"]["jobs_finished"] == [job_id]
    assert stocked.jobs.job_status(job_id).status == "done"
    with stocked.db.session() as session:  # a finished job names no runner
        assert session.execute(select(Job.runner, Job.heartbeat_at).where(Job.id == job_id)).one() == (None, None)


def _exited_pid() -> int:
    """The id of a process that has exited and been reaped."""
    child = subprocess.Popen(["true"])
    child.wait()
    return child.pid


def test_the_cli_exit_status_says_whether_there_are_problems(
    stocked: Services, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """`photosearch check` prints the JSON report and exits 1 on problems, 0 when clean or repaired."""
    data = str(stocked.settings.data_dir)
    if stocked.settings.database_url:  # the CLI finds a PostgreSQL store through the environment
        monkeypatch.setenv("PHOTOSEARCH_DATABASE_URL", stocked.settings.database_url)
    cli.main(["check", "--data-dir", data])
    assert json.loads(capsys.readouterr().out)["problems"] == 0

    stocked.index.delete(_ids(stocked)[:1])
    with pytest.raises(SystemExit) as exited:
        cli.main(["check", "--data-dir", data])
    assert exited.value.code == 1
    assert json.loads(capsys.readouterr().out)["problems"] == 1

    cli.main(["check", "--repair", "--data-dir", data])
    assert json.loads(capsys.readouterr().out)["repaired"]["index"]["added"] == 1
    cli.main(["check", "--data-dir", data])
    assert json.loads(capsys.readouterr().out)["problems"] == 0


class _ChangingIndex:
    """An index whose reads return what other processes have made of it by then."""

    def __init__(self, *reads: set[int]) -> None:
        self.reads = list(reads)

    def photo_ids(self, profile_id: int | None = None) -> set[int]:
        return self.reads.pop(0)


@pytest.mark.parametrize(("before", "stored", "after", "missing", "stale"), [
    ({1, 2}, {1, 2}, {1, 2, 3}, [], []),  # photo 3 committed after the database read: neither missing nor stale
    ({1, 2, 3}, {1, 2}, {1, 2}, [], []),  # photo 3 deleted before it, and the index followed
    ({1, 2, 9}, {1, 2}, {1, 2, 9}, [], [9]),  # a document whose photo is gone: stale
    ({1}, {1, 2}, {1}, [2], []),  # a stored photo the index never got: missing
], ids=["added meanwhile", "deleted meanwhile", "stale", "missing"])
def test_index_drift_beside_other_processes(before: set[int], stored: set[int], after: set[int],
                                            missing: list[int], stale: list[int]) -> None:
    """The index is read before the database and again after it, so another process's ingest is no drift: `check
    --repair` during a server's ingest used to delete its newest photos from the index (read after the database,
    the index was ahead of it)."""
    assert index_drift(_ChangingIndex(before, after), lambda: stored) == (stored, missing, stale)
