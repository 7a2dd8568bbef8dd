"""The registry of source kinds: every `Source` subclass in a module of `sources/` is one.

    class FolderSource(Source, kind="folder", rank=20):
        ...

The API (`add_source`, uploads), the CLI (`ingest` options) and the ingest job look kinds up here and
never branch on them, so adding a kind of source is adding one module to this package: it is imported
(and so registered) the first time anyone asks the registry.
"""

from __future__ import annotations

import importlib
import pkgutil
import threading

from photosearch.errors import InvalidInput
from photosearch.sources.base import Source, source_classes

_SOURCES: dict[str, Source] = {}  # one instance per kind, made on first use
_loaded = False
_lock = threading.Lock()


def all_sources() -> list[Source]:
    """Every registered source, in the order they are offered to people."""
    _load()
    return sorted(_SOURCES.values(), key=lambda s: (s.rank, s.kind))


def source(kind: str) -> Source:
    _load()
    try:
        return _SOURCES[kind]
    except KeyError:
        raise InvalidInput(f"unknown source kind {kind!r}") from None


def source_for_json(body: dict) -> tuple[Source, object]:
    """The source whose `json` field the request body has, and that field's value."""
    offered = [s for s in all_sources() if s.json]
    for candidate in offered:
        if candidate.json.name in body:
            return candidate, body[candidate.json.name]
    fields = ", ".join(f"'{s.json.name}' ({s.json.hint})" for s in offered)
    raise InvalidInput(f"say where the photos are: give {fields}")


def _load() -> None:
    global _loaded
    if _loaded:
        return
    with _lock:
        if not _loaded:
            package = importlib.import_module("photosearch.sources")
            for module in pkgutil.iter_modules(package.__path__):
                importlib.import_module(f"photosearch.sources.{module.name}")
            _SOURCES.update((kind, cls()) for kind, cls in source_classes().items())
            _loaded = True
