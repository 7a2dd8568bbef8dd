"""Crash safety of ingest jobs: a `photosearch ingest` killed with SIGKILL mid-job is reported by
`photosearch check` and finished by `check --repair`, and afterwards every photo is stored exactly once,
the index holds exactly the database's photos and the job is `done`. Jobs left queued are picked up again
by the next start (`resume_unfinished`, what `photosearch serve` calls).
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import signal
import socket
import sqlite3
import subprocess
import sys
import time
import urllib.request
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import func, select, update

from photosearch import cli
from photosearch.config import Settings
from photosearch.services import Services
from photosearch.services.check import check
from photosearch.services.jobs import this_runner
from photosearch.storage.models import Job, JobItem, Photo

PHOTOS = 40
STOPPED_PHOTOS = 160


def _photosearch() -> list[str]:
    """The `photosearch` command of the Python running the tests."""
    exe = Path(sys.executable).parent / "photosearch"
    if exe.exists():
        return [str(exe)]
    found = shutil.which("photosearch")
    return [found] if found else [sys.executable, "-m", "photosearch.cli"]


def _stored(db: Path) -> int:
    """Photos committed so far, read the way another process would (the writer may hold the WAL)."""
    if not db.exists():
        return 0
    try:
        with sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=1) as conn:
            return conn.execute("SELECT count(*) FROM photos").fetchone()[0]
    except sqlite3.OperationalError:  # tables not created yet, or locked for a moment
        return 0


@pytest.fixture
def clean_env(monkeypatch: pytest.MonkeyPatch) -> dict[str, str]:
    """No PHOTOSEARCH_* settings from the developer's shell: the defaults a person gets."""
    for key in list(os.environ):
        if key.startswith("PHOTOSEARCH_"):
            monkeypatch.delenv(key)
    return {k: v for k, v in os.environ.items() if not k.startswith("PHOTOSEARCH_")}


def test_ingest_killed_with_sigkill_is_reported_by_check_and_finished_by_repair(
    tmp_path: Path, make_photos, describer, clean_env: dict[str, str], capsys: pytest.CaptureFixture[str]
) -> None:
    """kill -9 after the first batch is committed; `check` exits 1 naming the unfinished job; `check --repair`
    finishes it: 40 distinct photos stored once each, index ids == database ids, job done, check clean.

    The folder lies outside the default folder roots (the user's home): a job started from the command line
    must still be readable when it is resumed."""
    folder = tmp_path / "photos"
    paths = make_photos(folder, PHOTOS)
    data = tmp_path / "data"
    log = tmp_path / "ingest.log"
    with log.open("wb") as out:
        proc = subprocess.Popen(
            [*_photosearch(), "ingest", "killme", "--folder", str(folder), "--data-dir", str(data), "--quiet"],
            stdout=out, stderr=subprocess.STDOUT, env=clean_env,
        )
        try:
            deadline = time.monotonic() + 180
            while (stored := _stored(data / "photosearch.db")) == 0:
                assert proc.poll() is None, f"ingest ended before it could be killed:\n{log.read_text()}"
                assert time.monotonic() < deadline, f"no photo stored in time:\n{log.read_text()}"
                time.sleep(0.02)
            os.kill(proc.pid, signal.SIGKILL)
        finally:
            if proc.poll() is None:
                proc.kill()
            proc.wait(timeout=30)
    assert proc.returncode == -signal.SIGKILL
    assert 0 < stored < PHOTOS, f"killed too late: {stored} photos already stored"

    # `photosearch check`: the killed job is reported, and the exit status says there are problems
    with pytest.raises(SystemExit) as exited:
        cli.main(["check", "--data-dir", str(data)])
    assert exited.value.code == 1
    report = json.loads(capsys.readouterr().out)
    assert report["unfinished_jobs"] == [1]

    # `photosearch check --repair` (the same service; the session's encoder instead of loading one again)
    services = Services.create(Settings.from_env(data), describer=lambda: describer)
    try:
        repaired = check(services, repair=True)
        assert repaired["repaired"]["jobs_finished"] == [1]

        with services.db.session() as session:
            assert session.get(Job, 1).status == "done"
            hashes = list(session.scalars(select(Photo.content_hash)))
            ids = set(session.scalars(select(Photo.id)))
            items = dict(session.execute(select(JobItem.status, func.count()).group_by(JobItem.status)).all())
        assert len(hashes) == len(set(hashes)) == PHOTOS  # every photo, exactly once
        assert set(hashes) == {hashlib.sha256(p.read_bytes()).hexdigest() for p in paths}
        assert items == {"done": PHOTOS}
        assert services.index.photo_ids() == ids
        final = check(services)
        assert final["problems"] == 0, final
    finally:
        services.db.dispose()


def _children(pid: int) -> set[int]:
    """The process's direct children (its describing workers), from /proc."""
    found: set[int] = set()
    for listing in Path(f"/proc/{pid}/task").glob("*/children"):
        try:
            found |= {int(child) for child in listing.read_text().split()}
        except OSError:  # the thread ended meanwhile
            continue
    return found


def _alive(pid: int) -> bool:
    try:
        return Path(f"/proc/{pid}/status").read_text().split("State:")[1].split()[0] != "Z"
    except (OSError, IndexError):
        return False


@pytest.mark.skipif(not Path("/proc/self/task").exists(), reason="reads child processes from /proc")
def test_ctrl_c_stops_an_ingest_which_the_same_command_finishes(
    tmp_path: Path, make_photos, clean_env: dict[str, str]
) -> None:
    """Ctrl+C (SIGINT) after the first batch is stored: exit status 130, a line on how to go on, the job
    cancelled (not left "running" for a later server start to take up), no describing worker left behind; the
    same command again stores the rest, every photo once."""
    folder = tmp_path / "photos"
    make_photos(folder, STOPPED_PHOTOS)  # enough that the job is far from done at the first commit
    data = tmp_path / "data"
    command = [*_photosearch(), "ingest", "stopme", "--folder", str(folder), "--data-dir", str(data), "--quiet"]
    env = {**clean_env, "PHOTOSEARCH_DESCRIBE_PROCESSES": "2"}  # workers, as on any machine with 2+ cores
    # A shell starts background commands with SIGINT ignored; a person's terminal does not.
    proc = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env,
                            preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
    workers: set[int] = set()
    try:
        deadline = time.monotonic() + 180
        while _stored(data / "photosearch.db") == 0:
            assert proc.poll() is None, f"ingest ended before it could be stopped:\n{proc.stderr.read()}"
            assert time.monotonic() < deadline, "no photo stored in time"
            workers |= _children(proc.pid)
            time.sleep(0.02)
        workers |= _children(proc.pid)
        os.kill(proc.pid, signal.SIGINT)
        out, err = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(timeout=30)
    assert proc.returncode == 130, err[-2000:]
    assert "run the same command again to go on" in err, err[-2000:]
    assert not out  # no "done: ..." line: the job did not finish
    assert workers, "the ingest started no describing workers"
    deadline = time.monotonic() + 10
    while any(_alive(pid) for pid in workers) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not any(_alive(pid) for pid in workers), "a describing worker outlived the stopped ingest"

    again = subprocess.run(command, capture_output=True, text=True, env=env, timeout=300)
    assert again.returncode == 0, again.stderr[-2000:]
    assert again.stdout.startswith(f"done: {STOPPED_PHOTOS} photos indexed"), again.stdout
    with sqlite3.connect(data / "photosearch.db") as conn:
        stored = conn.execute("SELECT count(DISTINCT content_hash), count(*) FROM photos").fetchone()
        assert stored == (STOPPED_PHOTOS, STOPPED_PHOTOS)
        assert conn.execute("SELECT status FROM jobs ORDER BY id").fetchall() == [("cancelled",), ("done",)]


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _api(port: int, path: str, body: dict | None = None) -> dict:
    data = None if body is None else json.dumps(body).encode()
    request = urllib.request.Request(f"http://127.0.0.1:{port}/api{path}", data=data,
                                     headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=30) as response:
        return json.loads(response.read())


def _serve(data: Path, port: int, env: dict[str, str], log: Path) -> subprocess.Popen:
    """`photosearch serve` as a person starts it in a terminal (SIGINT not ignored), once it answers."""
    proc = subprocess.Popen([*_photosearch(), "serve", "--no-demo", "--port", str(port), "--data-dir", str(data)],
                            stdout=log.open("ab"), stderr=subprocess.STDOUT, env=env,
                            preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
    deadline = time.monotonic() + 120
    while True:
        assert proc.poll() is None, f"the server exited:\n{log.read_text()}"
        assert time.monotonic() < deadline, f"the server did not answer:\n{log.read_text()}"
        try:
            _api(port, "/profiles")
            return proc
        except OSError:
            time.sleep(0.1)


@pytest.mark.parametrize("stop", [signal.SIGINT, signal.SIGTERM], ids=["ctrl-c", "sigterm"])
def test_stopping_the_server_mid_job_leaves_the_job_to_the_next_start(
    tmp_path: Path, make_photos, clean_env: dict[str, str], stop: signal.Signals
) -> None:
    """Ctrl+C (or SIGTERM, as systemd and `docker stop` send) on `photosearch serve` while it ingests a folder: the
    server stops its job and exits with status 0; the job stays unfinished, not "failed" (it was, with "internal error":
    the job ran on into the interpreter's shutdown), and the next start finishes it. (SIGTERM used to kill the
    server mid-write, leaving its describing workers' semaphores to the resource tracker.)"""
    folder = tmp_path / "photos"
    make_photos(folder, STOPPED_PHOTOS)
    data, log = tmp_path / "data", tmp_path / "serve.log"
    env = {**clean_env, "PHOTOSEARCH_FOLDER_ROOTS": str(tmp_path), "PHOTOSEARCH_DESCRIBE_PROCESSES": "2"}
    port = _free_port()
    server = _serve(data, port, env, log)
    try:
        _api(port, "/profiles", {"name": "p"})
        job = _api(port, "/profiles/p/sources", {"folder": str(folder)})
        deadline = time.monotonic() + 180
        while _stored(data / "photosearch.db") == 0:
            assert time.monotonic() < deadline, f"no photo stored in time:\n{log.read_text()}"
            time.sleep(0.02)
        server.send_signal(stop)
        server.wait(timeout=60)
    finally:
        if server.poll() is None:
            server.kill()
            server.wait(timeout=30)
    assert server.returncode == 0, log.read_text()[-3000:]  # a clean stop (SIGTERM used to kill it: -15)
    with sqlite3.connect(data / "photosearch.db") as conn:
        status, error = conn.execute("SELECT status, error FROM jobs WHERE id = ?", (job["id"],)).fetchone()
    assert (status, error) == ("running", None), log.read_text()[-3000:]
    assert 0 < _stored(data / "photosearch.db") < STOPPED_PHOTOS, "stopped too late to tell"

    server = _serve(data, port, env, log)
    try:
        deadline = time.monotonic() + 180
        while (state := _api(port, f"/jobs/{job['id']}"))["status"] != "done":
            assert state["status"] == "running", state
            assert time.monotonic() < deadline, f"the job was not resumed:\n{log.read_text()[-3000:]}"
            time.sleep(0.2)
        assert state["done"] == STOPPED_PHOTOS
        assert _api(port, "/profiles/p")["photo_count"] == STOPPED_PHOTOS
    finally:
        server.send_signal(signal.SIGINT)
        server.wait(timeout=60)
    assert "crashed" not in log.read_text() and "leaked" not in log.read_text(), log.read_text()[-3000:]


def _gone() -> int:
    """The id of a process that has exited and been reaped."""
    child = subprocess.Popen(["true"])
    child.wait()
    return child.pid


def test_a_queued_job_is_resumed_by_the_next_start(tmp_path: Path, make_photos, describer) -> None:
    """A job created but never run (the server stopped) is found by `resume_unfinished` on the next start and
    finished on the background worker; a command-line folder job resumes even when the configured roots no
    longer include its folder. A job that another live process is running is left to it."""
    folder = tmp_path / "elsewhere"
    make_photos(folder, 3)
    settings = Settings(data_dir=tmp_path / "data", folder_roots=[], demo=False)
    first = Services.create(settings, describer=lambda: describer)
    first.library.create_profile("later")
    job_id = first.jobs.create_job("later", "folder", {"folder": str(folder), "root": str(folder)})
    first.db.dispose()

    again = Services.create(settings, describer=lambda: describer)
    try:
        with again.db.session() as session:  # while another live process runs it, a start leaves it to that one
            session.execute(update(Job).where(Job.id == job_id).values(status="running", runner=this_runner(),
                                                                        heartbeat_at=datetime.now(UTC)))
        assert again.jobs.resume_unfinished() == []
        with again.db.session() as session:  # its process died (killed): the runner named is gone
            session.execute(update(Job).where(Job.id == job_id).values(runner=f"{socket.gethostname()}:{_gone()}"))
        assert again.jobs.resume_unfinished() == [job_id]
        again.jobs.wait_idle(timeout=120)
        status = again.jobs.job_status(job_id)
        assert (status.status, status.done, status.failed) == ("done", 3, 0), status
        assert check(again)["problems"] == 0
    finally:
        again.db.dispose()
