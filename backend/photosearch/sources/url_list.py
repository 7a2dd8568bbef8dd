"""A list of photo URLs, as a person pastes or uploads it, turned into photos to ingest.

Three shapes are accepted, recognised by their first non-blank character:

* a JSON list of URLs: `["https://a/1.jpg", "https://b/2.png"]`
* a JSON object mapping ids to URLs (our `url_list_*.json` files): `{"1001": "https://a/1.jpg", ...}`;
  a value may also be an object with a `"url"` key, or a list of URLs
* plain text, one URL per line; blank lines and lines starting with `#` are ignored

`parse_url_list` checks only the *shape* of each entry (http/https, a host, no spaces), by the fetcher's
own rules (`sources.fetch.parse_target`); whether the host may be fetched is decided at fetch time, after
DNS. A bad entry is reported with its reason instead of failing the whole list; a list that can't be read
at all (broken JSON, not UTF-8, too many entries) raises `InvalidInput` saying where. Duplicates are
dropped silently, keeping the first.

`url_photos` then wraps each URL in a `SourcePhoto` whose `read()` fetches it lazily.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterable, Iterator
from functools import partial
from pathlib import Path
from urllib.parse import urlsplit

from photosearch.config import Settings
from photosearch.errors import FetchError, InvalidInput
from photosearch.sources.base import CliOption, JsonField, ListContext, Source, SourcePhoto
from photosearch.sources.fetch import parse_target

_SCHEME = re.compile(r"([A-Za-z][A-Za-z0-9+.-]*):")  # what urlsplit takes for a scheme
_SHOWN = 200  # rejected entries are quoted at most this long


def parse_url_list(data: bytes | str, max_entries: int) -> tuple[list[str], list[tuple[str, str]]]:
    """(valid unique URLs in order, [(entry, reason), ...] for the rejected ones)."""
    text = _text(data)
    stripped = text.lstrip()
    entries: Iterable[object]
    if stripped.startswith(("[", "{")):
        try:
            parsed = json.loads(text)
        except json.JSONDecodeError as exc:
            raise InvalidInput(
                f"the URL list is not valid JSON: {exc.msg} at line {exc.lineno}, column {exc.colno}"
            ) from None
        except RecursionError:  # "[[[[..." 50,000 deep exhausts the parser's stack
            raise InvalidInput("the URL list is not a usable JSON list: it is nested too deeply") from None
        entries = list(_json_entries(parsed))
    else:
        entries = [line.strip() for line in text.splitlines()]
        entries = [e for e in entries if e and not e.startswith("#")]
    if len(entries) > max_entries:
        raise InvalidInput(f"the URL list has {len(entries):,} entries; at most {max_entries:,} are allowed")

    urls: list[str] = []
    rejected: list[tuple[str, str]] = []
    seen: set[str] = set()
    for entry in entries:
        if not isinstance(entry, str):
            rejected.append((_show(json.dumps(entry)), "not a URL (expected a string)"))
            continue
        url = entry.strip()
        reason = url_problem(url)
        if reason:
            rejected.append((_show(url), reason))
            continue
        key = _dedupe_key(url)
        if key not in seen:
            seen.add(key)
            urls.append(url)
    return urls, rejected


def url_problem(url: str) -> str | None:
    """Why `url` is not a fetchable http(s) URL, or None. Shape only: no DNS, no network.

    The rules are the fetcher's (`sources.fetch.parse_target`, the one check of a URL's shape); only what a
    person pasting a list gets wrong is said here in their words first: an empty line, spaces, a missing or
    unsupported scheme."""
    if not url:
        return "empty entry"
    if any(ch.isspace() or ord(ch) < 0x20 or ord(ch) == 0x7F for ch in url):
        return "not a URL (contains spaces or control characters)"
    match = _SCHEME.match(url)
    scheme = match[1].lower() if match else ""
    if not scheme or "://" not in url[: len(scheme) + 3]:
        if scheme in ("javascript", "data", "mailto", "blob", "about"):
            return f"unsupported scheme {scheme}: (only http and https)"
        return "not a URL (expected it to start with http:// or https://)"
    if scheme not in ("http", "https"):
        return f"unsupported scheme {scheme}: (only http and https)"
    try:
        parse_target(url)
    except FetchError as exc:
        return exc.message
    return None


def url_photos(urls: Iterable[str], fetch: Callable[[str], bytes]) -> list[SourcePhoto]:
    """One lazy photo per URL; `fetch` is usually `Fetcher(settings).fetch` (shared, so pooled)."""
    return [SourcePhoto(source=url, kind="url", read=partial(fetch, url)) for url in urls]


# ---------------------------------------------------------------------------------------------- helpers


def _text(data: bytes | str) -> str:
    if isinstance(data, str):
        return data.removeprefix("\ufeff")
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise InvalidInput(f"the URL list is not UTF-8 text (bad byte at position {exc.start})") from None


def _json_entries(parsed: list | dict) -> Iterator[object]:
    """Entries of a JSON list, or the values of a JSON object (text starting with [ or { parses to one)."""
    if isinstance(parsed, list):
        yield from parsed
        return
    for value in parsed.values():
        if isinstance(value, dict) and isinstance(value.get("url"), str):
            yield value["url"]
        elif isinstance(value, list):
            yield from value
        else:
            yield value


def _dedupe_key(url: str) -> str:
    """Same photo, different spelling: scheme and host are case-insensitive, the #fragment is never sent."""
    parts = urlsplit(url)
    return parts._replace(scheme=parts.scheme.lower(), netloc=parts.netloc.lower(), fragment="").geturl()


def _show(entry: str) -> str:
    return entry if len(entry) <= _SHOWN else entry[: _SHOWN - 1] + "…"


def _refused(entry: str, why: str) -> SourcePhoto:
    """An entry refused when the list was read: reported as a failure of the job, like a photo that failed."""

    def read() -> bytes:
        raise InvalidInput(why)

    return SourcePhoto(source=str(entry)[:2000], kind="url", read=read)


class UrlListSource(Source, kind="urls", rank=10):
    """Photos at http(s) URLs: a JSON list, an {id: url} object or one URL per line."""

    json = JsonField("urls", "a list of URLs")
    cli = CliOption("--urls", "FILE", "a JSON list of URLs, an object {id: url}, or text with one URL per line")

    def from_json(self, value: object, body: dict, settings: Settings) -> dict:
        if isinstance(value, str):
            data = value
        elif isinstance(value, list | dict):
            data = json.dumps(value)
        else:
            raise InvalidInput("'urls' must be a list of URLs (or text with one URL per line)")
        urls, rejected = parse_url_list(data, settings.max_url_list_entries)
        if not urls:
            reasons = "; ".join(f"{entry}: {why}" for entry, why in rejected[:5])
            raise InvalidInput(f"no usable URLs{(': ' + reasons) if reasons else ''}")
        return {"urls": urls, "rejected": rejected}

    def from_cli(self, value: str, options: dict, settings: Settings) -> dict:
        path = Path(value)
        if not path.is_file():
            raise InvalidInput(f"no such file: {path}")
        urls, rejected = parse_url_list(path.read_bytes(), settings.max_url_list_entries)
        return {"urls": urls, "rejected": rejected}

    def photos(self, spec: dict, context: ListContext) -> list[SourcePhoto]:
        refused = [_refused(entry, why) for entry, why in spec.get("rejected", [])]
        return url_photos(spec["urls"], context.fetch) + refused

    def title(self, spec: dict) -> str:
        count = len(spec.get("urls", []))
        return f"{count:,} URL{'' if count == 1 else 's'}"
