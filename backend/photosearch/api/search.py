"""Search a profile by description."""

from __future__ import annotations

from flask import Blueprint, request

from photosearch.api.http import date_arg, int_arg, services
from photosearch.api.serialize import jsonable
from photosearch.errors import InvalidInput

bp = Blueprint("search", __name__)


@bp.get("/search")
def search():
    profile = request.args.get("profile")
    if not profile:
        raise InvalidInput("say which profile to search: ?profile=NAME")
    return jsonable(services().searcher.search(
        profile, request.args.get("q", ""), limit=int_arg("limit", 20), offset=int_arg("offset", 0),
        after=date_arg("after"), before=date_arg("before", end=True), sort=request.args.get("sort") or "best",
    ))
