"""Photos by id: detail, files, similar photos. Files are found by id only, never by a client path."""

from __future__ import annotations

from pathlib import Path

from flask import Blueprint, send_file

from photosearch.api.http import int_arg, services
from photosearch.api.serialize import jsonable
from photosearch.errors import NotFound

bp = Blueprint("photos", __name__)


@bp.get("/photos/<int:photo_id>")
def photo(photo_id: int):
    return jsonable(services().library.photo(photo_id))


def _file(folder: Path, photo_id: int):
    path = folder / f"{photo_id}.jpg"
    if not path.is_file():
        raise NotFound(f"no photo {photo_id}")
    response = send_file(path, mimetype="image/jpeg", max_age=3600)
    response.headers["X-Content-Type-Options"] = "nosniff"
    return response


@bp.get("/photos/<int:photo_id>/thumbnail")
def thumbnail(photo_id: int):
    return _file(services().settings.thumbs_dir, photo_id)


@bp.get("/photos/<int:photo_id>/image")
def image(photo_id: int):
    return _file(services().settings.images_dir, photo_id)


@bp.get("/photos/<int:photo_id>/similar")
def similar(photo_id: int):
    return jsonable(services().searcher.similar(photo_id, limit=int_arg("limit", 12)))
