"""Errors a person can act on.

Every layer raises these; the API maps them to JSON (`status`, `error`) and the CLI to a one-line message.
Anything else is a bug and is logged, never shown to a client.
"""


class PhotosearchError(Exception):
    """Base class: `message` is shown to the person as is."""

    status = 400

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class InvalidInput(PhotosearchError):
    status = 400


class Unauthorized(PhotosearchError):
    status = 401


class Forbidden(PhotosearchError):
    status = 403


class NotFound(PhotosearchError):
    status = 404


class Conflict(PhotosearchError):
    status = 409


class TooLarge(PhotosearchError):
    status = 413


class FetchError(PhotosearchError):
    """A photo could not be fetched (network, refused destination, limits)."""

    status = 422


class ImageError(PhotosearchError):
    """Bytes that are not a usable image (truncated, not an image, too many pixels...)."""

    status = 422


class ModelError(PhotosearchError):
    """Weights missing or incompatible."""

    status = 500
