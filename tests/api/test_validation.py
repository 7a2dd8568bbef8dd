"""API input validation and safe serving: every bad request is a JSON `{"error", "status"}` with a 4xx code,
never a 500 and never a stack trace; tokens guard mutations beyond loopback; CORS only for configured
origins; odd search syntax is just words.
"""

from __future__ import annotations

import io
import itertools
import random

import pytest

TRACEBACK_MARKERS = ("Traceback", 'File "', "werkzeug", "sqlalchemy", "Error:")


def assert_json_error(response, status: int) -> dict:  # noqa: ANN001
    """The response is the documented error shape with this status, and leaks nothing internal."""
    assert response.status_code == status, (response.status_code, response.data[:300])
    assert response.is_json, response.data[:300]
    body = response.get_json()
    assert set(body) == {"error", "status"} and body["status"] == status, body
    assert isinstance(body["error"], str) and body["error"]
    text = response.get_data(as_text=True)
    assert not any(marker in text for marker in TRACEBACK_MARKERS), text
    return body


@pytest.fixture
def library(client, make_photos, tmp_path, job_waiter) -> dict:
    """A profile 'p' with two photos, ingested from a folder: {"photo_ids": [...]}."""
    assert client.post("/api/profiles", json={"name": "p"}).status_code == 201
    make_photos(tmp_path / "album", 2)
    job = client.post("/api/profiles/p/sources", json={"folder": str(tmp_path / "album")}).get_json()
    assert job_waiter(client, job["id"])["done"] == 2
    results = client.get("/api/search?profile=p&q=photo&limit=200").get_json()
    services = client.application.extensions["photosearch"]
    return {"photo_ids": sorted(services.index.photo_ids()), "results": results}


# ---------------------------------------------------------------------------------------------- profiles


@pytest.mark.parametrize(
    "name",
    # (Names with spaces, accents or punctuation become display names: tests/api/test_browse_api.py.)
    ["", "   ", "a" * 65, "-leading-dash", ".hidden", "a\x00b", "😀", "<>", "b" * 201 + " c", None, 5, ["a"],
     {"a": 1}, True],
)
def test_bad_profile_names_are_400(client, name: object) -> None:
    """Empty, too long, bad characters and non-strings are refused with one clear message."""
    body = assert_json_error(client.post("/api/profiles", json={"name": name}), 400)
    assert "name" in body["error"]


def test_profile_name_rules_and_duplicates(client) -> None:
    """64 characters of letters, digits and ._- are fine (surrounding blanks trimmed); the same name again is
    409; a missing profile is 404; deleting works once."""
    longest = "A1._-" + "b" * 59
    assert client.post("/api/profiles", json={"name": longest}).status_code == 201
    assert client.post("/api/profiles", json={"name": " trimmed "}).get_json()["name"] == "trimmed"
    assert_json_error(client.post("/api/profiles", json={"name": longest}), 409)
    assert_json_error(client.post("/api/profiles", json={"name": "trimmed"}), 409)
    assert_json_error(client.get("/api/profiles/nobody"), 404)
    assert client.delete("/api/profiles/trimmed").status_code == 204
    assert_json_error(client.delete("/api/profiles/trimmed"), 404)
    assert_json_error(client.post("/api/profiles", data="name=x"), 400)  # not JSON
    assert_json_error(client.post("/api/profiles", json=["x"]), 400)  # JSON, not an object


# ------------------------------------------------------------------------------------------------ search


def test_query_length_and_pagination_bounds(client, library: dict) -> None:
    """Empty and over-long queries, and limits/offsets out of range or not numbers, are 400; the bounds
    themselves are accepted."""
    ok = "/api/search?profile=p&q=photo"
    assert client.get(ok).status_code == 200
    for q in ("", "   ", "x" * 501, "word " * 101):
        assert_json_error(client.get(f"/api/search?profile=p&q={q}"), 400)
    assert client.get("/api/search?profile=p&q=" + "x" * 500).status_code == 200
    assert_json_error(client.get("/api/search?profile=p"), 400)
    assert_json_error(client.get("/api/search?q=photo"), 400)
    assert_json_error(client.get("/api/search?profile=nobody&q=photo"), 404)
    for bad in ("limit=0", "limit=201", "limit=-1", "limit=abc", "limit=1.5", "limit=1e3", "offset=-1",
                "offset=abc", "offset=100001", "limit=99999999999999999999999", "after=yesterday",
                "before=2024-13-45"):
        assert_json_error(client.get(f"{ok}&{bad}"), 400)
    for good in ("limit=1", "limit=200", "offset=0", "offset=100000", "after=2020-01-01", "before=2030-12-31"):
        assert client.get(f"{ok}&{good}").status_code == 200, good


def test_pages_do_not_overlap(client, library: dict) -> None:
    """offset/limit walk the same ranking: page 1 + page 2 == the first two results."""
    both = [r["photo"]["id"] for r in client.get("/api/search?profile=p&q=photo&limit=2").get_json()["results"]]
    first = client.get("/api/search?profile=p&q=photo&limit=1").get_json()["results"]
    second = client.get("/api/search?profile=p&q=photo&limit=1&offset=1").get_json()["results"]
    assert [r["photo"]["id"] for r in first + second] == both


ODD_QUERIES = ['"unbalanced', "AND OR", "OR", "NOT", "*", "?", "title:x", "caption:dog", "(((", ")))", "a AND",
               "[a TO", "{x}", "dog^", "dog~", "^2", "'", "\\", "a:b:c", "😀🐶", "日本語の写真", "NULL", "%00",
               "<b>dog</b>", "dog AND (cat OR", "x" * 500, "a " * 249 + "b", "*:*", "labels:*", "-", "+dog -cat"]


def test_search_syntax_never_breaks_a_query(client, library: dict) -> None:
    """Whoosh operators, fields, wildcards, unbalanced quotes and brackets, emoji: 200 with results JSON."""
    for q in ODD_QUERIES:
        response = client.get("/api/search", query_string={"profile": "p", "q": q})
        assert response.status_code == 200, (q, response.get_json())
        assert isinstance(response.get_json()["results"], list)


# ------------------------------------------------------------------------------------------------ photos


def test_photo_ids_that_do_not_exist_and_path_tricks_are_404_json(client, library: dict) -> None:
    """Unknown ids, ids too big for the database, non-numeric ids and traversal attempts: 404 JSON; the real
    ones serve JPEGs with nosniff."""
    pid = library["photo_ids"][0]
    assert client.get(f"/api/photos/{pid}").get_json()["id"] == pid
    for kind in ("thumbnail", "image"):
        response = client.get(f"/api/photos/{pid}/{kind}")
        assert response.status_code == 200 and response.mimetype == "image/jpeg"
        assert response.headers["X-Content-Type-Options"] == "nosniff"
        assert response.data[:3] == b"\xff\xd8\xff"
    huge = "9" * 30
    for path in (
        "/api/photos/999999", "/api/photos/999999/image", "/api/photos/999999/thumbnail",
        "/api/photos/999999/similar", "/api/photos/0", "/api/photos/-1", "/api/photos/abc",
        f"/api/photos/{huge}", f"/api/photos/{huge}/image", f"/api/jobs/{huge}", "/api/jobs/999999",
        f"/api/photos/{2**63}", f"/api/jobs/{2**63}",
        "/api/photos/../../etc/passwd", "/api/photos/..%2F..%2Fetc%2Fpasswd", "/api/photos/%2e%2e/%2e%2e/etc/passwd",
        f"/api/photos/{pid}/../../../etc/passwd", "/api/photos/1/image/../../../../etc/passwd",
        "/api/../../etc/passwd", "/api/nope", "/api/photos/1.jpg",
    ):
        body = assert_json_error(client.get(path), 404)
        assert "root:" not in body["error"]


def test_similar_limits(client, library: dict) -> None:
    """similar?limit= is bounded like search's."""
    pid = library["photo_ids"][0]
    assert client.get(f"/api/photos/{pid}/similar?limit=1").status_code == 200
    for bad in ("0", "101", "-5", "x"):
        assert_json_error(client.get(f"/api/photos/{pid}/similar?limit={bad}"), 400)


# ----------------------------------------------------------------------------------------------- uploads


def test_an_upload_over_the_size_limit_is_413_json(client, settings) -> None:
    """A multipart body over `max_upload_bytes` is refused with 413 before it is stored."""
    assert client.post("/api/profiles", json={"name": "p"}).status_code == 201
    big = io.BytesIO(b"\xff\xd8\xff" + bytes(settings.max_upload_bytes + 1000))
    response = client.post("/api/profiles/p/uploads", data={"files": [(big, "big.jpg")]},
                           content_type="multipart/form-data")
    body = assert_json_error(response, 413)
    assert "larger than the 4 MB limit" in body["error"]
    assert list(settings.uploads_dir.iterdir()) == []
    assert client.get("/api/profiles/p/jobs").get_json()["jobs"] == []


def test_a_small_upload_limit_is_named_in_the_413_message(make_client) -> None:
    """Regression: a limit under 1 MB was announced as "the 0 MB limit"."""
    client, _ = make_client(max_upload_bytes=500_000)
    assert client.post("/api/profiles", json={"name": "p"}).status_code == 201
    response = client.post("/api/profiles/p/uploads", data={"files": [(io.BytesIO(bytes(600_000)), "a.jpg")]},
                           content_type="multipart/form-data")
    assert "larger than the 0.5 MB limit" in assert_json_error(response, 413)["error"]


def test_uploads_of_non_images_are_failed_items_with_reasons(client, job_waiter) -> None:
    """Text, HTML, an empty file, a file without a name and a name with a path become failed items; the job
    still ends `done`; nothing named by the client becomes a path on the server."""
    assert client.post("/api/profiles", json={"name": "p"}).status_code == 201
    files = [
        (io.BytesIO(b"just some words\n"), "notes.txt"),
        (io.BytesIO(b"<html><body>hi</body></html>"), "page.jpg"),
        (io.BytesIO(b""), "empty.png"),
        (io.BytesIO(b"%PDF-1.4\n"), "../../../../tmp/evil.jpg"),
        (io.BytesIO(b"MZ\x90\x00" + bytes(100)), "program.exe"),
    ]
    response = client.post("/api/profiles/p/uploads", data={"files": files}, content_type="multipart/form-data")
    assert response.status_code == 202, response.get_json()
    status = job_waiter(client, response.get_json()["id"])
    assert (status["status"], status["done"], status["failed"]) == ("done", 0, 5)
    failures = {f["source"]: f["error"] for f in status["failures"]}
    assert "looks like text" in failures["upload:notes.txt"]
    assert "HTML" in failures["upload:page.jpg"]
    assert "empty" in failures["upload:empty.png"]
    assert "PDF" in failures["upload:evil.jpg"]  # the client's path is dropped, only the name is kept
    assert "unrecognised" in failures["upload:program.exe"]


def test_upload_without_files_and_to_a_missing_profile(client) -> None:
    """No 'files' field is 400, a missing profile 404, a non-ZIP Instagram export 400."""
    assert client.post("/api/profiles", json={"name": "p"}).status_code == 201
    assert_json_error(client.post("/api/profiles/p/uploads", data={}, content_type="multipart/form-data"), 400)
    assert_json_error(client.post("/api/profiles/p/uploads", data={"other": (io.BytesIO(b"x"), "a.jpg")},
                                  content_type="multipart/form-data"), 400)
    assert_json_error(client.post("/api/profiles/nobody/uploads", data={"files": (io.BytesIO(b"x"), "a.jpg")},
                                  content_type="multipart/form-data"), 404)
    assert_json_error(client.post("/api/profiles/p/instagram-export", data={"file": (io.BytesIO(b"x"), "a.jpg")},
                                  content_type="multipart/form-data"), 400)
    assert_json_error(client.post("/api/profiles/p/instagram-export",
                                  data={"file": (io.BytesIO(b"PK\x03\x04" + bytes(30)), "export.zip")},
                                  content_type="multipart/form-data"), 400)


# ------------------------------------------------------------------------------------------ token, CORS


def test_beyond_loopback_mutations_need_the_token_and_reads_do_not(make_client) -> None:
    """host 0.0.0.0 + token: POST/DELETE without (or with a wrong) bearer token are 401 JSON; with it they
    work; GETs are open."""
    client, _ = make_client(host="0.0.0.0", token="s3cret-token")
    good = {"Authorization": "Bearer s3cret-token"}
    for headers in ({}, {"Authorization": "Bearer wrong"}, {"Authorization": "s3cret"},
                    {"Authorization": "Basic czNjcmV0LXRva2Vu"}, {"Authorization": "Bearer "}):
        body = assert_json_error(client.post("/api/profiles", json={"name": "p"}, headers=headers), 401)
        assert "token" in body["error"]
    assert client.post("/api/profiles", json={"name": "p"}, headers=good).status_code == 201
    assert client.get("/api/profiles").status_code == 200
    assert client.get("/api/search?profile=p&q=dog").status_code == 200
    assert client.get("/api/health").status_code == 200
    assert_json_error(client.delete("/api/profiles/p"), 401)
    assert_json_error(client.post("/api/profiles/p/sources", json={"urls": ["http://127.0.0.1/a.jpg"]}), 401)
    assert_json_error(client.post("/api/profiles/p/uploads", data={"files": (io.BytesIO(b"x"), "a.jpg")},
                                  content_type="multipart/form-data"), 401)
    assert client.delete("/api/profiles/p", headers=good).status_code == 204


def test_beyond_loopback_without_a_token_nothing_can_be_changed(make_client) -> None:
    """No token configured and bound to 0.0.0.0: every mutation is refused (401), even with a header."""
    client, _ = make_client(host="0.0.0.0", token=None)
    assert_json_error(client.post("/api/profiles", json={"name": "p"}), 401)
    assert_json_error(client.post("/api/profiles", json={"name": "p"}, headers={"Authorization": "Bearer "}), 401)
    assert client.get("/api/profiles").status_code == 200


def test_on_loopback_no_token_is_needed(client) -> None:
    """The default 127.0.0.1 binding is for the person at this machine: no token."""
    assert client.post("/api/profiles", json={"name": "p"}).status_code == 201


def test_cors_header_only_for_configured_origins(make_client) -> None:
    """A configured origin gets Access-Control-Allow-Origin (also on preflight); any other gets none."""
    client, _ = make_client(cors_origins=["http://localhost:5173"])
    allowed = client.get("/api/profiles", headers={"Origin": "http://localhost:5173"})
    assert allowed.headers.get("Access-Control-Allow-Origin") == "http://localhost:5173"
    for origin in ("http://evil.example", "http://localhost:5174", "null", "http://localhost:5173.evil.example"):
        other = client.get("/api/profiles", headers={"Origin": origin})
        assert "Access-Control-Allow-Origin" not in other.headers, origin
    preflight = client.options("/api/profiles", headers={
        "Origin": "http://localhost:5173", "Access-Control-Request-Method": "POST",
        "Access-Control-Request-Headers": "Content-Type"})
    assert preflight.headers.get("Access-Control-Allow-Origin") == "http://localhost:5173"
    evil = client.options("/api/profiles", headers={"Origin": "http://evil.example",
                                                    "Access-Control-Request-Method": "POST"})
    assert "Access-Control-Allow-Origin" not in evil.headers


# ----------------------------------------------------------------------------------------------- fuzzing

ODD = ["", " ", "0", "-1", "1e9", "9" * 40, "null", "true", "[]", "{}", "%", "%00", "%ff", "..", "../..",
       "a/../b", "😀", "\u202e", "'; DROP TABLE photos;--", "<script>alert(1)</script>", "x" * 3000, "${jndi:x}",
       "\\", "%2e%2e%2f", "?", "#", "&&", "=", "NaN", "Infinity"]


def _odd_json(rng: random.Random) -> object:
    return rng.choice([None, 0, -1, 1.5, 10**30, "", "x" * 5000, [], {}, [None], {"name": None},
                       {"urls": rng.choice(ODD)}, {"folder": rng.choice(ODD)}, {"instagram_profile": None},
                       {"urls": [rng.choice(ODD)] * 3}, {"name": rng.choice(ODD)}, {"folder": ["/"]},
                       {"urls": {"a": {"url": 5}}}, {"urls": [[["deep"]]]}, "[" * 50, True])


def test_fuzz_endpoints_with_odd_input_never_500(client, library: dict) -> None:
    """A bounded, seeded fuzz over every endpoint with odd path segments, query strings, JSON and form
    bodies: no 500, no traceback, and every non-2xx answer is the JSON error shape."""
    rng = random.Random(20240531)
    pid = library["photo_ids"][0]
    paths = ["/api/profiles", "/api/profiles/{s}", "/api/profiles/{s}/jobs", "/api/profiles/{s}/sources",
             "/api/profiles/{s}/uploads", "/api/profiles/{s}/instagram-export", "/api/jobs/{s}",
             "/api/search?profile={s}&q={s}&limit={s}&offset={s}&after={s}&before={s}", "/api/search?q={s}",
             "/api/photos/{s}", "/api/photos/{s}/similar?limit={s}", f"/api/photos/{pid}/similar?limit={{s}}",
             "/api/photos/{s}/image", "/api/photos/{s}/thumbnail", "/api/health?x={s}", "/api/{s}",
             "/api/profiles/p/sources", "/api/search?profile=p&q={s}"]
    methods = ["GET", "POST", "DELETE", "PUT", "PATCH"]
    seen = set()
    for path, method in itertools.islice(itertools.cycle(itertools.product(paths, methods)), 400):
        url = path.replace("{s}", rng.choice(ODD).replace("#", "%23").replace("?", "%3F").replace("&", "%26"))
        if method == "DELETE" and url.startswith("/api/profiles/p"):
            continue  # keep the library
        kwargs: dict = {}
        shape = rng.randrange(4)
        if shape == 1:
            kwargs["json"] = _odd_json(rng)
        elif shape == 2:
            kwargs["data"] = rng.choice(["{", "not json", "\x00\xff", "[1,2", '{"urls": [' * 20])
            kwargs["content_type"] = rng.choice(["application/json", "text/plain", "multipart/form-data"])
        elif shape == 3:
            kwargs["data"] = {"files": [(io.BytesIO(rng.randbytes(rng.randrange(64))), rng.choice(ODD) or "f")],
                              "file": (io.BytesIO(b"PK\x03\x04"), "x.zip")}
            kwargs["content_type"] = "multipart/form-data"
        response = client.open(url, method=method, **kwargs)
        seen.add(response.status_code)
        assert response.status_code < 500, (method, url, kwargs, response.data[:300])
        text = response.get_data(as_text=True)
        assert not any(m in text for m in ("Traceback", 'File "')), (method, url)
        if response.status_code >= 400:
            assert_json_error(response, response.status_code)
    client.application.extensions["photosearch"].jobs.wait_idle(timeout=60)
    assert {400, 404, 405} <= seen
