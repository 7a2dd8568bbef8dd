"""Profiles and their sources (each source becomes a background ingest job)."""

from __future__ import annotations

import uuid
from pathlib import Path

from flask import Blueprint, current_app, request

from photosearch.errors import InvalidInput

bp = Blueprint("profiles", __name__)
UPLOAD_TYPES = {".jpg", ".jpeg", ".png", ".webp", ".gif", ".bmp", ".tif", ".tiff"}


def _services():
    return current_app.extensions["photosearch"]


def _json_body() -> dict:
    body = request.get_json(silent=True)
    if not isinstance(body, dict):
        raise InvalidInput("send a JSON object in the request body")
    return body


@bp.get("/profiles")
def list_profiles():
    return {"profiles": _services().library.profiles()}


@bp.post("/profiles")
def create_profile():
    return _services().library.create_profile(_json_body().get("name")), 201


@bp.get("/profiles/<name>")
def get_profile(name: str):
    return _services().library.profile(name)


@bp.delete("/profiles/<name>")
def delete_profile(name: str):
    _services().library.delete_profile(name)
    return "", 204


@bp.get("/profiles/<name>/photos")
def profile_photos(name: str):
    from photosearch.api.search import int_arg

    return _services().library.photos(name, limit=int_arg("limit", 60), offset=int_arg("offset", 0))


def _start(name: str, kind: str, spec: dict):
    services = _services()
    services.library.profile(name)  # 404 before anything is stored
    job_id = services.ingestor.create_job(name, kind, spec)
    services.ingestor.submit(job_id)
    return services.ingestor.job_status(job_id), 202


@bp.post("/profiles/<name>/sources")
def add_source(name: str):
    body = _json_body()
    services = _services()
    if "urls" in body:
        from photosearch.sources.url_list import parse_url_list

        raw = body["urls"]
        if isinstance(raw, str):
            data = raw
        elif isinstance(raw, list | dict):
            import json

            data = json.dumps(raw)
        else:
            raise InvalidInput("'urls' must be a list of URLs (or text with one URL per line)")
        urls, rejected = parse_url_list(data, services.settings.max_url_list_entries)
        if not urls:
            reasons = "; ".join(f"{entry}: {why}" for entry, why in rejected[:5])
            raise InvalidInput(f"no usable URLs{(': ' + reasons) if reasons else ''}")
        return _start(name, "urls", {"urls": urls, "rejected": rejected})
    if "folder" in body:
        folder = body["folder"]
        if not isinstance(folder, str) or not folder.strip():
            raise InvalidInput("'folder' must be a path on the server")
        from photosearch.sources.folder import folder_photos

        folder_photos(Path(folder).expanduser(), services.settings)  # refuse bad folders now, not in the job
        return _start(name, "folder", {"folder": str(Path(folder).expanduser())})
    if "instagram_profile" in body:
        from photosearch.sources.instagram import normalize_username

        limit = body.get("limit")
        if limit is not None and (not isinstance(limit, int) or isinstance(limit, bool) or not 1 <= limit <= 10_000):
            raise InvalidInput("'limit' must be a whole number of posts between 1 and 10000")
        username = normalize_username(body["instagram_profile"])
        return _start(name, "instagram_profile", {"username": username, "limit": limit})
    raise InvalidInput("give 'urls' (a list) or 'folder' (a path on the server)")


def _save_uploads(files, allowed: set[str] | None) -> tuple[Path, list[dict]]:  # noqa: ANN001
    services = _services()
    folder = services.settings.uploads_dir / uuid.uuid4().hex
    folder.mkdir(parents=True)
    saved = []
    for storage in files:
        original = Path(storage.filename or "photo").name[:200]
        suffix = Path(original).suffix.lower()
        if allowed is not None and suffix not in allowed:
            continue  # recorded below as rejected
        path = folder / f"{uuid.uuid4().hex}{suffix if suffix in UPLOAD_TYPES | {'.zip'} else ''}"
        storage.save(path)  # generated name: nothing from the client becomes a path
        saved.append({"path": str(path), "name": original})
    return folder, saved


@bp.post("/profiles/<name>/uploads")
def upload(name: str):
    _services().library.profile(name)
    files = request.files.getlist("files")
    if not files:
        raise InvalidInput("choose one or more photos to upload (form field 'files')")
    folder, saved = _save_uploads(files, None)
    return _start(name, "upload", {"files": saved, "cleanup": str(folder)})


@bp.post("/profiles/<name>/instagram-export")
def instagram_export(name: str):
    _services().library.profile(name)
    file = request.files.get("file")
    if file is None or not file.filename:
        raise InvalidInput("choose the ZIP file of your Instagram data export (form field 'file')")
    folder, saved = _save_uploads([file], {".zip"})
    if not saved:
        raise InvalidInput("an Instagram export is a .zip file")
    from photosearch.sources.instagram import read_export

    read_export(Path(saved[0]["path"]))  # a ZIP that is not an export gets its message now
    return _start(name, "instagram", {"path": saved[0]["path"], "cleanup": str(folder)})
