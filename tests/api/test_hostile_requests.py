"""Requests an attacker or a clumsy client sends, each answered with a clear 4xx (never a 500):
cross-site state changes (Origin), DNS rebinding (Host), a non-ASCII token, type confusion in JSON bodies,
deep nesting, hostile folder paths, date extremes, odd multipart file names.
"""

from __future__ import annotations

import io
import json

import pytest


def assert_json_error(response, status: int) -> dict:  # noqa: ANN001
    """The documented error shape with this status, without a stack trace."""
    assert response.status_code == status, (response.status_code, response.data[:300])
    body = response.get_json()
    assert set(body) == {"error", "status"} and body["status"] == status, body
    assert "Traceback" not in response.get_data(as_text=True)
    return body

# ------------------------------------------------------------------------------------ cross-site requests


def test_a_state_change_from_a_foreign_origin_is_refused(client) -> None:
    """A browser sends a multipart POST cross-site without a preflight; its Origin gives it away."""
    assert client.post("/api/profiles", json={"name": "p"}).status_code == 201
    evil = {"Origin": "http://evil.example"}
    upload = {"files": [(io.BytesIO(b"\xff\xd8\xff"), "a.jpg")]}
    for path, data in (("/api/profiles/p/uploads", upload),
                       ("/api/profiles/p/instagram-export", {"file": (io.BytesIO(b"PK\x03\x04"), "x.zip")})):
        body = assert_json_error(client.post(path, data=data, content_type="multipart/form-data", headers=evil), 403)
        assert "evil.example" in body["error"]
    assert_json_error(client.post("/api/profiles", json={"name": "q"}, headers={"Origin": "null"}), 403)
    assert_json_error(client.delete("/api/profiles/p", headers=evil), 403)
    assert client.get("/api/profiles/p/jobs").get_json()["jobs"] == []  # nothing ran
    assert [p["name"] for p in client.get("/api/profiles").get_json()["profiles"]] == ["p"]


def test_same_origin_dev_proxy_and_originless_clients_still_work(client) -> None:
    """The SPA served by the app (same origin), the Vite dev server's origin (a configured CORS origin,
    proxied with changeOrigin) and clients that send no Origin (curl, scripts) may change data."""
    assert client.post("/api/profiles", json={"name": "a"}, headers={"Origin": "http://localhost"}).status_code == 201
    assert client.post("/api/profiles", json={"name": "b"},
                       headers={"Origin": "http://localhost:5173", "Host": "127.0.0.1:5000"}).status_code == 201
    assert client.post("/api/profiles", json={"name": "c"}).status_code == 201
    assert client.post("/api/profiles", json={"name": "d"}, headers={"Origin": "http://127.0.0.1:5000",
                                                                     "Host": "127.0.0.1:5000"}).status_code == 201


@pytest.mark.parametrize("host", ["rebind.evil.example", "rebind.evil.example:5000", "10.0.0.1", "localhost.evil"])
def test_dns_rebinding_host_is_refused_on_loopback(client, host: str) -> None:
    """Bound to 127.0.0.1, only loopback names may appear in Host; a rebinding page can neither read nor write."""
    headers = {"Host": host}
    assert_json_error(client.get("/api/profiles", headers=headers), 403)
    assert_json_error(client.post("/api/profiles", json={"name": "p"}, headers=headers), 403)
    assert client.get("/api/profiles").get_json()["profiles"] == []


@pytest.mark.parametrize("host", ["localhost", "localhost:5000", "127.0.0.1:5000", "127.0.0.2", "[::1]:5000"])
def test_loopback_host_names_are_accepted(client, host: str) -> None:
    assert client.get("/api/profiles", headers={"Host": host}).status_code == 200


def test_beyond_loopback_any_host_name_is_served(make_client) -> None:
    client, _ = make_client(host="0.0.0.0", token="t")
    assert client.get("/api/profiles", headers={"Host": "photos.example.org"}).status_code == 200


# ---------------------------------------------------------------------------------------------- the token


def test_a_non_ascii_token_works_when_sent_as_utf8(make_client) -> None:
    """HTTP headers arrive as bytes (WSGI hands them over as Latin-1 text); the client sends UTF-8."""
    client, _ = make_client(host="0.0.0.0", token="sécret-😀")
    wire = "Bearer sécret-😀".encode().decode("latin-1")  # what the WSGI environ holds
    assert client.post("/api/profiles", json={"name": "p"}, headers={"Authorization": wire}).status_code == 201
    wrong = "Bearer secret-😀".encode().decode("latin-1")
    assert_json_error(client.post("/api/profiles", json={"name": "q"}, headers={"Authorization": wrong}), 401)


# -------------------------------------------------------------------------------------- bad JSON bodies


@pytest.mark.parametrize("value", [5, ["natgeo"], {"u": "natgeo"}, None, True, 1.5])
def test_instagram_profile_of_the_wrong_type_is_400(client, value: object) -> None:
    client.post("/api/profiles", json={"name": "p"})
    body = assert_json_error(client.post("/api/profiles/p/sources", json={"instagram_profile": value}), 400)
    assert "username" in body["error"]


def test_deeply_nested_json_is_400(client) -> None:
    client.post("/api/profiles", json={"name": "p"})
    deep = "[" * 50_000 + "]" * 50_000
    for data in (deep, '{"urls": ' + deep + "}"):
        response = client.post("/api/profiles/p/sources", data=data, content_type="application/json")
        assert_json_error(response, 400)
    body = assert_json_error(client.post("/api/profiles/p/sources", json={"urls": "[" * 50_000}), 400)
    assert "nested" in body["error"] or "JSON" in body["error"]


@pytest.mark.parametrize("folder", ["/tmp/a\x00b", "~nosuchuser/x", "~nosuchuser", "x" * 6000, "/" + "a/" * 3000])
def test_hostile_folder_paths_are_4xx(client, folder: str) -> None:
    client.post("/api/profiles", json={"name": "p"})
    response = client.post("/api/profiles/p/sources", json={"folder": folder})
    assert 400 <= response.status_code < 500, response.data[:300]
    assert_json_error(response, response.status_code)


@pytest.mark.parametrize("arg", ["after=0001-01-01T00:00:00%2B14:00", "before=9999-12-31T23:59:59-14:00",
                                 "after=0001-01-01", "before=9999-12-31T23:59:59.999999-23:59"])
def test_search_date_extremes_are_400_or_answered(client, arg: str) -> None:
    client.post("/api/profiles", json={"name": "p"})
    response = client.get(f"/api/search?profile=p&q=dog&{arg}")
    assert response.status_code in (200, 400), response.data[:300]
    if response.status_code == 400:
        assert "date" in assert_json_error(response, 400)["error"]


# ------------------------------------------------------------------------------------- multipart names


def test_an_upload_with_a_bad_file_name_reports_that_file_and_keeps_the_others(client, make_photos, tmp_path,
                                                                                 job_waiter) -> None:
    """Invalid UTF-8 (sent raw) and CR/LF in a multipart filename: the other photos are stored, the odd one
    is stored under a cleaned name or reported, and the upload as a whole is accepted."""
    client.post("/api/profiles", json={"name": "p"})
    paths = make_photos(tmp_path / "src", 3)
    boundary = "XyZ"
    parts = []
    names = [b"good.jpg", b"bad\xe9\xff.jpg", b"evil\r\nX-Injected: 1.jpg"]
    for raw_name, path in zip(names, paths, strict=True):
        parts.append(b"--" + boundary.encode() + b"\r\n"
                     + b'Content-Disposition: form-data; name="files"; filename="' + raw_name + b'"\r\n'
                     + b"Content-Type: image/jpeg\r\n\r\n" + path.read_bytes() + b"\r\n")
    body = b"".join(parts) + b"--" + boundary.encode() + b"--\r\n"
    response = client.post("/api/profiles/p/uploads", data=body,
                           content_type=f"multipart/form-data; boundary={boundary}")
    assert response.status_code == 202, response.data[:300]
    status = job_waiter(client, response.get_json()["id"])
    assert status["done"] + status["failed"] + status["skipped"] == status["total"]
    assert status["done"] == 2  # the good one and the Latin-1 one (read as such: "badéÿ.jpg")
    sources = json.dumps(client.get("/api/profiles/p/photos").get_json(), ensure_ascii=False)
    assert "good.jpg" in sources and "badéÿ.jpg" in sources
    assert len(status["failures"]) == 1 and "file name could not be read" in status["failures"][0]["error"]
    reported = sources + json.dumps(status["failures"])
    assert "\r" not in reported and "\\r" not in reported


def test_a_bad_instagram_upload_is_named_as_the_person_named_it(client) -> None:
    """Not the generated name it was saved under (a 32-digit hex string)."""
    client.post("/api/profiles", json={"name": "p"})
    import zipfile

    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("readme.txt", "not an export")
    buffer.seek(0)
    response = client.post("/api/profiles/p/instagram-export", data={"file": (buffer, "my-instagram.zip")},
                           content_type="multipart/form-data")
    body = assert_json_error(response, 400)
    assert "my-instagram.zip is not an Instagram data export" in body["error"], body
    services = client.application.extensions["photosearch"]
    assert list(services.settings.uploads_dir.iterdir()) == []  # nothing stray from the refused upload
