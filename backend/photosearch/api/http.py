"""What every view needs from the request: the services object, the JSON body, typed query arguments.

The one way views reach the services (`services()`), so tests and views agree on where they live.
"""

from __future__ import annotations

from datetime import datetime

from flask import current_app, request

from photosearch.errors import InvalidInput
from photosearch.services import Services

EXTENSION = "photosearch"  # app.extensions key holding the Services object


def services() -> Services:
    return current_app.extensions[EXTENSION]


def json_body() -> dict:
    try:
        body = request.get_json(silent=True)
    except RecursionError:  # silent= covers ValueError only; 50,000 nested brackets exhaust the parser
        raise InvalidInput("the JSON body is nested too deeply") from None
    if not isinstance(body, dict):
        raise InvalidInput("send a JSON object in the request body")
    return body


def int_arg(name: str, default: int) -> int:
    raw = request.args.get(name)
    if raw is None or raw == "":
        return default
    try:
        return int(raw)
    except ValueError:
        raise InvalidInput(f"'{name}' must be a whole number") from None


def date_arg(name: str, end: bool = False) -> datetime | None:
    """An ISO date or date-time (UTC when no zone); a bare date as the `end` of a range means the end of that
    day, so before=2024-05-31 keeps the photos of the 31st."""
    raw = request.args.get(name)
    if not raw:
        return None
    from photosearch.services.timeline import parse_date

    return parse_date(raw, name, end)
