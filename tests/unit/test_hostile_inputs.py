"""Inputs that used to crash deep inside a source (RecursionError, RuntimeError, ValueError) now raise our
typed errors with a message, and sizes read as people set them."""

from __future__ import annotations

import pytest

from photosearch.config import Settings
from photosearch.errors import InvalidInput
from photosearch.sources.folder import folder_path, folder_photos
from photosearch.sources.instagram import normalize_username
from photosearch.sources.url_list import parse_url_list
from photosearch.units import megabytes


@pytest.mark.parametrize("text", ["[" * 50_000, '{"a": ' * 50_000, "[" * 50_000 + "]" * 50_000])
def test_a_deeply_nested_url_list_is_invalid_input(text: str) -> None:
    with pytest.raises(InvalidInput, match="nested too deeply|not valid JSON"):
        parse_url_list(text, 100)


def test_the_cli_reads_a_nested_url_list_file_as_one_message(tmp_path, capsys) -> None:  # noqa: ANN001
    from photosearch import cli

    urls = tmp_path / "urls.json"
    urls.write_text("[" * 50_000)
    with pytest.raises(SystemExit) as exit_:
        cli.main(["ingest", "p", "--urls", str(urls), "--data-dir", str(tmp_path / "data"), "--quiet"])
    assert exit_.value.code == 2
    err = capsys.readouterr().err
    assert "nested too deeply" in err and "Traceback" not in err


@pytest.mark.parametrize("value", [5, ["a"], {"a": 1}, True, 1.5])
def test_a_username_that_is_not_text(value: object) -> None:
    with pytest.raises(InvalidInput, match="username"):
        normalize_username(value)  # type: ignore[arg-type]


@pytest.mark.parametrize(("path", "message"), [
    ("/tmp/a\x00b", "NUL"), ("~nosuchuser-xyz/x", "no user"), ("x" * 6000, "longer than"), ("  ", "give a folder"),
])
def test_folder_paths_that_cannot_be_paths(path: str, message: str, tmp_path) -> None:  # noqa: ANN001
    with pytest.raises(InvalidInput, match=message):
        folder_path(path)
    with pytest.raises(InvalidInput, match=message):
        folder_photos(path, Settings(folder_roots=[tmp_path]))


def test_a_path_too_long_for_the_system_is_invalid_input(tmp_path) -> None:  # noqa: ANN001
    deep = tmp_path / ("a" * 300) / "x"  # one name over NAME_MAX (255)
    with pytest.raises(InvalidInput, match="can't be used"):
        folder_photos(deep, Settings(folder_roots=[tmp_path]))


def test_sizes_read_as_the_limit_was_set() -> None:
    assert megabytes(Settings().max_image_bytes) == "50 MB"  # not "52.4 MB"
    assert megabytes(Settings().max_upload_bytes) == "500 MB"


def test_a_file_name_that_is_not_utf8_costs_nothing(services, settings, make_photos, tmp_path) -> None:  # noqa: ANN001
    """`printf 'd/bad\\xe9.jpg'`: the photo is ingested under a readable name, and so is its neighbour."""
    import os

    album = tmp_path / "album"
    good, other = make_photos(album, 2)
    raw = os.fsencode(album) + b"/bad\xe9\xff.jpg"
    os.rename(os.fsencode(other), raw)
    services.library.create_profile("p")
    job = services.jobs.create_job("p", "folder", {"folder": str(album)})
    status = services.jobs.run_job(job)
    assert (status.status, status.done, status.failed) == ("done", 2, 0), status
    sources = sorted(p.source for p in services.timeline.photos("p", limit=10)["photos"])
    assert any(s.endswith("bad\\xe9\\xff.jpg") for s in sources), sources
    assert any(s.endswith(good.name) for s in sources), sources
