"""Ingestion through the JSON API: uploads of the bad-image corpus, URL lists against a local HTTP server, and
the SSRF guard seen from the API (with and without `fetch_allow`).

Everything runs on loopback: the photo server is a ThreadingHTTPServer on 127.0.0.1, and `loopback_only`
(tests/conftest.py) fails any test that tries to connect elsewhere and records every connection attempt.
"""

from __future__ import annotations

import hashlib
import io
import json
import time
from pathlib import Path

import pytest

pytestmark = pytest.mark.databases("sqlite", "postgresql")  # storage on both stores (conftest.py)

def _profile(client, name: str = "p") -> None:  # noqa: ANN001
    response = client.post("/api/profiles", json={"name": name})
    assert response.status_code == 201, response.get_json()


def _add_urls(client, urls: object, name: str = "p"):  # noqa: ANN001, ANN202
    return client.post(f"/api/profiles/{name}/sources", json={"urls": urls})


def _failures(status: dict) -> dict[str, str]:
    return {f["source"]: f["error"] for f in status["failures"]}


# ------------------------------------------------------------------------------------------------ uploads


def test_bad_image_corpus_uploaded_through_the_api_every_file_described_or_failed_with_its_reason(
    client, bad_corpus: list, job_waiter
) -> None:
    """All corpus files in one multipart upload: 202, the job ends `done`, each ok file is a photo, each bad
    file is a failure `upload:<name>` with the decoder's reason, and the uploaded copies are cleaned up."""
    _profile(client, "uploads")
    files = [(io.BytesIO(c.path.read_bytes()), c.name) for c in bad_corpus]
    response = client.post("/api/profiles/uploads/uploads", data={"files": files},
                           content_type="multipart/form-data")
    assert response.status_code == 202, response.get_json()

    status = job_waiter(client, response.get_json()["id"])

    assert status["status"] == "done" and status["error"] is None
    assert status["total"] == len(bad_corpus)
    assert status["done"] == sum(c.expect == "ok" for c in bad_corpus)
    assert status["failed"] == sum(c.expect == "error" for c in bad_corpus)
    failures = _failures(status)
    for c in bad_corpus:
        if c.expect == "error":
            error = failures[f"upload:{c.name}"]
            assert c.reason is None or c.reason in error, (c.name, error)
        else:
            assert f"upload:{c.name}" not in failures
    distinct_ok = {hashlib.sha256(c.path.read_bytes()).hexdigest() for c in bad_corpus if c.expect == "ok"}
    assert client.get("/api/profiles/uploads").get_json()["photo_count"] == len(distinct_ok)
    uploads_dir = client.application.extensions["photosearch"].settings.uploads_dir
    assert list(uploads_dir.iterdir()) == []  # the job's copies are removed once stored


# ---------------------------------------------------------------------------------------------- URL lists


@pytest.fixture
def photo_site(local_http_server, make_photos) -> dict:
    """The local server with 3 photos (2 JPEG, 1 PNG) and an HTML page."""
    photos = make_photos(local_http_server.root, 3, size=(160, 120))
    (local_http_server.root / "page.html").write_text("<!doctype html><html><body>hello</body></html>")
    return {"server": local_http_server, "photos": [p.name for p in photos]}


def test_url_list_with_allow_list_stores_photos_and_reports_every_other_entry(
    client, photo_site: dict, job_waiter, loopback_only: list[str]
) -> None:
    """Photos land; a 404, an HTML page, an HTML page posing as a JPEG and a redirect to the metadata
    service each fail with their reason; a local redirect to a photo already listed is the same photo."""
    server = photo_site["server"]
    photo_urls = [server.url(name) for name in photo_site["photos"]]
    urls = [
        *photo_urls,
        server.url("missing.jpg"),
        server.url("page.html"),
        server.url("html-as-jpeg.jpg"),
        server.url("redirect-out"),
        server.url(f"redirect/{photo_site['photos'][0]}"),
    ]
    _profile(client)
    response = _add_urls(client, urls)
    assert response.status_code == 202, response.get_json()

    status = job_waiter(client, response.get_json()["id"])

    assert (status["status"], status["total"], status["done"], status["failed"]) == ("done", 8, 4, 4)
    failures = _failures(status)
    assert "404" in failures[server.url("missing.jpg")]
    assert "HTML page" in failures[server.url("page.html")]
    assert "HTML page" in failures[server.url("html-as-jpeg.jpg")]
    out = failures[server.url("redirect-out")]
    assert "redirected to http://169.254.169.254" in out and "metadata" in out
    assert client.get("/api/profiles/p").get_json()["photo_count"] == 3
    assert "/latest/meta-data/" not in server.hits
    assert set(loopback_only) <= {"127.0.0.1"}


# Every way of writing "this machine" (or a neighbour) that must be refused without the allow-list:
# (URL with {port}, a phrase the reason must contain)
REFUSED = [
    ("http://127.0.0.1:{port}/photo_0000.jpg", "loopback"),
    ("http://2130706433:{port}/photo_0000.jpg", "loopback"),  # decimal
    ("http://0177.0.0.1:{port}/photo_0000.jpg", "loopback"),  # octal
    ("http://0x7f.0.0.1:{port}/photo_0000.jpg", "loopback"),  # hex
    ("http://0x7f000001:{port}/photo_0000.jpg", "loopback"),  # one hex number
    ("http://127.1:{port}/photo_0000.jpg", "loopback"),  # short form
    ("http://[::1]:{port}/photo_0000.jpg", "loopback"),
    ("http://[::ffff:127.0.0.1]:{port}/photo_0000.jpg", "loopback"),  # IPv4-mapped IPv6
    ("http://[::ffff:7f00:1]:{port}/photo_0000.jpg", "loopback"),  # the same, in hex
    ("http://localhost:{port}/photo_0000.jpg", "loopback"),  # a name resolving to loopback
    ("HTTP://LOCALHOST.:{port}/photo_0000.jpg", "loopback"),  # upper case, trailing dot
    ("http://0.0.0.0:{port}/photo_0000.jpg", "unspecified"),
    ("http://[::]:{port}/photo_0000.jpg", "unspecified"),
    ("http://169.254.169.254/latest/meta-data/", "metadata"),
    ("http://[fd00:ec2::254]/latest/meta-data/", "metadata"),
    ("http://169.254.1.1/x.jpg", "link-local"),
    ("http://10.0.0.1/x.jpg", "private"),
    ("http://192.168.1.1/x.jpg", "private"),
    ("http://172.16.0.1/x.jpg", "private"),
    ("http://100.64.0.1/x.jpg", "carrier-grade NAT"),
    ("http://[fc00::1]/x.jpg", "unique-local"),
    ("http://[64:ff9b::7f00:1]/x.jpg", "loopback"),  # NAT64 of 127.0.0.1
    ("http://[2002:7f00:1::]/x.jpg", "loopback"),  # 6to4 of 127.0.0.1
    ("http://224.0.0.1/x.jpg", "multicast"),
]


def test_without_allow_list_every_local_url_form_is_refused_before_connecting(
    make_client, local_http_server, make_photos, job_waiter, loopback_only: list[str]
) -> None:
    """The same server, no `fetch_allow`: each URL form fails with an SSRF refusal naming the kind of address,
    the job still ends `done`, and no connection is even attempted."""
    make_photos(local_http_server.root, 1)
    client, _ = make_client(fetch_allow=[])
    urls = [u.format(port=local_http_server.port) for u, _ in REFUSED]
    _profile(client)
    response = _add_urls(client, urls)
    assert response.status_code == 202, response.get_json()

    status = job_waiter(client, response.get_json()["id"])

    assert (status["status"], status["done"], status["failed"]) == ("done", 0, len(REFUSED))
    failures = _failures(status)
    for url, (_, phrase) in zip(urls, REFUSED, strict=True):
        assert "refused to fetch" in failures[url] and phrase in failures[url], (url, failures[url])
        assert "fetch_allow" in failures[url]  # says how to allow a local server on purpose
    assert local_http_server.hits == []
    assert loopback_only == []  # refused before any connect


def test_url_list_shapes_bad_entries_and_duplicates(client, photo_site: dict, job_waiter) -> None:
    """Non-URLs, unsupported schemes and non-strings are failures with reasons; spellings of one URL collapse
    into one entry; an {id: url} object works too."""
    server = photo_site["server"]
    url = server.url(photo_site["photos"][0])
    shouting = url.replace("http://127.0.0.1", "HTTP://127.0.0.1")
    entries = [url, url, shouting, url + "#fragment", "not a url", "example.com/a.jpg", "ftp://example.com/a.jpg",
               "file:///etc/passwd", "javascript:alert(1)", "data:image/png;base64,AAAA", "//127.0.0.1/a.jpg",
               "http://user:pw@127.0.0.1/a.jpg", 42, None, ["nested"]]
    _profile(client)
    response = _add_urls(client, entries)
    assert response.status_code == 202, response.get_json()

    status = job_waiter(client, response.get_json()["id"])

    assert status["status"] == "done"
    assert status["done"] == 1  # the four spellings of one URL became one entry
    failures = _failures(status)
    assert status["failed"] == len(failures) == 11, failures
    assert "contains spaces" in failures["not a url"]
    assert "start with http://" in failures["example.com/a.jpg"]
    assert "start with http://" in failures["//127.0.0.1/a.jpg"]
    assert "unsupported scheme ftp" in failures["ftp://example.com/a.jpg"]
    assert "unsupported scheme file" in failures["file:///etc/passwd"]
    assert "unsupported scheme javascript" in failures["javascript:alert(1)"]
    assert "unsupported scheme data" in failures["data:image/png;base64,AAAA"]
    assert "user name or password" in failures["http://user:pw@127.0.0.1/a.jpg"]
    for entry in ("42", "null", '["nested"]'):
        assert "expected a string" in failures[entry], failures

    as_object = _add_urls(client, {"a": url, "b": {"url": server.url(photo_site["photos"][1])}})
    assert as_object.status_code == 202
    second = job_waiter(client, as_object.get_json()["id"])
    assert (second["status"], second["done"], second["failed"]) == ("done", 2, 0)


def test_url_list_text_form_with_comments(client, photo_site: dict, job_waiter) -> None:
    """Plain text, one URL per line; blank lines and # comments are ignored."""
    server = photo_site["server"]
    text = "# my photos\n\n" + "\n".join(server.url(n) for n in photo_site["photos"]) + "\n"
    _profile(client)
    response = _add_urls(client, text)
    assert response.status_code == 202
    assert job_waiter(client, response.get_json()["id"])["done"] == 3


@pytest.mark.parametrize(
    ("body", "phrase"),
    [
        ({"urls": '["http://127.0.0.1/a.jpg", '}, "not valid JSON"),
        ({"urls": '{"a": "http://127.0.0.1/a.jpg",,}'}, "line 1, column"),
        ({"urls": []}, "no usable URLs"),
        ({"urls": ["not a url", "ftp://x/y"]}, "no usable URLs: not a url"),
        ({"urls": ""}, "no usable URLs"),
        ({"urls": 5}, "'urls' must be a list"),
        ({"urls": None}, "'urls' must be a list"),
        ({"nothing": 1}, "give 'urls'"),
    ],
)
def test_unusable_url_lists_are_400_with_a_helpful_message(client, body: dict, phrase: str) -> None:
    """A list that can't be read at all is refused up front, saying why (and where, for broken JSON)."""
    _profile(client)
    response = client.post("/api/profiles/p/sources", json=body)
    assert response.status_code == 400
    assert response.get_json()["status"] == 400
    assert phrase in response.get_json()["error"]


def test_a_malformed_json_request_body_is_400(client) -> None:
    """Broken JSON in the body itself (not inside 'urls') is a 400 JSON error, not a 500."""
    _profile(client)
    response = client.post("/api/profiles/p/sources", data='{"urls": [', content_type="application/json")
    assert response.status_code == 400
    assert "JSON object" in response.get_json()["error"]


def test_ten_thousand_urls_are_accepted_quickly_and_over_the_limit_is_400(make_client, job_waiter) -> None:
    """10,000 entries (at the configured limit) -> 202 within seconds, and the job works through them all
    (every one refused without a connection: they name a private address); 10,001 -> 400."""
    client, services = make_client(max_url_list_entries=10_000)
    _profile(client)
    urls = [f"http://10.0.0.1/photo_{i}.jpg" for i in range(10_000)]

    started = time.monotonic()
    response = _add_urls(client, urls)
    accepted_s = time.monotonic() - started
    assert response.status_code == 202, response.get_json()
    assert accepted_s < 10, accepted_s
    status = job_waiter(client, response.get_json()["id"], timeout=180)
    assert (status["status"], status["total"], status["failed"]) == ("done", 10_000, 10_000)
    assert len(status["failures"]) == 200  # the status lists the first 200

    over = _add_urls(client, urls + ["http://10.0.0.1/one_more.jpg"])
    assert over.status_code == 400
    assert "10,001 entries; at most 10,000" in over.get_json()["error"]
    as_text = _add_urls(client, "\n".join(urls + ["http://10.0.0.1/one_more.jpg"]))
    assert as_text.status_code == 400


def test_folder_sources_through_the_api(client, settings, make_photos, tmp_path: Path, job_waiter) -> None:
    """A folder below the allowed roots is ingested; one outside them, a traversal and a missing one are
    refused up front with 403/404 and nothing is queued."""
    make_photos(tmp_path / "album", 2)
    _profile(client)
    response = client.post("/api/profiles/p/sources", json={"folder": str(tmp_path / "album")})
    assert response.status_code == 202
    assert job_waiter(client, response.get_json()["id"])["done"] == 2

    for folder, code in [("/etc", 403), (str(tmp_path / "album" / ".." / ".." / ".."), 403),
                         (str(tmp_path / "nope"), 404), ("", 400), (7, 400)]:
        refused = client.post("/api/profiles/p/sources", json={"folder": folder})
        assert refused.status_code == code, (folder, refused.get_json())
        assert json.loads(refused.data)["status"] == code
    assert len(client.get("/api/profiles/p/jobs").get_json()["jobs"]) == 1
