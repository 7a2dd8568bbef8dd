"""Where photos come from. Each source yields `SourcePhoto` records; ingestion does the rest."""

from photosearch.sources.base import SourcePhoto

__all__ = ["SourcePhoto"]
