"""photosearch: search your photos by describing them.

Layers (imports point down only):
    api/ (Flask, JSON)  ->  services/ (ingest, describe, search)  ->  vision/, text/ (models)  and  storage/ (db, index)
"""

__version__ = "0.1.0"
