"""One settings object, built once and passed down. Nothing else reads the environment.

The data directory holds everything a person's collection needs:
    <data_dir>/photosearch.db   SQLite database (WAL)
    <data_dir>/index/           Whoosh full-text index
    <data_dir>/images/          normalised copies of every photo (served by id)
    <data_dir>/thumbs/          thumbnails
    <data_dir>/uploads/         uploaded files while a job reads them (generated names)
    <data_dir>/snapshots/       search's arrays per profile (beside the index), so a restart need not build them
"""

from __future__ import annotations

import ipaddress
import os
from dataclasses import dataclass, field
from pathlib import Path

DEFAULT_DATA_DIR = Path.home() / ".photosearch"


def cpu_count() -> int:
    """The cores this process may use (its CPU affinity where the system has one)."""
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1


def _split(value: str | None) -> list[str]:
    return [part.strip() for part in (value or "").split(",") if part.strip()]


@dataclass
class Settings:
    data_dir: Path = DEFAULT_DATA_DIR
    database_url: str | None = None  # default: SQLite file in data_dir; any SQLAlchemy URL works
    # This process's full-text index (default data_dir/index). Several API processes sharing one
    # PostgreSQL each keep their own, on local disk; each follows the database (services/index_sync.py).
    index_path: Path | None = None
    host: str = "127.0.0.1"
    port: int = 5000
    # Token required for mutating endpoints when the server is bound beyond loopback.
    token: str | None = None
    cors_origins: list[str] = field(default_factory=lambda: ["http://localhost:5173", "http://127.0.0.1:5173"])
    # Limits
    max_upload_bytes: int = 500_000_000  # one multipart request (decimal, so limits read as "500 MB")
    max_image_bytes: int = 50_000_000  # one photo, fetched or read
    max_image_pixels: int = 80_000_000  # decompression-bomb cap, checked before decoding
    max_query_chars: int = 500
    max_url_list_entries: int = 100_000
    # Fetching
    fetch_connect_timeout: float = 5.0
    fetch_read_timeout: float = 20.0
    # Wall-clock limit of one whole fetch (connect, headers, body, redirects, retries); None: connect + 4 × read.
    fetch_deadline: float | None = None
    fetch_max_redirects: int = 5
    fetch_retries: int = 2
    fetch_per_host_concurrency: int = 4
    # Photos of one batch read (fetched) side by side; each host still gets at most the number above.
    fetch_workers: int = 8
    # Hosts, IPs or CIDR networks that may be fetched even though they are private/loopback.
    fetch_allow: list[str] = field(default_factory=list)
    # Folder ingestion is allowed only below these roots (default: the user's home).
    folder_roots: list[Path] = field(default_factory=lambda: [Path.home()])
    # Deleted photos can be restored ("Undo") this long before they are purged for good.
    undo_seconds: float = 30.0
    # Describe this many photos per encoder batch.
    batch_size: int = 16
    # Worker processes that describe photos, each its own batch (services/describe_pool.py); 0: the models run in
    # this process. None: two on a machine with two or more cores (they share the cores), else 0.
    describe_processes: int | None = None
    # Ingest jobs running side by side (jobs of one profile always run one after another).
    job_workers: int = 2
    # Redis URL (redis://host:6379/0): jobs go to a queue that `photosearch worker` processes run, instead
    # of this process's threads. None: the embedded default, jobs run inside `serve` (services/queue_redis.py).
    broker_url: str | None = None
    # A worker silent this long is taken for dead and the job it held is given to another worker.
    worker_heartbeat_s: float = 30.0
    # Serve the built SPA from this folder (None: the repo's frontend/dist if present).
    static_dir: Path | None = None
    # Index a demo profile of bundled photos on first start of `serve`.
    demo: bool = True

    @property
    def is_loopback(self) -> bool:
        """Bound to this machine only (127.0.0.0/8, ::1, localhost): no token needed for changes."""
        if self.host == "localhost":
            return True
        try:
            return ipaddress.ip_address(self.host).is_loopback
        except ValueError:
            return False

    @property
    def describers(self) -> int:
        """describe_processes, worked out: how many worker processes describe photos (0: in this process)."""
        if self.describe_processes is not None:
            return max(0, self.describe_processes)
        return 2 if cpu_count() >= 2 else 0

    @property
    def database(self) -> str:
        return self.database_url or f"sqlite:///{self.data_dir / 'photosearch.db'}"

    @property
    def index_dir(self) -> Path:
        return self.index_path or self.data_dir / "index"

    @property
    def images_dir(self) -> Path:
        return self.data_dir / "images"

    @property
    def thumbs_dir(self) -> Path:
        return self.data_dir / "thumbs"

    @property
    def uploads_dir(self) -> Path:
        return self.data_dir / "uploads"

    @property
    def snapshots_dir(self) -> Path:
        """Beside the full-text index: on each machine's local disk where PHOTOSEARCH_INDEX_DIR puts it there."""
        return self.index_dir.parent / "snapshots"

    def ensure_dirs(self) -> None:
        for path in (self.data_dir, self.index_dir, self.images_dir, self.thumbs_dir, self.uploads_dir):
            path.mkdir(parents=True, exist_ok=True)

    @classmethod
    def from_env(cls, data_dir: str | Path | None = None, **overrides: object) -> Settings:
        """Settings from PHOTOSEARCH_* environment variables; explicit arguments win."""
        env = os.environ
        settings = cls()
        settings.data_dir = Path(data_dir or env.get("PHOTOSEARCH_DATA_DIR") or DEFAULT_DATA_DIR).expanduser()
        settings.database_url = env.get("PHOTOSEARCH_DATABASE_URL") or None
        settings.broker_url = env.get("PHOTOSEARCH_BROKER_URL") or None
        if env.get("PHOTOSEARCH_WORKER_HEARTBEAT_S"):
            settings.worker_heartbeat_s = float(env["PHOTOSEARCH_WORKER_HEARTBEAT_S"])
        if env.get("PHOTOSEARCH_INDEX_DIR"):
            settings.index_path = Path(env["PHOTOSEARCH_INDEX_DIR"]).expanduser()
        settings.token = env.get("PHOTOSEARCH_TOKEN") or None
        if env.get("PHOTOSEARCH_CORS_ORIGINS") is not None:
            settings.cors_origins = _split(env["PHOTOSEARCH_CORS_ORIGINS"])
        settings.fetch_allow = _split(env.get("PHOTOSEARCH_FETCH_ALLOW"))
        if env.get("PHOTOSEARCH_FETCH_DEADLINE"):
            settings.fetch_deadline = float(env["PHOTOSEARCH_FETCH_DEADLINE"])
        if env.get("PHOTOSEARCH_FOLDER_ROOTS"):
            settings.folder_roots = [Path(p).expanduser() for p in _split(env["PHOTOSEARCH_FOLDER_ROOTS"])]
        if env.get("PHOTOSEARCH_DESCRIBE_PROCESSES"):
            settings.describe_processes = int(env["PHOTOSEARCH_DESCRIBE_PROCESSES"])
        if env.get("PHOTOSEARCH_DEMO") is not None:
            settings.demo = env["PHOTOSEARCH_DEMO"] not in ("0", "false", "no")
        for key, value in overrides.items():
            if not hasattr(settings, key):
                raise TypeError(f"unknown setting {key}")
            setattr(settings, key, value)
        return settings
