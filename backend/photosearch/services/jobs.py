"""Jobs: rows in the database, a queue, workers, status and cancellation.

A job is a row (`Job`) holding its kind and spec and one `JobItem` per photo, whose outcome is committed with
its batch. What a kind of job does is a `JobKind` in `Jobs.kinds`: every source kind (sources/registry.py) is
an `IngestJob` (list the source's photos, run them through the ingest pipeline), and "redescribe" describes a
library's photos again (services/redescribe.py). `Jobs` itself never branches on kinds: it claims the job,
hands the kind a `JobRun` (the job's items, its batches, stopping when cancelled, progress) and records the
end. The life of a job:

    queued ──worker──> running ──> done | failed          (cancel: queued/running ──> cancelled)

A job interrupted by a crash or kill stays "queued"/"running" and is picked up again on the next start
(`resume_unfinished`): finished items are skipped, so every photo ends up stored exactly once.

Where jobs run is a `JobQueue`: `InProcessQueue` runs them on a small pool of worker threads in this
process (jobs of one profile one after another, different profiles side by side); another queue (e.g.
Redis with separate worker processes) only has to implement `put` / `wait_idle` / `close` and call
`Jobs.run_job(job_id)` where the work happens. The CLI runs a job in the foreground with `run_job`.

Cancelling writes "cancelled" to the job's row, so it works from any process (`photosearch jobs cancel`
against a running server); the runner looks at the row between batches and stops there.
"""

from __future__ import annotations

import logging
import os
import shutil
import socket
import threading
import time
from collections import deque
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Protocol, TypeVar

from sqlalchemy import and_, func, or_, select, update

from photosearch.config import Settings
from photosearch.errors import Conflict, InvalidInput, NotFound, PhotosearchError, is_disk_full
from photosearch.services.ingest import ALREADY, Describing, Ingestor, PreparedBatch
from photosearch.services.library import profile_by_name
from photosearch.services.redescribe import Redescribe
from photosearch.sources.base import ListContext, Source
from photosearch.sources.fetch import Fetcher
from photosearch.sources.registry import all_sources
from photosearch.storage.db import Database
from photosearch.storage.models import Job, JobItem

log = logging.getLogger(__name__)

UNFINISHED = ("queued", "running")
UNFINISHED_JOBS = Job.status.in_(UNFINISHED)
# A job stopped by a full disk is "failed" with this message; its pending items stay pending and it is
# picked up again like an unfinished one (on the next start), so no photo of it is lost.
DISK_FULL_JOB_ERROR = ("disk full: no space is left for photosearch's data; the job stopped and resumes where "
                       "it stopped when photosearch next starts (free some space first)")
FINISHED = ("done", "failed", "cancelled")
MAX_FAILURES_SHOWN = 200
# Batches read and decoded ahead of the models: while they load (~2 s, mostly importing torch) the helper thread
# gets this far instead of idling (1600 px photos, 100 end to end: 11.5 -> 12.5-12.9 photos/s). A prepared batch
# of 16 full-size photos holds their stored JPEGs and 224 px inputs, about 16 x 0.75 MB.
PREPARE_AHEAD = 4
STOP_WAIT_S = 30.0  # how long a stopping server waits for its running jobs to put down the batch in hand
# A job run on another machine is taken for alive while its runner beat within this (one beat a batch, seconds
# apart); on this machine the runner's process id tells at once.
RUNNER_ALIVE_S = 120.0


def this_runner() -> str:
    """This process, as a job's `runner` names it."""
    return f"{socket.gethostname()}:{os.getpid()}"


def runner_alive(runner: str | None, heartbeat_at: datetime | None, now: datetime | None = None) -> bool:
    """Whether the process a job names as its runner is still running it: on this machine, whether that process
    exists; on another, whether it beat within RUNNER_ALIVE_S. False for a job no process claims."""
    if not runner or heartbeat_at is None:
        return False
    host, _, pid = runner.rpartition(":")
    if host == socket.gethostname() and pid.isdigit():
        try:
            os.kill(int(pid), 0)  # signal 0: only asks whether the process exists
        except ProcessLookupError:
            return False
        except PermissionError:  # another user's process
            return True
        return True
    beat = heartbeat_at if heartbeat_at.tzinfo else heartbeat_at.replace(tzinfo=UTC)  # SQLite hands it back naive
    return (now or datetime.now(UTC)) - beat < timedelta(seconds=RUNNER_ALIVE_S)


@dataclass
class JobFailure:
    source: str
    error: str | None


@dataclass
class JobStatus:
    id: int
    profile: str
    kind: str
    title: str  # "12 URLs", "folder /home/me/Pictures", ...: what a person recognises
    status: str  # queued | running | done | failed | cancelled
    total: int
    done: int  # stored, or found stored already (those also count in `already`)
    failed: int
    skipped: int
    already: int  # photos whose bytes were in the collection already (or twice in this job)
    error: str | None
    failures: list[JobFailure] = field(default_factory=list)
    created_at: datetime | None = None
    finished_at: datetime | None = None

    @property
    def finished(self) -> bool:
        return self.status in FINISHED

    @property
    def processed(self) -> int:
        return self.done + self.failed + self.skipped

    @property
    def outcome(self) -> str:
        """The status as the web app's job card words it (frontend/src/lib/format.ts, jobOutcome): a job that
        finished with every photo failed has "failed", one with some failed is "partial"."""
        if self.status == "done" and self.failed:
            return "partial" if self.done else "failed"
        return self.status


Progress = Callable[[JobStatus], None]
T = TypeVar("T")


class JobKind(Protocol):
    """What one kind of job does. `Jobs.kinds` holds one per kind (the name stored in Job.kind). A kind whose
    skipped items are no problem (redescribe's, already current) says so with `SKIPS_ARE_FINE = True`: its status
    then lists only failed items among `failures`."""

    def title(self, spec: dict) -> str:
        """A few words naming the job for people: "12 URLs", "Describe again with today's models"."""
        ...

    def run(self, run: JobRun) -> None:
        """Do the job's work, or what is left of it: `run.items` and `run.batches` keep it resumable and
        cancellable. A PhotosearchError fails the job with its message."""
        ...


class JobRun:
    """One run of a claimed job, as its kind sees it: the spec, the profile, its items and its batches."""

    def __init__(self, jobs: Jobs, job_id: int, spec: dict, profile_id: int, progress: Progress | None) -> None:
        self.jobs = jobs
        self.job_id = job_id
        self.spec = spec
        self.profile_id = profile_id
        self.progress = progress

    def pending_items(self, sources: Callable[[], list[str]]) -> list[tuple[int, int, str]]:
        """The job's items still pending, in order, as (item id, position, source). On the first run the
        items are created from `sources()` (what a person recognises per photo: URL, path, "photo:12")."""
        with self.jobs.db.session() as session:
            if not session.scalar(select(JobItem.id).where(JobItem.job_id == self.job_id).limit(1)):
                session.add_all(JobItem(job_id=self.job_id, position=i, source=text[:2000])
                                for i, text in enumerate(sources()))
                session.flush()
            return [tuple(row) for row in session.execute(
                select(JobItem.id, JobItem.position, JobItem.source)
                .where(JobItem.job_id == self.job_id, JobItem.status == "pending")
                .order_by(JobItem.position)
            )]

    def batches(self, pending: list[T]) -> Iterator[list[T]]:
        """`pending` in batches of `batch_size`; stops when the job is cancelled, reports progress after each."""
        size = self.jobs.settings.batch_size
        for start in range(0, len(pending), size):
            if self.cancelled():
                return
            yield pending[start : start + size]
            self.jobs.beat(self.job_id)
            if self.progress:
                self.progress(self.jobs.job_status(self.job_id))

    def cancelled(self) -> bool:
        """Whether someone cancelled the job (from any process: it is the job row's status), or this process is
        stopping (`Jobs.stop`): either way the run ends after the batch in hand."""
        if self.jobs.stopping:
            return True
        with self.jobs.db.session() as session:
            return session.scalar(select(Job.status).where(Job.id == self.job_id)) == "cancelled"


class IngestJob:
    """The job of a source kind: list the source's photos, then ingest them batch by batch."""

    def __init__(self, source: Source, ingestor: Ingestor, fetch: Callable[[str], bytes]) -> None:
        self.source = source
        self.ingestor = ingestor
        self.fetch = fetch

    def title(self, spec: dict) -> str:
        return self.source.title(spec)

    def run(self, run: JobRun) -> None:
        photos = self.source.photos(run.spec, ListContext(self.ingestor.settings, self.fetch))
        items = run.pending_items(lambda: [p.source for p in photos])
        pending = [(item_id, photos[position]) for item_id, position, _ in items if position < len(photos)]
        self.ingestor.repair_index(run.profile_id)  # a previous run may have stopped between database and index
        # Batches are read and decoded (`prepare`) on a helper thread, up to PREPARE_AHEAD of them ahead of the models:
        # decoding and hashing overlap describing, and the first batches are ready when the models have loaded
        # (services/ingest.py). Then each batch is handed to the describer (`describe_soon`) and stored in order
        # (`finish`); a describer with worker processes (services/describe_pool.py) keeps `ahead` batches in hand,
        # so that its workers describe while this thread stores.
        ingestor = self.ingestor
        with ThreadPoolExecutor(1, thread_name_prefix="photosearch-prepare") as helper:
            prepared: deque[Future[PreparedBatch]] = deque()
            describing: deque[tuple[PreparedBatch, Describing]] = deque()

            def describe_next() -> None:
                batch = prepared.popleft().result()
                describing.append((batch, ingestor.describe_soon(batch)))

            try:
                for batch in run.batches(pending):
                    prepared.append(helper.submit(ingestor.prepare, run.profile_id, batch))
                    if len(prepared) > PREPARE_AHEAD:
                        describe_next()
                        if len(describing) >= ingestor.describer().ahead:
                            ingestor.finish(*describing.popleft())
                while (prepared or describing) and not run.cancelled():
                    if prepared:
                        describe_next()
                    if not prepared or len(describing) >= ingestor.describer().ahead:
                        ingestor.finish(*describing.popleft())
            finally:  # done, cancelled or failed: what was stored is indexed
                ingestor.flush_index()


class JobQueue(Protocol):
    """Where submitted jobs wait and who runs them. `group` names jobs that must not run at the same time
    (those of one profile)."""

    def put(self, job_id: int, group: str) -> None: ...

    def wait_idle(self, timeout: float | None = None) -> bool:
        """Block until every submitted job has run; False when `timeout` passed first."""
        ...

    def close(self) -> None: ...


class Jobs:
    def __init__(self, settings: Settings, db: Database, ingestor: Ingestor, queue: JobQueue | None = None) -> None:
        self.settings = settings
        self.db = db
        self.ingestor = ingestor
        self.queue = queue or InProcessQueue(self.run_job, workers=settings.job_workers)
        self._stopping = threading.Event()  # set by stop(): this process is going away
        self._fetcher: Fetcher | None = None
        self._fetcher_lock = threading.Lock()
        # Every kind of job, by the name stored in Job.kind: one per source kind, and redescribe.
        self.kinds: dict[str, JobKind] = {s.kind: IngestJob(s, ingestor, self.fetch) for s in all_sources()}
        self.kinds[Redescribe.KIND] = Redescribe(ingestor)

    def fetch(self, url: str) -> bytes:
        """The shared, SSRF-safe fetcher (created on first use; it pools connections per host)."""
        with self._fetcher_lock:
            if self._fetcher is None:
                self._fetcher = Fetcher(self.settings)
        return self._fetcher.fetch(url)

    # -- creating and queueing -----------------------------------------------------------------------
    def create_job(self, profile_name: str, kind: str, spec: dict) -> int:
        self.kind(kind)  # an unknown kind is refused before anything is stored
        with self.db.session() as session:
            job = Job(profile_id=profile_by_name(session, profile_name).id, kind=kind, spec=spec, status="queued")
            session.add(job)
            session.flush()
            return job.id

    def submit(self, job_id: int) -> None:
        """Queue the job for the workers."""
        with self.db.session() as session:
            job = session.get(Job, job_id)
            if job is None:
                raise NotFound(f"no job {job_id}")
            group = f"profile:{job.profile_id}"
        self.queue.put(job_id, group)

    def start(self, profile_name: str, kind: str, spec: dict) -> JobStatus:
        """Create a job and queue it; -> its status (queued)."""
        job_id = self.create_job(profile_name, kind, spec)
        self.submit(job_id)
        return self.job_status(job_id)

    def resume_unfinished(self) -> list[int]:
        """Queue the jobs left unfinished (a server stopped or killed, a full disk), except those another live
        process is running (a `photosearch ingest` in a terminal): two runners would do the work twice."""
        _, ids = self.by_runner(_resumable())
        for job_id in ids:
            self.submit(job_id)
        return ids

    def by_runner(self, condition=UNFINISHED_JOBS) -> tuple[list[int], list[int]]:  # noqa: ANN001 - SQL
        """The ids of the jobs meeting `condition` (default: queued or running), split into those a live process
        runs (`runner_alive`) and those no process runs (never claimed, put down, or their runner was killed)."""
        with self.db.session() as session:
            jobs = session.execute(select(Job.id, Job.runner, Job.heartbeat_at).where(condition).order_by(Job.id)).all()
        alive = [job_id for job_id, runner, beat in jobs if runner_alive(runner, beat)]
        return alive, [job_id for job_id, _, _ in jobs if job_id not in alive]

    def wait_idle(self, timeout: float | None = None) -> bool:
        """Block until queued jobs are done (tests, CLI)."""
        return self.queue.wait_idle(timeout)

    @property
    def stopping(self) -> bool:
        return self._stopping.is_set()

    def stop(self, timeout: float = STOP_WAIT_S) -> bool:
        """A server going away (Ctrl+C): the jobs running in this process put down the batch in hand and stay
        unfinished, as do the queued ones, so that the next start resumes them (`resume_unfinished`). Without
        this they ran on into the interpreter's shutdown, whose closed thread pools failed them ("internal
        error"), and a failed job is not resumed. -> whether they stopped within `timeout` seconds."""
        self._stopping.set()
        self.queue.close()  # queued jobs stay "queued" in the database
        return self.queue.wait_idle(timeout)

    def cancel(self, job_id: int) -> JobStatus:
        """Stop a queued or running job (a running one stops after its current batch). Photos already
        stored stay. Cancelling a cancelled job is fine; a finished one is a Conflict."""
        with self.db.session() as session:
            job = session.get(Job, job_id)
            if job is None:
                raise NotFound(f"no job {job_id}")
            if job.status in ("done", "failed"):
                raise Conflict(f"job {job_id} has already finished ({job.status})")
            if job.status != "cancelled":
                job.status, job.error, job.finished_at = "cancelled", "cancelled", datetime.now(UTC)
        return self.job_status(job_id)

    # -- status --------------------------------------------------------------------------------------
    def kind(self, kind: str) -> JobKind:
        try:
            return self.kinds[kind]
        except KeyError:
            raise InvalidInput(f"unknown job kind {kind!r}") from None

    def title(self, kind: str, spec: dict) -> str:
        try:
            return self.kind(kind).title(spec)
        except (PhotosearchError, KeyError, TypeError):  # a job of a kind or spec this version no longer knows
            return kind

    def job_status(self, job_id: int) -> JobStatus:
        with self.db.session() as session:
            job = session.get(Job, job_id)
            if job is None:
                raise NotFound(f"no job {job_id}")
            counts = dict(
                session.execute(
                    select(JobItem.status, func.count()).where(JobItem.job_id == job_id).group_by(JobItem.status)
                ).all()
            )
            # what went wrong, with why; a kind whose skipped items are fine (redescribe: already current) lists
            # only its failed ones
            shown = ("failed",) if getattr(self.kinds.get(job.kind), "SKIPS_ARE_FINE", False) else ("failed", "skipped")
            failures = [
                JobFailure(source, error)
                for source, error in session.execute(
                    select(JobItem.source, JobItem.error)
                    .where(JobItem.job_id == job_id, JobItem.status.in_(shown))
                    .order_by(JobItem.position)
                    .limit(MAX_FAILURES_SHOWN)
                )
            ]
            return JobStatus(
                id=job.id,
                profile=job.profile.name,
                kind=job.kind,
                title=self.title(job.kind, job.spec),
                status=job.status,
                total=sum(counts.values()),
                done=counts.get("done", 0),
                failed=counts.get("failed", 0),
                skipped=counts.get("skipped", 0),
                already=session.scalar(select(func.count()).where(
                    JobItem.job_id == job_id, JobItem.status == "done", JobItem.error == ALREADY)) or 0,
                error=job.error,
                failures=failures,
                created_at=job.created_at,
                finished_at=job.finished_at,
            )

    def job_ids(self, profile_id: int | None = None, limit: int = 50) -> list[int]:
        """The newest jobs (of one profile, or all), newest first."""
        stmt = select(Job.id).order_by(Job.id.desc()).limit(limit)
        if profile_id is not None:
            stmt = stmt.where(Job.profile_id == profile_id)
        with self.db.session() as session:
            return list(session.scalars(stmt))

    # -- running -------------------------------------------------------------------------------------
    def run_job(self, job_id: int, progress: Progress | None = None) -> JobStatus:
        """Run (or resume) the job here and now; -> its final status. Never leaves it "running" (an unexpected
        error fails the job, and is logged) unless this process is stopping (`stop`): then the next start resumes it."""
        try:
            return self._run(job_id, progress)
        except Exception as exc:  # noqa: BLE001 - a bug in one job must not kill the worker or hide the job
            if self.stopping:  # the process is going away under the job (stop() timed out): resumed next start
                log.warning("job %s stopped with this process (%s); the next start resumes it", job_id, exc)
                self._put_down(job_id)
                return self.job_status(job_id)
            if is_disk_full(exc):
                log.error("job %s stopped: disk full (%s)", job_id, exc)
                self._finish(job_id, "failed", DISK_FULL_JOB_ERROR)
                return self.job_status(job_id)
            log.exception("job %s crashed", job_id)
            self._finish(job_id, "failed", "internal error while ingesting; see the server log")
            return self.job_status(job_id)

    def _run(self, job_id: int, progress: Progress | None) -> JobStatus:
        claimed, kind, spec, profile_id = self._claim(job_id)
        if not claimed:  # finished or cancelled meanwhile
            _remove_uploads(spec)
            return self.job_status(job_id)
        try:
            self.kind(kind).run(JobRun(self, job_id, spec, profile_id, progress))
            if self.stopping:  # put down mid-way (stop()): still "running", for the next start to resume
                self._put_down(job_id)
                return self.job_status(job_id)
        except PhotosearchError as exc:
            if is_disk_full(exc):  # not a failure of the job: run_job makes it resumable
                raise
            self._finish(job_id, "failed", exc.message)
            return self.job_status(job_id)
        _remove_uploads(spec)
        self._finish(job_id, "done", None)
        status = self.job_status(job_id)
        if progress:
            progress(status)
        return status

    def _claim(self, job_id: int) -> tuple[bool, str, dict, int]:
        """Mark an unfinished job running; -> (claimed?, kind, spec, profile id)."""
        with self.db.session() as session:
            job = session.get(Job, job_id)
            if job is None:
                raise NotFound(f"no job {job_id}")
            claimed = job.status in UNFINISHED or (job.status == "failed" and job.error == DISK_FULL_JOB_ERROR)
            if claimed:
                job.status, job.error, job.finished_at = "running", None, None
                job.runner, job.heartbeat_at = this_runner(), datetime.now(UTC)
            return claimed, job.kind, dict(job.spec), job.profile_id

    def beat(self, job_id: int) -> None:
        """The job's runner is alive (JobRun.batches calls this once a batch)."""
        with self.db.session() as session:
            session.execute(update(Job).where(Job.id == job_id).values(heartbeat_at=datetime.now(UTC)))

    def _put_down(self, job_id: int) -> None:
        """This process no longer runs the job (it stays as it is: unfinished, for the next start)."""
        with self.db.session() as session:
            session.execute(update(Job).where(Job.id == job_id).values(runner=None, heartbeat_at=None))

    def _finish(self, job_id: int, status: str, error: str | None) -> None:
        """Record the end of a run, unless the job was cancelled meanwhile (cancelled stays cancelled)."""
        with self.db.session() as session:
            session.execute(
                update(Job)
                .where(Job.id == job_id, Job.status.in_(UNFINISHED))
                .values(status=status, error=error, finished_at=datetime.now(UTC), runner=None, heartbeat_at=None)
            )


def _resumable():  # noqa: ANN202 - a SQL expression
    """Jobs to pick up again on start: unfinished ones, and those a full disk stopped."""
    return or_(Job.status.in_(UNFINISHED), and_(Job.status == "failed", Job.error == DISK_FULL_JOB_ERROR))


def _remove_uploads(spec: dict) -> None:
    """Uploaded files are read once: when the job ends (or is cancelled), their folder goes."""
    if spec.get("cleanup"):
        shutil.rmtree(spec["cleanup"], ignore_errors=True)


class InProcessQueue:
    """Runs jobs on up to `workers` threads of this process. Jobs of one group (profile) run one after
    another, in the order they came; different groups side by side. Threads start when jobs arrive and
    end after `idle_exit` seconds without work."""

    def __init__(self, run: Callable[[int], object], workers: int = 2, idle_exit: float = 5.0) -> None:
        self._run = run
        self._max_workers = max(1, workers)
        self._idle_exit = idle_exit
        self._pending: deque[tuple[int, str]] = deque()
        self._active: set[str] = set()
        self._workers = 0
        self._closed = False
        self._cond = threading.Condition()

    def put(self, job_id: int, group: str) -> None:
        with self._cond:
            if self._closed:
                raise RuntimeError("the job queue is closed")
            self._pending.append((job_id, group))
            # All under the lock: a worker deciding to end can't miss this job (it checks _pending here too).
            if self._workers < self._max_workers and self._workers < len(self._pending) + len(self._active):
                self._workers += 1
                threading.Thread(target=self._work, name="photosearch-job", daemon=True).start()
            self._cond.notify_all()

    def wait_idle(self, timeout: float | None = None) -> bool:
        deadline = None if timeout is None else time.monotonic() + timeout
        with self._cond:
            while self._pending or self._active:
                left = None if deadline is None else deadline - time.monotonic()
                if left is not None and left <= 0:
                    return False
                self._cond.wait(left)
            return True

    def close(self) -> None:
        with self._cond:
            self._closed = True
            self._pending.clear()
            self._cond.notify_all()

    def _next(self) -> tuple[int, str] | None:
        for entry in self._pending:
            if entry[1] not in self._active:
                self._pending.remove(entry)
                return entry
        return None

    def _work(self) -> None:
        while True:
            with self._cond:
                entry = self._next()
                while entry is None:
                    if self._closed or (not self._cond.wait(self._idle_exit) and not self._pending):
                        self._workers -= 1
                        return
                    entry = self._next()
                job_id, group = entry
                self._active.add(group)
            try:
                self._run(job_id)
            except Exception:  # noqa: BLE001 - the runner reports its own failures; the worker lives on
                log.exception("job %s crashed", job_id)
            finally:
                with self._cond:
                    self._active.discard(group)
                    self._cond.notify_all()

