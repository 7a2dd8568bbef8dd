"""Search a profile by description."""

from __future__ import annotations

from datetime import UTC, datetime

from flask import Blueprint, current_app, request

from photosearch.errors import InvalidInput

bp = Blueprint("search", __name__)


def int_arg(name: str, default: int) -> int:
    raw = request.args.get(name)
    if raw is None or raw == "":
        return default
    try:
        return int(raw)
    except ValueError:
        raise InvalidInput(f"'{name}' must be a whole number") from None


def date_arg(name: str) -> datetime | None:
    raw = request.args.get(name)
    if not raw:
        return None
    try:
        value = datetime.fromisoformat(raw)
    except ValueError:
        raise InvalidInput(f"'{name}' must be a date like 2024-05-31") from None
    return value if value.tzinfo else value.replace(tzinfo=UTC)


@bp.get("/search")
def search():
    profile = request.args.get("profile")
    if not profile:
        raise InvalidInput("say which profile to search: ?profile=NAME")
    return current_app.extensions["photosearch"].searcher.search(
        profile, request.args.get("q", ""), limit=int_arg("limit", 20), offset=int_arg("offset", 0),
        after=date_arg("after"), before=date_arg("before"),
    )
