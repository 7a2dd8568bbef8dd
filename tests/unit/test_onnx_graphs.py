"""onnx_graphs.py: graphs kept on disk under a key of what they are made from."""

from __future__ import annotations

from pathlib import Path

from photosearch.onnx_graphs import cached_graph, graph_file


def test_a_graph_is_made_once_and_a_new_key_replaces_the_old_file(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setenv("PHOTOSEARCH_CACHE_DIR", str(tmp_path))
    made: list[bytes] = []

    def build(content: bytes):  # noqa: ANN202
        return lambda: made.append(content) or content

    first = graph_file("net", b"weights v1")
    assert first.parent == tmp_path / "models" and first != graph_file("net", b"weights v2")
    assert cached_graph(first, build(b"graph 1")) == first and first.read_bytes() == b"graph 1"
    assert cached_graph(first, build(b"graph 1")) == first and made == [b"graph 1"]  # read, not made again
    other = graph_file("net-small", b"weights v1")  # another network whose name starts alike
    cached_graph(other, build(b"small"))
    second = graph_file("net", b"weights v2")
    cached_graph(second, build(b"graph 2"))
    assert sorted(p.name for p in (tmp_path / "models").iterdir()) == sorted([second.name, other.name])


def test_an_unwritable_cache_gives_the_graph_itself(tmp_path: Path, monkeypatch) -> None:
    blocked = tmp_path / "file"
    blocked.write_text("not a folder")
    monkeypatch.setenv("PHOTOSEARCH_CACHE_DIR", str(blocked))
    assert cached_graph(graph_file("net", b"k"), lambda: b"graph") == b"graph"
