"""Two API processes + two workers + PostgreSQL + Redis on loopback, 1,000 photos, one worker killed.

    make test-distributed        (excluded from the plain `pytest -q` run by its marker)

The photos are generated (crops of scikit-image's sample photos, each tinted differently), 1,000 distinct
ones in 10 folders of 100, plus 50 exact copies of API 0's photos in one of API 1's folders. Each API gets
5 folder jobs, submitted from two threads at once. When a third of the photos are stored, worker 0 is
killed with SIGKILL; its job goes back to the queue when its heartbeat stops and worker 1 finishes it.
Then: exactly 1,000 photos, each content once, every job done with every item done; both APIs answer
the same queries with the same photos and scores; `photosearch check` is clean with either API's index.
The models are the product's (captioner, retrieval head, MiniLM), not the test suite's labels-only set.
"""

from __future__ import annotations

import hashlib
import json
import shutil
import threading
import time
import urllib.parse
from pathlib import Path

import pytest
from sqlalchemy import create_engine, func, select

from photosearch.storage.models import JobItem, Photo

pytestmark = pytest.mark.distributed

PHOTOS = 1000
FOLDERS = 10
COPIES = 50  # photos of API 0's first folder sent again through API 1 (same bytes): stored once
QUERIES = ["dog", "a cat", "a man riding a horse", "coffee", "rocket", "astronaut in a suit", "coins",
           "a camera", "people on the street", "text on a page"]


@pytest.fixture(scope="module")
def cluster(tmp_path_factory: pytest.TempPathFactory):  # noqa: ANN201
    from cluster import Cluster

    from servers import started_or_skip

    root = tmp_path_factory.mktemp("cluster")
    with started_or_skip(lambda: Cluster(root, apis=2, workers=2, heartbeat_s=5.0)) as running:
        yield running


def _folders(root: Path, make_photos) -> list[Path]:  # noqa: ANN001
    per_folder = PHOTOS // FOLDERS
    folders = []
    for f in range(FOLDERS):
        folders.append(root / f"folder{f}")
        make_photos(folders[-1], per_folder, start=f * per_folder)
    for path in sorted(folders[0].iterdir())[:COPIES]:  # into API 1's last folder
        shutil.copy(path, folders[-1] / f"copy_{path.name}")
    return folders


def test_a_thousand_photos_through_two_apis_with_a_worker_killed(cluster, make_photos) -> None:  # noqa: ANN001
    folders = _folders(cluster.root / "photos", make_photos)
    expected = {hashlib.sha256(p.read_bytes()).hexdigest() for f in folders for p in f.iterdir()}
    assert len(expected) == PHOTOS

    cluster.post(0, "/api/profiles", {"name": "family"})
    job_ids: list[int] = []
    lock = threading.Lock()

    def submit(api: int) -> None:
        for folder in folders[api::2]:
            job = cluster.post(api, "/api/profiles/family/sources", {"folder": str(folder)})
            with lock:
                job_ids.append(job["id"])

    threads = [threading.Thread(target=submit, args=(api,)) for api in (0, 1)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(job_ids) == FOLDERS

    killed = threading.Event()
    started = time.monotonic()

    def kill_midway(statuses: list[dict]) -> None:
        if not killed.is_set() and sum(s["done"] for s in statuses) >= PHOTOS // 3:
            cluster.kill_worker(0)
            killed.set()

    statuses = cluster.wait_jobs(job_ids, timeout=900, on_progress=kill_midway)
    elapsed = time.monotonic() - started
    assert killed.is_set()
    print(f"\n{PHOTOS + COPIES} files, {PHOTOS} photos in {elapsed:.0f} s with worker 0 killed midway")

    # -- nothing lost, nothing doubled ----------------------------------------------------------------
    assert [s["status"] for s in statuses] == ["done"] * FOLDERS, [cluster.log("worker1")]
    assert sum(s["total"] for s in statuses) == PHOTOS + COPIES
    assert sum(s["done"] for s in statuses) == PHOTOS + COPIES
    engine = create_engine(cluster.database_url)
    with engine.connect() as db:
        assert db.scalar(select(func.count()).select_from(Photo)) == PHOTOS
        assert set(db.scalars(select(Photo.content_hash))) == expected
        assert db.scalar(select(func.count()).where(JobItem.status != "done")) == 0
        assert db.scalar(select(func.count(func.distinct(JobItem.photo_id)))) == PHOTOS
    engine.dispose()
    for api in (0, 1):
        assert cluster.get(api, "/api/profiles/family")["photo_count"] == PHOTOS

    # -- both APIs answer alike --------------------------------------------------------------------------
    for query in QUERIES:
        path = f"/api/search?profile=family&limit=50&q={urllib.parse.quote(query)}"
        first, second = cluster.get(0, path), cluster.get(1, path)
        ranked = [[(r["photo"]["id"], r["score"]) for r in answer["results"]] for answer in (first, second)]
        assert ranked[0] == ranked[1], query
        assert ranked[0], f"no results for {query!r}"

    # -- check is clean with either API's index ------------------------------------------------------
    for api in (0, 1):
        done = cluster.cli(f"api{api}", "check")
        assert done.returncode == 0, done.stdout + done.stderr
        assert json.loads(done.stdout)["problems"] == 0
