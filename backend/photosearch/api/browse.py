"""Browsing and tidying a collection: the timeline, suggestions, and deleting photos with Undo."""

from __future__ import annotations

from flask import Blueprint, request

from photosearch.api.http import date_arg, int_arg, services
from photosearch.api.serialize import jsonable
from photosearch.errors import InvalidInput
from photosearch.services.deletion import check_ids

bp = Blueprint("browse", __name__)


def _services():
    return services()


@bp.get("/profiles/<name>/photos")
def timeline(name: str):
    return jsonable(_services().timeline.photos(
        name, sort=request.args.get("sort") or "newest", limit=int_arg("limit", 60),
        cursor=request.args.get("cursor") or None, after=date_arg("after"), before=date_arg("before", end=True),
    ))


@bp.get("/profiles/<name>/suggestions")
def suggestions(name: str):
    return _services().timeline.suggestions(name, limit=int_arg("limit", 8))


@bp.delete("/photos/<int:photo_id>")
def delete_photo(photo_id: int):
    return _services().deletion.delete([photo_id])


@bp.post("/photos/<int:photo_id>/restore")
def restore_photo(photo_id: int):
    return _services().deletion.restore([photo_id])


def _ids() -> list[int]:
    body = request.get_json(silent=True)
    if not isinstance(body, dict):
        raise InvalidInput("send a JSON object in the request body: {\"ids\": [1, 2, ...]}")
    return check_ids(body.get("ids"))


@bp.post("/profiles/<name>/photos/delete")
def delete_photos(name: str):
    return _services().deletion.delete(_ids(), profile=name)


@bp.post("/profiles/<name>/photos/restore")
def restore_photos(name: str):
    return _services().deletion.restore(_ids(), profile=name)
