"""Instagram as a source: data export ZIPs built here, and a public profile through a recorded Instagram.

No network: the export tests write real ZIPs (with real tiny JPEGs) to tmp_path, and the online tests
replace `requests.Session.request`, under instaloader, with `FakeInstagram`, which answers from small
hand-written copies of what instagram.com sends (the profile page, its GraphQL answers). That way the
real instaloader code runs, so a change in what it asks for shows up here.
"""

from __future__ import annotations

import io
import json
import sys
import zipfile
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
from PIL import Image

from photosearch.errors import FetchError, ImageError, InvalidInput
from photosearch.sources.instagram import (
    INSTALL_HINT,
    VIDEO_SKIP_REASON,
    _default_loader,
    _safe_member_name,
    extract_hashtags,
    fetch_profile,
    fix_mojibake,
    normalize_username,
    read_export,
)

CAPTION = "Café ☕ au lever du soleil 😍 #Paris #café"


def jpeg(color: str = "red") -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (8, 8), color).save(buffer, "JPEG")
    return buffer.getvalue()


def mangle(text: str) -> str:
    """Text as Instagram's export writes it: UTF-8 bytes read back as Latin-1."""
    return text.encode("utf-8").decode("latin-1")


def write_zip(path: Path, members: dict[str, bytes | str]) -> Path:
    with zipfile.ZipFile(path, "w") as archive:
        for name, data in members.items():
            archive.writestr(name, data)
    return path


def posts_json(posts: list[dict[str, Any]]) -> str:
    # json.dumps escapes the mangled characters as \u00c3..., exactly like the real files.
    return json.dumps(posts)


# 2024-01-01 10:00 UTC, 2024-01-02 10:00 UTC, ...
T1, T2, T3, T4, T5 = 1704103200, 1704189600, 1704276000, 1704362400, 1704448800

POSTS_1 = [
    # A single photo: the caption is only on its media item.
    {"media": [{"uri": "media/posts/202401/17901.jpg", "creation_timestamp": T1, "title": mangle(CAPTION)}]},
    # A carousel: caption and time on the post, the items' titles empty.
    {
        "title": mangle("Deux vues de Montmartre 🇫🇷 #Montmartre #paris"),
        "creation_timestamp": T2,
        "media": [
            {"uri": "media/posts/202401/17902.jpg", "creation_timestamp": T2, "title": ""},
            {"uri": "media/posts/202401/17903.jpg", "creation_timestamp": T2, "title": ""},
        ],
    },
    # A video.
    {
        "media": [
            {
                "uri": "media/posts/202401/17904.mp4",
                "creation_timestamp": T3,
                "title": "Timelapse #sunset",
                "media_metadata": {"video_metadata": {"exif_data": []}},
            }
        ]
    },
    # No caption at all.
    {"media": [{"uri": "media/posts/202401/17905.jpg", "creation_timestamp": T4, "title": ""}]},
]
POSTS_2 = [{"media": [{"uri": "media/posts/202312/17906.jpg", "creation_timestamp": T5, "title": "Older"}]}]
PHOTO_FILES = {
    "media/posts/202401/17901.jpg": jpeg("red"),
    "media/posts/202401/17902.jpg": jpeg("green"),
    "media/posts/202401/17903.jpg": jpeg("blue"),
    "media/posts/202401/17904.mp4": b"\x00\x00\x00\x18ftypmp42",
    "media/posts/202401/17905.jpg": jpeg("white"),
    "media/posts/202312/17906.jpg": jpeg("black"),
}
LAYOUTS = ["content", "your_instagram_activity/content", "your_instagram_activity/media"]


def make_export(tmp_path: Path, folder: str, root: str = "") -> Path:
    prefix = f"{root}/" if root else ""
    members: dict[str, bytes | str] = {
        f"{prefix}{folder}/posts_1.json": posts_json(POSTS_1),
        f"{prefix}{folder}/posts_2.json": posts_json(POSTS_2),
        # Not posts: must be ignored.
        f"{prefix}{folder}/stories.json": json.dumps({"ig_stories": [{"uri": "media/stories/1.jpg"}]}),
        f"{prefix}{folder}/profile_photos.json": json.dumps({"ig_profile_picture": []}),
        f"{prefix}media/stories/1.jpg": jpeg("yellow"),
    }
    members.update({f"{prefix}{name}": data for name, data in PHOTO_FILES.items()})
    return write_zip(tmp_path / "export.zip", members)


# --- Text --------------------------------------------------------------------------------------------


def test_fix_mojibake_restores_accents_and_emoji() -> None:
    assert fix_mojibake("Caf\u00c3\u00a9") == "Café"
    assert fix_mojibake("\u00f0\u009f\u0098\u008d") == "😍"
    assert fix_mojibake(mangle(CAPTION)) == CAPTION


@pytest.mark.parametrize("text", ["Café", "plain ascii", "😍 already right", "日本語", ""])
def test_fix_mojibake_leaves_correct_text_alone(text: str) -> None:
    assert fix_mojibake(text) == text


@pytest.mark.parametrize(
    ("text", "tags"),
    [
        (CAPTION, ["paris", "café"]),
        ("#Paris😍 and #PARIS again", ["paris"]),
        ("#a#b, #c_d.", ["a", "b", "c_d"]),
        ("C# and we're #1 and mail@x#y", []),
        ("#भारत #東京 #Grèce", ["भारत", "東京", "grèce"]),
        ("#Cafe\u0301", ["café"]),  # decomposed accent, as some keyboards type it
        (None, []),
        ("no tags here #", []),
    ],
)
def test_extract_hashtags(text: str | None, tags: list[str]) -> None:
    assert extract_hashtags(text) == tags


# --- The data export ---------------------------------------------------------------------------------


@pytest.mark.parametrize("folder", LAYOUTS)
def test_read_export_both_layouts(tmp_path: Path, folder: str) -> None:
    photos = read_export(make_export(tmp_path, folder))

    assert [p.source for p in photos] == [f"instagram:{name}" for name in PHOTO_FILES]
    assert {p.kind for p in photos} == {"instagram"}
    single, carousel_a, carousel_b, video, uncaptioned, older = photos

    assert single.poster_caption == CAPTION
    assert single.hashtags == ["paris", "café"]
    assert single.taken_at == datetime(2024, 1, 1, 10, 0, tzinfo=UTC)
    assert single.skip_reason is None
    assert single.read() == PHOTO_FILES["media/posts/202401/17901.jpg"]
    assert Image.open(io.BytesIO(single.read())).size == (8, 8)

    # A carousel: one record per photo, one post, one caption.
    assert carousel_a.post_id == carousel_b.post_id != single.post_id
    assert (
        carousel_a.poster_caption
        == carousel_b.poster_caption
        == "Deux vues de Montmartre 🇫🇷 #Montmartre #paris"
    )
    assert carousel_a.hashtags == carousel_b.hashtags == ["montmartre", "paris"]
    assert carousel_b.taken_at == datetime(2024, 1, 2, 10, 0, tzinfo=UTC)
    assert carousel_b.read() == PHOTO_FILES["media/posts/202401/17903.jpg"]

    assert video.skip_reason == VIDEO_SKIP_REASON
    assert video.hashtags == ["sunset"]
    with pytest.raises(ImageError, match="video"):
        video.read()

    assert uncaptioned.poster_caption is None
    assert uncaptioned.hashtags == []
    assert uncaptioned.taken_at == datetime(2024, 1, 4, 10, 0, tzinfo=UTC)
    assert older.poster_caption == "Older"  # posts_2.json follows posts_1.json
    assert len({p.post_id for p in photos}) == 5


def test_read_export_post_ids_are_stable(tmp_path: Path) -> None:
    first = read_export(make_export(tmp_path, "content"))
    again = read_export(make_export(tmp_path, "your_instagram_activity/content"))
    assert [p.post_id for p in first] == [p.post_id for p in again]


def test_read_export_rezipped_folder(tmp_path: Path) -> None:
    """Unpacked and zipped again: everything sits under one folder, the uris stay relative to it."""
    photos = read_export(make_export(tmp_path, "your_instagram_activity/content", root="instagram-me-2024"))
    assert len(photos) == 6
    assert photos[0].source == "instagram:media/posts/202401/17901.jpg"
    assert photos[0].read() == PHOTO_FILES["media/posts/202401/17901.jpg"]


def test_read_export_orders_posts_files_numerically(tmp_path: Path) -> None:
    members: dict[str, bytes | str] = {}
    for n in (10, 2, 1):
        uri = f"media/posts/{n}.jpg"
        members[f"content/posts_{n}.json"] = posts_json([{"media": [{"uri": uri, "title": str(n)}]}])
        members[uri] = jpeg()
    photos = read_export(write_zip(tmp_path / "export.zip", members))
    assert [p.poster_caption for p in photos] == ["1", "2", "10"]


def test_read_export_dict_wrapped_posts_and_missing_fields(tmp_path: Path) -> None:
    posts = {"ig_posts": [{"media": [{"uri": "media/a.jpg"}]}, {"media": []}, {"title": "no media"}, "junk"]}
    photos = read_export(
        write_zip(tmp_path / "e.zip", {"content/posts_1.json": json.dumps(posts), "media/a.jpg": jpeg()})
    )
    assert len(photos) == 1
    assert photos[0].taken_at is None and photos[0].poster_caption is None


def test_not_a_zip(tmp_path: Path) -> None:
    path = tmp_path / "photo.zip"
    path.write_bytes(jpeg())
    with pytest.raises(InvalidInput, match="not a ZIP file"):
        read_export(path)
    with pytest.raises(InvalidInput, match="no Instagram export"):
        read_export(tmp_path / "missing.zip")


def test_zip_that_is_not_an_instagram_export(tmp_path: Path) -> None:
    path = write_zip(tmp_path / "holiday.zip", {"DCIM/IMG_0001.jpg": jpeg(), "notes.txt": "hello"})
    with pytest.raises(InvalidInput, match="not an Instagram data export") as info:
        read_export(path)
    assert "Download your information" in info.value.message


def test_export_in_html_format(tmp_path: Path) -> None:
    path = write_zip(tmp_path / "e.zip", {"your_instagram_activity/content/posts_1.html": "<html></html>"})
    with pytest.raises(InvalidInput, match="HTML format; request it in JSON"):
        read_export(path)


def test_export_without_posts(tmp_path: Path) -> None:
    path = write_zip(tmp_path / "e.zip", {"personal_information/personal_information.json": "{}"})
    with pytest.raises(InvalidInput, match="contains no posts"):
        read_export(path)


def test_posts_file_that_is_not_json(tmp_path: Path) -> None:
    path = write_zip(tmp_path / "e.zip", {"content/posts_1.json": "<html>"})
    with pytest.raises(InvalidInput, match="cannot be read"):
        read_export(path)


@pytest.mark.parametrize(
    "uri", ["../../etc/passwd.jpg", "media/../../x.jpg", "/etc/x.jpg", "C:/x.jpg", "a\\..\\b.jpg"]
)
def test_zip_slip_names_are_refused(tmp_path: Path, uri: str) -> None:
    members: dict[str, bytes | str] = {
        "content/posts_1.json": posts_json([{"media": [{"uri": uri, "title": "sneaky"}]}]),
        uri: jpeg(),  # even when the ZIP really holds such a member
    }
    (photo,) = read_export(write_zip(tmp_path / "e.zip", members))
    assert photo.skip_reason and "unsafe path" in photo.skip_reason
    with pytest.raises(InvalidInput, match="unsafe path"):
        photo.read()


@pytest.mark.parametrize("name", ["../x.jpg", "a/../../x.jpg", "/abs.jpg", "C:\\x.jpg", "", "x\x00.jpg"])
def test_safe_member_name_rejects(name: str) -> None:
    assert _safe_member_name(name) is None


def test_safe_member_name_normalises() -> None:
    assert _safe_member_name("./media//posts/a.jpg") == "media/posts/a.jpg"


def test_missing_member(tmp_path: Path) -> None:
    posts = posts_json([{"media": [{"uri": "media/posts/gone.jpg", "title": "x"}]}])
    (photo,) = read_export(write_zip(tmp_path / "e.zip", {"content/posts_1.json": posts}))
    assert photo.skip_reason is None  # known only when read, and recorded by the job as that photo's failure
    with pytest.raises(InvalidInput, match="missing from the ZIP"):
        photo.read()


def test_member_over_the_size_limit(tmp_path: Path) -> None:
    posts = posts_json([{"media": [{"uri": "media/big.jpg"}, {"uri": "media/small.jpg"}]}])
    path = write_zip(
        tmp_path / "e.zip",
        {"content/posts_1.json": posts, "media/big.jpg": b"x" * 5000, "media/small.jpg": b"ok"},
    )
    big, small = read_export(path, max_bytes=4096)
    with pytest.raises(ImageError, match="limit"):
        big.read()
    assert small.read() == b"ok"


def test_export_removed_before_reading(tmp_path: Path) -> None:
    path = make_export(tmp_path, "content")
    photos = read_export(path)
    path.unlink()
    with pytest.raises(InvalidInput, match="no longer there"):
        photos[0].read()


def test_reads_share_one_handle(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    photos = read_export(make_export(tmp_path, "content"))
    opened: list[object] = []
    real = zipfile.ZipFile

    def counting(*args: Any, **kwargs: Any) -> zipfile.ZipFile:
        opened.append(args[0])
        return real(*args, **kwargs)

    monkeypatch.setattr(zipfile, "ZipFile", counting)
    for photo in photos:
        if photo.skip_reason is None:
            photo.read()
    assert len(opened) == 1


# --- A public profile, online ------------------------------------------------------------------------

POST_DOC_ID = "27128499623469141"  # instaloader's query for one post's metadata
TIMELINE_DOC_ID = "28904005159232689"  # instaloader's query for the next page of a profile's posts
CDN = "https://scontent-cdg4-1.cdninstagram.com/v/t51.29350-15"
USER = {"pk": "787132", "username": "natgeotravel", "full_name": "Nat Geo Travel"}


def _image(url: str) -> dict[str, Any]:
    return {"candidates": [{"url": url, "width": 1080, "height": 1080}]}


# What the post query answers, per shortcode: trimmed copies of Instagram's media items.
MEDIA: dict[str, dict[str, Any]] = {
    "C1mage": {
        "code": "C1mage",
        "pk": "3380000000000000001",
        "media_type": 1,
        "taken_at": 1717236000,  # 2024-06-01 10:00 UTC
        "user": USER,
        "caption": {"text": "Lever du soleil à Santorin 🌅 #Santorini #Grèce"},
        "image_versions2": _image(f"{CDN}/sunrise.jpg?oe=66AA&oh=1"),
    },
    "C2arou": {
        "code": "C2arou",
        "pk": "3380000000000000002",
        "media_type": 8,
        "taken_at": 1717149600,  # 2024-05-31 10:00 UTC
        "user": USER,
        "caption": {"text": "Kyoto en automne #京都 #autumn"},
        "carousel_media": [
            {"media_type": 1, "image_versions2": _image(f"{CDN}/kyoto-1.jpg")},
            {
                "media_type": 2,
                "image_versions2": _image(f"{CDN}/kyoto-clip-thumb.jpg"),
                "video_versions": [{"url": f"{CDN}/kyoto-clip.mp4"}],
            },
            {"media_type": 1, "image_versions2": _image(f"{CDN}/kyoto-3.jpg")},
        ],
    },
    "C3video": {
        "code": "C3video",
        "pk": "3380000000000000003",
        "media_type": 2,
        "taken_at": 1717063200,
        "user": USER,
        "caption": None,
        "image_versions2": _image(f"{CDN}/clip-thumb.jpg"),
        "video_versions": [{"url": f"{CDN}/clip.mp4"}],
    },
}


def _profile_page(username: str, codes: list[str], has_next: bool, private: bool = False) -> str:
    """The profile page: the first posts and the profile come embedded as GraphQL results."""
    details = {
        "xig_user_by_username": {**USER, "username": username, "is_private": private, "all_media_count": 3}
    }
    timeline = {
        "xig_user_by_username": {
            "pk": USER["pk"],
            "id": "page-user-id",
            "is_private": private,
            "polaris_ordered_timeline_connection": {
                "edges": [{"node": {"code": code}} for code in codes],
                "page_info": {"has_next_page": has_next, "end_cursor": "cursor-1" if has_next else None},
            },
        }
    }
    blobs = [
        {"require": [["ScheduledServerJS", "handle", None, [{"__bbox": {"result": {"data": data}}}]]]}
        for data in (details, timeline)
    ]
    scripts = "".join(f'<script type="application/json" data-sjs>{json.dumps(b)}</script>' for b in blobs)
    return f"<!DOCTYPE html><html><head>{scripts}</head><body></body></html>"


START_PAGE = '<html><script>["LSD",[],{"token":"lsd-token"},323]; {"IG_USER_EIMU":"0"}</script></html>'

Answer = tuple[int, str, dict[str, str]] | BaseException


class FakeInstagram:
    """Stands in for instagram.com under instaloader; `answers` overrides a route, `calls` records them."""

    def __init__(self, username: str = "natgeotravel", answers: dict[str, Answer] | None = None) -> None:
        self.username = username
        self.answers = answers or {}
        self.calls: list[str] = []

    def route(self, method: str, url: str, data: dict[str, Any] | None) -> str:
        parts = urlsplit(url)
        assert parts.hostname == "www.instagram.com", f"unexpected request to {url}"
        if method == "GET" and parts.path == "/":
            return "start"
        if method == "GET":
            return f"page:{parts.path.strip('/')}"
        assert parts.path == "/api/graphql/" or parts.path == "/api/graphql", url
        variables = json.loads((data or {})["variables"])
        if data and data["doc_id"] == POST_DOC_ID:
            return f"post:{variables['shortcode']}"
        assert data and data["doc_id"] == TIMELINE_DOC_ID, data
        return f"timeline:{variables.get('after')}"

    def answer(self, key: str) -> Answer:
        if key in self.answers:
            return self.answers[key]
        if key == "start":
            return 200, START_PAGE, {}
        if key == f"page:{self.username}":
            return 200, _profile_page(self.username, ["C1mage", "C2arou"], has_next=True), {}
        if key.startswith("page:"):
            return 404, "<html>Sorry, this page isn't available.</html>", {}
        if key == "timeline:cursor-1":
            connection = {"edges": [{"node": {"code": "C3video"}}], "page_info": {"has_next_page": False}}
            return (
                200,
                json.dumps({"data": {"node": {"polaris_ordered_timeline_connection": connection}}}),
                {},
            )
        if key.startswith("post:"):
            media = MEDIA[key.removeprefix("post:")]
            return (
                200,
                json.dumps({"data": {"xdt_api__v1__media__shortcode__web_info": {"items": [media]}}}),
                {},
            )
        raise AssertionError(f"no recorded answer for {key}")

    def request(
        self, session: Any, method: str, url: str, params: Any = None, data: Any = None, **_: Any
    ) -> Any:
        import requests
        from requests.structures import CaseInsensitiveDict

        key = self.route(method.upper(), url, data)
        self.calls.append(key)
        answer = self.answer(key)
        if isinstance(answer, BaseException):
            raise answer
        status, body, headers = answer
        response = requests.Response()
        response.status_code = status
        response.reason = {200: "OK", 302: "Found", 404: "Not Found", 429: "Too Many Requests"}.get(
            status, ""
        )
        response._content = body.encode()
        response.headers = CaseInsensitiveDict(headers)
        response.url = url
        response.encoding = "utf-8"
        return response


@pytest.fixture
def instagram(monkeypatch: pytest.MonkeyPatch) -> Callable[..., FakeInstagram]:
    """Install a FakeInstagram under every requests.Session (instaloader makes several)."""
    pytest.importorskip("instaloader")
    import requests

    def install(**kwargs: Any) -> FakeInstagram:
        fake = FakeInstagram(**kwargs)
        monkeypatch.setattr(
            requests.Session, "request", lambda session, *a, **kw: fake.request(session, *a, **kw)
        )
        return fake

    return install


def quiet_loader() -> Any:
    """An instaloader without its politeness pauses, so tests run in milliseconds."""
    import instaloader

    return instaloader.Instaloader(sleep=False, quiet=True, max_connection_attempts=1)


class Fetcher:
    def __init__(self) -> None:
        self.urls: list[str] = []

    def __call__(self, url: str) -> bytes:
        self.urls.append(url)
        return jpeg()


def test_fetch_profile_lists_photos_without_downloading(instagram: Callable[..., FakeInstagram]) -> None:
    fake = instagram()
    fetch = Fetcher()
    photos = fetch_profile("natgeotravel", None, fetch=fetch, loader=quiet_loader())

    assert fetch.urls == []  # nothing downloaded yet: the ingest job reads each photo itself
    assert [p.source for p in photos] == [
        "https://www.instagram.com/p/C1mage/",
        "https://www.instagram.com/p/C2arou/?img_index=1",
        "https://www.instagram.com/p/C2arou/?img_index=2",
        "https://www.instagram.com/p/C2arou/?img_index=3",
        "https://www.instagram.com/p/C3video/",  # from the second page of posts
    ]
    assert {p.kind for p in photos} == {"url"}
    image, car1, car_video, car3, video = photos

    assert image.poster_caption == "Lever du soleil à Santorin 🌅 #Santorini #Grèce"
    assert image.hashtags == ["santorini", "grèce"]
    assert image.taken_at == datetime(2024, 6, 1, 10, 0, tzinfo=UTC)
    assert image.post_id == "C1mage"
    assert image.skip_reason is None
    assert image.read() == jpeg()
    assert fetch.urls == [f"{CDN}/sunrise.jpg?oe=66AA&oh=1"]

    assert car1.post_id == car3.post_id == car_video.post_id == "C2arou"
    assert car1.hashtags == car3.hashtags == ["京都", "autumn"]
    car3.read()
    assert fetch.urls[-1] == f"{CDN}/kyoto-3.jpg"

    for skipped in (car_video, video):
        assert skipped.skip_reason == VIDEO_SKIP_REASON
        with pytest.raises(ImageError):
            skipped.read()
    assert video.poster_caption is None and video.hashtags == []
    assert fake.calls.count("timeline:cursor-1") == 1


def test_fetch_profile_limit_asks_for_no_more_posts(instagram: Callable[..., FakeInstagram]) -> None:
    fake = instagram()
    photos = fetch_profile("@NatGeoTravel", 1, fetch=Fetcher(), loader=quiet_loader())
    assert [p.post_id for p in photos] == ["C1mage"]
    assert [c for c in fake.calls if c.startswith(("post:", "timeline:"))] == ["post:C1mage"]


def test_fetch_profile_offline(instagram: Callable[..., FakeInstagram]) -> None:
    import requests

    instagram(answers={"page:natgeotravel": requests.exceptions.ConnectionError("Name or service not known")})
    with pytest.raises(FetchError, match="could not reach Instagram.*offline"):
        fetch_profile("natgeotravel", 10, fetch=Fetcher(), loader=quiet_loader())


def test_fetch_profile_not_found(instagram: Callable[..., FakeInstagram]) -> None:
    instagram()
    with pytest.raises(FetchError, match="'nobody_here_123' does not exist"):
        fetch_profile("nobody_here_123", 10, fetch=Fetcher(), loader=quiet_loader())


def test_fetch_profile_private(instagram: Callable[..., FakeInstagram]) -> None:
    page = _profile_page("secretgarden", [], has_next=False, private=True)
    instagram(username="secretgarden", answers={"page:secretgarden": (200, page, {})})
    with pytest.raises(FetchError, match="requires a login.*private"):
        fetch_profile("secretgarden", None, fetch=Fetcher(), loader=quiet_loader())


def test_fetch_profile_login_wall(instagram: Callable[..., FakeInstagram]) -> None:
    login = {"Location": "https://www.instagram.com/accounts/login/?next=/natgeotravel/"}
    instagram(answers={"page:natgeotravel": (302, "", login)})
    with pytest.raises(FetchError, match="requires a login"):
        fetch_profile("natgeotravel", None, fetch=Fetcher(), loader=quiet_loader())


def test_fetch_profile_rate_limited_midway_returns_nothing(instagram: Callable[..., FakeInstagram]) -> None:
    fake = instagram(answers={"post:C2arou": (429, '{"status": "fail", "message": "Please wait"}', {})})
    with pytest.raises(FetchError, match="rate-limiting.*429"):
        fetch_profile("natgeotravel", None, fetch=Fetcher(), loader=quiet_loader())
    assert "post:C1mage" in fake.calls  # it failed part-way, and still nothing was returned


def test_default_loader_fails_fast_on_429(
    instagram: Callable[..., FakeInstagram], monkeypatch: pytest.MonkeyPatch
) -> None:
    import instaloader

    slept: list[float] = []
    monkeypatch.setattr(instaloader.instaloadercontext.time, "sleep", slept.append)
    fake = instagram(answers={"post:C1mage": (429, "{}", {})})
    with pytest.raises(FetchError, match="rate-limiting"):
        fetch_profile("natgeotravel", None, fetch=Fetcher(), loader=_default_loader(instaloader))
    assert fake.calls.count("post:C1mage") == 1  # not retried after a long wait
    assert max(slept, default=0) <= 15  # only instaloader's short pauses between requests


def test_fetch_profile_unexpected_answer(instagram: Callable[..., FakeInstagram]) -> None:
    instagram(answers={"post:C1mage": (200, json.dumps({"data": {}}), {})})
    with pytest.raises(FetchError, match="did not answer as expected"):
        fetch_profile("natgeotravel", None, fetch=Fetcher(), loader=quiet_loader())


def test_fetch_profile_without_instaloader(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "instaloader", None)  # makes `import instaloader` fail
    with pytest.raises(InvalidInput) as info:
        fetch_profile("natgeotravel", 5, fetch=Fetcher())
    assert info.value.message == INSTALL_HINT


@pytest.mark.parametrize(
    ("value", "name"),
    [
        ("natgeotravel", "natgeotravel"),
        (" @NatGeoTravel ", "natgeotravel"),
        ("https://www.instagram.com/natgeotravel/", "natgeotravel"),
        ("instagram.com/nat.geo_travel?hl=fr", "nat.geo_travel"),
    ],
)
def test_normalize_username(value: str, name: str) -> None:
    assert normalize_username(value) == name


@pytest.mark.parametrize("value", ["", "../admin", "nat geo", "a" * 31, "name/p/x", "ünïcode"])
def test_invalid_username(value: str) -> None:
    with pytest.raises(InvalidInput, match="not an Instagram username"):
        fetch_profile(value, 5, fetch=Fetcher())


@pytest.mark.parametrize("limit", [0, -3, True])
def test_invalid_limit(limit: int) -> None:
    with pytest.raises(InvalidInput, match="positive"):
        fetch_profile("natgeotravel", limit, fetch=Fetcher())
