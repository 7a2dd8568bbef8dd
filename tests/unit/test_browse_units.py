"""Pure pieces of browsing: EXIF dates and cameras, suggestions, timeline cursors, URL-safe collection names,
and the `photos` / `delete` / `purge` commands."""

from __future__ import annotations

import io
import json
from datetime import UTC, datetime

import pytest
from PIL import Image

from photosearch.errors import InvalidInput
from photosearch.services.library import names_for, url_safe_name
from photosearch.services.timeline import decode_cursor, encode_cursor, parse_date, suggest
from photosearch.vision.photo_metadata import PhotoMetadata, parse_exif_date, read_photo_metadata


@pytest.mark.parametrize("raw,offset,expected", [
    ("2024:05:31 18:42:07", None, datetime(2024, 5, 31, 18, 42, 7, tzinfo=UTC)),
    ("2024:05:31 18:42:07", "+02:00", datetime(2024, 5, 31, 16, 42, 7, tzinfo=UTC)),
    ("2024:05:31 18:42:07", "-0530", datetime(2024, 6, 1, 0, 12, 7, tzinfo=UTC)),
    (b"2024:05:31 18:42:07\x00", None, datetime(2024, 5, 31, 18, 42, 7, tzinfo=UTC)),
    ("2024-05-31T18:42:07", "garbage", datetime(2024, 5, 31, 18, 42, 7, tzinfo=UTC)),
    ("0000:00:00 00:00:00", None, None),
    ("    :  :     :  :  ", None, None),
    ("2024:13:01 00:00:00", None, None),
    ("1850:01:01 00:00:00", None, None),
    ("2999:01:01 00:00:00", None, None),
    (None, None, None),
    (42, None, None),
])
def test_exif_dates(raw: object, offset: object, expected: datetime | None) -> None:
    assert parse_exif_date(raw, offset) == expected


def _jpeg(exif: Image.Exif | None = None) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (8, 8), (1, 2, 3)).save(buffer, "JPEG", **({"exif": exif} if exif is not None else {}))
    return buffer.getvalue()


def test_metadata_camera_without_the_make_twice_and_gps_needs_a_position() -> None:
    exif = Image.Exif()
    exif[0x010F], exif[0x0110] = "NIKON CORPORATION", "NIKON D750"
    exif[0x0132] = "2020:01:02 03:04:05"  # only the file's DateTime: used when nothing better is there
    exif.get_ifd(0x8825)[1] = "N"  # a reference without coordinates is no position
    meta = read_photo_metadata(_jpeg(exif))
    assert meta == PhotoMetadata(datetime(2020, 1, 2, 3, 4, 5, tzinfo=UTC), "NIKON D750", False)
    exif2 = Image.Exif()
    exif2[0x010F], exif2[0x0110] = "Apple", "iPhone 15"
    assert read_photo_metadata(_jpeg(exif2)).camera == "Apple iPhone 15"


@pytest.mark.parametrize("data", [b"", b"not an image", _jpeg(), _jpeg()[:40]])
def test_metadata_of_photos_without_exif_or_broken_bytes_is_empty(data: bytes) -> None:
    assert read_photo_metadata(data) == PhotoMetadata()


def test_suggestions_prefer_words_of_many_photos_and_skip_glue_words() -> None:
    rows = [
        ([{"label": "golden retriever", "score": 0.8}, {"label": "tennis ball", "score": 0.1}],
         "a dog sitting on the grass", 0.8, "A photo of a dog."),
        ([{"label": "golden retriever", "score": 0.6}], "a dog running on the beach", None, None),
        ([{"label": "espresso", "score": 0.9}], "a cup of coffee on a table", 0.7, "A photo of an espresso."),
    ]
    words = suggest(rows, 5)
    assert words[:2] == ["dog", "golden retriever"]
    assert "tennis ball" not in words  # the classifier was unsure
    assert not {"a", "on", "the", "sitting", "running"} & set(words)
    assert len(words) == 5 and len(set(words)) == 5
    assert suggest([], 5) == []


def test_suggestions_take_the_words_the_cards_show() -> None:
    """An unsure caption's words are not suggested: the card shows the grounded sentence, and so do suggestions."""
    coins = ([{"label": "golf ball", "score": 0.19}], "a man in a red shirt is standing in the water", 0.28,
             "Possibly a ball or a cap.")
    cat = ([{"label": "tabby", "score": 0.3}], "a man is holding a cat", 0.36, "A photo of a cat.")
    words = suggest([coins, cat], 10)
    assert not {"man", "shirt", "red", "water"} & set(words), words
    assert {"ball", "cap", "cat", "tabby"} <= set(words), words
    assert not {"photo", "possibly"} & set(words)


def test_cursor_round_trip_and_refusal() -> None:
    when = datetime(2023, 7, 1, 10, 30, tzinfo=UTC)
    assert decode_cursor(encode_cursor(when, 17)) == (when, 17)
    assert decode_cursor(encode_cursor(when.replace(tzinfo=None), 3)) == (when, 3)
    for bad in ["", "!!!", encode_cursor(when, 1)[:-3], "W10"]:
        with pytest.raises(InvalidInput):
            decode_cursor(bad)


def test_parse_date_end_of_day() -> None:
    assert parse_date("2024-05-31") == datetime(2024, 5, 31, tzinfo=UTC)
    assert parse_date("2024-05-31", end=True) == datetime(2024, 5, 31, 23, 59, 59, 999999, tzinfo=UTC)
    assert parse_date("2024-05-31T12:00+02:00", end=True).utcoffset().total_seconds() == 7200
    with pytest.raises(InvalidInput):
        parse_date("31/05/2024")


@pytest.mark.parametrize("display,name", [("Été à Paris", "Ete-a-Paris"), ("  Kids' party!! ", "Kids-party"),
                                          ("Ślub Ani i Tomka", "Slub-Ani-i-Tomka"), ("日本", ""), ("a/../b", "a-..-b")])
def test_url_safe_names(display: str, name: str) -> None:
    assert url_safe_name(display) == name


def test_names_for_keeps_plain_names_and_refuses_names_without_letters() -> None:
    assert names_for("holiday") == ("holiday", None)
    assert names_for("Été 2024") == ("Ete-2024", "Été 2024")
    assert names_for(None, "Mes photos") == ("Mes-photos", "Mes photos")
    for bad in ["日本", "-dash", "x" * 65]:
        with pytest.raises(InvalidInput):
            names_for(bad)


def test_cli_photos_delete_restore_purge(tmp_path, capsys, make_photos) -> None:  # noqa: ANN001
    from photosearch.cli import main

    folder = tmp_path / "pics"
    make_photos(folder, 3)
    data = ["--data-dir", str(tmp_path / "data")]
    main(["ingest", "trip", "--folder", str(folder), "--quiet", *data])
    capsys.readouterr()
    main(["photos", "trip", "--json", *data])
    page = json.loads(capsys.readouterr().out)
    assert page["total"] == 3 and len(page["photos"]) == 3
    first = page["photos"][0]["id"]
    main(["delete", str(first), *data])
    assert "deleted 1" in capsys.readouterr().out
    main(["photos", "trip", "--sort", "oldest", *data])
    out = capsys.readouterr().out
    assert f"#{first}\t" not in out and "2 of 2 photos" in out
    with pytest.raises(SystemExit):  # purged at once: nothing to restore
        main(["restore", str(first), *data])
    main(["purge", *data])
    assert "purged 0" in capsys.readouterr().out


def test_upgrading_an_old_database_keeps_every_description(tmp_path) -> None:  # noqa: ANN001
    """Regression: migration 0002 once ran in batch mode, which on SQLite recreates `photos`; with foreign keys
    on, dropping the old table cascaded into `descriptions` and deleted them all."""
    from sqlalchemy import create_engine, event, text

    from photosearch.storage.db import BASE_REVISION, Database, _sqlite_pragmas, migrate

    url = f"sqlite:///{tmp_path / 'old.db'}"
    engine = create_engine(url)
    event.listen(engine, "connect", _sqlite_pragmas)
    migrate(engine, BASE_REVISION)
    with engine.begin() as connection:
        connection.execute(text("INSERT INTO profiles (id, name, created_at) VALUES (1, 'old', '2026-01-01')"))
        connection.execute(text(
            "INSERT INTO photos (id, profile_id, source, kind, content_hash, width, height, status, hashtags,"
            " created_at) VALUES (7, 1, 'a.jpg', 'folder', 'abc', 10, 10, 'described', '[]', '2026-01-01')"))
        connection.execute(text("INSERT INTO descriptions (photo_id, caption, alternatives, labels, model) "
                                "VALUES (7, 'a dog', '[]', '[]', 'm')"))
    engine.dispose()
    db = Database(url)
    try:
        with db.engine.connect() as connection:
            assert connection.execute(text("SELECT caption FROM descriptions WHERE photo_id = 7")).scalar() == "a dog"
    finally:
        db.dispose()
