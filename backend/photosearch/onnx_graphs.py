"""ONNX graphs of the product's networks, kept on disk, and the ONNX Runtime sessions that run them.

Two networks run in ONNX Runtime on the CPU, both faster there than where they were written:
    image encoder  vision/encoder.py   exported by torch's exporter      ~3x faster than eager torch
    MiniLM         text/minilm.py      built from its weights (onnx)     ~1.5x faster than numpy (2x for one query)
Making a graph costs about a second (importing `onnx`; exporting), so each is kept in cache_dir() under a key of
everything it is made from, and a later process only reads the file. A damaged cached graph (a disk error, a
killed writer) is made again; an unwritable cache only costs making it each time. Nothing is ever fetched.

Sessions use the threads they are given and let them sleep when idle (no spinning), so they leave the cores
to the next model in the pipeline.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Callable
from pathlib import Path


def cache_dir() -> Path:
    """Where graphs are kept: PHOTOSEARCH_CACHE_DIR/models, default ~/.cache/photosearch/models."""
    return Path(os.environ.get("PHOTOSEARCH_CACHE_DIR") or Path.home() / ".cache" / "photosearch") / "models"


def graph_file(name: str, *key_parts: bytes) -> Path:
    """The cache file of the graph `name` made from `key_parts` (anything that changes the graph)."""
    key = hashlib.sha256(b"\0".join(key_parts)).hexdigest()[:16]
    return cache_dir() / f"{name}-{key}.onnx"


def cached_graph(path: Path, build: Callable[[], bytes]) -> Path | bytes:
    """The graph at `path`, made by `build` and written there first when missing; its bytes when the cache
    cannot be written. Graphs of the same network under older keys are removed (MiniLM's is 90 MB; an upgrade
    would otherwise leave one behind each time)."""
    if path.is_file():
        return path
    graph = build()
    try:  # written whole, then renamed: a reader never sees half a graph
        path.parent.mkdir(parents=True, exist_ok=True)
        partial = path.with_suffix(f".{os.getpid()}.part")
        partial.write_bytes(graph)
        partial.replace(path)
    except OSError:
        return graph
    name = path.name.rsplit("-", 1)[0]
    for older in path.parent.glob(f"{name}-*.onnx"):
        if older != path and older.name.rsplit("-", 1)[0] == name:
            older.unlink(missing_ok=True)
    return path


def open_session(path: Path, build: Callable[[], bytes], threads: int):  # noqa: ANN201 - onnxruntime is optional
    """An ONNX Runtime session of the cached graph at `path` (made by `build` when missing or damaged).
    Raises ImportError when onnxruntime, or onnx for a graph not yet made, is not installed."""
    import onnxruntime

    options = onnxruntime.SessionOptions()
    options.intra_op_num_threads = max(1, threads)
    options.inter_op_num_threads = 1
    options.add_session_config_entry("session.intra_op.allow_spinning", "0")

    def session() -> onnxruntime.InferenceSession:
        graph = cached_graph(path, build)  # ONNX Runtime reads a file itself: no copy of it in Python's memory
        return onnxruntime.InferenceSession(str(graph) if isinstance(graph, Path) else graph, options,
                                            providers=["CPUExecutionProvider"])

    try:
        return session()
    except ImportError:
        raise
    except Exception:  # noqa: BLE001 - onnxruntime's own error types; a damaged cached graph: make it again
        path.unlink(missing_ok=True)
        return session()
