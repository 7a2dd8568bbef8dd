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
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
DIST = ROOT / "frontend" / "dist"
ARTIFACTS = Path(__file__).resolve().parent / "artifacts"
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
        with urllib.request.urlopen(self.base_url + path, timeout=10) as r:
            return json.load(r)


@pytest.fixture(scope="session")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
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
    env = {**os.environ, "PHOTOSEARCH_DEMO": "0", "PYTHONUNBUFFERED": "1"}
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
    context = browser.new_context(viewport={"width": 1280, "height": 860}, base_url=server.base_url)
    context.set_default_timeout(20_000)
    pg = context.new_page()
    errors: list[str] = []
    pg.on("pageerror", lambda exc: errors.append(str(exc)))
    pg.errors = errors  # type: ignore[attr-defined]
    try:
        yield pg
    finally:
        context.close()
