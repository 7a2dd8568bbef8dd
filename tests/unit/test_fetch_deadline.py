"""One wall-clock deadline for a whole fetch: connect, status line, headers and body together.

A hostile server on 127.0.0.1 (raw sockets, one thread per connection) answers slowly in each phase. Every
drip is bounded (at most ~8 s) so a broken fetcher makes these tests fail, never hang; the fetcher's
deadline is 1 s. The assertions are about *which* error comes back, not about how fast.
"""

from __future__ import annotations

import socket
import socketserver
import threading
import time
from collections.abc import Iterator

import pytest

from photosearch.config import Settings
from photosearch.errors import FetchError
from photosearch.sources.fetch import Fetcher

DRIP_SECONDS = 8.0  # how long the server keeps dripping before it gives up itself


class _Hostile(socketserver.BaseRequestHandler):
    def handle(self) -> None:
        sock: socket.socket = self.request
        try:
            request = sock.recv(4096).decode("latin-1")
            path = request.split(" ", 2)[1] if " " in request else "/"
            stop = time.monotonic() + DRIP_SECONDS
            if path == "/slow-status":  # the status line itself, a byte at a time
                payload = b"HTTP/1.1 200 OK\r\nContent-Length: 4\r\n\r\n\xff\xd8\xff\xe0"
                for byte in payload:
                    sock.sendall(bytes([byte]))
                    time.sleep(0.25)
                    if time.monotonic() > stop:
                        return
            elif path == "/slow-headers":  # status at once, then a header that never ends
                sock.sendall(b"HTTP/1.1 200 OK\r\nX-Drip: ")
                while time.monotonic() < stop:
                    sock.sendall(b"a")
                    time.sleep(0.1)
            elif path == "/slow-body":  # headers at once, a body byte every 0.1 s
                sock.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 100000\r\n\r\n\xff\xd8\xff")
                while time.monotonic() < stop:
                    sock.sendall(b"\x00")
                    time.sleep(0.1)
            elif path == "/silent":  # accepts, then says nothing at all
                time.sleep(DRIP_SECONDS)
        except OSError:
            pass


class _Server(socketserver.ThreadingTCPServer):
    daemon_threads = True
    allow_reuse_address = True


@pytest.fixture(scope="module")
def hostile() -> Iterator[str]:
    server = _Server(("127.0.0.1", 0), _Hostile)
    threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


def _fetcher(**overrides: object) -> Fetcher:
    settings = Settings(
        fetch_allow=["127.0.0.1"], fetch_connect_timeout=1.0, fetch_read_timeout=5.0, fetch_retries=2,
        max_image_bytes=1_000_000,
    )
    for key, value in overrides.items():
        setattr(settings, key, value)
    return Fetcher(settings, backoff_factor=0.01, total_timeout=1.0)


@pytest.mark.parametrize("path", ["/slow-status", "/slow-headers", "/slow-body"])
def test_a_dripping_server_meets_the_whole_fetch_deadline(hostile: str, path: str) -> None:
    # Each byte arrives well within the 5 s read timeout, so only a deadline over the whole fetch stops it.
    started = time.monotonic()
    with _fetcher() as fetcher, pytest.raises(FetchError, match=r"took longer than 1 s"):
        fetcher.fetch(hostile + path)
    assert time.monotonic() - started < DRIP_SECONDS - 1  # stopped by us, not by the server giving up


def test_retries_do_not_extend_the_deadline(hostile: str) -> None:
    # A silent server makes the read timeout fire; the retries would each wait again.
    with _fetcher(fetch_read_timeout=0.6) as fetcher, pytest.raises(FetchError) as caught:
        started = time.monotonic()
        fetcher.fetch(hostile + "/silent")
    assert time.monotonic() - started < 3 * 0.6  # three read timeouts would be 1.8 s
    assert "took longer than 1 s" in caught.value.message or "did not answer in time" in caught.value.message


def test_the_fetcher_is_usable_after_a_deadline(hostile: str, tmp_path) -> None:  # noqa: ANN001
    with _fetcher() as fetcher:
        with pytest.raises(FetchError):
            fetcher.fetch(hostile + "/slow-headers")
        with pytest.raises(FetchError, match="took longer"):  # a new deadline, not the expired one
            fetcher.fetch(hostile + "/slow-body")
