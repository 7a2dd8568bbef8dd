"""Multipart uploads whose part headers are not UTF-8.

Werkzeug decodes each part's headers as UTF-8; one file name in another encoding (`bad\\xe9.jpg` from an old
system) raises inside its parser, which then answers as if *no* file had been sent: the whole upload is
lost to one name. `LenientMultipartDecoder` reads headers as UTF-8 when they are, else as Latin-1 (which
never fails and is what such a name most likely was), so that file keeps a readable name and every other
file in the request is still seen. `install()` swaps it in for werkzeug's form parser; it changes
nothing else. A name broken by a raw line break ends its header early: werkzeug then sees a plain form
field instead of a file, and the upload view reports it (see `api/profiles.py`).
"""

from __future__ import annotations

from werkzeug import formparser
from werkzeug.datastructures import Headers
from werkzeug.sansio.multipart import MultipartDecoder


class LenientMultipartDecoder(MultipartDecoder):
    def _parse_headers(self, data: bytes | bytearray) -> Headers:
        try:
            bytes(data).decode("utf-8")
        except UnicodeDecodeError:
            data = bytes(data).decode("latin-1").encode("utf-8")  # same characters, now valid UTF-8
        return super()._parse_headers(data)


def install() -> None:
    """Use the lenient decoder for every multipart request this process parses (idempotent)."""
    formparser.MultipartDecoder = LenientMultipartDecoder  # type: ignore[misc]
