"""Instagram as a source: a person's own data export (offline) or a public profile (online).

Both ways in return `SourcePhoto` records; the ingest job reads their bytes lazily, one photo at a time,
so one bad photo is recorded as a failure and never stops the job.

1. `read_export(path)` reads the ZIP from Instagram's "Download your information" in JSON format.
   No network and no scraping: this is the person's own data. Depending on its age the ZIP holds

       content/posts_1.json                          (older exports)
       your_instagram_activity/content/posts_1.json  (newer exports)
       your_instagram_activity/media/posts_1.json    (exports since 2024)
       media/posts/202401/17900000000000000.jpg      (the photos, named by each item's `uri`)

   Each posts_N.json is a list of posts. A post has `media`, one item per photo or video (several for a
   carousel), each with `uri` (relative to the export's root), `creation_timestamp` and `title`. The
   caption sits in the post's `title`, or for a single photo often only in its media item's `title`:

       [{"media": [{"uri": "media/posts/202401/1.jpg", "creation_timestamp": 1704103200,
                    "title": "Caf\\u00c3\\u00a9 #Paris"}]},
        {"title": "Two photos", "creation_timestamp": 1704189600,
         "media": [{"uri": "media/posts/202401/2.jpg", "title": ""},
                   {"uri": "media/posts/202401/3.jpg", "title": ""}]}]

   Instagram writes that text mis-encoded: every UTF-8 byte is escaped as if it were a Latin-1
   character, so "Café" arrives as "CafÃ©" and 😍 as "\\u00f0\\u009f\\u0098\\u008d". `fix_mojibake`
   undoes that. Stories, reels archives and profile photos live in other files and are ignored.

2. `fetch_profile(username, limit, fetch=...)` lists a public profile's posts through instaloader (an
   optional dependency) and returns one record per photo whose `read` goes through the ingest service's
   SSRF-safe URL fetcher. We only collect addresses and captions here; nothing is downloaded, and if
   Instagram refuses part-way we raise `FetchError` and return nothing rather than half a profile.

Videos are not photos: both ways yield a record with `skip_reason` set (and a `read` that raises), so the
job can report them instead of silently dropping them.
"""

from __future__ import annotations

import json
import re
import threading
import unicodedata
import zipfile
import zlib
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from itertools import islice
from pathlib import Path, PurePosixPath
from typing import Any
from urllib.parse import urlsplit

from photosearch.config import Settings
from photosearch.errors import FetchError, ImageError, InvalidInput, PhotosearchError
from photosearch.sources.base import CliOption, JsonField, ListContext, SavedFile, Source, SourcePhoto
from photosearch.units import megabytes as _megabytes

# The default of Settings.max_image_bytes; the ingest service passes its own setting.
MAX_MEMBER_BYTES = 50_000_000
# A posts_N.json this large would be ~200,000 posts: anything bigger is not an export we should parse.
MAX_POSTS_JSON_BYTES = 64 * 1024 * 1024
VIDEO_SKIP_REASON = "video posts are skipped"
VIDEO_EXTENSIONS = frozenset({".mp4", ".mov", ".m4v", ".avi", ".webm", ".mkv", ".3gp"})
INSTALL_HINT = "install the instagram extra: pip install 'photosearch[instagram]'"

_POSTS_FILE = re.compile(r"posts_(\d+)\.json")
_USERNAME = re.compile(r"[a-z0-9._]{1,30}")


# --- Text --------------------------------------------------------------------------------------------


def fix_mojibake(text: str) -> str:
    """Undo Instagram's export encoding ("CafÃ©" -> "Café"); text that was not mangled comes back as is.

    Correct text fails one of the two steps (a character above U+00FF cannot be Latin-1; "é" as one
    Latin-1 byte is not valid UTF-8), which is what makes the round trip safe to try on everything.
    """
    try:
        return text.encode("latin-1").decode("utf-8")
    except UnicodeError:
        return text


def _is_tag_char(ch: str) -> bool:
    # Combining marks (category M*) belong to the word in scripts such as Devanagari; str.isalnum()
    # alone would cut "#भारत" after its first letter.
    return ch == "_" or ch.isalnum() or unicodedata.category(ch).startswith("M")


def extract_hashtags(text: str | None) -> list[str]:
    """Hashtags in the order they first appear: lowercase, without '#', any script ("#Café" -> "café").

    Like Instagram, "C#" and "#1" are not hashtags, while "#a#b" is two. Linear in the text's length: a
    caption of 50,000 hashtags (a hostile export) is read once, and duplicates are found in a dict.
    """
    text = unicodedata.normalize("NFC", text or "")
    tags: dict[str, None] = {}  # ordered, with O(1) membership (a list made 50,000 tags take 12 s)
    previous_end = -1
    start = text.find("#")
    while start != -1:
        end = start + 1
        while end < len(text) and _is_tag_char(text[end]):
            end += 1
        glued_to_word = start > 0 and start != previous_end and _is_tag_char(text[start - 1])
        tag = text[start + 1 : end].lower()
        if tag and not glued_to_word and not tag.isdigit():
            tags.setdefault(tag, None)
            previous_end = end
        start = text.find("#", end if end > start + 1 else start + 1)
    return list(tags)


def _clean_caption(value: object) -> str | None:
    if not isinstance(value, str):
        return None
    text = unicodedata.normalize("NFC", fix_mojibake(value)).strip()
    return text or None


def _utc(timestamp: object) -> datetime | None:
    if isinstance(timestamp, bool) or not isinstance(timestamp, int | float):
        return None
    try:
        return datetime.fromtimestamp(timestamp, tz=UTC)
    except (OverflowError, OSError, ValueError):
        return None


# --- The data export ---------------------------------------------------------------------------------


def _safe_member_name(name: str) -> str | None:
    """The ZIP member a `uri` names, or None when it tries to leave the export (zip-slip).

    We never extract to disk, but a name like "../../etc/passwd" is a sign of a crafted archive, so it is
    refused rather than looked up.
    """
    if not name or "\\" in name or "\x00" in name or name.startswith("/") or re.match(r"[A-Za-z]:", name):
        return None
    parts = [part for part in name.split("/") if part not in ("", ".")]
    if not parts or ".." in parts:
        return None
    return "/".join(parts)


class _ExportZip:
    """One lazily opened handle on an export, shared by all of its photos.

    Opening a ZIP parses its whole central directory; reopening it for each of 10,000 photos would cost
    more than reading them. The lock keeps the single handle's seeks consistent across worker threads.
    """

    def __init__(self, path: Path, max_bytes: int, shown: str | None = None) -> None:
        self.path = path
        self.max_bytes = max_bytes
        self.shown = shown or path.name  # the person's file name, not the generated one of an upload
        self._zip: zipfile.ZipFile | None = None
        self._lock = threading.Lock()

    def _open(self) -> zipfile.ZipFile:
        if self._zip is None:
            try:
                self._zip = zipfile.ZipFile(self.path)
            except FileNotFoundError:
                raise InvalidInput(f"the Instagram export {self.shown} is no longer there") from None
            except (zipfile.BadZipFile, OSError) as err:
                raise InvalidInput(f"the Instagram export {self.shown} cannot be read: {err}") from None
        return self._zip

    def read(self, uri: str) -> bytes:
        name = _safe_member_name(uri)
        if name is None:
            raise InvalidInput(f"unsafe path in the Instagram export: {uri!r} points outside the export")
        with self._lock:
            archive = self._open()
            try:
                info = archive.getinfo(name)
            except KeyError:
                raise InvalidInput(
                    f"{name} is listed in the export's posts but missing from the ZIP"
                ) from None
            if info.file_size > self.max_bytes:
                raise ImageError(
                    f"{name} is {_megabytes(info.file_size)}, over the {_megabytes(self.max_bytes)} limit"
                )
            try:
                with archive.open(info) as member:
                    # Bounded read: the size in the ZIP header is the archive's claim, not a guarantee.
                    data = member.read(self.max_bytes + 1)
            except (zipfile.BadZipFile, zlib.error, OSError, RuntimeError, NotImplementedError) as err:
                raise ImageError(f"{name} could not be read from the export: {err}") from None
        if len(data) > self.max_bytes:
            raise ImageError(f"{name} is over the {_megabytes(self.max_bytes)} limit")
        return data


def _posts_files(names: list[str]) -> list[tuple[str, str]]:
    """(member, root) of each posts_N.json, in export order; `root` is what the media `uri`s are relative to.

    The root is "" for a ZIP straight from Instagram, or a folder when someone unpacked and re-zipped it.
    """
    found: list[tuple[str, int, str]] = []
    for name in names:
        parts = PurePosixPath(name).parts
        match = _POSTS_FILE.fullmatch(parts[-1]) if parts else None
        if not match or len(parts) < 2 or parts[-2] not in ("content", "media"):
            continue
        depth = 3 if len(parts) >= 3 and parts[-3] == "your_instagram_activity" else 2
        root = "/".join(parts[:-depth])
        found.append((root, int(match.group(1)), name))
    found.sort()
    return [(name, root) for root, _, name in found]


# Folders only an Instagram export has: a ZIP with these but no posts_N.json is an export without posts.
_EXPORT_FOLDERS = frozenset(
    {"your_instagram_activity", "personal_information", "logged_information", "connections"}
)


def _not_an_export(shown: str, names: list[str]) -> InvalidInput:
    how = (
        "In Instagram, open Accounts Center > Your information and permissions > Download your information, "
        "choose your posts, format JSON, and give the ZIP you receive."
    )
    if any(PurePosixPath(n).name.startswith("posts_") and n.endswith(".html") for n in names):
        return InvalidInput(
            f"{shown} is an Instagram export in HTML format; request it in JSON format. {how}"
        )
    if any(_EXPORT_FOLDERS.intersection(PurePosixPath(n).parts[:-1]) for n in names):
        return InvalidInput(
            f"{shown} looks like an Instagram export but contains no posts (no posts_1.json). "
            f"Request it again with your posts included. {how}"
        )
    return InvalidInput(
        f"{shown} is not an Instagram data export: it has no content/posts_1.json or "
        f"your_instagram_activity/content/posts_1.json. {how}"
    )


def _load_posts(archive: zipfile.ZipFile, name: str) -> list[dict[str, Any]]:
    info = archive.getinfo(name)
    if info.file_size > MAX_POSTS_JSON_BYTES:
        raise InvalidInput(f"{name} in the Instagram export is too large to be a list of posts")
    try:
        with archive.open(info) as member:
            data = json.loads(member.read(MAX_POSTS_JSON_BYTES + 1))
    except (ValueError, zipfile.BadZipFile, zlib.error, OSError, RuntimeError, NotImplementedError) as err:
        raise InvalidInput(f"{name} in the Instagram export cannot be read: {err}") from None
    if isinstance(data, dict):
        # Some files wrap the list, e.g. {"ig_posts": [...]}: take the lists of posts inside.
        data = [post for value in data.values() if isinstance(value, list) for post in value]
    if not isinstance(data, list):
        raise InvalidInput(f"{name} in the Instagram export is not a list of posts")
    return [post for post in data if isinstance(post, dict)]


def _is_video(item: dict[str, Any], uri: str) -> bool:
    metadata = item.get("media_metadata")
    if isinstance(metadata, dict) and "video_metadata" in metadata:
        return True
    return PurePosixPath(uri).suffix.lower() in VIDEO_EXTENSIONS


def _refuse(reason: str, error: type[PhotosearchError] = ImageError) -> Callable[[], bytes]:
    def read() -> bytes:
        raise error(reason)

    return read


def _export_photos(
    post: dict[str, Any], index: int, export: _ExportZip, root: str, names: set[str]
) -> Iterator[SourcePhoto]:
    items = [
        item
        for item in post.get("media") or []
        if isinstance(item, dict) and isinstance(item.get("uri"), str)
    ]
    if not items:
        return
    # One caption for the whole post: the post's title, else the first item's (single photos carry it there).
    caption = _clean_caption(post.get("title")) or next(
        (text for text in (_clean_caption(item.get("title")) for item in items) if text), None
    )
    hashtags = extract_hashtags(caption)
    post_time = _utc(post.get("creation_timestamp"))
    first_uri = items[0]["uri"]
    # The file name is Instagram's media id: stable across exports of the same account.
    post_id = PurePosixPath(first_uri).stem or f"{post.get('creation_timestamp', 'post')}-{index}"
    for item in items:
        uri = item["uri"]
        member = _safe_member_name(uri)
        if member is not None and root and f"{root}/{member}" in names:
            member = f"{root}/{member}"  # a re-zipped export: its uris are relative to its folder
        skip_reason, read = None, _member_reader(export, member or "")
        if member is None:
            skip_reason = f"unsafe path in the Instagram export: {uri!r}"
            read = _refuse(skip_reason, InvalidInput)
        elif _is_video(item, uri):
            skip_reason = VIDEO_SKIP_REASON
            read = _refuse(skip_reason)
        yield SourcePhoto(
            source=f"instagram:{uri}",
            kind="instagram",
            read=read,
            poster_caption=caption,
            hashtags=list(hashtags),
            taken_at=_utc(item.get("creation_timestamp")) or post_time,
            post_id=post_id,
            skip_reason=skip_reason,
        )


def _member_reader(export: _ExportZip, member: str) -> Callable[[], bytes]:
    return lambda: export.read(member)


def read_export(path: Path, *, max_bytes: int = MAX_MEMBER_BYTES, name: str | None = None) -> list[SourcePhoto]:
    """Every photo of the posts in an Instagram data export ZIP (JSON format), newest posts first.

    One record per photo: a carousel gives several records with the same `post_id` and caption; a video
    gives a record with `skip_reason`. Raises `InvalidInput` when the file is not such an export. Reading
    a photo raises `InvalidInput` (missing or unsafe member) or `ImageError` (over `max_bytes`, corrupt).
    Keep the ZIP in place until the photos have been read. `name` is how messages call the file (an
    upload's own name; default: the file's name on disk).
    """
    path = Path(path)
    shown = name or path.name
    if not path.is_file():
        raise InvalidInput(f"the Instagram export {shown} is gone" if name else f"no Instagram export at {path}")
    try:
        archive = zipfile.ZipFile(path)
    except (zipfile.BadZipFile, OSError):
        raise InvalidInput(f"{shown} is not a ZIP file; give the ZIP that Instagram sent you") from None
    export = _ExportZip(path, max_bytes, shown)
    photos: list[SourcePhoto] = []
    seen: set[str] = set()
    with archive:
        names = archive.namelist()
        name_set = set(names)
        posts_files = _posts_files(names)
        if not posts_files:
            raise _not_an_export(shown, names)
        for name, root in posts_files:
            for index, post in enumerate(_load_posts(archive, name)):
                for photo in _export_photos(post, index, export, root, name_set):
                    # The same photo listed twice (two layouts in one ZIP) is indexed once.
                    if photo.source not in seen:
                        seen.add(photo.source)
                        photos.append(photo)
    return photos


# --- A public profile, online ------------------------------------------------------------------------


def normalize_username(value: str) -> str:
    """ "natgeotravel", "@natgeotravel" or "https://www.instagram.com/natgeotravel/" -> "natgeotravel"."""
    if value is not None and not isinstance(value, str):  # a number, list or object from a JSON body
        raise InvalidInput("'instagram_profile' must be an Instagram username (text)")
    text = (value or "").strip()
    if "instagram.com" in text:
        text = urlsplit(text if "//" in text else f"https://{text}").path.strip("/").split("/")[0]
    text = text.removeprefix("@").lower()
    # Also what keeps the name from reaching instaloader's URL paths as anything but a name.
    if not _USERNAME.fullmatch(text):
        raise InvalidInput(
            f"{value!r} is not an Instagram username (letters, digits, '.' and '_', at most 30 characters)"
        )
    return text


def _url_reader(fetch: Callable[[str], bytes], url: str) -> Callable[[], bytes]:
    return lambda: fetch(url)


def _profile_photos(post: Any, fetch: Callable[[str], bytes]) -> Iterator[SourcePhoto]:
    caption = _clean_caption(post.caption)
    hashtags = extract_hashtags(caption)
    taken_at = post.date_utc.replace(tzinfo=UTC)
    page = f"https://www.instagram.com/p/{post.shortcode}/"
    if post.typename == "GraphSidecar":
        # img_index is how Instagram's own links point at one photo of a carousel (1-based).
        items = [
            (f"{page}?img_index={i}", n.is_video, n.display_url)
            for i, n in enumerate(post.get_sidecar_nodes(), 1)
        ]
    else:
        items = [(page, post.is_video, post.url)]
    for source, is_video, url in items:
        skip_reason = None
        if is_video:
            skip_reason = VIDEO_SKIP_REASON
        elif not url:
            skip_reason = "Instagram gave no address for this photo"
        yield SourcePhoto(
            source=source,
            kind="url",
            read=_refuse(skip_reason) if skip_reason else _url_reader(fetch, url),
            poster_caption=caption,
            hashtags=list(hashtags),
            taken_at=taken_at,
            post_id=post.shortcode,
            skip_reason=skip_reason,
        )


def _default_loader(instaloader: Any) -> Any:
    class FailFastOn429(instaloader.RateController):
        # instaloader answers a 429 by sleeping, up to tens of minutes, in our job: tell the person instead.
        def handle_429(self, query_type: str) -> None:
            raise instaloader.exceptions.TooManyRequestsException("429 Too Many Requests")

    return instaloader.Instaloader(
        quiet=True,
        download_pictures=False,
        download_videos=False,
        download_video_thumbnails=False,
        save_metadata=False,
        compress_json=False,
        max_connection_attempts=2,
        request_timeout=30.0,
        rate_controller=FailFastOn429,
    )


def _causes(err: BaseException) -> Iterator[BaseException]:
    seen: set[int] = set()
    current: BaseException | None = err
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        yield current
        current = current.__cause__ or current.__context__


def _explain(err: BaseException, username: str, instaloader: Any, requests: Any) -> str:
    """One sentence the person can act on, for whatever instaloader or requests raised."""
    errors = instaloader.exceptions
    causes = list(_causes(err))
    if any(isinstance(e, errors.ProfileNotExistsException) for e in causes):
        return f"Instagram profile '{username}' does not exist (check the spelling)"
    if any(
        isinstance(e, errors.PrivateProfileNotFollowedException | errors.LoginRequiredException)
        for e in causes
    ):
        return (
            f"Instagram requires a login to show '{username}': the profile is private, or Instagram stopped "
            "serving anonymous visitors for now (try again later); use a data export for your own account"
        )
    if any(isinstance(e, errors.TooManyRequestsException) or re.search(r"\b429\b", str(e)) for e in causes):
        return (
            "Instagram is rate-limiting requests (HTTP 429); wait 15-30 minutes, then try again "
            "with a smaller --limit"
        )
    if any(isinstance(e, requests.exceptions.Timeout) for e in causes):
        return f"Instagram did not answer in time while reading '{username}'; try again later"
    if any(isinstance(e, requests.exceptions.ConnectionError) for e in causes):
        return f"could not reach Instagram to read '{username}' (are you offline?)"
    if any(isinstance(e, errors.AbortDownloadException) for e in causes):
        return f"Instagram refused to continue (it asks for a login or a security check): {err}"
    return (
        f"Instagram did not answer as expected for '{username}' ({err}); Instagram changes its site often, "
        "so a newer instaloader may help"
    )


def fetch_profile(
    username: str,
    limit: int | None = None,
    *,
    fetch: Callable[[str], bytes],
    loader: Any = None,
) -> list[SourcePhoto]:
    """The photos of a public profile's latest `limit` posts (all when None), through instaloader.

    Each record's `read` calls `fetch(image_url)`: pass the ingest service's SSRF-safe fetcher. The image
    addresses are signed by Instagram's CDN and expire after a few hours to days, so read them in the same
    job. `loader` is an `instaloader.Instaloader` (e.g. a logged-in one, or one with a fake network in
    tests); by default an anonymous one that fails fast on rate limits. All posts are listed before
    anything is returned: any refusal raises `FetchError` and returns nothing.
    """
    name = normalize_username(username)
    if limit is not None and (isinstance(limit, bool) or not isinstance(limit, int) or limit < 1):
        raise InvalidInput("the limit must be a positive number of posts")
    try:
        import instaloader
        import requests
    except ImportError:
        raise InvalidInput(INSTALL_HINT) from None
    loader = loader if loader is not None else _default_loader(instaloader)
    photos: list[SourcePhoto] = []
    try:
        profile = instaloader.Profile.from_username(loader.context, name)
        # islice, not a counter after the fact: each post costs Instagram requests, so ask for no more.
        for post in islice(profile.get_posts(), limit):
            photos.extend(_profile_photos(post, fetch))
    except (
        instaloader.exceptions.InstaloaderException,
        instaloader.exceptions.AbortDownloadException,  # not an InstaloaderException
        requests.exceptions.RequestException,
        # instaloader indexes Instagram's answers directly; after a site change that surfaces as these.
        KeyError,
        TypeError,
    ) as err:
        raise FetchError(_explain(err, name, instaloader, requests)) from err
    return photos


# --- The two Instagram sources, as the registry knows them ----------------------------------------------


class InstagramExportSource(Source, kind="instagram", rank=30):
    """Your own posts, from the ZIP of an Instagram data export (JSON format)."""

    cli = CliOption("--instagram-export", "ZIP", "the ZIP of an Instagram data export (JSON format)")

    def from_cli(self, value: str, options: dict, settings: Settings) -> dict:
        path = Path(value).expanduser().resolve()
        return {"path": str(path), "name": path.name}

    def from_files(self, files: list[SavedFile], folder: Path, settings: Settings) -> dict:
        zips = [f for f in files if f.path.suffix == ".zip"]
        if not zips:
            raise InvalidInput("an Instagram export is a .zip file")
        read_export(zips[0].path, name=zips[0].name)  # a ZIP that is not an export gets its message now
        return {"path": str(zips[0].path), "name": zips[0].name, "cleanup": str(folder)}

    def photos(self, spec: dict, context: ListContext) -> list[SourcePhoto]:
        return read_export(Path(spec["path"]), max_bytes=context.settings.max_image_bytes, name=spec.get("name"))

    def title(self, spec: dict) -> str:
        return f"Instagram export {spec.get('name') or Path(spec['path']).name}"


class InstagramProfileSource(Source, kind="instagram_profile", rank=40):
    """A public profile's latest posts, online (needs the instagram extra)."""

    json = JsonField("instagram_profile", "a public Instagram user name")
    cli = CliOption("--instagram-profile", "USER", "a public Instagram profile (needs the instagram extra); "
                    "--limit posts")

    def from_json(self, value: object, body: dict, settings: Settings) -> dict:
        limit = body.get("limit")
        if limit is not None and (not isinstance(limit, int) or isinstance(limit, bool) or not 1 <= limit <= 10_000):
            raise InvalidInput("'limit' must be a whole number of posts between 1 and 10000")
        return {"username": normalize_username(value), "limit": limit}

    def from_cli(self, value: str, options: dict, settings: Settings) -> dict:
        limit = options.get("limit")
        if limit is not None and limit < 1:
            raise InvalidInput("--limit must be 1 or more")
        return {"username": normalize_username(value), "limit": limit}

    def photos(self, spec: dict, context: ListContext) -> list[SourcePhoto]:
        return fetch_profile(spec["username"], spec.get("limit"), fetch=context.fetch)

    def title(self, spec: dict) -> str:
        limit = spec.get("limit")
        return f"Instagram @{spec['username']}" + (f" (latest {limit} posts)" if limit else "")
