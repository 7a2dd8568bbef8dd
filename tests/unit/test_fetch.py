"""The safe fetcher against a real HTTP server on 127.0.0.1, and the SSRF guard against every trick we know.

No test sends a packet anywhere but the loopback interface: an autouse guard fails any socket connect to
another address, and names other than `localhost` go through a fake resolver instead of DNS.
"""

from __future__ import annotations

import io
import ipaddress
import shutil
import socket
import ssl
import subprocess
import threading
import time
from collections import Counter
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from PIL import Image

from photosearch.config import Settings
from photosearch.errors import FetchError
from photosearch.sources.fetch import Fetcher, fetch_url, literal_ip, parse_target, refusal_reason


def _jpeg() -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (32, 24), (200, 30, 30)).save(out, "JPEG")
    return out.getvalue()


def _png() -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (8, 8), (0, 0, 255)).save(out, "PNG")
    return out.getvalue()


JPEG, PNG = _jpeg(), _png()
HTML = b"<!DOCTYPE html><html><body>Sign in to see this photo</body></html>"


# ----------------------------------------------------------------------------------- loopback-only guard

_real_connect = socket.socket.connect
_real_connect_ex = socket.socket.connect_ex
CONNECTS: list[str] = []


def _loopback(address: object) -> bool:
    host = address[0] if isinstance(address, tuple) else str(address)
    try:
        return ipaddress.ip_address(str(host).split("%")[0]).is_loopback
    except ValueError:
        return False


@pytest.fixture(autouse=True)
def only_loopback(monkeypatch) -> Iterator[list[str]]:
    """Every connect is recorded; one to a non-loopback address fails the test before it happens."""
    CONNECTS.clear()

    def guarded(self, address, _real=_real_connect):
        CONNECTS.append(str(address[0] if isinstance(address, tuple) else address))
        if self.family in (socket.AF_INET, socket.AF_INET6) and not _loopback(address):
            raise AssertionError(f"test tried to connect to {address}")
        return _real(self, address)

    def guarded_ex(self, address):
        return guarded(self, address, _real=_real_connect_ex)

    monkeypatch.setattr(socket.socket, "connect", guarded)
    monkeypatch.setattr(socket.socket, "connect_ex", guarded_ex)
    yield CONNECTS


# ------------------------------------------------------------------------------------------- the server


class QuietServer(ThreadingHTTPServer):
    daemon_threads = True

    def handle_error(self, request, client_address) -> None:  # clients hang up on purpose here
        pass


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    hits: Counter = Counter()
    hosts: list[str] = []
    active = 0
    max_active = 0
    lock = threading.Lock()

    def log_message(self, *args) -> None:  # keep test output quiet
        pass

    def _send(self, status: int, body: bytes = b"", ctype: str = "image/jpeg", **headers: str) -> None:
        self.send_response(status)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(body)))
        for key, value in headers.items():
            self.send_header(key.replace("_", "-"), value)
        self.end_headers()
        self.wfile.write(body)

    def _redirect(self, location: str, status: int = 302) -> None:
        self._send(status, b"moved", "text/plain", Location=location)

    def do_GET(self) -> None:  # noqa: C901 - one route table
        path = self.path
        Handler.hits[path] += 1
        Handler.hosts.append(self.headers.get("Host", ""))
        port = self.server.server_address[1]
        if path == "/photo.jpg":
            self._send(200, JPEG)
        elif path == "/photo.png":
            self._send(200, PNG, "image/png")
        elif path == "/mislabelled":  # a PNG served as HTML: the bytes decide
            self._send(200, PNG, "text/html")
        elif path == "/page":  # an HTML page served as a JPEG
            self._send(200, HTML, "image/jpeg")
        elif path == "/text":
            self._send(200, b"just some text", "image/jpeg")
        elif path == "/empty":
            self._send(200, b"")
        elif path == "/missing":
            self._send(404, b"no", "text/plain")
        elif path == "/forbidden":
            self._send(403, b"no", "text/plain")
        elif path.startswith("/flaky"):  # 503 once, then the photo
            if Handler.hits[path] == 1:
                self._send(503, b"busy", "text/plain")
            else:
                self._send(200, JPEG)
        elif path == "/busy":
            self._send(429, b"slow down", "text/plain", Retry_After="0")
        elif path == "/down":
            self._send(503, b"down", "text/plain")
        elif path.startswith("/redirect/"):
            n = int(path.rsplit("/", 1)[1])
            self._redirect(f"/redirect/{n - 1}" if n > 1 else "/photo.jpg", 301 if n % 2 else 307)
        elif path == "/relative":
            self._redirect("photo.png")
        elif path == "/loop":
            self._redirect("/loop")
        elif path == "/no-location":
            self._send(302, b"", "text/plain")
        elif path == "/to-private":
            self._redirect("http://10.0.0.1/photo.jpg")
        elif path == "/to-metadata":
            self._redirect("http://169.254.169.254/latest/meta-data/")
        elif path == "/to-ip":
            self._redirect(f"http://127.0.0.1:{port}/photo.jpg")
        elif path == "/to-ftp":
            self._redirect("ftp://example.org/photo.jpg")
        elif path == "/slow":
            time.sleep(1.5)
            self._send(200, JPEG)
        elif path == "/drip":  # headers at once, then a byte every 50 ms
            self.send_response(200)
            self.send_header("Content-Length", "100")
            self.end_headers()
            try:
                for _ in range(100):
                    self.wfile.write(b"\xff")
                    self.wfile.flush()
                    time.sleep(0.05)
            except OSError:
                pass
        elif path == "/big-declared":
            self.send_response(200)
            self.send_header("Content-Length", str(50_000_000))
            self.end_headers()
            self.wfile.write(JPEG)  # the client must give up on the header alone
        elif path == "/big-streamed":  # no Content-Length: the body ends when the connection closes
            self.send_response(200)
            self.send_header("Connection", "close")
            self.end_headers()
            self.close_connection = True
            try:
                self.wfile.write(JPEG[:4])
                for _ in range(40):
                    self.wfile.write(bytes(64 * 1024))
            except OSError:
                pass
        elif path == "/short":  # promises 5000 bytes, sends fewer, hangs up
            self.send_response(200)
            self.send_header("Content-Length", "5000")
            self.end_headers()
            self.wfile.write(JPEG[:100])
            self.close_connection = True
        elif path == "/concurrent":
            with Handler.lock:
                Handler.active += 1
                Handler.max_active = max(Handler.max_active, Handler.active)
            time.sleep(0.15)
            with Handler.lock:
                Handler.active -= 1
            self._send(200, JPEG)
        else:
            self._send(404, b"unknown", "text/plain")


def _start(server: ThreadingHTTPServer) -> threading.Thread:
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    return thread


@pytest.fixture(scope="module")
def server() -> Iterator[str]:
    httpd = QuietServer(("127.0.0.1", 0), Handler)
    _start(httpd)
    yield f"http://127.0.0.1:{httpd.server_address[1]}"
    httpd.shutdown()
    httpd.server_close()


@pytest.fixture(autouse=True)
def fresh_counters() -> None:
    Handler.hits.clear()
    Handler.hosts.clear()
    Handler.max_active = 0


def settings(**overrides) -> Settings:
    base = dict(
        fetch_allow=["127.0.0.1"],
        fetch_connect_timeout=1.0,
        fetch_read_timeout=0.5,
        fetch_retries=2,
        fetch_max_redirects=5,
        max_image_bytes=1_000_000,
    )
    base.update(overrides)
    return Settings(**base)


def fake_dns(table: dict[str, list[str]], calls: list[str] | None = None):
    def resolve(host: str, port: int) -> list[str]:
        if calls is not None:
            calls.append(host)
        if host not in table:
            raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")
        return table[host]

    return resolve


def fetcher(**overrides) -> Fetcher:
    resolve = overrides.pop("resolve", fake_dns({"localhost": ["127.0.0.1"]}))
    return Fetcher(settings(**overrides), resolve=resolve, backoff_factor=0.01)


# ------------------------------------------------------------------------------------------ happy paths


def test_fetches_real_images(server):
    with fetcher() as f:
        assert f.fetch(f"{server}/photo.jpg") == JPEG
        assert f.fetch(f"{server}/photo.png") == PNG


def test_type_comes_from_the_bytes_not_the_content_type(server):
    assert fetcher().fetch(f"{server}/mislabelled") == PNG


def test_fetch_url_one_shot(server):
    assert fetch_url(f"{server}/photo.jpg", settings()) == JPEG


def test_follows_a_redirect_chain(server):
    assert fetcher().fetch(f"{server}/redirect/4") == JPEG  # 4 redirects, limit 5
    assert fetcher().fetch(f"{server}/relative") == PNG


def test_connects_to_the_checked_address_with_the_original_host_header(server):
    """DNS rebinding: the first answer is used for the connection; a second lookup never happens."""
    port = server.rsplit(":", 1)[1]
    calls: list[str] = []
    answers = iter([["127.0.0.1"], ["10.0.0.1"]])
    f = Fetcher(settings(), resolve=lambda host, p: (calls.append(host), next(answers))[1])
    assert f.fetch(f"http://photos.test:{port}/photo.jpg") == JPEG
    assert calls == ["photos.test"]
    assert Handler.hosts == [f"photos.test:{port}"]


def test_per_host_concurrency_is_bounded(server):
    f = fetcher(fetch_per_host_concurrency=2)
    results: list[bytes] = []
    threads = [threading.Thread(target=lambda: results.append(f.fetch(f"{server}/concurrent"))) for _ in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert results == [JPEG] * 6
    assert Handler.max_active == 2


# ---------------------------------------------------------------------------------------------- failures


@pytest.mark.parametrize(
    ("path", "message"),
    [
        ("/page", "the URL returned an HTML page, not an image"),
        ("/text", "did not return an image (looks like text)"),
        ("/empty", "did not return an image (the file is empty (0 bytes))"),
        ("/missing", "the server answered 404 Not Found"),
        ("/forbidden", "the server answered 403 Forbidden"),
        ("/loop", "too many redirects (more than 5)"),
        ("/redirect/6", "too many redirects (more than 5)"),
        ("/no-location", "without saying where to"),
        ("/to-ftp", "redirected to ftp://example.org/photo.jpg: only http and https"),
        ("/big-declared", "the photo is 50 MB, over the 1 MB limit"),
        ("/big-streamed", "the photo is over the 1 MB limit"),
        ("/short", "broke off before the whole photo arrived"),
    ],
)
def test_failures_say_why(server, path, message):
    with pytest.raises(FetchError) as info:
        fetcher().fetch(server + path)
    assert message in info.value.message


def test_4xx_is_not_retried(server):
    with pytest.raises(FetchError):
        fetcher().fetch(f"{server}/missing")
    assert Handler.hits["/missing"] == 1


def test_503_then_200_is_retried(server):
    assert fetcher().fetch(f"{server}/flaky-a") == JPEG
    assert Handler.hits["/flaky-a"] == 2


def test_persistent_503_gives_up_after_the_retries(server):
    with pytest.raises(FetchError, match="the server answered 503 Service Unavailable"):
        fetcher().fetch(f"{server}/down")
    assert Handler.hits["/down"] == 3  # first try + fetch_retries


def test_429_honours_retry_after_then_gives_up(server):
    with pytest.raises(FetchError, match="429 Too Many Requests"):
        fetcher(fetch_retries=1).fetch(f"{server}/busy")
    assert Handler.hits["/busy"] == 2


def test_read_timeout(server):
    # The server would answer after 1.5 s; the error proves the read timeout fired first.
    with pytest.raises(FetchError, match="did not answer in time"):
        fetcher(fetch_retries=0).fetch(f"{server}/slow")


def test_slow_drip_hits_the_total_time_budget(server):
    f = Fetcher(settings(), backoff_factor=0.01, total_timeout=0.4)
    with pytest.raises(FetchError, match="too slowly"):
        f.fetch(f"{server}/drip")


def test_connection_refused(server):
    with socket.socket() as s:  # a port that nobody listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    with pytest.raises(FetchError, match=r"could not connect to 127.0.0.1 \(connection refused\)"):
        fetcher(fetch_retries=0).fetch(f"http://127.0.0.1:{port}/photo.jpg")


# ---------------------------------------------------------------------------------------------- the SSRF guard

# Addresses a server must never be tricked into fetching; `{port}` is the test server's.
LOOPBACK_FORMS = [
    "http://127.0.0.1:{port}/photo.jpg",
    "http://localhost:{port}/photo.jpg",
    "http://LOCALHOST:{port}/photo.jpg",
    "http://2130706433:{port}/photo.jpg",  # decimal
    "http://0177.0.0.1:{port}/photo.jpg",  # octal
    "http://0x7f.0.0.1:{port}/photo.jpg",  # hex
    "http://0x7f000001:{port}/photo.jpg",
    "http://127.1:{port}/photo.jpg",  # short form
    "http://127.0.0.1.:{port}/photo.jpg",  # trailing dot
    "http://[::ffff:127.0.0.1]:{port}/photo.jpg",  # IPv4-mapped IPv6
    "http://[::ffff:7f00:1]:{port}/photo.jpg",
    "http://127.0.0.1:{port}/redirect/2",
]
OTHER_FORBIDDEN = [
    "http://[::1]/",
    "http://0.0.0.0/",
    "http://0/",
    "http://[::]/",
    "http://10.0.0.1/",
    "http://172.16.5.4/",
    "http://192.168.1.1/",
    "http://169.254.169.254/latest/meta-data/",  # cloud metadata
    "http://[fd00:ec2::254]/",
    "http://100.64.0.1/",  # CGNAT
    "http://[fc00::1]/",  # ULA
    "http://[fd12:3456::1]/",
    "http://[fe80::1]/",
    "http://[fe80::1%25eth0]/",
    "http://[fec0::1]/",  # site-local
    "http://224.0.0.1/",
    "http://[ff02::1]/",
    "http://240.0.0.1/",
    "http://255.255.255.255/",
    "http://192.0.2.10/",  # documentation range
    "http://[::ffff:169.254.169.254]/",
    "http://[::ffff:10.0.0.1]/",
    "http://[64:ff9b::7f00:1]/",  # NAT64 of 127.0.0.1
    "http://[2002:7f00:1::]/",  # 6to4 of 127.0.0.1
    "https://10.1.2.3:8443/photo.jpg",
    "http://metadata.google.internal/computeMetadata/v1/",  # fake DNS: 169.254.169.254
    "http://intranet.test/",  # fake DNS: 10.0.0.7
    "http://two-faced.test/",  # fake DNS: private and link-local
]
FAKE_DNS = {
    "localhost": ["127.0.0.1", "::1"],
    "metadata.google.internal": ["169.254.169.254"],
    "intranet.test": ["10.0.0.7"],
    "two-faced.test": ["192.168.0.9", "fe80::9"],
}


@pytest.mark.parametrize("url", LOOPBACK_FORMS + OTHER_FORBIDDEN)
def test_private_destinations_are_refused_before_connecting(server, url, only_loopback):
    port = server.rsplit(":", 1)[1]
    f = Fetcher(settings(fetch_allow=[]), resolve=fake_dns(FAKE_DNS))
    with pytest.raises(FetchError, match="refused to fetch from") as info:
        f.fetch(url.format(port=port))
    assert "fetch_allow" in info.value.message
    assert only_loopback == []  # not even a connection to 127.0.0.1
    assert sum(Handler.hits.values()) == 0


@pytest.mark.parametrize("url", LOOPBACK_FORMS)
def test_loopback_forms_are_allowed_when_listed(server, url):
    port = server.rsplit(":", 1)[1]
    f = Fetcher(settings(fetch_allow=["127.0.0.1"]), resolve=fake_dns(FAKE_DNS))
    assert f.fetch(url.format(port=port)) == JPEG


def test_system_resolver_localhost(server):
    if "localhost" not in Path("/etc/hosts").read_text():
        pytest.skip("localhost is not in /etc/hosts; resolving it could leave the machine")
    port = server.rsplit(":", 1)[1]
    with pytest.raises(FetchError, match="localhost: it resolves to"):
        fetch_url(f"http://localhost:{port}/photo.jpg", settings(fetch_allow=[]))
    assert fetch_url(f"http://localhost:{port}/photo.jpg", settings(fetch_allow=["127.0.0.0/8"])) == JPEG


def test_allow_list_by_cidr_and_by_name(server):
    port = server.rsplit(":", 1)[1]
    url = f"http://photos.test:{port}/photo.jpg"
    dns = fake_dns({"photos.test": ["127.0.0.1"]})
    assert Fetcher(settings(fetch_allow=["127.0.0.0/8"]), resolve=dns).fetch(url) == JPEG
    assert Fetcher(settings(fetch_allow=["PHOTOS.test"]), resolve=dns).fetch(url) == JPEG
    with pytest.raises(FetchError, match="photos.test: it resolves to 127.0.0.1, a loopback address"):
        Fetcher(settings(fetch_allow=["10.0.0.0/8", "other.test"]), resolve=dns).fetch(url)


def test_redirect_to_a_private_address_is_refused(server, only_loopback):
    with pytest.raises(FetchError, match=r"redirected to http://10.0.0.1/photo.jpg: refused .* private"):
        fetcher().fetch(f"{server}/to-private")
    with pytest.raises(FetchError, match=r"redirected to .*169.254.169.254.*metadata"):
        fetcher().fetch(f"{server}/to-metadata")
    assert set(only_loopback) == {"127.0.0.1"}


def test_every_hop_is_checked_on_its_own(server):
    """Allowing the name `localhost` does not allow a redirect to the address 127.0.0.1."""
    port = server.rsplit(":", 1)[1]
    f = Fetcher(settings(fetch_allow=["localhost"]), resolve=fake_dns({"localhost": ["127.0.0.1"]}))
    assert f.fetch(f"http://localhost:{port}/photo.jpg") == JPEG
    with pytest.raises(FetchError, match=r"redirected to http://127.0.0.1:\d+/photo.jpg: refused"):
        f.fetch(f"http://localhost:{port}/to-ip")


def test_mixed_answers_only_dial_the_allowed_address(server):
    port = server.rsplit(":", 1)[1]
    f = Fetcher(settings(fetch_allow=["127.0.0.1"]), resolve=fake_dns({"mixed.test": ["10.0.0.3", "127.0.0.1"]}))
    assert f.check(f"http://mixed.test:{port}/") == [ipaddress.ip_address("127.0.0.1")]
    assert f.fetch(f"http://mixed.test:{port}/photo.jpg") == JPEG


def test_unknown_host(server):
    with pytest.raises(FetchError, match="could not find the host nowhere.test"):
        Fetcher(settings(), resolve=fake_dns({})).fetch("http://nowhere.test/photo.jpg")


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("ftp://example.org/a.jpg", "only http and https URLs can be fetched, not ftp:"),
        ("file:///etc/passwd", "not file:"),
        ("javascript:alert(1)", "not javascript:"),
        ("data:image/png;base64,AAAA", "not data:"),
        ("gopher://127.0.0.1:6379/_FLUSHALL", "not gopher:"),
        ("//example.org/a.jpg", "not no scheme"),
        ("http://user:pw@example.org/a.jpg", "user name or password"),
        ("http://127.0.0.1\\@example.org/", "backslash"),
        ("http:///a.jpg", "no host"),
        ("http://example.org:99999/a.jpg", "not a valid URL"),
        ("http://[::1/", "not a valid URL"),
        ("http://exa mple.org/", "a space or backslash in the host"),
        ("http://example.org/a\nb.jpg", "control characters"),
        ("http://1.2.3.999/", "invalid IP address"),
        ("http://0400.0.0.1/", "invalid IP address"),
    ],
)
def test_bad_urls_are_refused_without_resolving(url, message):
    calls: list[str] = []
    with pytest.raises(FetchError) as info:
        Fetcher(settings(), resolve=fake_dns({}, calls)).fetch(url)
    assert message in info.value.message
    assert calls == []


@pytest.mark.parametrize(
    ("host", "ip"),
    [
        ("2130706433", "127.0.0.1"),
        ("0177.0.0.1", "127.0.0.1"),
        ("0x7f.0.0.1", "127.0.0.1"),
        ("0x7F.1", "127.0.0.1"),
        ("127.1", "127.0.0.1"),
        ("10.1", "10.0.0.1"),
        ("192.168.257", "192.168.1.1"),
        ("0", "0.0.0.0"),
        ("::1", "::1"),
        ("example.org", None),
        ("1.example", None),
    ],
)
def test_literal_ip_forms(host, ip):
    assert literal_ip(host) == (ipaddress.ip_address(ip) if ip else None)


def test_public_addresses_pass_the_guard():
    for ip in ["93.184.216.34", "8.8.8.8", "2606:4700:4700::1111", "::ffff:8.8.8.8"]:
        assert refusal_reason(ipaddress.ip_address(ip)) is None


def test_parse_target_keeps_the_host_for_the_header():
    t = parse_target("https://Bücher.example:8443/a b.jpg?x=1")
    assert (t.scheme, t.host, t.port) == ("https", "xn--bcher-kva.example", 8443)
    assert t.host_header == "xn--bcher-kva.example:8443"
    assert t.path == "/a%20b.jpg?x=1"
    assert parse_target("http://[::1]/").host_header == "[::1]"


# ------------------------------------------------------------------------------------------------- TLS


@pytest.fixture(scope="module")
def tls_server(tmp_path_factory) -> Iterator[tuple[str, str]]:
    if not shutil.which("openssl"):
        pytest.skip("openssl is needed to make a test certificate")
    folder = tmp_path_factory.mktemp("tls")
    cert, key = folder / "cert.pem", folder / "key.pem"
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
         "-keyout", str(key), "-out", str(cert), "-days", "2", "-subj", "/CN=photos.test",
         "-addext", "subjectAltName=DNS:photos.test"],
        check=True, capture_output=True,
    )  # fmt: skip
    httpd = QuietServer(("127.0.0.1", 0), Handler)
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert, key)
    httpd.socket = context.wrap_socket(httpd.socket, server_side=True)
    _start(httpd)
    yield str(httpd.server_address[1]), str(cert)
    httpd.shutdown()
    httpd.server_close()


def test_https_uses_the_name_for_sni_and_certificate_while_dialling_the_ip(tls_server):
    port, cert = tls_server
    dns = fake_dns({"photos.test": ["127.0.0.1"], "other.test": ["127.0.0.1"]})
    f = Fetcher(settings(fetch_allow=["127.0.0.1"]), resolve=dns, ca_certs=cert)
    assert f.fetch(f"https://photos.test:{port}/photo.jpg") == JPEG
    with pytest.raises(FetchError, match="certificate"):
        f.fetch(f"https://other.test:{port}/photo.jpg")  # the certificate names photos.test only
