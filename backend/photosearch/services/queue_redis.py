"""Jobs on Redis: API processes enqueue, `photosearch worker` processes run them (Dramatiq's Redis broker).

    photosearch serve  ──put(job id)──>  Redis list "photosearch-jobs"  ──>  photosearch worker (1..n)
                                                                             Jobs.run_job(job id)

Why Dramatiq: its Redis broker acknowledges a message only after the worker finished it, and a worker's
unacknowledged messages go back to the queue when its heartbeat stops (kill -9, a lost machine), which is
what "a killed worker loses nothing" needs. Messages are JSON (no pickle between machines), workers are
threads in one process (the models are loaded once per worker), and it is a small library. RQ forks a
process per job and moves a killed worker's job to a failed registry instead of running it again; Celery
redelivers only after a visibility timeout (an hour by default) and brings far more machinery.

The message is only the job's id: the job itself (source, items, outcomes) is in the database, and
running a job again only processes the items still pending, so a message delivered twice (a worker that
was thought dead and wasn't) stores no photo twice.

Dramatiq's worker sends its heartbeat only while it asks for messages, which a worker busy with a long job
doesn't do; `RedisJobQueue.work` therefore sends one from a thread every heartbeat/4, and runs the broker's
maintenance (requeueing dead workers' messages) on each.
"""

from __future__ import annotations

import logging
import os
import signal
import socket
import threading
import time
from collections.abc import Callable

import dramatiq
from dramatiq.brokers.redis import RedisBroker

log = logging.getLogger(__name__)

QUEUE_NAME = "photosearch-jobs"
ACTOR_NAME = "run_ingest_job"
NAMESPACE = "photosearch"
_ALWAYS = 1_000_000  # Dramatiq's maintenance chance is "per million commands"


class RedisJobQueue:
    """The `JobQueue` of services/jobs.py on Redis. In an API process only `put` and `wait_idle` are used;
    `work` turns the calling process into a worker."""

    def __init__(self, url: str, heartbeat_s: float = 30.0,
                 is_finished: Callable[[int], bool] | None = None) -> None:
        self.url = url
        self.heartbeat_s = heartbeat_s
        # Jobs run until they end (no time limit, no retries: the job runner records its own failures).
        self.broker = RedisBroker(url=url, namespace=NAMESPACE, middleware=[],
                                  heartbeat_timeout=int(heartbeat_s * 1000), maintenance_chance=_ALWAYS)
        self._run: Callable[[int], object] | None = None
        self._is_finished = is_finished
        self._submitted: set[int] = set()
        self.actor = dramatiq.actor(self._run_message, broker=self.broker, actor_name=ACTOR_NAME,
                                    queue_name=QUEUE_NAME)

    def bind(self, run: Callable[[int], object], is_finished: Callable[[int], bool]) -> None:
        """What a worker calls for each message (Jobs.run_job), and how to tell a job has ended."""
        self._run = run
        self._is_finished = is_finished

    # -- the JobQueue protocol (API side) -----------------------------------------------------------
    def put(self, job_id: int, group: str) -> None:  # noqa: ARG002 - see below
        # `group` (one profile's jobs one after another) is not kept across workers: two jobs of one profile
        # may run side by side on two workers, which the pipeline makes safe (a photo both store is kept
        # once: the loser of the insert race takes the winner's row).
        self.actor.send(job_id)
        self._submitted.add(job_id)

    def wait_idle(self, timeout: float | None = None) -> bool:
        """Until every job put here has finished (read from the database: the workers are elsewhere)."""
        if self._is_finished is None:
            raise RuntimeError("RedisJobQueue.wait_idle needs bind(...) first")
        deadline = None if timeout is None else time.monotonic() + timeout
        while True:
            self._submitted = {job_id for job_id in self._submitted if not self._is_finished(job_id)}
            if not self._submitted:
                return True
            if deadline is not None and time.monotonic() > deadline:
                return False
            time.sleep(0.2)

    def close(self) -> None:
        self.broker.close()

    def unacknowledged(self) -> int:
        """Messages not yet acknowledged: waiting in Redis or held by a worker."""
        return self.broker.do_qsize(QUEUE_NAME)

    # -- the worker side ---------------------------------------------------------------------------------
    def _run_message(self, job_id: int) -> None:
        if self._run is None:
            raise RuntimeError("this process enqueues only; run `photosearch worker` to process jobs")
        log.info("job %s: running", job_id)
        self._run(job_id)
        log.info("job %s: finished", job_id)

    def work(self, threads: int = 1, stop: threading.Event | None = None) -> None:
        """Process jobs until SIGTERM/SIGINT (or `stop` is set). `threads` jobs at a time; each thread
        takes one job at a time, so no job waits in a busy worker while another worker is idle."""
        from dramatiq import Worker

        stop = stop or threading.Event()
        if threading.current_thread() is threading.main_thread():
            for signum in (signal.SIGTERM, signal.SIGINT):
                signal.signal(signum, lambda *_: stop.set())
        worker = Worker(self.broker, queues={QUEUE_NAME}, worker_threads=threads, worker_timeout=500)
        worker.queue_prefetch = threads  # Dramatiq's default takes 2x: a second job would wait behind the first
        heartbeat = threading.Thread(target=self._heartbeat, args=(stop,), name="photosearch-heartbeat",
                                     daemon=True)
        worker.start()
        heartbeat.start()
        print(f"photosearch worker {socket.gethostname()}:{os.getpid()}: {threads} thread(s) on queue "
              f"{QUEUE_NAME} at {_redacted(self.url)}", flush=True)
        try:
            while not stop.wait(0.5):
                pass
        finally:
            worker.stop(timeout=600_000)  # a job in progress finishes its batch... and its job: wait for it
            stop.set()
            heartbeat.join(timeout=5)

    def _heartbeat(self, stop: threading.Event) -> None:
        """Every Redis command of this broker counts as its heartbeat; qsize is the cheapest. With
        maintenance on every command, this also requeues the messages of workers found dead."""
        while not stop.wait(self.heartbeat_s / 4):
            try:
                self.broker.do_qsize(QUEUE_NAME)
            except Exception:  # noqa: BLE001 - Redis away for a moment: try again next beat
                log.warning("heartbeat to Redis failed", exc_info=True)


def _redacted(url: str) -> str:
    """The URL without a password, for logs."""
    if "@" not in url:
        return url
    scheme, rest = url.split("://", 1)
    return f"{scheme}://***@{rest.split('@', 1)[1]}"
