"""Photos by id: detail, files, similar photos. Files are found by id only, never by a client path."""

from __future__ import annotations

from flask import Blueprint, current_app, send_file

from photosearch.errors import NotFound

bp = Blueprint("photos", __name__)


def _services():
    return current_app.extensions["photosearch"]


@bp.get("/photos/<int:photo_id>")
def photo(photo_id: int):
    return _services().library.photo(photo_id)


def _file(folder, photo_id: int):  # noqa: ANN001
    path = folder / f"{photo_id}.jpg"
    if not path.is_file():
        raise NotFound(f"no photo {photo_id}")
    response = send_file(path, mimetype="image/jpeg", max_age=3600)
    response.headers["X-Content-Type-Options"] = "nosniff"
    return response


@bp.get("/photos/<int:photo_id>/thumbnail")
def thumbnail(photo_id: int):
    return _file(_services().settings.thumbs_dir, photo_id)


@bp.get("/photos/<int:photo_id>/image")
def image(photo_id: int):
    return _file(_services().settings.images_dir, photo_id)


@bp.get("/photos/<int:photo_id>/similar")
def similar(photo_id: int):
    from photosearch.api.search import int_arg

    return _services().searcher.similar(photo_id, limit=int_arg("limit", 12))
