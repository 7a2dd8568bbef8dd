"""Folder listing: which files, in what order, and never a byte from outside the allowed roots."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from photosearch.config import Settings
from photosearch.errors import Forbidden, ImageError, InvalidInput, NotFound, TooLarge
from photosearch.sources.base import ListContext
from photosearch.sources.folder import FolderSource, folder_photos


@pytest.fixture
def tree(tmp_path: Path) -> dict[str, Path]:
    root = tmp_path / "root"
    photos = root / "photos"
    outside = tmp_path / "outside"
    images = ["a.jpg", "B.JPG", "c.PNG", "f.tif", "g.gif", "h.bmp", "i.jpeg", "j.WebP",
              "sub/d.webp", "sub/deeper/e.TIFF"]
    not_images = ["notes.txt", "raw.CR2", "noext", ".hidden.jpg", ".thumbnails/x.jpg", "sub/._d.webp"]
    for path in images + not_images:
        (photos / path).parent.mkdir(parents=True, exist_ok=True)
        (photos / path).write_bytes(f"bytes of {path}".encode())
    outside.mkdir()
    (outside / "secret.jpg").write_bytes(b"secret")
    return {"root": root, "photos": photos, "outside": outside}


def settings(root: Path, **overrides) -> Settings:
    return Settings(folder_roots=[root], **overrides)


def names(photos, base: Path) -> list[str]:
    return [Path(p.source).relative_to(base).as_posix() for p in photos]


def test_lists_images_recursively_sorted_case_insensitive_suffixes(tree):
    photos = folder_photos(tree["photos"], settings(tree["root"]))
    assert names(photos, tree["photos"]) == [  # sorted by path; suffixes matched case-insensitively
        "B.JPG", "a.jpg", "c.PNG", "f.tif", "g.gif", "h.bmp", "i.jpeg", "j.WebP", "sub/d.webp", "sub/deeper/e.TIFF",
    ]
    assert all(p.kind == "file" for p in photos)
    assert photos[1].read() == b"bytes of a.jpg"


def test_string_paths_and_the_root_itself(tree):
    photos = folder_photos(str(tree["root"]), settings(tree["root"]))
    assert len(photos) == 10


def test_outside_the_roots_is_forbidden(tree):
    with pytest.raises(Forbidden, match="outside the folders photosearch may read"):
        folder_photos(tree["outside"], settings(tree["root"]))


def test_dotdot_escape_is_forbidden(tree):
    sneaky = tree["photos"] / ".." / ".." / "outside"
    with pytest.raises(Forbidden):
        folder_photos(sneaky, settings(tree["root"]))
    with pytest.raises(Forbidden):
        folder_photos(Path(str(tree["root"]) + "/../outside"), settings(tree["root"]))


def test_a_sibling_with_the_same_prefix_is_not_inside(tree):
    sibling = tree["root"].parent / "root-other"
    sibling.mkdir()
    with pytest.raises(Forbidden):
        folder_photos(sibling, settings(tree["root"]))


def test_symlinked_folder_pointing_outside_is_forbidden(tree):
    link = tree["root"] / "escape"
    link.symlink_to(tree["outside"], target_is_directory=True)
    with pytest.raises(Forbidden):
        folder_photos(link, settings(tree["root"]))


def test_symlinked_folders_inside_the_tree_are_not_followed(tree):
    (tree["photos"] / "loop").symlink_to(tree["photos"], target_is_directory=True)
    (tree["photos"] / "out").symlink_to(tree["outside"], target_is_directory=True)
    assert len(folder_photos(tree["photos"], settings(tree["root"]))) == 10


def test_symlinked_file_pointing_outside_fails_on_read(tree):
    (tree["photos"] / "zz_secret.jpg").symlink_to(tree["outside"] / "secret.jpg")
    (tree["photos"] / "zz_inside.jpg").symlink_to(tree["photos"] / "a.jpg")
    photos = {Path(p.source).name: p for p in folder_photos(tree["photos"], settings(tree["root"]))}
    with pytest.raises(Forbidden, match="outside the folders"):
        photos["zz_secret.jpg"].read()
    assert photos["zz_inside.jpg"].read() == b"bytes of a.jpg"


def test_on_the_command_line_a_linked_file_may_point_anywhere(tree):
    """A folder of links into an archive, named at the command line by a person who can read the archive: the
    links are followed. The same folder through the API (from_json) still may not read outside the roots."""
    (tree["photos"] / "zz_archive.jpg").symlink_to(tree["outside"] / "secret.jpg")
    source = FolderSource()
    context = ListContext(settings=settings(tree["root"]), fetch=lambda url: b"")
    from_cli = source.from_cli(str(tree["photos"]), {}, context.settings)
    photos = {Path(p.source).name: p for p in source.photos(from_cli, context)}
    assert photos["zz_archive.jpg"].read() == b"secret"

    from_api = source.from_json(str(tree["photos"]), {}, context.settings)
    photos = {Path(p.source).name: p for p in source.photos(from_api, context)}
    with pytest.raises(Forbidden, match="outside the folders"):
        photos["zz_archive.jpg"].read()


def test_file_swapped_for_a_link_after_listing_is_refused(tree):
    photos = {Path(p.source).name: p for p in folder_photos(tree["photos"], settings(tree["root"]))}
    target = tree["photos"] / "a.jpg"
    target.unlink()
    target.symlink_to(tree["outside"] / "secret.jpg")
    with pytest.raises(Forbidden):
        photos["a.jpg"].read()


def test_missing_folder_and_a_file_instead_of_a_folder(tree):
    with pytest.raises(NotFound, match="folder not found"):
        folder_photos(tree["root"] / "nope", settings(tree["root"]))
    with pytest.raises(InvalidInput, match="not a folder"):
        folder_photos(tree["photos"] / "a.jpg", settings(tree["root"]))


def test_no_roots_means_no_folders(tree):
    with pytest.raises(Forbidden, match="switched off"):
        folder_photos(tree["photos"], Settings(folder_roots=[]))


def test_oversized_file_is_a_per_photo_error(tree):
    (tree["photos"] / "big.jpg").write_bytes(b"x" * 2_000_001)
    photos = {
        Path(p.source).name: p for p in folder_photos(tree["photos"], settings(tree["root"], max_image_bytes=2_000_000))
    }
    with pytest.raises(TooLarge, match=r"big.jpg is 2 MB, over the 2 MB limit"):
        photos["big.jpg"].read()
    assert photos["a.jpg"].read() == b"bytes of a.jpg"


def test_vanished_file_is_a_per_photo_error(tree):
    photos = {Path(p.source).name: p for p in folder_photos(tree["photos"], settings(tree["root"]))}
    (tree["photos"] / "g.gif").unlink()
    with pytest.raises(NotFound, match="the file is gone"):
        photos["g.gif"].read()


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="needs FIFOs")
def test_fifos_are_never_read(tree):
    fifo = tree["photos"] / "pipe.jpg"
    os.mkfifo(fifo)
    (tree["photos"] / "pipe_link.jpg").symlink_to(fifo)
    photos = {Path(p.source).name: p for p in folder_photos(tree["photos"], settings(tree["root"]))}
    assert "pipe.jpg" not in photos  # not a regular file: not listed
    with pytest.raises(ImageError, match="not a regular file"):
        photos["pipe_link.jpg"].read()  # listed through the link, refused without blocking


def test_symlink_loop_is_a_per_photo_error(tree):
    (tree["photos"] / "loop1.jpg").symlink_to(tree["photos"] / "loop2.jpg")
    (tree["photos"] / "loop2.jpg").symlink_to(tree["photos"] / "loop1.jpg")
    photos = {Path(p.source).name: p for p in folder_photos(tree["photos"], settings(tree["root"]))}
    with pytest.raises(ImageError):
        photos["loop1.jpg"].read()
