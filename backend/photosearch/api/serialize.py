"""Service results as JSON: dataclasses become objects, datetimes ISO 8601 strings, and photos gain the
URLs of their files (only the API knows its own URLs)."""

from __future__ import annotations

import dataclasses
from datetime import datetime
from typing import Any

from photosearch.services.library import PhotoSummary
from photosearch.storage.models import iso


def photo_urls(photo_id: int) -> dict[str, str]:
    """Where a photo's files are served (api/photos.py)."""
    return {"thumbnail_url": f"/api/photos/{photo_id}/thumbnail", "image_url": f"/api/photos/{photo_id}/image"}


def jsonable(value: Any) -> Any:  # noqa: ANN401 - any service result
    """`value` with every dataclass turned into a dict and every datetime into ISO 8601, recursively;
    photos gain the URLs of their files."""
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        out = {f.name: jsonable(getattr(value, f.name)) for f in dataclasses.fields(value)}
        if isinstance(value, PhotoSummary):
            out.update(photo_urls(value.id))
        return out
    if isinstance(value, datetime):
        return iso(value)
    if isinstance(value, dict):
        return {key: jsonable(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [jsonable(item) for item in value]
    return value
