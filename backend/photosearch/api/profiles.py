"""Profiles and their sources (each source becomes a background ingest job).

Which sources exist, and how their fields are checked, is the sources registry's business: these views
only hand the request over (`source_for_json`, or the kind an upload route names).
"""

from __future__ import annotations

import shutil
import uuid
from pathlib import Path

from flask import Blueprint, request

from photosearch.api.http import json_body, services
from photosearch.api.serialize import jsonable
from photosearch.errors import InvalidInput
from photosearch.imagebytes import IMAGE_SUFFIXES
from photosearch.sources.base import SavedFile
from photosearch.sources.registry import source, source_for_json

bp = Blueprint("profiles", __name__)
SAVED_SUFFIXES = IMAGE_SUFFIXES | {".zip"}  # kept on saved uploads (the generated name is ours)


@bp.get("/profiles")
def list_profiles():
    return {"profiles": jsonable(services().library.profiles())}


@bp.post("/profiles")
def create_profile():
    body = json_body()
    return jsonable(services().library.create_profile(body.get("name"), body.get("display_name"))), 201


@bp.patch("/profiles/<name>")
def rename_profile(name: str):
    return jsonable(services().library.rename_profile(name, json_body().get("display_name")))


@bp.get("/profiles/<name>")
def get_profile(name: str):
    return jsonable(services().library.profile(name))


@bp.get("/profiles/<name>/outdated")
def outdated_photos(name: str):
    """{"profile", "photos", "caption_model"}: photos older models described; "photos": null where unknown."""
    return jsonable(services().library.outdated(name))


@bp.delete("/profiles/<name>")
def delete_profile(name: str):
    services().library.delete_profile(name)
    return "", 204


def _start(name: str, kind: str, spec: dict):
    return jsonable(services().jobs.start(name, kind, spec)), 202


@bp.post("/profiles/<name>/sources")
def add_source(name: str):
    body = json_body()
    svc = services()
    svc.library.profile_id(name)  # 404 before anything is checked or stored
    kind, value = source_for_json(body)
    return _start(name, kind.kind, kind.from_json(value, body, svc.settings))


def _save_uploads(files, only: set[str] | None) -> tuple[Path, list[SavedFile]]:  # noqa: ANN001 - werkzeug FileStorage
    """Save the uploaded files under generated names (nothing from the client becomes a path)."""
    folder = services().settings.uploads_dir / uuid.uuid4().hex
    folder.mkdir(parents=True)
    saved = []
    try:
        _save_each(files, only, folder, saved)
    except BaseException:  # a full disk (or a dropped connection) mid-upload: no half-saved upload stays behind
        shutil.rmtree(folder, ignore_errors=True)
        raise
    return folder, saved


def _save_each(files, only: set[str] | None, folder: Path, saved: list[SavedFile]) -> None:  # noqa: ANN001
    for storage in files:
        # control characters (a CR/LF that survived, a NUL) never reach a message or the database
        original = "".join(ch for ch in Path(storage.filename or "photo").name if ch.isprintable())[:200] or "photo"
        suffix = Path(original).suffix.lower()
        if only is not None and suffix not in only:
            continue
        path = folder / f"{uuid.uuid4().hex}{suffix if suffix in SAVED_SUFFIXES else ''}"
        storage.save(path)
        saved.append(SavedFile(path, original))


def _upload(name: str, kind: str, files: list, only: set[str] | None = None, unnamed: int = 0):
    svc = services()
    folder, saved = _save_uploads(files, only)
    try:
        spec = source(kind).from_files(saved, folder, svc.settings)
        if unnamed:  # reported as failed items of the job, beside the files that did arrive
            spec["unnamed"] = unnamed
        return _start(name, kind, spec)
    except BaseException:  # no job will read them (not an export, a full disk...): the saved files go
        shutil.rmtree(folder, ignore_errors=True)
        raise


@bp.post("/profiles/<name>/uploads")
def upload(name: str):
    services().library.profile_id(name)
    files = request.files.getlist("files")
    # A file part whose name a line break cut short arrives as a plain form field: report it, keep the rest.
    unnamed = len(request.form.getlist("files"))
    if not files and not unnamed:
        raise InvalidInput("choose one or more photos to upload (form field 'files')")
    return _upload(name, "upload", files, unnamed=unnamed)


@bp.post("/profiles/<name>/instagram-export")
def instagram_export(name: str):
    services().library.profile_id(name)
    file = request.files.get("file")
    if file is None or not file.filename:
        raise InvalidInput("choose the ZIP file of your Instagram data export (form field 'file')")
    return _upload(name, "instagram", [file], only={".zip"})


@bp.post("/profiles/<name>/redescribe")
def redescribe(name: str):
    """Describe every photo of the profile again with today's models: a job, like an ingest."""
    services().library.profile_id(name)  # 404 for an unknown profile
    return _start(name, "redescribe", {})
