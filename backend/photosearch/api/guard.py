"""Who may talk to the API: checks that run before every request.

Three fences, in this order:

1. **Host (DNS rebinding).** Bound to loopback, the server answers only to loopback names (`localhost`,
   `127.x.x.x`, `[::1]`, with any port). A page on `rebind.evil.example` whose DNS answer flips to 127.0.0.1
   makes the victim's browser send `Host: rebind.evil.example`; the browser then treats our API as that
   page's own origin, so CORS never applies. Refusing the foreign Host is the defence (403). Beyond
   loopback any name is served: the token guards changes there.
2. **Origin (cross-site requests).** A browser sends a "simple" cross-site POST (a form or multipart upload)
   without a CORS preflight; CORS only hides the answer, the request still runs. So a state-changing
   request (POST, PUT, PATCH, DELETE) that carries an `Origin` must come from this server's own origin or
   a configured one (`Settings.cors_origins`, e.g. the Vite dev server); `Origin: null` (sandboxed frames,
   file://) is refused too. Requests without an Origin come from non-browser clients (curl, scripts) and
   pass: a browser always sends Origin on a cross-origin POST.
3. **Token.** Beyond loopback, changes need `Authorization: Bearer <token>`. Headers reach WSGI as Latin-1
   text, so the token is compared as the raw bytes the client sent against the UTF-8 bytes of the setting
   (a token such as `sécret` works), in constant time.
"""

from __future__ import annotations

import hmac
import ipaddress

from flask import request

from photosearch.config import Settings
from photosearch.errors import Forbidden, Unauthorized

SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
_LOOPBACK_NAMES = frozenset({"localhost", "localhost.", "ip6-localhost", "ip6-loopback"})


def check_request(settings: Settings) -> None:
    """Raise Forbidden or Unauthorized for a request that must not be served; see the module docstring."""
    if settings.is_loopback:
        check_host(request.host)
    if request.method not in SAFE_METHODS:
        check_origin(settings)
        if not settings.is_loopback:
            check_token(settings.token, request.headers.get("Authorization", ""))


def host_name(host_header: str) -> str:
    """"example.org:5000" -> "example.org"; "[::1]:5000" -> "::1"."""
    host = host_header.strip().lower()
    if host.startswith("["):
        return host[1:].split("]", 1)[0]
    if host.count(":") == 1:
        host = host.split(":", 1)[0]
    return host


def is_loopback_name(name: str) -> bool:
    if name in _LOOPBACK_NAMES or name.endswith(".localhost"):
        return True
    try:
        return ipaddress.ip_address(name).is_loopback
    except ValueError:
        return False


def check_host(host_header: str) -> None:
    if not is_loopback_name(host_name(host_header)):
        shown = host_header[:100]
        raise Forbidden(
            f"this server only answers to localhost (it is bound to loopback), not to the host name {shown!r}"
        )


def check_origin(settings: Settings) -> None:
    origin = request.headers.get("Origin")
    if origin is None:
        return
    origin = origin.strip().rstrip("/").lower()
    if origin in {o.rstrip("/").lower() for o in settings.cors_origins}:
        return
    # Our own pages: same host and port (the scheme may differ behind a TLS-terminating proxy).
    if "://" in origin and origin.split("://", 1)[1] == request.host.lower():
        return
    shown = origin[:100] or "(empty)"
    raise Forbidden(
        f"changes are not accepted from pages on {shown} (cross-site request); "
        "list that origin in PHOTOSEARCH_CORS_ORIGINS if it is yours"
    )


def check_token(expected: str | None, header: str) -> None:
    given = header[len("Bearer "):].strip() if header.startswith("Bearer ") else ""
    try:
        given_bytes = given.encode("latin-1")  # undo WSGI's Latin-1 decoding: the bytes on the wire
    except UnicodeEncodeError:  # not from a real HTTP request; compare as text
        given_bytes = given.encode("utf-8")
    if not expected or not hmac.compare_digest(given_bytes, expected.encode("utf-8")):
        raise Unauthorized("this server needs a token for changes: send 'Authorization: Bearer <token>'")
