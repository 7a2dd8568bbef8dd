"""Throwaway PostgreSQL and Redis servers for tests and scripts, on 127.0.0.1 and a free port, in a temp dir.

    with PostgresServer() as pg:          # initdb + postgres; pg.create_database() -> a fresh URL
        url = pg.create_database()
    with RedisServer() as redis:          # redis-server without persistence; redis.url
        ...

PostgreSQL's binaries are found with `pg_config --bindir` (Debian: /usr/lib/postgresql/15/bin), falling back
to /usr/lib/postgresql/*/bin. initdb refuses to run as root, so as root (CI) the cluster is created and run
as the unprivileged `nobody`. `ServerUnavailable` says what is missing when a binary is absent; the pytest
fixtures turn it into a skip with that reason. Both servers are made for speed, not durability (fsync off,
no snapshots): their data is thrown away at the end.
"""

from __future__ import annotations

import glob
import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from itertools import count
from pathlib import Path
from typing import Self, TypeVar

import pytest


class ServerUnavailable(RuntimeError):
    """A server binary this test needs is not installed."""


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _wait_for_port(port: int, process: subprocess.Popen, what: str, log: Path, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"{what} exited with {process.returncode}: {log.read_text(errors='replace')[-2000:]}")
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1.0).close()
            return
        except OSError:
            time.sleep(0.1)
    raise RuntimeError(f"{what} did not listen on 127.0.0.1:{port} within {timeout:.0f} s")


def postgres_bindir() -> Path:
    candidates = []
    pg_config = shutil.which("pg_config")
    if pg_config:
        out = subprocess.run([pg_config, "--bindir"], capture_output=True, text=True, check=False).stdout.strip()
        if out:
            candidates.append(Path(out))
    candidates += [Path(p) for p in sorted(glob.glob("/usr/lib/postgresql/*/bin"), reverse=True)]
    for bindir in candidates:
        if (bindir / "initdb").exists() and (bindir / "postgres").exists():
            return bindir
    raise ServerUnavailable(
        "PostgreSQL server binaries not found (pg_config --bindir, /usr/lib/postgresql/*/bin): "
        "apt-get install postgresql"
    )


class StartStop:
    """`with thing:` starts it and always stops it, also when starting fails halfway (a server, a cluster)."""

    def start(self) -> Self:
        raise NotImplementedError

    def stop(self) -> None:
        raise NotImplementedError

    def __enter__(self) -> Self:
        try:
            return self.start()
        except BaseException:
            self.stop()
            raise

    def __exit__(self, *exc: object) -> None:
        self.stop()


S = TypeVar("S", bound=StartStop)


@contextmanager
def started_or_skip(make: Callable[[], S]) -> Iterator[S]:
    """For fixtures: `make()` started for the block and stopped after it; a server binary that is not
    installed skips the test, saying which."""
    try:
        with make() as started:
            yield started
    except ServerUnavailable as exc:
        pytest.skip(str(exc))


class _ManagedServer(StartStop):
    """A server process of our own: stopped with `stop_signal` (killed if it lingers), its folder removed."""

    stop_signal = signal.SIGTERM
    stop_timeout = 10.0
    root: Path
    process: subprocess.Popen | None

    def stop(self) -> None:
        if self.process and self.process.poll() is None:
            self.process.send_signal(self.stop_signal)
            try:
                self.process.wait(timeout=self.stop_timeout)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        shutil.rmtree(self.root, ignore_errors=True)


class PostgresServer(_ManagedServer):
    """A PostgreSQL cluster in a temp dir; `create_database()` hands each test an empty database."""

    stop_signal = signal.SIGINT  # "fast" shutdown: disconnect clients, stop
    stop_timeout = 30.0

    def __init__(self) -> None:
        self.bindir = postgres_bindir()
        self.port = free_port()
        self.process: subprocess.Popen | None = None
        self._names = count(1)
        # As root, run as nobody: the directory must be theirs and reachable (mkdtemp's /tmp/x is).
        self.run_as = "nobody" if os.geteuid() == 0 else None
        self.root = Path(tempfile.mkdtemp(prefix="photosearch-pg-"))
        os.chmod(self.root, 0o700)
        if self.run_as:
            shutil.chown(self.root, user=self.run_as)

    @property
    def admin_url(self) -> str:
        return f"postgresql+psycopg://postgres@127.0.0.1:{self.port}/postgres"

    def url(self, database: str) -> str:
        return f"postgresql+psycopg://postgres@127.0.0.1:{self.port}/{database}"

    def _run(self, *args: str) -> subprocess.CompletedProcess:
        return subprocess.run(list(args), capture_output=True, text=True, check=False, user=self.run_as,
                              cwd=self.root)

    def start(self) -> PostgresServer:
        data, log = self.root / "data", self.root / "postgres.log"
        done = self._run(str(self.bindir / "initdb"), "-D", str(data), "-U", "postgres", "--auth=trust",
                         "--no-sync", "-E", "UTF8", "--locale=C")
        if done.returncode:
            raise RuntimeError(f"initdb failed: {done.stderr[-2000:]}")
        with open(log, "wb") as log_file:
            self.process = subprocess.Popen(
                [str(self.bindir / "postgres"), "-D", str(data), "-p", str(self.port), "-k", str(self.root),
                 "-c", "listen_addresses=127.0.0.1", "-c", "fsync=off", "-c", "synchronous_commit=off",
                 "-c", "full_page_writes=off", "-c", "max_connections=200", "-c", "shared_buffers=64MB"],
                stdout=log_file, stderr=subprocess.STDOUT, user=self.run_as, cwd=self.root,
                start_new_session=True,  # a Ctrl-C in the test run reaches us, not the server, first
            )
        _wait_for_port(self.port, self.process, "postgres", log)
        self._wait_ready()
        return self

    def _wait_ready(self, timeout: float = 30.0) -> None:
        import psycopg

        deadline = time.monotonic() + timeout
        while True:
            try:
                psycopg.connect(f"host=127.0.0.1 port={self.port} user=postgres dbname=postgres").close()
                return
            except psycopg.OperationalError:  # "the database system is starting up"
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.1)

    def create_database(self, name: str | None = None) -> str:
        """A new empty database; its SQLAlchemy URL."""
        import psycopg

        name = name or f"test_{next(self._names)}"
        with psycopg.connect(f"host=127.0.0.1 port={self.port} user=postgres dbname=postgres",
                             autocommit=True) as conn:
            conn.execute(f'CREATE DATABASE "{name}"')
        return self.url(name)


class RedisServer(_ManagedServer):
    """redis-server on a free loopback port, no snapshots or append-only file."""

    def __init__(self) -> None:
        binary = shutil.which("redis-server")
        if not binary:
            raise ServerUnavailable("redis-server not found: apt-get install redis-server")
        self.binary = binary
        self.port = free_port()
        self.root = Path(tempfile.mkdtemp(prefix="photosearch-redis-"))
        self.process: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> RedisServer:
        log = self.root / "redis.log"
        with open(log, "wb") as log_file:
            self.process = subprocess.Popen(
                [self.binary, "--port", str(self.port), "--bind", "127.0.0.1", "--save", "",
                 "--appendonly", "no", "--dir", str(self.root)],
                stdout=log_file, stderr=subprocess.STDOUT, start_new_session=True,
            )
        _wait_for_port(self.port, self.process, "redis-server", log)
        return self

