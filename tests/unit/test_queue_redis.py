"""The Redis job queue (Dramatiq) against a real redis-server on a free loopback port.

- jobs put by one process are run by a worker in another (here: another thread with its own broker);
- a job held by a worker that died (no heartbeat, never acknowledged) is run by a live worker.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import pytest

from photosearch.services.queue_redis import QUEUE_NAME, RedisJobQueue


@pytest.fixture(scope="module")
def redis_url() -> Iterator[str]:
    from servers import RedisServer, started_or_skip

    with started_or_skip(RedisServer) as server:
        yield server.url


class Worker:
    """A worker thread: runs `RedisJobQueue.work` with a run function that records the job ids."""

    def __init__(self, url: str, heartbeat_s: float) -> None:
        self.ran: list[int] = []
        self.queue = RedisJobQueue(url, heartbeat_s=heartbeat_s)
        self.queue.bind(self.ran.append, lambda job_id: job_id in self.ran)
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self.queue.work, kwargs={"stop": self.stop}, daemon=True)

    def __enter__(self) -> Worker:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop.set()
        self.thread.join(timeout=30)
        self.queue.close()


def _wait_until(condition, timeout: float = 30.0) -> None:  # noqa: ANN001
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.05)


def test_jobs_put_by_an_api_are_run_by_a_worker(redis_url: str) -> None:
    api = RedisJobQueue(redis_url)
    with Worker(redis_url, heartbeat_s=5) as worker:
        api.bind(lambda job_id: None, lambda job_id: job_id in worker.ran)
        for job_id in (11, 12, 13):
            api.put(job_id, group="profile:1")
        assert api.wait_idle(timeout=30)
        assert sorted(worker.ran) == [11, 12, 13]
    assert api.unacknowledged() == 0
    api.close()


def test_a_job_held_by_a_dead_worker_is_run_by_a_live_one(redis_url: str) -> None:
    api = RedisJobQueue(redis_url)
    api.put(21, group="profile:1")
    # A worker takes the message and dies before acknowledging it: it stays in that worker's ack set.
    dead = RedisJobQueue(redis_url, heartbeat_s=1)
    consumer = dead.broker.consume(QUEUE_NAME, prefetch=1, timeout=1000)
    message = None
    deadline = time.monotonic() + 10
    while message is None and time.monotonic() < deadline:
        message = next(consumer)
    assert message is not None and message.args == (21,)
    assert api.unacknowledged() == 1  # held by the dead worker
    # No more heartbeats from `dead` (its process is gone). A live worker requeues it after 1 s and runs it.
    with Worker(redis_url, heartbeat_s=1) as live:
        _wait_until(lambda: live.ran == [21])
        _wait_until(lambda: api.unacknowledged() == 0)
    api.close()


def test_an_api_with_a_broker_only_enqueues_and_a_worker_process_runs_the_job(
    redis_url: str, make_client, make_photos, describer, tmp_path: Path
) -> None:
    """`serve` with PHOTOSEARCH_BROKER_URL: the job waits in Redis until a worker (here a second Services on
    the same database, as `photosearch worker` builds it) runs it; the API then finds the photos."""
    from photosearch.services import Services

    make_photos(tmp_path / "album", 5)
    client, api = make_client(broker_url=redis_url, worker_heartbeat_s=5, folder_roots=[tmp_path])
    assert client.post("/api/profiles", json={"name": "p"}).status_code == 201
    response = client.post("/api/profiles/p/sources", json={"folder": str(tmp_path / "album")})
    assert response.status_code == 202
    job_id = response.get_json()["id"]
    time.sleep(0.5)
    assert client.get(f"/api/jobs/{job_id}").get_json()["status"] == "queued"  # nobody runs it here

    worker_settings = replace(api.settings, database_url=api.settings.database,
                              index_path=tmp_path / "worker-index")
    worker = Services.create(worker_settings, describer=lambda: describer)
    stop = threading.Event()
    thread = threading.Thread(target=worker.jobs.queue.work, kwargs={"stop": stop}, daemon=True)
    thread.start()
    try:
        assert api.jobs.wait_idle(timeout=120)
        status = client.get(f"/api/jobs/{job_id}").get_json()
        assert (status["status"], status["done"]) == ("done", 5)
        assert client.get("/api/profiles/p").get_json()["photo_count"] == 5
        assert len(api.index.photo_ids()) == 5  # the API's own index followed the worker's writes
    finally:
        stop.set()
        thread.join(timeout=60)
        worker.jobs.queue.close()
        worker.db.dispose()
