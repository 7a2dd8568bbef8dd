"""A photosearch deployment on loopback: PostgreSQL + Redis + n API processes + m workers, real processes.

Every process shares the data directory (the photo files: on several machines, a network share) and the
database and queue; each has its own full-text index (PHOTOSEARCH_INDEX_DIR), as on separate machines.
Used by tests/distributed/ and scripts/bench_workers.py.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

TESTS = Path(__file__).resolve().parents[1]
ROOT = TESTS.parent
sys.path.insert(0, str(TESTS))

from servers import PostgresServer, RedisServer, StartStop, free_port  # noqa: E402


class Cluster(StartStop):
    def __init__(self, root: Path, apis: int = 2, workers: int = 2, heartbeat_s: float = 5.0) -> None:
        self.root = root
        self.data_dir = root / "data"
        self.n_apis, self.n_workers = apis, workers
        self.heartbeat_s = heartbeat_s
        self.postgres: PostgresServer | None = None
        self.redis: RedisServer | None = None
        self.apis: list[tuple[subprocess.Popen, int]] = []
        self.workers: list[subprocess.Popen] = []
        self.database_url = ""

    # -- environment ---------------------------------------------------------------------------------
    def env(self, name: str) -> dict[str, str]:
        env = dict(os.environ)
        env.update(
            PYTHONPATH=os.pathsep.join([str(ROOT / "backend"), env.get("PYTHONPATH", "")]),
            PHOTOSEARCH_DATA_DIR=str(self.data_dir),
            PHOTOSEARCH_DATABASE_URL=self.database_url,
            PHOTOSEARCH_BROKER_URL=self.redis.url if self.redis else "",
            PHOTOSEARCH_INDEX_DIR=str(self.root / f"index-{name}"),
            PHOTOSEARCH_WORKER_HEARTBEAT_S=str(self.heartbeat_s),
            PHOTOSEARCH_FOLDER_ROOTS=str(self.root),
            PHOTOSEARCH_DEMO="0",
            OMP_NUM_THREADS="1",
            HF_HUB_OFFLINE="1",
        )
        return env

    def _start(self, name: str, *args: str) -> subprocess.Popen:
        log = open(self.root / f"{name}.log", "wb")  # noqa: SIM115 - kept open for the process's life
        return subprocess.Popen([sys.executable, "-m", "photosearch.cli", *args], env=self.env(name),
                                stdout=log, stderr=subprocess.STDOUT, cwd=self.root)

    def cli(self, name: str, *args: str, timeout: float = 300) -> subprocess.CompletedProcess:
        return subprocess.run([sys.executable, "-m", "photosearch.cli", *args], env=self.env(name),
                              capture_output=True, text=True, timeout=timeout, cwd=self.root)

    # -- life ----------------------------------------------------------------------------------------
    def start(self) -> Cluster:
        self.data_dir.mkdir(parents=True, exist_ok=True)
        self.postgres = PostgresServer().start()
        self.database_url = self.postgres.create_database("photosearch")
        self.redis = RedisServer().start()
        # Migrate once before the processes start (they would also do it, one at a time).
        migrated = self.cli("setup", "profile", "list")
        if migrated.returncode:
            raise RuntimeError(f"first start failed: {migrated.stderr[-3000:]}")
        for i in range(self.n_apis):
            port = free_port()
            self.apis.append((self._start(f"api{i}", "serve", "--port", str(port), "--no-demo"), port))
        for i in range(self.n_workers):
            self.workers.append(self._start(f"worker{i}", "worker"))
        for i, (process, port) in enumerate(self.apis):
            self._wait_healthy(i, process, port)
        return self

    def _wait_healthy(self, i: int, process: subprocess.Popen, port: int, timeout: float = 120) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if process.poll() is not None:
                raise RuntimeError(f"api{i} exited: {self.log(f'api{i}')}")
            try:
                self.get(i, "/api/health")
                return
            except OSError:
                time.sleep(0.2)
        raise RuntimeError(f"api{i} not healthy after {timeout} s: {self.log(f'api{i}')}")

    def stop(self) -> None:
        for process in [p for p, _ in self.apis] + self.workers:
            if process.poll() is None:
                process.send_signal(signal.SIGTERM)
        for process in [p for p, _ in self.apis] + self.workers:
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
        if self.redis:
            self.redis.stop()
        if self.postgres:
            self.postgres.stop()

    def kill_worker(self, i: int) -> None:
        """kill -9: no goodbye to Redis, no rollback but the database's own."""
        self.workers[i].send_signal(signal.SIGKILL)
        self.workers[i].wait()

    def log(self, name: str) -> str:
        path = self.root / f"{name}.log"
        return path.read_text(errors="replace")[-3000:] if path.exists() else ""

    # -- HTTP ----------------------------------------------------------------------------------------
    def url(self, api: int, path: str) -> str:
        return f"http://127.0.0.1:{self.apis[api][1]}{path}"

    def get(self, api: int, path: str) -> dict:
        with urllib.request.urlopen(self.url(api, path), timeout=60) as response:
            return json.loads(response.read())

    def post(self, api: int, path: str, body: dict) -> dict:
        request = urllib.request.Request(self.url(api, path), data=json.dumps(body).encode(),
                                         headers={"Content-Type": "application/json"}, method="POST")
        with urllib.request.urlopen(request, timeout=60) as response:
            return json.loads(response.read())

    def wait_jobs(self, job_ids: list[int], timeout: float, on_progress=None) -> list[dict]:  # noqa: ANN001
        """Poll until every job has finished (asking API 0); -> their final status."""
        deadline = time.monotonic() + timeout
        while True:
            statuses = [self.get(0, f"/api/jobs/{job_id}") for job_id in job_ids]
            if on_progress:
                on_progress(statuses)
            if all(s["status"] in ("done", "failed", "cancelled") for s in statuses):
                return statuses
            if time.monotonic() > deadline:
                raise AssertionError(f"jobs not finished after {timeout} s: "
                                     f"{[(s['id'], s['status'], s['done'], s['total']) for s in statuses]}")
            time.sleep(0.5)
