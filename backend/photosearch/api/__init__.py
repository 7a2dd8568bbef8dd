"""The Flask app factory: JSON API under /api, the built React app at /.

The API holds no ML and no SQL: each view validates its input, calls a service and returns JSON.
Errors a person can act on (PhotosearchError) become `{"error", "status"}` with their status code;
anything else is logged and answered with a generic 500 message, never a stack trace.
"""

from __future__ import annotations

import logging
from pathlib import Path

from flask import Flask, jsonify, request, send_from_directory
from flask_cors import CORS
from werkzeug.exceptions import HTTPException, RequestEntityTooLarge
from werkzeug.routing import IntegerConverter

from photosearch.api import browse, jobs, multipart, photos, profiles, search
from photosearch.api.guard import check_request
from photosearch.api.http import EXTENSION
from photosearch.api.serialize import jsonable
from photosearch.config import Settings
from photosearch.errors import DiskFull, PhotosearchError, database_damage, is_disk_full
from photosearch.services import Services
from photosearch.units import megabytes

log = logging.getLogger(__name__)
REPO_DIST = Path(__file__).resolve().parents[3] / "frontend" / "dist"


def create_app(settings: Settings | None = None, services: Services | None = None) -> Flask:
    settings = settings or (services.settings if services else Settings.from_env())
    services = services or Services.create(settings)
    static_dir = Path(settings.static_dir or REPO_DIST)
    app = Flask(__name__, static_folder=None)
    app.url_map.converters["int"] = _IdConverter  # before the blueprints' rules are bound
    app.config["MAX_CONTENT_LENGTH"] = settings.max_upload_bytes
    multipart.install()  # a file name that is not UTF-8 must not lose the whole upload
    app.extensions[EXTENSION] = services
    CORS(app, resources={r"/api/*": {"origins": settings.cors_origins}})

    for blueprint in (profiles.bp, jobs.bp, search.bp, photos.bp, browse.bp):
        app.register_blueprint(blueprint, url_prefix="/api")

    @app.get("/api/health")
    def health():
        return jsonable(services.health())

    @app.before_request
    def guard_request():
        """Host (DNS rebinding), Origin (cross-site changes) and, beyond loopback, the token: api/guard.py."""
        check_request(settings)

    @app.errorhandler(PhotosearchError)
    def photosearch_error(exc: PhotosearchError):
        return jsonify(error=exc.message, status=exc.status), exc.status

    @app.errorhandler(RequestEntityTooLarge)
    def too_large(_exc):
        return jsonify(error=f"the upload is larger than the {megabytes(settings.max_upload_bytes)} limit",
                       status=413), 413

    @app.errorhandler(HTTPException)
    def http_error(exc: HTTPException):
        return jsonify(error=exc.description or exc.name, status=exc.code), exc.code

    @app.errorhandler(Exception)
    def unexpected(exc: Exception):
        if is_disk_full(exc):  # not a bug: say what the person can do about it
            log.error("disk full on %s %s: %s", request.method, request.path, exc)
            full = DiskFull()
            return jsonify(error=full.message, status=full.status), full.status
        damaged = database_damage(exc)
        if damaged is not None:  # not a bug either: the file under us is broken, and we must not touch it
            log.error("%s on %s %s", damaged.message, request.method, request.path)
            return jsonify(error=damaged.message, status=damaged.status), damaged.status
        log.exception("unexpected error on %s %s", request.method, request.path)
        return jsonify(error="something went wrong on the server; it has been logged", status=500), 500

    @app.get("/")
    @app.get("/<path:path>")
    def spa(path: str = ""):
        if path.startswith("api/"):
            return jsonify(error=f"no API endpoint /{path}", status=404), 404
        if not (static_dir / "index.html").exists():
            return (
                "<h1>photosearch</h1><p>The web app is not built yet: run <code>make run</code> "
                "(or <code>npm ci && npm run build</code>).</p>",
                200,
            )
        if path and (static_dir / path).is_file():
            return send_from_directory(static_dir, path)
        return send_from_directory(static_dir, "index.html")

    return app


class _IdConverter(IntegerConverter):
    """<int:...> in routes: ids are SQLite 64-bit integers, so a bigger number names nothing (404) instead
    of overflowing in the database driver (500)."""

    def __init__(self, map, *args, **kwargs) -> None:  # noqa: A002, ANN001, ANN003 - werkzeug's signature
        kwargs.setdefault("max", 2**63 - 1)
        super().__init__(map, *args, **kwargs)
