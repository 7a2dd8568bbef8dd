"""Jobs side by side, cancelling, and two ingests into one profile at once (issue 12, items 2 and 4).

Each test fails on the code before services/jobs.py: jobs ran one at a time on one worker (a source that
hangs blocked every profile), nothing could be cancelled, and two ingests of the same photos into one
profile from two processes died with an IntegrityError, leaving a job "running".
"""

from __future__ import annotations

import contextlib
import re
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from sqlalchemy import func, select

from photosearch import cli
from photosearch.config import Settings
from photosearch.services import Services
from photosearch.services.describe import Describer
from photosearch.storage.models import Job, Photo


@pytest.fixture
def stalling_server() -> Iterator[tuple[str, threading.Event, threading.Event]]:
    """A source that hangs: (base URL, reached: a request arrived, release: let the requests end)."""
    reached, release = threading.Event(), threading.Event()

    class Stalling(BaseHTTPRequestHandler):
        def do_GET(self) -> None:  # noqa: N802 - http.server's naming
            reached.set()
            release.wait(60)
            self.send_error(404)

        def log_message(self, *args: object) -> None:
            pass

    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Stalling)
    httpd.daemon_threads = True
    threading.Thread(target=httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}", reached, release
    release.set()
    httpd.shutdown()
    httpd.server_close()


def _photo_count(services: Services, profile: str | None = None) -> int:
    with services.db.session() as session:
        stmt = select(func.count()).select_from(Photo)
        if profile is not None:
            stmt = stmt.where(Photo.profile_id == services.library.profile_id(profile))
        return session.scalar(stmt)


def test_a_hanging_source_blocks_no_other_profile_and_can_be_cancelled(
    make_client, make_photos, stalling_server, job_waiter
) -> None:
    base, reached, release = stalling_server
    client, services = make_client(fetch_read_timeout=60.0)
    for name in ("slow", "fast"):
        assert client.post("/api/profiles", json={"name": name}).status_code == 201
    slow = client.post("/api/profiles/slow/sources", json={"urls": [f"{base}/{i}.jpg" for i in range(3)]})
    assert slow.status_code == 202
    slow_id = slow.get_json()["id"]
    assert slow.get_json()["title"] == "3 URLs"
    assert reached.wait(30), "the slow job never started fetching"

    folder = services.settings.folder_roots[0] / "album"
    make_photos(folder, 2)
    fast = client.post("/api/profiles/fast/sources", json={"folder": str(folder)}).get_json()
    done = job_waiter(client, fast["id"], timeout=60)  # finishes while the other job hangs
    assert (done["status"], done["done"], done["title"]) == ("done", 2, f"folder {folder}")
    assert client.get(f"/api/jobs/{slow_id}").get_json()["status"] == "running"

    cancelled = client.post(f"/api/jobs/{slow_id}/cancel")
    assert cancelled.status_code == 200 and cancelled.get_json()["status"] == "cancelled"
    release.set()
    assert services.jobs.wait_idle(timeout=60)
    final = client.get(f"/api/jobs/{slow_id}").get_json()
    assert final["status"] == "cancelled"  # the runner stopped; it did not overwrite the cancel with "done"
    assert _photo_count(services, "slow") == 0
    assert client.post(f"/api/jobs/{slow_id}/cancel").get_json()["status"] == "cancelled"  # again: fine
    refused = client.post(f"/api/jobs/{fast['id']}/cancel")
    assert refused.status_code == 409 and "already finished" in refused.get_json()["error"]
    assert client.post("/api/jobs/999999/cancel").status_code == 404


def test_two_requests_into_one_profile_both_finish_each_photo_stored_once(
    make_client, make_photos, job_waiter
) -> None:
    client, services = make_client()
    client.post("/api/profiles", json={"name": "p"})
    folder = services.settings.folder_roots[0] / "album"
    make_photos(folder, 4)
    ids = [client.post("/api/profiles/p/sources", json={"folder": str(folder)}).get_json()["id"] for _ in range(2)]
    first, second = (job_waiter(client, i) for i in ids)
    assert (first["status"], first["done"], second["status"], second["done"]) == ("done", 4, "done", 4)
    assert first["already"] + second["already"] == 4  # the other job's photos, found by their bytes
    assert _photo_count(services) == 4


class _RacingDescriber:
    """Holds each describe() until the other ingest reaches it too (or 20 s pass): both jobs have looked up
    the batch's hashes, found nothing, and will both try to store the same photos."""

    def __init__(self, inner: Describer, barrier: threading.Barrier) -> None:
        self.inner, self.barrier = inner, barrier

    def describe(self, images: list) -> list:
        with contextlib.suppress(threading.BrokenBarrierError):
            self.barrier.wait(timeout=20)
        return self.inner.describe(images)


def test_two_processes_ingesting_one_folder_into_one_profile_both_finish(
    tmp_path: Path, make_photos, describer: Describer, monkeypatch: pytest.MonkeyPatch, capsys
) -> None:
    """The server and the CLI (here: two CLI runs, each with its own Services as a process has) ingest the
    same photos into one profile at the same moment."""
    data_dir, folder = tmp_path / "data", tmp_path / "album"
    make_photos(folder, 3)
    monkeypatch.delenv("PHOTOSEARCH_DATABASE_URL", raising=False)
    setup = Services.create(Settings.from_env(data_dir), describer=lambda: describer)
    setup.library.create_profile("p")  # and the database schema, once
    barrier = threading.Barrier(2)
    monkeypatch.setattr(Describer, "default", classmethod(lambda cls: _RacingDescriber(describer, barrier)))
    errors: list[BaseException] = []

    def ingest() -> None:
        try:
            cli.main(["ingest", "p", "--folder", str(folder), "--data-dir", str(data_dir), "--quiet"])
        except BaseException as exc:  # noqa: BLE001 - IntegrityError, SystemExit: all are failures here
            errors.append(exc)

    threads = [threading.Thread(target=ingest) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(120)
    assert not errors, errors
    lines = capsys.readouterr().out.splitlines()
    assert len(lines) == 2 and all(line.startswith("done: 3 photos indexed") for line in lines), lines
    # each photo was stored by one run and found stored by the other
    already = [3 if "(all already" in line else int(m[1]) if (m := re.search(r"\((\d+) of them already", line))
               else 0 for line in lines]
    assert sum(already) == 3, lines
    with setup.db.session() as session:
        assert session.scalar(select(func.count()).select_from(Photo)) == 3
        assert set(session.scalars(select(Job.status))) == {"done"}


def test_jobs_command_lists_and_cancels(
    tmp_path: Path, describer: Describer, make_photos, capsys, monkeypatch: pytest.MonkeyPatch
) -> None:
    data_dir = tmp_path / "data"
    make_photos(tmp_path / "album", 1)
    monkeypatch.delenv("PHOTOSEARCH_DATABASE_URL", raising=False)
    services = Services.create(Settings.from_env(data_dir), describer=lambda: describer)
    services.library.create_profile("p")
    job_id = services.jobs.create_job("p", "folder", {"folder": str(tmp_path / "album"), "root": str(tmp_path)})

    cli.main(["jobs", "--data-dir", str(data_dir)])
    assert capsys.readouterr().out.split("\t")[:3] == [str(job_id), "queued", "p"]
    cli.main(["jobs", "cancel", str(job_id), "--data-dir", str(data_dir)])
    assert f"job {job_id}: cancelled" in capsys.readouterr().out
    status = services.jobs.run_job(job_id)  # a cancelled job is not run
    assert (status.status, status.total) == ("cancelled", 0)
    with pytest.raises(SystemExit):
        cli.main(["jobs", "cancel", "999999", "--data-dir", str(data_dir)])
    assert "no job 999999" in capsys.readouterr().err

