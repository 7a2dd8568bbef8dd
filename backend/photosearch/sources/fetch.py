"""Fetch a photo over HTTP(S) without becoming a tool for reaching the server's own network (SSRF).

A person gives us URLs; we fetch them from *our* machine. Unguarded, `http://127.0.0.1:5000/api/...`,
`http://169.254.169.254/latest/meta-data/` (the cloud metadata service) or `http://192.168.1.1/` would be
fetched from inside the network. The defences, in order, for every hop of a redirect chain:

1. **Parse strictly.** Only `http`/`https`; no user:password@; no spaces or control characters.
2. **Resolve, then judge the addresses, not the name.** Literal hosts in every form the C library accepts
   (`2130706433`, `0177.0.0.1`, `0x7f.1`, `127.1`, `[::ffff:127.0.0.1]`) are parsed here without DNS; names
   go through `getaddrinfo`. Every address must be public: loopback, private, link-local (the metadata
   service), multicast, reserved, unspecified, CGNAT (100.64/10), IPv6 unique-local and site-local, and
   IPv4 embedded in IPv6 (mapped, NAT64, 6to4) of any of those are refused. `Settings.fetch_allow`
   (host names, IPs or CIDR networks) opens specific local servers on purpose.
3. **Connect to the address we checked.** The connection pool is opened to the IP itself, with the
   original `Host` header and, for HTTPS, the original name for SNI and certificate checking. A DNS server
   that answers "public" to the check and "127.0.0.1" a moment later (DNS rebinding) changes nothing.
   Environment proxies are deliberately not used: a proxy would resolve the name again.
4. **Follow redirects by hand**, at most `fetch_max_redirects`, and run steps 1-3 again for each hop.
5. **Bound everything**: connect and read timeouts, `max_image_bytes` checked against Content-Length up
   front and counted while streaming, and **one wall-clock deadline for the whole fetch** (every hop's
   connect, status line, headers, body, and the pauses between retries). Per-read timeouts alone don't
   bound anything: a server dripping one header byte per second never lets a read time out. A watchdog
   timer shuts down the fetch's sockets when the deadline passes, which wakes any blocked read at once.
6. **Retry only what may heal**: connection errors, resets, timeouts and 429/502/503/504 (urllib3's
   `Retry`, exponential backoff, Retry-After honoured up to a cap). Never a 4xx, never a refused address.
7. **Check that it is a picture** from the bytes (`sniff_image_type`): an HTML page served with
   `Content-Type: image/jpeg` is refused as "the URL returned an HTML page, not an image".

Every failure is a `FetchError` with a reason a person can act on. `Fetcher` keeps connection pools and
caps concurrent requests per host (`fetch_per_host_concurrency`); it is safe to share between threads.
`fetch_url` is the one-shot form.
"""

from __future__ import annotations

import contextlib
import ipaddress
import logging
import re
import socket
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from http import HTTPStatus
from urllib.parse import quote, urljoin, urlsplit

import urllib3
from urllib3 import exceptions as u3
from urllib3.connection import HTTPConnection, HTTPSConnection
from urllib3.util import Retry, Timeout

from photosearch.config import Settings
from photosearch.errors import FetchError
from photosearch.imagebytes import non_image_reason, sniff_image_type
from photosearch.units import megabytes as _mb

log = logging.getLogger(__name__)

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
Resolver = Callable[[str, int], Iterable[str]]  # (host, port) -> address strings

RETRY_STATUSES = frozenset({429, 502, 503, 504})
REDIRECT_STATUSES = frozenset({301, 302, 303, 307, 308})
USER_AGENT = "photosearch/0.1 (photo indexer)"
MAX_URL_CHARS = 8192  # longer is no photo's address (and would bloat job rows)
_MAX_POOLS = 64
_CHUNK = 64 * 1024

_CGNAT = ipaddress.ip_network("100.64.0.0/10")
_THIS_NETWORK = ipaddress.ip_network("0.0.0.0/8")
_ULA = ipaddress.ip_network("fc00::/7")
_NAT64 = (ipaddress.ip_network("64:ff9b::/96"), ipaddress.ip_network("64:ff9b:1::/48"))
_METADATA = {ipaddress.ip_address("169.254.169.254"), ipaddress.ip_address("fd00:ec2::254")}


# ---------------------------------------------------------------------------------------------- parsing


@dataclass(frozen=True)
class Target:
    """One hop: where to connect and what to ask for."""

    url: str
    scheme: str  # "http" | "https"
    host: str  # lower-case, IDNA-encoded, without brackets or trailing dot
    port: int
    path: str  # path and query, percent-encoded, never empty
    host_header: str  # what the Host header says (and what the server's certificate must name)


def parse_target(url: str) -> Target:
    """Check a URL's shape and split it into what the connection needs. Raises FetchError. The one check of
    a URL's shape: URL lists (`url_list.url_problem`) use it too."""
    if len(url) > MAX_URL_CHARS:
        raise FetchError(f"the URL is longer than {MAX_URL_CHARS:,} characters")
    if any(ord(ch) < 0x20 or ord(ch) == 0x7F for ch in url):
        raise FetchError("the URL contains control characters")
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError as exc:
        raise FetchError(f"not a valid URL ({exc})") from None
    scheme = parts.scheme.lower()
    if scheme not in ("http", "https"):
        shown = f"{scheme}:" if scheme else "no scheme"
        raise FetchError(f"only http and https URLs can be fetched, not {shown}")
    if "\\" in parts.netloc or " " in parts.netloc:
        raise FetchError("not a valid URL (a space or backslash in the host part)")
    if parts.username is not None or parts.password is not None:
        raise FetchError("URLs with a user name or password are not fetched")
    raw_host = parts.hostname
    if not raw_host:
        raise FetchError("the URL has no host")
    host = raw_host.rstrip(".") if not raw_host.endswith("..") else raw_host
    if not host:
        raise FetchError("the URL has no host")
    if ":" not in host:  # not IPv6: make international names ASCII for DNS and the Host header
        try:
            host = host.encode("idna").decode("ascii")
        except UnicodeError:
            raise FetchError(f"invalid host name {raw_host!r}") from None
    default_port = 443 if scheme == "https" else 80
    port = port or default_port
    shown_host = f"[{host}]" if ":" in host else host
    host_header = shown_host if port == default_port else f"{shown_host}:{port}"
    path = quote(parts.path or "/", safe="/%:@!$&'()*+,;=-._~")
    if parts.query:
        path += "?" + quote(parts.query, safe="/%:@!$&'()*+,;=-._~?")
    return Target(url=url, scheme=scheme, host=host, port=port, path=path, host_header=host_header)


_NUMBER = re.compile(r"^(0x[0-9a-f]*|[0-9]+)$")


def literal_ip(host: str) -> IPAddress | None:
    """The address a host names literally, in any form the C library's inet_aton accepts (decimal
    `2130706433`, octal `0177.0.0.1`, hex `0x7f.0.0.1`, short `127.1`) or IPv6; None for a DNS name."""
    host = host.lower().strip("[]")
    try:
        return ipaddress.ip_address(host)
    except ValueError:
        pass
    labels = host.rstrip(".").split(".")
    if not labels or len(labels) > 4 or not all(_NUMBER.match(label) for label in labels):
        return None
    values = []
    for label in labels:
        if label.startswith("0x"):
            values.append(int(label[2:] or "0", 16))
        elif len(label) > 1 and label.startswith("0"):
            if not set(label) <= set("01234567"):
                raise FetchError(f"invalid IP address {host!r}")
            values.append(int(label, 8))
        else:
            values.append(int(label))
    if any(v > 255 for v in values[:-1]) or values[-1] >= 256 ** (5 - len(values)):
        raise FetchError(f"invalid IP address {host!r}")
    number = values[-1]
    for i, value in enumerate(values[:-1]):
        number += value << (8 * (3 - i))
    return ipaddress.IPv4Address(number)


def _unwrap(ip: IPAddress) -> IPAddress:
    """::ffff:a.b.c.d is a.b.c.d on the wire: judge (and connect to) the IPv4 address."""
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        return ip.ipv4_mapped
    return ip


def refusal_reason(ip: IPAddress) -> str | None:
    """Why an address is not public ("a loopback address"), or None when it may be fetched."""
    ip = _unwrap(ip)
    if isinstance(ip, ipaddress.IPv6Address):
        embedded = ip.sixtofour
        if embedded is None and any(ip in net for net in _NAT64):
            embedded = ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF)
        if embedded is not None and (inner := refusal_reason(embedded)):
            return f"{inner} wrapped in IPv6 ({embedded})"
    if ip.is_unspecified:
        return "an unspecified address"
    if ip.is_loopback:
        return "a loopback address"
    if ip in _METADATA:
        return "a link-local address (the cloud metadata service)"
    if ip.is_link_local:
        return "a link-local address"
    if ip.is_multicast:
        return "a multicast address"
    if isinstance(ip, ipaddress.IPv4Address) and ip in _CGNAT:
        return "a carrier-grade NAT (100.64/10) address"
    if isinstance(ip, ipaddress.IPv4Address) and ip in _THIS_NETWORK:
        return "a 'this network' (0/8) address"
    if isinstance(ip, ipaddress.IPv6Address) and ip in _ULA:
        return "an IPv6 unique-local address"
    if isinstance(ip, ipaddress.IPv6Address) and ip.is_site_local:
        return "an IPv6 site-local address"
    if ip.is_reserved:
        return "a reserved address"
    if ip.is_private:
        return "a private address"
    if not ip.is_global:
        return "a special-purpose (non-public) address"
    return None


class AllowList:
    """`Settings.fetch_allow`: host names (matched exactly, case-insensitively), IPs and CIDR networks."""

    def __init__(self, entries: Iterable[str]) -> None:
        self.hosts: set[str] = set()
        self.networks: list[ipaddress.IPv4Network | ipaddress.IPv6Network] = []
        for entry in entries:
            entry = entry.strip().lower().strip("[]")
            if not entry:
                continue
            try:
                self.networks.append(ipaddress.ip_network(entry, strict=False))
            except ValueError:
                self.hosts.add(entry.rstrip("."))

    def allows_host(self, host: str) -> bool:
        return host.lower().rstrip(".") in self.hosts

    def allows_ip(self, ip: IPAddress) -> bool:
        candidates = {ip, _unwrap(ip)}
        return any(c in net for c in candidates for net in self.networks if c.version == net.version)


def system_resolve(host: str, port: int) -> list[str]:
    """Addresses from the system resolver (/etc/hosts, DNS)."""
    infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    return [str(info[4][0]) for info in infos]


# ---------------------------------------------------------------------------------------------- deadline


class _DeadlinePassed(Exception):  # noqa: N818 - internal signal; not an OSError, so urllib3 won't retry it
    """Raised inside urllib3 when a new connection or a retry pause would start after the deadline."""


class _Deadline:
    """One fetch's wall-clock limit. Sockets the fetch opens or reads are registered with `watch`; when the
    time is up a timer thread shuts them down, so a read blocked on a dripping server returns at once."""

    def __init__(self, seconds: float) -> None:
        self.seconds = seconds
        self.at = time.monotonic() + seconds
        self.expired = False
        self._sockets: list[socket.socket] = []
        self._lock = threading.Lock()
        self._timer = threading.Timer(seconds, self._expire)
        self._timer.daemon = True
        self._timer.start()

    def remaining(self) -> float:
        return self.at - time.monotonic()

    def watch(self, sock: socket.socket | None) -> None:
        if sock is None:
            return
        with self._lock:
            if not self.expired:
                self._sockets.append(sock)
                return
        _shutdown(sock)

    def check(self) -> None:
        if self.expired or self.remaining() <= 0:
            raise _DeadlinePassed

    def _expire(self) -> None:
        with self._lock:
            self.expired = True
            sockets, self._sockets = self._sockets, []
        for sock in sockets:
            _shutdown(sock)

    def cancel(self) -> None:
        self._timer.cancel()
        with self._lock:
            self._sockets = []


def _shutdown(sock: socket.socket) -> None:
    # the plain socket method, also for TLS sockets: wakes a blocked recv without touching SSL state
    with contextlib.suppress(OSError):
        socket.socket.shutdown(sock, socket.SHUT_RDWR)


_active = threading.local()  # the deadline of the fetch running on this thread


def _current_deadline() -> _Deadline | None:
    return getattr(_active, "deadline", None)


class _WatchedHTTPConnection(HTTPConnection):
    """An urllib3 connection whose sockets answer to the current fetch's deadline."""

    def _new_conn(self) -> socket.socket:
        deadline = _current_deadline()
        if deadline is not None:
            deadline.check()
            if isinstance(self.timeout, int | float):  # a connect attempt can't outlast the deadline either
                self.timeout = min(self.timeout, max(deadline.remaining(), 0.01))
        sock = super()._new_conn()
        if deadline is not None:
            deadline.watch(sock)
        return sock

    def getresponse(self):  # noqa: ANN201 - urllib3's HTTPResponse
        deadline = _current_deadline()
        if deadline is not None:
            deadline.watch(self.sock)  # a pooled connection's socket was opened by an earlier fetch
        return super().getresponse()


class _WatchedHTTPSConnection(_WatchedHTTPConnection, HTTPSConnection):
    pass


class _HTTPPool(urllib3.HTTPConnectionPool):
    ConnectionCls = _WatchedHTTPConnection


class _HTTPSPool(urllib3.HTTPSConnectionPool):
    ConnectionCls = _WatchedHTTPSConnection


class _DeadlineRetry(Retry):
    """urllib3's Retry, except that a pause (backoff or Retry-After) that would end past the deadline
    gives up instead of sleeping."""

    def sleep(self, response: urllib3.BaseHTTPResponse | None = None) -> None:
        deadline = _current_deadline()
        if deadline is None:
            return super().sleep(response)
        pause = self.get_retry_after(response) if (self.respect_retry_after_header and response) else None
        if pause is None:
            pause = self.get_backoff_time()
        if pause >= deadline.remaining():
            raise _DeadlinePassed
        if pause > 0:
            time.sleep(pause)
        return None


# ---------------------------------------------------------------------------------------------- fetcher


class Fetcher:
    """Fetches photos safely; share one per ingest job (or per process) to reuse connections.

    `resolve` and `ca_certs` exist for tests (a fake DNS, a self-signed certificate); `backoff_factor`
    sets urllib3's exponential backoff between retries; `total_timeout` is the wall-clock deadline of one
    whole `fetch` (every hop, every retry: default `Settings.fetch_deadline`, else connect + 4 × read
    timeout), so a server dripping one byte at a time can't hold a worker.
    """

    def __init__(
        self,
        settings: Settings,
        *,
        resolve: Resolver | None = None,
        ca_certs: str | None = None,
        backoff_factor: float = 0.5,
        total_timeout: float | None = None,
    ) -> None:
        self.settings = settings
        self.allow = AllowList(settings.fetch_allow)
        self._resolve = resolve or system_resolve
        self._ca_certs = ca_certs
        self._timeout = Timeout(connect=settings.fetch_connect_timeout, read=settings.fetch_read_timeout)
        self._total_timeout = (
            total_timeout
            or settings.fetch_deadline
            or settings.fetch_connect_timeout + 4 * settings.fetch_read_timeout
        )
        self._retry = _DeadlineRetry(
            total=settings.fetch_retries,
            connect=settings.fetch_retries,
            read=settings.fetch_retries,
            status=settings.fetch_retries,
            other=0,  # TLS/certificate and other errors don't heal by retrying
            redirect=False,  # we follow redirects ourselves, checking every hop
            allowed_methods=frozenset({"GET"}),
            status_forcelist=RETRY_STATUSES,
            backoff_factor=backoff_factor,
            backoff_max=10,
            raise_on_status=False,  # give back the last 503 so we can say so
            respect_retry_after_header=True,
            retry_after_max=10,  # a server asking for an hour's pause gets 10 s, then its error
        )
        self._lock = threading.Lock()
        self._pools: OrderedDict[tuple[str, str, int, str], urllib3.HTTPConnectionPool] = OrderedDict()
        self._slots: dict[str, threading.BoundedSemaphore] = {}

    # -- public

    def fetch(self, url: str) -> bytes:
        """The body at `url` after following redirects, checked to look like an image; all of it within
        one wall-clock deadline."""
        deadline = _Deadline(self._total_timeout)
        outer, _active.deadline = _current_deadline(), deadline
        try:
            body = self._fetch(url, deadline)
            if deadline.expired:  # finished while the watchdog fired: its sockets may have been cut short
                raise _DeadlinePassed
            return body
        except (_DeadlinePassed, FetchError, u3.HTTPError) as exc:
            if deadline.expired or isinstance(exc, _DeadlinePassed):
                raise FetchError(
                    f"fetching took longer than {self._total_timeout:g} s (the server sends too slowly)"
                ) from None
            if isinstance(exc, u3.HTTPError):
                raise FetchError(f"fetching {url} failed ({exc})") from None
            raise
        finally:
            deadline.cancel()
            _active.deadline = outer

    def _fetch(self, url: str, deadline: _Deadline) -> bytes:
        current = url
        for hop in range(self.settings.fetch_max_redirects + 1):
            try:
                target = parse_target(current)
                addresses = self.check(target)
            except FetchError as exc:
                if hop:  # say where the redirect led, or the person sees a host they never typed
                    raise FetchError(f"redirected to {current}: {exc.message}") from None
                raise
            with self._slot(target.host):
                deadline.check()  # time spent waiting for a slot counts too
                status, location, body = self._get(target, addresses, deadline)
            if status in REDIRECT_STATUSES:
                if not location:
                    raise FetchError(f"the server answered {status} (a redirect) without saying where to")
                current = urljoin(current, location)
                continue
            return _check_image(body)
        raise FetchError(f"too many redirects (more than {self.settings.fetch_max_redirects})")

    def check(self, target: Target | str) -> list[IPAddress]:
        """The addresses a fetch of `target` may connect to, in order; FetchError if none may be used.
        Resolves the name (no connection is made)."""
        if isinstance(target, str):
            target = parse_target(target)
        literal = literal_ip(target.host)
        if literal is not None:
            addresses = [literal]
        else:
            try:
                addresses = [ipaddress.ip_address(a.split("%")[0]) for a in self._resolve(target.host, target.port)]
            except (OSError, UnicodeError, ValueError) as exc:
                log.debug("resolve %s failed: %r", target.host, exc)
                raise FetchError(f"could not find the host {target.host} (DNS lookup failed)") from None
            if not addresses:
                raise FetchError(f"could not find the host {target.host} (no addresses)")
            addresses = list(dict.fromkeys(addresses))  # getaddrinfo repeats an address per protocol
        if self.allow.allows_host(target.host):
            return [_unwrap(ip) for ip in addresses]
        usable, refused = [], []
        for ip in addresses:
            reason = refusal_reason(ip)
            if reason is None or self.allow.allows_ip(ip):
                usable.append(_unwrap(ip))
            else:
                refused.append((ip, reason))
        if usable:
            return usable  # a name with public and private answers: only the public ones are dialled
        ip, reason = refused[0]
        ip = _unwrap(ip)
        if literal is None:
            what = f"it resolves to {ip}, {reason}"
        else:
            what = reason if str(ip) == target.host else f"it is {ip}, {reason}"
        shown = f"[{target.host}]" if ":" in target.host else target.host
        raise FetchError(
            f"refused to fetch from {shown}: {what}; list it in fetch_allow "
            "(PHOTOSEARCH_FETCH_ALLOW) to allow a local server"
        )

    def close(self) -> None:
        with self._lock:
            pools, self._pools = list(self._pools.values()), OrderedDict()
        for pool in pools:
            pool.close()

    def __enter__(self) -> Fetcher:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- internals

    @contextmanager
    def _slot(self, host: str) -> Iterator[None]:
        with self._lock:
            slot = self._slots.get(host)
            if slot is None:
                slot = self._slots[host] = threading.BoundedSemaphore(max(1, self.settings.fetch_per_host_concurrency))
        with slot:
            yield

    def _pool(self, target: Target, ip: IPAddress) -> urllib3.HTTPConnectionPool:
        key = (target.scheme, str(ip), target.port, target.host)
        with self._lock:
            pool = self._pools.get(key)
            if pool is not None:
                self._pools.move_to_end(key)
                return pool
            size = max(1, self.settings.fetch_per_host_concurrency)
            if target.scheme == "https":
                pool = _HTTPSPool(
                    str(ip),
                    target.port,
                    maxsize=size,
                    server_hostname=target.host,  # SNI and certificate name: the host, not the IP
                    cert_reqs="CERT_REQUIRED",
                    ca_certs=self._ca_certs,
                )
            else:
                pool = _HTTPPool(str(ip), target.port, maxsize=size)
            self._pools[key] = pool
            evicted = self._pools.popitem(last=False)[1] if len(self._pools) > _MAX_POOLS else None
        if evicted is not None:
            evicted.close()
        return pool

    def _get(self, target: Target, addresses: list[IPAddress], deadline: _Deadline) -> tuple[int, str | None, bytes]:
        """One hop: (status, Location, body). Body is read only for 2xx."""
        headers = {
            "Host": target.host_header,
            "User-Agent": USER_AGENT,
            "Accept": "image/avif,image/webp,image/*;q=0.9,*/*;q=0.5",
            "Accept-Encoding": "identity",  # a compressed body could inflate past our byte limit
        }
        last_error: FetchError | None = None
        for ip in addresses:
            pool = self._pool(target, ip)
            deadline.check()
            try:
                response = pool.urlopen(
                    "GET",
                    target.path,
                    headers=headers,
                    retries=self._retry.new(),
                    redirect=False,
                    timeout=self._timeout,
                    preload_content=False,
                    assert_same_host=False,
                )
            except u3.MaxRetryError as exc:
                last_error = _describe(exc.reason, target, self.settings)
                if isinstance(exc.reason, u3.NewConnectionError | u3.ConnectTimeoutError):
                    continue  # this address is unreachable: try the next one
                raise last_error from None
            except u3.HTTPError as exc:
                raise _describe(exc, target, self.settings) from None
            try:
                return self._read(response, target, deadline)
            finally:
                response.release_conn()
        assert last_error is not None
        raise last_error

    def _read(
        self, response: urllib3.BaseHTTPResponse, target: Target, deadline: _Deadline
    ) -> tuple[int, str | None, bytes]:
        status = response.status
        complete = False
        try:
            if status in REDIRECT_STATUSES:
                return status, response.headers.get("Location"), b""
            if not 200 <= status < 300:
                try:
                    phrase = HTTPStatus(status).phrase
                except ValueError:
                    phrase = ""
                raise FetchError(f"the server answered {status} {phrase}".rstrip())
            limit = self.settings.max_image_bytes
            declared = response.headers.get("Content-Length", "")
            if declared.isdigit() and int(declared) > limit:
                raise FetchError(f"the photo is {_mb(int(declared))}, over the {_mb(limit)} limit")
            chunks, total = [], 0
            try:
                # read1 returns what has arrived (read() would wait for a whole chunk); the watchdog
                # ends a read that waits past the deadline
                while chunk := response.read1(_CHUNK):
                    total += len(chunk)
                    if total > limit:
                        raise FetchError(f"the photo is over the {_mb(limit)} limit")
                    deadline.check()
                    chunks.append(chunk)
            except u3.HTTPError as exc:
                raise _describe(exc, target, self.settings) from None
            complete = True
            return status, None, b"".join(chunks)
        finally:
            if not complete:
                response.close()  # don't read the rest of a body we don't want; the pool reconnects


def _describe(exc: BaseException | None, target: Target, settings: Settings) -> FetchError:
    """A urllib3 error as a sentence."""
    host = target.host
    if isinstance(exc, u3.NewConnectionError):  # checked first: it subclasses ConnectTimeoutError
        detail = "connection refused" if "refused" in str(exc).lower() else "unreachable"
        return FetchError(f"could not connect to {host} ({detail})")
    if isinstance(exc, u3.ConnectTimeoutError):
        return FetchError(f"connecting to {host} timed out (after {settings.fetch_connect_timeout:g} s)")
    if isinstance(exc, u3.ReadTimeoutError):
        return FetchError(f"{host} did not answer in time (no data for {settings.fetch_read_timeout:g} s)")
    if isinstance(exc, u3.SSLError):
        return FetchError(f"secure connection to {host} failed (TLS/certificate error: {exc})")
    if isinstance(exc, u3.ProtocolError):
        return FetchError(f"the connection to {host} broke off before the whole photo arrived")
    if isinstance(exc, u3.ResponseError):
        return FetchError(f"{host} kept failing ({exc})")
    return FetchError(f"fetching from {host} failed ({exc})")


def _check_image(body: bytes) -> bytes:
    if sniff_image_type(body) is not None:
        return body
    reason = non_image_reason(body)
    if "HTML" in reason:
        raise FetchError("the URL returned an HTML page, not an image")
    raise FetchError(f"the URL did not return an image ({reason})")


def fetch_url(url: str, settings: Settings) -> bytes:
    """Fetch one photo (see the module docstring for every check). Prefer a shared `Fetcher` for many."""
    with Fetcher(settings) as fetcher:
        return fetcher.fetch(url)
