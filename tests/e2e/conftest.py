"""Fixtures for the browser end-to-end tests.

They build nothing: the SPA must already be built into ``frontend/dist`` (``npm run build``),
and Debian's Chromium must be at /usr/bin/chromium. The real server is started as a
subprocess on a free port with an empty data directory and stopped afterwards.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
DIST = ROOT / "frontend" / "dist"
ARTIFACTS = Path(__file__).resolve().parent / "artifacts"
SCREENSHOTS = ROOT / "docs" / "screenshots"
CHROMIUM = os.environ.get("PHOTOSEARCH_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
    "--disable-sync",
]
# PHOTOSEARCH_E2E_URL=http://127.0.0.1:5000 runs the tests against an already running server instead.
SERVER_START_TIMEOUT_S = float(os.environ.get("PHOTOSEARCH_E2E_START_TIMEOUT", "180"))


def _photosearch_exe() -> list[str]:
    exe = ROOT / ".venv" / "bin" / "photosearch"
    if exe.exists():
        return [str(exe)]
    found = shutil.which("photosearch")
    if found:
        return [found]
    return [sys.executable, "-m", "photosearch.cli"]


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _tail(path: Path, n: int = 60) -> str:
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-n:])
    except OSError:
        return "(no log)"


class Server:
    def __init__(self, base_url: str, data_dir: Path, log: Path, proc: subprocess.Popen[bytes] | None):
        self.base_url = base_url
        self.data_dir = data_dir
        self.log = log
        self.proc = proc

    def get_json(self, path: str) -> object:
        with urllib.request.urlopen(self.base_url + path, timeout=30) as r:
            return json.load(r)

    def post_json(self, path: str, body: object) -> object:
        req = urllib.request.Request(
            self.base_url + path, data=json.dumps(body).encode(), method="POST",
            headers={"Content-Type": "application/json"},
        )
        with urllib.request.urlopen(req, timeout=30) as r:
            text = r.read()
        return json.loads(text) if text else None

    def wait_for_job(self, job_id: int, timeout_s: float = 300) -> dict:
        """Poll a job until it is finished; its final JSON."""
        deadline = time.monotonic() + timeout_s
        while True:
            try:
                job = self.get_json(f"/api/jobs/{job_id}")
            except (TimeoutError, urllib.error.URLError) as e:  # a busy server on a loaded machine: ask again
                if time.monotonic() > deadline:
                    raise TimeoutError(f"job {job_id}: no answer after {timeout_s:.0f}s ({e})") from e
                continue
            assert isinstance(job, dict)
            if job["status"] in ("done", "failed", "cancelled"):
                return job
            if time.monotonic() > deadline:
                raise TimeoutError(f"job {job_id} still {job['status']} after {timeout_s:.0f}s")
            time.sleep(0.3)


@pytest.fixture(scope="session")
def photo_folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A folder the server may ingest from (its PHOTOSEARCH_FOLDER_ROOTS)."""
    return tmp_path_factory.mktemp("photos")


@pytest.fixture(scope="session")
def server(tmp_path_factory: pytest.TempPathFactory, photo_folder: Path) -> Iterator[Server]:
    external = os.environ.get("PHOTOSEARCH_E2E_URL")
    if external:  # run against a server someone else started (debugging the SPA)
        yield Server(external.rstrip("/"), Path(), Path(), None)
        return
    if not (DIST / "index.html").exists():
        pytest.fail(f"{DIST}/index.html is missing: build the SPA first with `npm run build`", pytrace=False)
    root = tmp_path_factory.mktemp("server")
    data_dir = root / "data"
    log = root / "server.log"
    port = _free_port()
    env = {**os.environ, "PHOTOSEARCH_DEMO": "0", "PYTHONUNBUFFERED": "1",
           "PHOTOSEARCH_FOLDER_ROOTS": str(photo_folder)}
    cmd = [*_photosearch_exe(), "serve", "--data-dir", str(data_dir), "--port", str(port), "--no-demo"]
    with open(log, "wb") as out:
        proc = subprocess.Popen(cmd, cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True)
    base = f"http://127.0.0.1:{port}"
    srv = Server(base, data_dir, log, proc)
    try:
        deadline = time.monotonic() + SERVER_START_TIMEOUT_S
        while True:
            if proc.poll() is not None:
                pytest.fail(f"server exited with {proc.returncode}:\n{_tail(log)}", pytrace=False)
            try:
                health = srv.get_json("/api/health")
                if isinstance(health, dict) and health.get("ok"):
                    break
            except (urllib.error.URLError, ConnectionError, TimeoutError, json.JSONDecodeError):
                pass
            if time.monotonic() > deadline:
                pytest.fail(f"server not healthy after {SERVER_START_TIMEOUT_S:.0f}s:\n{_tail(log)}", pytrace=False)
            time.sleep(0.25)
        yield srv
    finally:
        if proc.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGTERM)
            try:
                proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait(timeout=5)
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(log, ARTIFACTS / "server.log")


@pytest.fixture(scope="session")
def artifacts() -> Path:
    """tests/e2e/artifacts/ (gitignored): screenshots and the server's log."""
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    return ARTIFACTS


@pytest.fixture(scope="session")
def browser():
    if not Path(CHROMIUM).exists():
        pytest.skip(f"{CHROMIUM} not found (apt-get install chromium)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        b = pw.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        try:
            yield b
        finally:
            b.close()


@pytest.fixture
def page(browser, server: Server):
    yield from _page(browser, server, {"width": 1280, "height": 860})


@pytest.fixture
def phone(browser, server: Server):
    """A 390 px wide phone screen (iPhone 12-15)."""
    yield from _page(browser, server, {"width": 390, "height": 844})


def _page(browser, server: Server, viewport: dict[str, int]):
    context = browser.new_context(viewport=viewport, base_url=server.base_url)
    context.set_default_timeout(20_000)
    pg = context.new_page()
    errors: list[str] = []
    pg.on("pageerror", lambda exc: errors.append(str(exc)))
    pg.errors = errors  # type: ignore[attr-defined]
    try:
        yield pg
    finally:
        context.close()


@dataclass
class Library:
    """A collection of real photos with EXIF dates, ingested through the API once per session."""

    profile: str  # the URL-safe name
    display_name: str
    ids: dict[str, int]  # skimage photo name -> photo id
    newest_first: list[str]


@pytest.fixture(scope="session")
def paris_folder(server: Server, photo_folder: Path) -> Path:
    """tests/e2e/e2e_library.py's photos, in a folder the server may read."""
    from e2e_library import write_library

    if server.proc is None:
        pytest.skip("needs the server these tests start (it reads their photo folder)")
    folder = photo_folder / "paris"
    write_library(folder)
    return folder


@pytest.fixture(scope="session")
def library(server: Server, paris_folder: Path) -> Library:
    from e2e_library import LIBRARY

    display = "Été à Paris"
    try:
        profile = server.post_json("/api/profiles", {"name": display})
    except urllib.error.HTTPError as e:
        pytest.skip(f"this server refuses the collection name {display!r} ({e.code}): no display names yet")
    assert isinstance(profile, dict)
    job = server.post_json(f"/api/profiles/{profile['name']}/sources", {"folder": str(paris_folder)})
    assert isinstance(job, dict)
    final = server.wait_for_job(job["id"])
    assert final["status"] == "done" and final["done"] == len(LIBRARY), final
    try:
        page = server.get_json(f"/api/profiles/{profile['name']}/photos?limit=200")
    except urllib.error.HTTPError as e:
        pytest.skip(f"this server has no timeline endpoint yet ({e.code})")
    assert isinstance(page, dict)
    ids = {Path(p["source"]).stem: p["id"] for p in page["photos"]}
    return Library(profile["name"], profile.get("display_name", display), ids, [p.name for p in LIBRARY])


@pytest.fixture(scope="session")
def shoot(artifacts: Path):
    """Save a screenshot in tests/e2e/artifacts/, and in docs/screenshots/ when PHOTOSEARCH_E2E_SCREENSHOTS=1
    (how the README's pictures are made; off by default so a test run leaves the repository as it was)."""
    to_docs = os.environ.get("PHOTOSEARCH_E2E_SCREENSHOTS") == "1"

    def save(page, name: str, full_page: bool = False, locator=None) -> None:
        targets = [artifacts / f"{name}.png"] + ([SCREENSHOTS / f"{name}.png"] if to_docs else [])
        for path in targets:
            path.parent.mkdir(parents=True, exist_ok=True)
            if locator is not None:
                locator.screenshot(path=str(path))
            else:
                page.screenshot(path=str(path), full_page=full_page)

    return save
