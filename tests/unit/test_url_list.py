"""URL lists in their three shapes, with every kind of bad entry, and a 10,000-entry list."""

from __future__ import annotations

import json

import pytest

from photosearch.errors import InvalidInput
from photosearch.sources.url_list import parse_url_list, url_photos, url_problem


def test_json_list():
    urls, rejected = parse_url_list(b'["https://a.test/1.jpg", "http://b.test/2.png"]', 100)
    assert urls == ["https://a.test/1.jpg", "http://b.test/2.png"]
    assert rejected == []


def test_json_object_of_ids_like_the_seed_files():
    data = json.dumps({"1001": "https://a.test/1.jpg", "1002": "https://a.test/2.jpg", "1003": 42})
    urls, rejected = parse_url_list(data, 100)
    assert urls == ["https://a.test/1.jpg", "https://a.test/2.jpg"]
    assert rejected == [("42", "not a URL (expected a string)")]


def test_json_object_values_may_be_records_or_lists():
    data = {"a": {"url": "https://a.test/1.jpg", "title": "x"}, "b": ["https://a.test/2.jpg", "https://a.test/3.jpg"]}
    urls, _ = parse_url_list(json.dumps(data), 100)
    assert urls == ["https://a.test/1.jpg", "https://a.test/2.jpg", "https://a.test/3.jpg"]


def test_plain_text_lines_with_comments_blanks_and_crlf():
    text = "\ufeff# my holiday\r\nhttps://a.test/1.jpg\r\n\r\n   https://a.test/2.jpg   \r\n"
    assert parse_url_list(text.encode(), 100) == (["https://a.test/1.jpg", "https://a.test/2.jpg"], [])
    assert parse_url_list(text, 100)[0] == ["https://a.test/1.jpg", "https://a.test/2.jpg"]


@pytest.mark.parametrize(
    ("entry", "reason"),
    [
        ("file:///etc/passwd", "unsupported scheme file:"),
        ("ftp://a.test/1.jpg", "unsupported scheme ftp:"),
        ("javascript:alert(1)", "unsupported scheme javascript:"),
        ("data:image/png;base64,iVBORw0KGgo=", "unsupported scheme data:"),
        ("gopher://a.test/", "unsupported scheme gopher:"),
        ("a.test/1.jpg", "expected it to start with http:// or https://"),
        ("www.a.test", "expected it to start with http://"),
        ("localhost:8080/x.jpg", "expected it to start with http://"),
        ("http:/a.test/1.jpg", "expected it to start with http://"),
        ("just some words", "contains spaces"),
        ("http://", "URL has no host"),
        ("https://a.test:99999/1.jpg", "not a valid URL"),
        ("http://[::1/", "not a valid URL"),
        ("http://user:secret@a.test/1.jpg", "user name or password"),
        ("https://a.test/" + "x" * 9000, "longer than 8,192 characters"),
    ],
)
def test_bad_entries_are_rejected_with_a_reason(entry, reason):
    urls, rejected = parse_url_list(json.dumps(["https://ok.test/1.jpg", entry]), 100)
    assert urls == ["https://ok.test/1.jpg"]
    assert len(rejected) == 1
    shown, why = rejected[0]
    assert reason in why
    assert len(shown) <= 200 and entry.startswith(shown.rstrip("…"))
    assert url_problem(entry) == why


def test_non_string_json_entries():
    _, rejected = parse_url_list('[null, 3, {"x": 1}, ["https://a.test/"]]', 100)
    assert [reason for _, reason in rejected] == ["not a URL (expected a string)"] * 4
    assert rejected[0][0] == "null"


def test_duplicates_are_dropped_keeping_the_first():
    data = [
        "https://a.test/1.jpg",
        "HTTPS://A.TEST/1.jpg",
        "https://a.test/1.jpg#frag",
        "https://a.test/2.jpg",
        "https://a.test/1.jpg",
        "https://a.test/1.JPG",  # paths are case-sensitive: a different photo
    ]
    urls, rejected = parse_url_list(json.dumps(data), 100)
    assert urls == ["https://a.test/1.jpg", "https://a.test/2.jpg", "https://a.test/1.JPG"]
    assert rejected == []


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (
            b'["https://a.test/1.jpg",\n  "https://a.test/2.jpg"\n  "oops"]',
            "not valid JSON: Expecting ',' delimiter at line 3",
        ),
        (b'{"a": "https://a.test/1.jpg",}', "not valid JSON"),
        (b"[\n\n  broken", "line 3, column 3"),
        (b"\xff\xfe\x00h\x00t", "not UTF-8"),
    ],
)
def test_unreadable_lists_say_where(data, message):
    with pytest.raises(InvalidInput) as info:
        parse_url_list(data, 100)
    assert message in info.value.message


def test_too_many_entries():
    data = "\n".join(f"https://a.test/{i}.jpg" for i in range(11))
    with pytest.raises(InvalidInput, match="the URL list has 11 entries; at most 10 are allowed"):
        parse_url_list(data, 10)
    assert len(parse_url_list(data, 11)[0]) == 11


def test_empty_list_is_empty_not_an_error():
    assert parse_url_list(b"", 10) == ([], [])
    assert parse_url_list(b"[]", 10) == ([], [])
    assert parse_url_list(b"  \n# nothing\n", 10) == ([], [])


def test_ten_thousand_entries():
    entries = [f"https://cdn{i % 7}.test/photos/{i}.jpg" for i in range(10_000)]
    entries[10] = "ftp://x.test/1.jpg"
    entries[20] = entries[19]
    for data in (json.dumps(entries), "\n".join(entries), json.dumps({str(i): u for i, u in enumerate(entries)})):
        urls, rejected = parse_url_list(data.encode(), 100_000)  # (speed is not asserted: shared CI cores)
        assert len(urls) == 9_998
        assert rejected == [("ftp://x.test/1.jpg", "unsupported scheme ftp: (only http and https)")]
        assert urls[:3] == entries[:3]


def test_url_photos_fetch_lazily():
    fetched: list[str] = []

    def fetch(url: str) -> bytes:
        fetched.append(url)
        return b"bytes of " + url.encode()

    photos = url_photos(["https://a.test/1.jpg", "https://a.test/2.jpg"], fetch)
    assert [(p.source, p.kind) for p in photos] == [("https://a.test/1.jpg", "url"), ("https://a.test/2.jpg", "url")]
    assert fetched == []
    assert photos[1].read() == b"bytes of https://a.test/2.jpg"
    assert fetched == ["https://a.test/2.jpg"]
