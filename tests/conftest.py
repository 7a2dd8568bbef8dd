"""Shared fixtures: real settings, services, app and a local photo server, all on loopback.

Nothing of our own stack is mocked. To keep the suite fast on a small machine the services describe photos
with the EfficientNet-Lite0 encoder only (labels, no captioner or text models), loaded once per session.

Every test runs under `loopback_only`: a connection to anything but 127.0.0.1 / ::1 fails the test before
a packet leaves, and every connection attempt is recorded (the SSRF tests assert that refused URLs were
never dialled).
"""

from __future__ import annotations

import os

# One OpenMP thread for torch in the test process (and the CLIs it starts): on the 2 shared cores, OpenMP's
# spinning thread team made encoding 2-4x slower than one thread. Set OMP_NUM_THREADS to override.
os.environ.setdefault("OMP_NUM_THREADS", "1")

import importlib.util
import io
import ipaddress
import socket
import sys
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from functools import partial
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from types import ModuleType

import numpy as np
import pytest
from PIL import Image

from photosearch.config import Settings
from photosearch.services import Services
from photosearch.services.describe import Describer

ROOT = Path(__file__).resolve().parents[1]
MAX_UPLOAD_BYTES = 4_000_000  # small, so the 413 test stays cheap; the whole bad-image corpus still fits

_real_connect = socket.socket.connect
_real_connect_ex = socket.socket.connect_ex
CONNECTS: list[str] = []  # host of every connect attempt in the current test


def _is_loopback(address: object) -> bool:
    host = address[0] if isinstance(address, tuple) else address
    try:
        return ipaddress.ip_address(str(host).split("%")[0]).is_loopback
    except ValueError:
        return False


@pytest.fixture(autouse=True)
def loopback_only(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """No test may reach beyond this machine; the attempts it makes are listed."""
    CONNECTS.clear()

    def guarded(self: socket.socket, address: object, _real: Callable = _real_connect) -> object:
        if self.family in (socket.AF_INET, socket.AF_INET6):
            CONNECTS.append(str(address[0] if isinstance(address, tuple) else address))
            if not _is_loopback(address):
                raise AssertionError(f"test tried to connect to {address}")
        return _real(self, address)

    monkeypatch.setattr(socket.socket, "connect", guarded)
    monkeypatch.setattr(socket.socket, "connect_ex", partial(_guarded_ex, guarded))
    return CONNECTS


def _guarded_ex(guarded: Callable, self: socket.socket, address: object) -> object:
    return guarded(self, address, _real=_real_connect_ex)


# ------------------------------------------------------------------------------------------ app stack


@pytest.fixture(scope="session")
def describer() -> Describer:
    """The real image encoder (labels only), loaded once: about 3 s."""
    from photosearch.vision.encoder import EfficientNetLite0Encoder

    return Describer(encoder=EfficientNetLite0Encoder())


def make_settings(tmp: Path, **overrides: object) -> Settings:
    """Settings for a test: data in `tmp/data`, folders readable below `tmp`, fetching 127.0.0.1 allowed."""
    base: dict[str, object] = dict(
        data_dir=tmp / "data",
        fetch_allow=["127.0.0.1"],
        folder_roots=[tmp],
        demo=False,
        max_upload_bytes=MAX_UPLOAD_BYTES,
        fetch_connect_timeout=2.0,
        fetch_read_timeout=2.0,
        fetch_retries=0,
        static_dir=tmp / "no-spa",  # the API alone: no dependency on a built frontend
    )
    base.update(overrides)
    return Settings(**base)


# ------------------------------------------------------------------------------------------ databases
# A test module marked `pytest.mark.databases("sqlite", "postgresql")` runs each of its tests once per
# store: the `settings` fixture then points at a fresh database of that kind (PostgreSQL: a throwaway
# server started once per session, see tests/servers.py). Unmarked tests use SQLite only.


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    marker = metafunc.definition.get_closest_marker("databases")
    if marker and "database_url" in metafunc.fixturenames:
        metafunc.parametrize("database_url", marker.args, indirect=True)


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[object]:
    from servers import PostgresServer, started_or_skip

    with started_or_skip(PostgresServer) as server:
        yield server


@pytest.fixture
def database_url(request: pytest.FixtureRequest) -> str | None:
    """None (SQLite in the data directory) or the URL of an empty PostgreSQL database."""
    kind = getattr(request, "param", "sqlite")
    if kind == "sqlite":
        return None
    if kind == "postgresql":
        return request.getfixturevalue("postgres_server").create_database()
    raise ValueError(f"unknown database kind {kind!r}")


@pytest.fixture
def settings(tmp_path: Path, database_url: str | None) -> Settings:
    return make_settings(tmp_path, database_url=database_url)


@pytest.fixture
def services(settings: Settings, describer: Describer) -> Iterator[Services]:
    svc = Services.create(settings, describer=lambda: describer)
    yield svc
    svc.jobs.wait_idle(timeout=120)  # a background job must not outlive its data directory
    svc.db.dispose()


@pytest.fixture
def app(settings: Settings, services: Services):  # noqa: ANN201 - flask.Flask
    from photosearch.api import create_app

    return create_app(settings, services)


@pytest.fixture
def client(app):  # noqa: ANN001, ANN201 - flask test client
    return app.test_client()


@pytest.fixture
def make_client(tmp_path: Path, describer: Describer) -> Iterator[Callable[..., tuple]]:
    """`make_client(**setting_overrides)` -> (test client, services) for an app with other settings
    (its own data directory below tmp_path)."""
    from photosearch.api import create_app

    made: list[Services] = []

    def make(**overrides: object) -> tuple:
        tmp = tmp_path / f"app{len(made)}"
        tmp.mkdir()
        s = make_settings(tmp, **overrides)
        svc = Services.create(s, describer=lambda: describer)
        made.append(svc)
        return create_app(s, svc).test_client(), svc

    yield make
    for svc in made:
        svc.jobs.wait_idle(timeout=120)
        svc.db.dispose()


def wait_for_job(client, job_id: int, timeout: float = 120.0) -> dict:  # noqa: ANN001
    """Poll GET /api/jobs/<id> until the job is finished; the final status."""
    deadline = time.monotonic() + timeout
    while True:
        response = client.get(f"/api/jobs/{job_id}")
        assert response.status_code == 200, response.get_json()
        status = response.get_json()
        if status["status"] in ("done", "failed", "cancelled"):
            return status
        if time.monotonic() > deadline:
            raise AssertionError(f"job {job_id} still {status['status']} after {timeout} s: {status}")
        time.sleep(0.05)


@pytest.fixture
def job_waiter() -> Callable[..., dict]:
    return wait_for_job


# --------------------------------------------------------------------------------------------- photos

_SAMPLES = ("astronaut", "chelsea", "coffee", "rocket", "camera", "coins", "horse", "page")


@pytest.fixture(scope="session")
def sample_images() -> list[Image.Image]:
    """A few real photos bundled with scikit-image (read from disk, never downloaded)."""
    from skimage import data

    images = []
    for name in _SAMPLES:
        array = np.asarray(getattr(data, name)())
        if array.dtype == bool:
            array = array.astype(np.uint8) * 255
        images.append(Image.fromarray(array).convert("RGB"))
    return images


def varied_photo(images: list[Image.Image], i: int, size: tuple[int, int] = (96, 72)) -> Image.Image:
    """Photo number `i`: a crop of a real photo, tinted so that every `i` gives different bytes."""
    base = images[i % len(images)]
    w, h = base.size
    step = i // len(images)
    left, top = (step * 37) % max(1, w // 3), (step * 23) % max(1, h // 3)
    crop = base.crop((left, top, left + 2 * w // 3, top + 2 * h // 3)).resize(size)
    tint = np.array([(i * 7) % 31, (i * 13) % 29, (i * 3) % 23], dtype=np.int16)
    pixels = np.clip(np.asarray(crop, dtype=np.int16) + tint, 0, 255).astype(np.uint8)
    return Image.fromarray(pixels)


def photo_bytes(image: Image.Image, fmt: str = "JPEG") -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, fmt, **({"quality": 85} if fmt == "JPEG" else {}))
    return buffer.getvalue()


@pytest.fixture
def make_photos(sample_images: list[Image.Image]) -> Callable[..., list[Path]]:
    """`make_photos(folder, n)` writes n distinct small photos (JPEG, every third one PNG) and lists them."""

    def make(folder: Path, n: int, size: tuple[int, int] = (96, 72), start: int = 0) -> list[Path]:
        folder.mkdir(parents=True, exist_ok=True)
        paths = []
        for i in range(start, start + n):
            fmt, ext = ("PNG", "png") if i % 3 == 2 else ("JPEG", "jpg")
            path = folder / f"photo_{i:04d}.{ext}"
            path.write_bytes(photo_bytes(varied_photo(sample_images, i, size), fmt))
            paths.append(path)
        return paths

    return make


@pytest.fixture
def stocked(services: Services, make_photos: Callable[..., list[Path]], tmp_path: Path) -> Services:
    """Services with a profile "p" of three photos, ingested from a folder."""
    make_photos(tmp_path / "album", 3)
    services.library.create_profile("p")
    job_id = services.jobs.create_job("p", "folder", {"folder": str(tmp_path / "album")})
    assert services.jobs.run_job(job_id).done == 3
    return services


def load_corpus_module() -> ModuleType:
    """tests/fixtures/make_bad_images.py as a module (also imported by tests/unit/test_imageio.py)."""
    if "make_bad_images" in sys.modules:
        return sys.modules["make_bad_images"]
    path = ROOT / "tests" / "fixtures" / "make_bad_images.py"
    spec = importlib.util.spec_from_file_location("make_bad_images", path)
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    sys.modules["make_bad_images"] = module  # dataclasses look their module up while being created
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="session")
def bad_corpus(tmp_path_factory: pytest.TempPathFactory) -> list:
    """The bad/odd image corpus (tests/fixtures/make_bad_images.py) written once: [CorpusItem]."""
    return load_corpus_module().generate_corpus(tmp_path_factory.mktemp("bad-images"))


# ---------------------------------------------------------------------------------- local HTTP server


@dataclass
class LocalServer:
    """A folder served on 127.0.0.1, plus a few special paths (see `_Handler`)."""

    root: Path
    port: int
    hits: list[str] = field(default_factory=list)

    def url(self, path: str, host: str = "127.0.0.1") -> str:
        return f"http://{host}:{self.port}/{path.lstrip('/')}"


class _Handler(SimpleHTTPRequestHandler):
    """Files from the folder, and:
    /redirect/<path>   302 to /<path> on this server
    /redirect-out      302 to the cloud metadata address (must be refused, never dialled)
    /html-as-jpeg.jpg  an HTML page served as image/jpeg
    anything missing   404 (SimpleHTTPRequestHandler's own)"""

    server_version = "photosearch-test"
    hits: list[str]

    def do_GET(self) -> None:  # noqa: N802 - http.server's naming
        self.hits.append(self.path)
        if self.path.startswith("/redirect/"):
            self._redirect("/" + self.path.removeprefix("/redirect/"))
        elif self.path == "/redirect-out":
            self._redirect("http://169.254.169.254/latest/meta-data/")
        elif self.path == "/html-as-jpeg.jpg":
            body = b"<!DOCTYPE html><html><body>not a photo</body></html>"
            self.send_response(200)
            self.send_header("Content-Type", "image/jpeg")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)
        else:
            super().do_GET()

    def _redirect(self, location: str) -> None:
        self.send_response(302)
        self.send_header("Location", location)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, *args: object) -> None:  # quiet
        pass


def start_local_server(root: Path) -> tuple[LocalServer, ThreadingHTTPServer]:
    hits: list[str] = []
    handler = type("Handler", (_Handler,), {"hits": hits})
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), partial(handler, directory=str(root)))
    httpd.daemon_threads = True
    threading.Thread(target=httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()
    return LocalServer(root=root, port=httpd.server_address[1], hits=hits), httpd


@pytest.fixture
def local_http_server(tmp_path: Path) -> Iterator[LocalServer]:
    """Serves `tmp_path/www` on 127.0.0.1 (an ephemeral port) for the length of one test."""
    root = tmp_path / "www"
    root.mkdir()
    server, httpd = start_local_server(root)
    yield server
    httpd.shutdown()
    httpd.server_close()
