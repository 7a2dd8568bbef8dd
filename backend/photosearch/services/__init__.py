"""Services: what the API and the CLI call. `Services.create(settings)` wires storage and models once."""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass

from photosearch.config import Settings
from photosearch.services.describe import Describer
from photosearch.services.ingest import Ingestor
from photosearch.services.library import Library
from photosearch.services.search import Searcher
from photosearch.storage.db import Database
from photosearch.storage.index import PhotoIndex


@dataclass
class Services:
    settings: Settings
    db: Database
    index: PhotoIndex
    library: Library
    ingestor: Ingestor
    searcher: Searcher

    @classmethod
    def create(cls, settings: Settings, describer: Callable[[], Describer] | None = None) -> Services:
        settings.ensure_dirs()
        db = Database(settings.database)
        index = PhotoIndex(settings.index_dir)
        models = _Lazy(describer or Describer.default)
        ingestor = Ingestor(settings, db, index, models.get)
        searcher = Searcher(settings, db, index, models.get)
        return cls(settings, db, index, Library(settings, db, index), ingestor, searcher)


class _Lazy:
    """Loads the models once, on first use, whichever thread asks first."""

    def __init__(self, factory: Callable[[], Describer]) -> None:
        self._factory = factory
        self._value: Describer | None = None
        self._lock = threading.Lock()

    def get(self) -> Describer:
        with self._lock:
            if self._value is None:
                self._value = self._factory()
            return self._value
