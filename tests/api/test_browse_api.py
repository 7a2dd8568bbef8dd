"""Browsing a collection through the JSON API: the date timeline with cursor pages, suggestions from the
collection's own labels, EXIF details, delete with Undo and purge, display names, search sort and date range,
and HEIC/AVIF uploads. Real photos (crops of scikit-image's) with EXIF written by Pillow; the real encoder."""

from __future__ import annotations

import io
import re
import time

import pytest
from PIL import Image
from sqlalchemy import select

from photosearch.storage.models import Photo


def varied_photo(images: list[Image.Image], i: int, size: tuple[int, int] = (96, 72)) -> Image.Image:
    """Photo number `i`: a real photo, resized and tinted so that every `i` gives different bytes."""
    base = images[i % len(images)].resize(size)
    return Image.eval(base, lambda v, i=i: min(255, v + (i * 7) % 40))


def exif_photo(image: Image.Image, fmt: str = "JPEG", taken: str | None = None, offset: str | None = None,
               make: str | None = None, model: str | None = None, gps: bool = False) -> bytes:
    exif = Image.Exif()
    if make:
        exif[0x010F] = make
    if model:
        exif[0x0110] = model
    if taken:
        sub = exif.get_ifd(0x8769)
        sub[0x9003] = taken
        if offset:
            sub[0x9011] = offset
    if gps:
        position = exif.get_ifd(0x8825)
        position.update({1: "N", 2: (48.0, 51.0, 24.0), 3: "E", 4: (2.0, 21.0, 3.0)})
    buffer = io.BytesIO()
    image.save(buffer, fmt, exif=exif)
    return buffer.getvalue()


def upload(client, name: str, files: list[tuple[bytes, str]], job_waiter) -> dict:  # noqa: ANN001
    data = {"files": [(io.BytesIO(b), n) for b, n in files]}
    response = client.post(f"/api/profiles/{name}/uploads", data=data, content_type="multipart/form-data")
    assert response.status_code == 202, response.get_json()
    status = job_waiter(client, response.get_json()["id"])
    assert status["status"] == "done" and status["failed"] == 0, status
    return status


# taken dates (EXIF, local time + offset) of five photos; photo 5 has no EXIF date (filed under "added")
DATES = {1: ("2021:03:04 10:00:00", None), 2: ("2023:07:01 12:30:00", "+02:00"), 3: ("2019:12:31 23:59:59", None),
         4: ("2023:07:01 10:30:00", None)}


@pytest.fixture
def album(client, sample_images, job_waiter) -> dict[str, int]:  # noqa: ANN001
    """Profile 'album' with 5 photos: file name -> photo id."""
    assert client.post("/api/profiles", json={"name": "album"}).status_code == 201
    files = []
    for i in range(1, 6):
        taken, offset = DATES.get(i, (None, None))
        camera = {"make": "Canon", "model": "Canon EOS 5D", "gps": True} if i == 1 else {}
        files.append((exif_photo(varied_photo(sample_images, i), taken=taken, offset=offset, **camera), f"p{i}.jpg"))
    upload(client, "album", files, job_waiter)
    photos = client.get("/api/profiles/album/photos?limit=200").get_json()["photos"]
    return {p["source"].removeprefix("upload:"): p["id"] for p in photos}


def test_timeline_is_newest_first_by_taken_date_then_added_date_with_cursor_pages(client, album) -> None:
    first = client.get("/api/profiles/album/photos?limit=2").get_json()
    assert first["total"] == 5 and len(first["photos"]) == 2 and first["next_cursor"]
    pages, cursor = [first], first["next_cursor"]
    while cursor:
        page = client.get(f"/api/profiles/album/photos?limit=2&cursor={cursor}").get_json()
        pages.append(page)
        cursor = page["next_cursor"]
    order = [p["source"].removeprefix("upload:") for page in pages for p in page["photos"]]
    # p5: added today (no EXIF date); p2 12:30+02:00 = 10:30 UTC, same instant as p4 -> the higher id first
    same_instant = sorted(["p2.jpg", "p4.jpg"], key=lambda n: -album[n])
    assert order == ["p5.jpg", *same_instant, "p1.jpg", "p3.jpg"]
    by_name = {p["source"].removeprefix("upload:"): p for page in pages for p in page["photos"]}
    p2, p5 = by_name["p2.jpg"], by_name["p5.jpg"]
    assert p2["taken_at"] == "2023-07-01T10:30:00+00:00" and p2["date_source"] == "taken"
    assert p5["date_source"] == "added" and p5["taken_at"] == p5["added_at"]

    oldest = client.get("/api/profiles/album/photos?sort=oldest&limit=200").get_json()
    assert [p["source"].removeprefix("upload:") for p in oldest["photos"]] == order[::-1]
    ranged = client.get("/api/profiles/album/photos?after=2021-01-01&before=2023-07-01").get_json()
    assert {p["source"] for p in ranged["photos"]} == {"upload:p1.jpg", "upload:p2.jpg", "upload:p4.jpg"}
    assert ranged["total"] == 3


@pytest.mark.parametrize("query", ["sort=best", "limit=0", "limit=201", "cursor=nonsense", "after=yesterday"])
def test_timeline_bad_parameters_are_400(client, album, query: str) -> None:
    response = client.get(f"/api/profiles/album/photos?{query}")
    assert response.status_code == 400 and response.get_json()["error"]


def test_unknown_profile_timeline_and_suggestions_are_404(client) -> None:
    assert client.get("/api/profiles/nobody/photos").status_code == 404
    assert client.get("/api/profiles/nobody/suggestions").status_code == 404


def test_photo_detail_has_exif_details_and_file_size(client, album) -> None:
    detail = client.get(f"/api/photos/{album['p1.jpg']}").get_json()
    assert detail["camera"] == "Canon EOS 5D" and detail["has_gps"] is True
    assert detail["taken_at"] == "2021-03-04T10:00:00+00:00"
    assert detail["width"] == 96 and detail["height"] == 72 and detail["bytes"] > 500
    assert detail["source"] == "upload:p1.jpg"
    plain = client.get(f"/api/photos/{album['p3.jpg']}").get_json()
    assert plain["camera"] is None and plain["has_gps"] is False


def test_suggestions_come_from_the_collection_and_find_its_photos(client, album) -> None:
    suggestions = client.get("/api/profiles/album/suggestions").get_json()["suggestions"]
    assert 1 <= len(suggestions) <= 8
    photos = client.get("/api/profiles/album/photos").get_json()["photos"]
    labels = {lab["label"].lower() for p in photos for lab in p["labels"]}
    # The test describer writes labels only, no captions: each card shows its grounded sentence ("A photo of ...").
    shown_words = {w for p in photos if p["description"]["shown"] == "grounded"
                   for w in re.findall(r"[a-z]+", p["description"]["grounded_caption"].lower())}
    for word in suggestions:
        assert word in labels or word in shown_words, word
        found = client.get("/api/search", query_string={"profile": "album", "q": word}).get_json()
        assert found["results"] and found["results"][0]["matched"], word
    empty = client.post("/api/profiles", json={"name": "empty"})
    assert empty.status_code == 201
    assert client.get("/api/profiles/empty/suggestions").get_json() == {"suggestions": []}


def _visible(client, name: str = "album") -> set[int]:  # noqa: ANN001
    return {p["id"] for p in client.get(f"/api/profiles/{name}/photos?limit=200").get_json()["photos"]}


def test_delete_hides_at_once_and_undo_brings_it_back(client, album) -> None:
    victim = album["p1.jpg"]
    label_of_victim = client.get(f"/api/photos/{victim}").get_json()["labels"][0]["label"]
    before = client.get("/api/search", query_string={"profile": "album", "q": label_of_victim}).get_json()
    assert victim in {r["photo"]["id"] for r in before["results"]}
    response = client.delete(f"/api/photos/{victim}")
    assert response.status_code == 200 and response.get_json()["undo_seconds"] == 30
    assert victim not in _visible(client)
    assert client.get("/api/profiles/album").get_json()["photo_count"] == 4
    assert client.get(f"/api/photos/{victim}").status_code == 404
    found = client.get("/api/search", query_string={"profile": "album", "q": label_of_victim, "limit": 50}).get_json()
    assert victim not in {r["photo"]["id"] for r in found["results"]}
    others = client.get(f"/api/photos/{album['p2.jpg']}/similar").get_json()["results"]
    assert victim not in {r["photo"]["id"] for r in others}

    assert client.post(f"/api/photos/{victim}/restore").status_code == 200
    assert victim in _visible(client)
    assert client.get(f"/api/photos/{victim}").status_code == 200
    assert client.get("/api/profiles/album").get_json()["photo_count"] == 5


def test_bulk_delete_is_all_or_nothing_and_restore_undoes_it(client, album) -> None:
    ids = [album["p2.jpg"], album["p3.jpg"]]
    missing = client.post("/api/profiles/album/photos/delete", json={"ids": [*ids, 999999]})
    assert missing.status_code == 404 and "999999" in missing.get_json()["error"]
    assert set(ids) <= _visible(client)
    assert client.post("/api/profiles/album/photos/delete", json={"ids": ids}).status_code == 200
    assert not set(ids) & _visible(client)
    assert client.post("/api/profiles/album/photos/restore", json={"ids": ids}).status_code == 200
    assert set(ids) <= _visible(client)


@pytest.mark.parametrize("body", [None, {}, {"ids": []}, {"ids": "1"}, {"ids": [True]}, {"ids": [-1]},
                                  {"ids": [1.5]}])
def test_bulk_delete_bad_bodies_are_400(client, album, body: object) -> None:
    response = client.post("/api/profiles/album/photos/delete", json=body)
    assert response.status_code == 400 and "ids" in response.get_json()["error"]


def test_bulk_delete_refuses_photos_of_another_profile(client, album, sample_images, job_waiter) -> None:
    client.post("/api/profiles", json={"name": "other"})
    upload(client, "other", [(exif_photo(varied_photo(sample_images, 40)), "x.jpg")], job_waiter)
    other_id = next(iter(_visible(client, "other")))
    assert client.post("/api/profiles/album/photos/delete", json={"ids": [other_id]}).status_code == 404
    assert other_id in _visible(client, "other")


def test_purge_after_the_undo_window_removes_row_index_and_files(make_client, sample_images, job_waiter) -> None:
    client, services = make_client(undo_seconds=0.3)
    client.post("/api/profiles", json={"name": "p"})
    upload(client, "p", [(exif_photo(varied_photo(sample_images, i)), f"{i}.jpg") for i in range(3)], job_waiter)
    gone, kept = sorted(_visible(client, "p"))[:2]
    assert client.post("/api/profiles/p/photos/delete", json={"ids": [gone]}).status_code == 200
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline and (services.settings.thumbs_dir / f"{gone}.jpg").exists():
        time.sleep(0.1)  # the files go last
    with services.db.session() as session:
        assert session.get(Photo, gone) is None and session.get(Photo, kept) is not None
    assert gone not in services.index.photo_ids()
    assert not (services.settings.images_dir / f"{gone}.jpg").exists()
    assert not (services.settings.thumbs_dir / f"{gone}.jpg").exists()
    assert (services.settings.images_dir / f"{kept}.jpg").exists()
    assert client.post(f"/api/photos/{gone}/restore").status_code == 404  # too late to undo
    services.deletion.close()


def test_adding_a_deleted_photo_again_brings_it_back(client, album, sample_images, job_waiter) -> None:
    victim = album["p4.jpg"]
    client.delete(f"/api/photos/{victim}")
    taken, offset = DATES[4]
    upload(client, "album", [(exif_photo(varied_photo(sample_images, 4), taken=taken, offset=offset), "again.jpg")],
           job_waiter)
    assert victim in _visible(client)


def test_display_names_with_spaces_and_accents_get_a_url_safe_name(client) -> None:
    made = client.post("/api/profiles", json={"name": "Été à Paris 2024"})
    assert made.status_code == 201
    assert made.get_json()["name"] == "Ete-a-Paris-2024" and made.get_json()["display_name"] == "Été à Paris 2024"
    assert client.get("/api/profiles/Ete-a-Paris-2024").get_json()["display_name"] == "Été à Paris 2024"
    plain = client.post("/api/profiles", json={"name": "plain"}).get_json()
    assert plain["display_name"] == "plain"
    both = client.post("/api/profiles", json={"name": "kids", "display_name": "Kids' birthdays 🎂"}).get_json()
    assert (both["name"], both["display_name"]) == ("kids", "Kids' birthdays 🎂")
    renamed = client.patch("/api/profiles/kids", json={"display_name": "  Birthdays   of the kids "})
    assert renamed.status_code == 200 and renamed.get_json()["display_name"] == "Birthdays of the kids"
    assert client.patch("/api/profiles/kids", json={"display_name": ""}).status_code == 400
    assert client.post("/api/profiles", json={"name": "Été à Paris 2024"}).status_code == 409


def test_search_sorts_by_date_and_filters_a_date_range(client, album) -> None:
    photos = client.get("/api/profiles/album/photos").get_json()["photos"]
    every_photo = " ".join(p["labels"][0]["label"] for p in photos)  # (the test describer writes labels only)

    def ids(**params) -> list[int]:  # noqa: ANN003
        page = client.get("/api/search", query_string={"profile": "album", "q": every_photo, "limit": 50, **params})
        assert page.status_code == 200, page.get_json()
        return [r["photo"]["id"] for r in page.get_json()["results"]]

    newest = ids(sort="newest")
    assert newest == [p["id"] for p in photos]
    assert ids(sort="oldest") == newest[::-1]
    ranged = set(ids(after="2021-01-01", before="2023-07-01"))
    assert ranged <= {album["p1.jpg"], album["p2.jpg"], album["p4.jpg"]} and ranged
    assert client.get("/api/search", query_string={"profile": "album", "q": "x", "sort": "random"}).status_code == 400


@pytest.mark.parametrize("fmt,suffix", [("HEIF", "heic"), ("AVIF", "avif")])
def test_heic_and_avif_uploads_are_described_with_their_exif(client, sample_images, job_waiter, fmt: str,
                                                             suffix: str) -> None:
    client.post("/api/profiles", json={"name": "phone"})
    data = exif_photo(varied_photo(sample_images, 2, size=(120, 90)), fmt, taken="2024:05:31 18:42:07",
                      offset="+02:00", make="Apple", model="iPhone 15 Pro", gps=True)
    upload(client, "phone", [(data, f"IMG_0001.{suffix}")], job_waiter)
    (photo,) = client.get("/api/profiles/phone/photos").get_json()["photos"]
    detail = client.get(f"/api/photos/{photo['id']}").get_json()
    assert (detail["width"], detail["height"]) == (120, 90) and detail["labels"]
    assert detail["taken_at"] == "2024-05-31T16:42:07+00:00"
    assert detail["camera"] == "Apple iPhone 15 Pro" and detail["has_gps"] is True
    assert detail["bytes"] == len(data)
    served = client.get(photo["image_url"])
    assert served.status_code == 200 and served.data[:3] == b"\xff\xd8\xff"
    assert not Image.open(io.BytesIO(served.data)).getexif()  # position and camera stay private


def test_heic_over_the_pixel_limit_is_refused_before_decoding(make_client, job_waiter) -> None:
    client, _ = make_client(max_image_pixels=100 * 100)
    client.post("/api/profiles", json={"name": "big"})
    buffer = io.BytesIO()
    Image.new("RGB", (200, 150), (10, 120, 200)).save(buffer, "HEIF")
    data = {"files": [(io.BytesIO(buffer.getvalue()), "big.heic")]}
    job = client.post("/api/profiles/big/uploads", data=data, content_type="multipart/form-data").get_json()
    status = job_waiter(client, job["id"])
    assert status["failed"] == 1 and "over the" in status["failures"][0]["error"]


def test_deleted_photos_stay_out_of_the_database_checks(services, client, album) -> None:
    """A soft-deleted photo is still consistent (row, index doc and files) until it is purged."""
    from photosearch.services.check import check

    client.delete(f"/api/photos/{album['p5.jpg']}")
    assert check(services)["problems"] == 0
    services.deletion.purge()
    assert check(services)["problems"] == 0
    with services.db.session() as session:
        assert session.scalar(select(Photo).where(Photo.id == album["p5.jpg"])) is None


def test_search_without_usable_words_says_so_and_returns_nothing(client, album) -> None:
    for query in ["猫", "🚀"]:
        page = client.get("/api/search", query_string={"profile": "album", "q": query}).get_json()
        assert page["results"] == [] and page["matches"] == 0 and page["total"] == 0
        assert "No usable English words" in page["notice"] and query in page["notice"]


def test_typo_of_a_collection_word_is_searched_as_corrected(client, album) -> None:
    from photosearch.text.query_terms import english_words

    photos = client.get("/api/profiles/album/photos").get_json()["photos"]
    word = next(lab["label"].lower() for p in photos for lab in p["labels"]
                if lab["label"].isalpha() and len(lab["label"]) >= 6)
    typo = word[0] + word[2] + word[1] + word[3:]  # two letters swapped: one edit
    assert typo not in english_words()
    page = client.get("/api/search", query_string={"profile": "album", "q": typo}).get_json()
    assert page["did_you_mean"] == word and page["searched_for"] == word and page["query"] == typo
    assert page["results"] and word in page["results"][0]["matched"]


def test_results_say_whether_they_match_and_why(client, album) -> None:
    photo = client.get(f"/api/photos/{album['p1.jpg']}").get_json()
    label = photo["labels"][0]
    page = client.get("/api/search", query_string={"profile": "album", "q": label["label"]}).get_json()
    assert page["cutoff"] > 0 and page["did_you_mean"] is None and page["notice"] is None
    assert page["matches"] == sum(r["strong"] for r in page["results"]) >= 1
    first = next(r for r in page["results"] if r["photo"]["id"] == album["p1.jpg"])
    assert first["strong"] is True
    expected = f"{label['label']} (in labels, {round(100 * label['score'])} %)"
    assert {"text": expected, "kind": "label"} in first["reasons"]
