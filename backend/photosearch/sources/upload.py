"""Photos uploaded through the web app (or handed over as files, as the demo profile is).

The API saves each upload under a generated name (nothing from the client becomes a path) and keeps the
person's own file name for messages: a photo is known as "upload:<their name>". The saved copies are
removed when the job is done; the stored photos are normalised copies of their own.
"""

from __future__ import annotations

from pathlib import Path

from photosearch.config import Settings
from photosearch.errors import ImageError, InvalidInput
from photosearch.sources.base import ListContext, SavedFile, Source, SourcePhoto


def file_photo(path: Path, source: str, kind: str) -> SourcePhoto:
    """A photo read from a file whose path we chose ourselves (so no folder-root check is needed)."""

    def read() -> bytes:
        try:
            return path.read_bytes()
        except OSError as exc:
            raise ImageError(f"cannot read the file: {exc.strerror or exc}") from exc

    return SourcePhoto(source=source, kind=kind, read=read)


def _unnamed(index: int) -> SourcePhoto:
    reason = ("its file name could not be read (a line break or control character in the name); "
              "rename the file and upload it again")

    def read() -> bytes:
        raise InvalidInput(reason)

    return SourcePhoto(source=f"upload:(file {index + 1} without a readable name)", kind="upload", read=read)


class UploadSource(Source, kind="upload", rank=50):
    """Photos uploaded in a multipart request, saved under generated names until the job is done."""

    def from_files(self, files: list[SavedFile], folder: Path, settings: Settings) -> dict:
        return {"files": [{"path": str(f.path), "name": f.name} for f in files], "cleanup": str(folder)}

    def photos(self, spec: dict, context: ListContext) -> list[SourcePhoto]:
        photos = [file_photo(Path(f["path"]), f"upload:{f['name']}", "upload") for f in spec["files"]]
        # files whose multipart name a line break cut short (the API could not read them as files)
        return photos + [_unnamed(i) for i in range(spec.get("unnamed", 0))]

    def title(self, spec: dict) -> str:
        files = spec.get("files", [])
        if len(files) == 1:
            return f"upload of {files[0]['name']}"
        return f"{len(files):,} uploaded photos"
