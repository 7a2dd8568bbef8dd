"""Services: what the API and the CLI call. `Services.create(settings)` wires storage and models once.

    services.library   profiles and photos (look up, list, delete)
    services.jobs      ingest jobs: create, queue, run, status, cancel (services/jobs.py)
    services.ingestor  the per-batch pipeline the jobs run (services/ingest.py) and index repair
    services.searcher  search and similar photos

Services return plain data (dataclasses, or dicts shaped in services/library.py); only api/ knows URLs
and HTTP status codes.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass
from functools import partial
from typing import Generic, TypeVar

from photosearch import __version__
from photosearch.config import Settings
from photosearch.services.deletion import Deletion
from photosearch.services.describe import Describer
from photosearch.services.describe_pool import DescriberPool, describer_for
from photosearch.services.index_sync import FollowingIndex
from photosearch.services.ingest import Ingestor
from photosearch.services.jobs import Jobs
from photosearch.services.library import Library
from photosearch.services.search import Searcher
from photosearch.services.timeline import Timeline
from photosearch.storage.db import Database
from photosearch.storage.index import PhotoIndex
from photosearch.text.query_models import QueryModels
from photosearch.vision.captioner import DEFAULT_WEIGHTS as CAPTIONER_WEIGHTS

T = TypeVar("T")  # what a _Lazy loads: the Describer, or the QueryModels


@dataclass
class Limits:
    """The limits a client should know before it sends something (the frontend reads them at start)."""

    max_query_length: int
    max_upload_mb: float
    max_photo_mb: float
    max_url_list_entries: int


@dataclass
class Health:
    ok: bool
    version: str
    captioner: bool  # are the captioner's weights installed (else photos get labels only)
    limits: Limits


@dataclass
class Services:
    settings: Settings
    db: Database
    index: PhotoIndex
    library: Library
    ingestor: Ingestor
    jobs: Jobs
    searcher: Searcher
    timeline: Timeline
    deletion: Deletion

    @classmethod
    def create(cls, settings: Settings, describer: Callable[[], Describer | DescriberPool] | None = None) -> Services:
        settings.ensure_dirs()
        db = Database(settings.database)
        index = FollowingIndex(settings.index_dir, db)  # follows the database: see services/index_sync.py
        models = _Lazy(describer or partial(describer_for, settings.describers))
        ingestor = Ingestor(settings, db, index, models.get)
        queue = None
        if settings.broker_url:  # jobs run in `photosearch worker` processes, wherever they are
            from photosearch.services.queue_redis import RedisJobQueue

            queue = RedisJobQueue(settings.broker_url, heartbeat_s=settings.worker_heartbeat_s)
        jobs = Jobs(settings, db, ingestor, queue)
        if queue is not None:
            queue.bind(jobs.run_job, lambda job_id: jobs.job_status(job_id).finished)
        # Search needs only the text models, which run without torch (text/query_models.py: ~500 MB less for a
        # server that searches); models given by the caller (tests) serve both.
        query_models = models if describer else _Lazy(QueryModels.default)
        searcher = Searcher(settings, db, index, query_models.get)
        library = Library(settings, db, index)
        return cls(settings, db, index, library, ingestor, jobs, searcher, Timeline(db, library),
                   Deletion(settings, db, index))

    def health(self) -> Health:
        s = self.settings
        limits = Limits(
            max_query_length=s.max_query_chars,
            max_upload_mb=s.max_upload_bytes / 1e6,
            max_photo_mb=s.max_image_bytes / 1e6,
            max_url_list_entries=s.max_url_list_entries,
        )
        return Health(ok=True, version=__version__, captioner=CAPTIONER_WEIGHTS.exists(), limits=limits)


class _Lazy(Generic[T]):
    """Loads the models once, on first use, whichever thread asks first."""

    def __init__(self, factory: Callable[[], T]) -> None:
        self._factory = factory
        self._value: T | None = None
        self._lock = threading.Lock()

    def get(self) -> T:
        with self._lock:
            if self._value is None:
                self._value = self._factory()
            return self._value
