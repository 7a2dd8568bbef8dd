"""Search's snapshots (storage/snapshots.py): postings and texts come back from disk as they were built, changes
made after the snapshot are applied, and a snapshot that does not fit the database is built again."""

from __future__ import annotations

from datetime import UTC, datetime

import numpy as np
import pytest

from photosearch.config import Settings
from photosearch.services import Services
from photosearch.services.ingest import index_doc
from photosearch.services.relevance import ProfileTexts
from photosearch.storage.models import Description, Photo, Profile
from photosearch.storage.postings import Postings, ProfilePostings
from photosearch.storage.snapshots import Snapshots, pack_strings, unpack_strings

WORDS = ("dog", "cat", "beach", "sofa", "snow", "astronaut")


@pytest.fixture
def services(tmp_path) -> Services:
    return Services.create(Settings(data_dir=tmp_path / "data", demo=False), describer=lambda: None)


def _profile(services: Services, name: str = "p") -> int:
    services.library.create_profile(name)
    with services.db.session() as session:
        return session.query(Profile.id).filter(Profile.name == name).scalar()


def _photo(services: Services, profile_id: int, n: int, caption: str, label: str = "tabby") -> int:
    with services.db.session() as session:
        photo = Photo(profile_id=profile_id, source=f"t:{n}", kind="upload", content_hash=f"{n:064x}")
        photo.description = Description(caption=caption, model="t", labels=[{"label": label, "score": 0.7}])
        session.add(photo)
        session.flush()
        return photo.id


def _postings(services: Services, snapshots: bool = True) -> ProfilePostings:
    return ProfilePostings(services.db, lambda row: index_doc(row, row),
                           snapshot_dir=services.settings.snapshots_dir if snapshots else None)


def _all_scores(follower: ProfilePostings, profile_id: int) -> dict[str, dict[int, float]]:
    out = {}
    for word in WORDS:
        ids, scores = follower.scores(profile_id, [("caption", word, 1.0), ("alternatives", word, 1.0)])
        out[word] = dict(zip(ids.tolist(), np.round(scores, 5).tolist(), strict=True))
    return out


def _counting_loads(follower: ProfilePostings) -> list[int]:
    """Wrap follower._load so a test sees each profile built from the database."""
    built: list[int] = []
    load = follower._load

    def counted(profile_id: int) -> Postings:
        built.append(profile_id)
        return load(profile_id)

    follower._load = counted
    return built


def test_packed_strings_come_back_exactly():
    strings = ["dog", "", "café", "日本", "a\x00b", "\ud800"]  # empty, accents, a NUL, a lone surrogate
    packed = pack_strings(strings)
    assert unpack_strings(packed["bytes"], packed["ends"]) == strings
    assert unpack_strings(*pack_strings([]).values()) == []


def test_postings_arrays_round_trip_with_dead_rows():
    postings = Postings()
    from photosearch.storage.index import IndexDoc

    postings.add([IndexDoc(photo_id=i, profile_id=1, caption=f"a {WORDS[i % 6]} on the {WORDS[(i + 1) % 6]}",
                           hashtags=["summer"]) for i in range(1, 40)])
    postings.remove([3, 4])
    postings.add([IndexDoc(photo_id=5, profile_id=1, caption="an astronaut")])
    back = Postings.from_arrays(postings.to_arrays())
    assert len(back) == len(postings) and back.dead == postings.dead
    for leaves in ([("caption", "dog", 1.0)], [("caption", "astronaut", 1.0), ("hashtags", "summer", 2.0)]):
        for a, b in zip(postings.scores(leaves), back.scores(leaves), strict=True):
            assert np.array_equal(a, b)
    assert back.row_of(3) == -1 and back.row_of(5) == postings.row_of(5)


def test_a_restart_loads_the_snapshot_and_applies_later_changes(services):
    p = _profile(services)
    a = _photo(services, p, 1, "a dog on the beach")
    b = _photo(services, p, 2, "a cat on a sofa")
    first = _postings(services)
    built = _counting_loads(first)
    before = _all_scores(first, p)
    assert built == [p] and services.settings.snapshots_dir.joinpath(f"postings-{p}.npz").exists()

    restarted = _postings(services)
    built = _counting_loads(restarted)
    assert _all_scores(restarted, p) == before and built == []  # from the snapshot, not the database

    c = _photo(services, p, 3, "two dogs in the snow")  # after the snapshot: added, described again, deleted
    with services.db.session() as session:
        session.get(Photo, b).description.caption = "a dog sleeps on a sofa"
        session.get(Photo, a).deleted_at = datetime.now(UTC)
    again = _postings(services)
    built = _counting_loads(again)
    assert _all_scores(again, p) == _all_scores(_postings(services, snapshots=False), p)
    assert built == [] and set(again.scores(p, [("caption", "dog", 1.0)])[0].tolist()) == {b, c}


def test_a_snapshot_that_does_not_fit_is_built_again(services):
    p = _profile(services)
    _photo(services, p, 1, "a dog on the beach")
    _all_scores(_postings(services), p)  # writes the snapshot
    path = services.settings.snapshots_dir / f"postings-{p}.npz"

    kept = path.read_bytes()
    services.library.delete_profile("p")  # SQLite gives the next profile the same id: not the old one's snapshot
    q = _profile(services, "q")
    _photo(services, q, 2, "an astronaut")
    path.write_bytes(kept)  # as if the deletion had not removed it (another process's data folder)
    assert q == p
    fresh = _postings(services)
    built = _counting_loads(fresh)
    assert fresh.scores(q, [("caption", "dog", 1.0)])[0].tolist() == [] and built == [q]

    r = _profile(services, "r")
    _photo(services, r, 3, "a cat on a sofa")
    _all_scores(_postings(services), r)
    damaged = services.settings.snapshots_dir / f"postings-{r}.npz"
    damaged.write_bytes(damaged.read_bytes()[:100])  # cut short
    fresh = _postings(services)
    built = _counting_loads(fresh)
    assert fresh.scores(r, [("caption", "cat", 1.0)])[0].size == 1 and built == [r]

    old = Snapshots(services.settings.snapshots_dir, "postings", version=0, db=services.db)
    old.save(r, 0, Postings().to_arrays())  # an older format: refused
    fresh = _postings(services)
    built = _counting_loads(fresh)
    assert fresh.scores(r, [("caption", "cat", 1.0)])[0].size == 1 and built == [r]


def test_profile_texts_come_from_the_snapshot_and_follow_additions(services):
    p = _profile(services)
    a = _photo(services, p, 1, "a dog on the beach", label="golden retriever")
    _photo(services, p, 2, "a cat on a sofa")
    folder = services.settings.snapshots_dir
    first = ProfileTexts(services.db, folder).get(p, stamp=("v", 2))
    assert (folder / f"texts-{p}.npz").exists()

    loaded = ProfileTexts(services.db, folder)
    loaded._read = None  # any read of the database would fail: the snapshot is enough
    text = loaded.get(p, stamp=("v", 2))
    assert text.vocabulary == first.vocabulary and np.array_equal(text.ids, first.ids)
    assert np.array_equal(text.label_index, first.label_index) and np.array_equal(text.label_prob, first.label_prob)

    c = _photo(services, p, 3, "an astronaut in space")  # added after the snapshot: read on top of it
    grown = ProfileTexts(services.db, folder).get(p, stamp=("v", 3))
    fresh = ProfileTexts(services.db).get(p, stamp=("v", 3))
    assert grown.vocabulary == fresh.vocabulary and grown.ids.tolist() == fresh.ids.tolist() == [a, 2, c]

    with services.db.session() as session:  # a photo it holds is deleted: built again
        session.get(Photo, a).deleted_at = datetime.now(UTC)
    rebuilt = ProfileTexts(services.db, folder).get(p, stamp=("v", 4))
    assert rebuilt.ids.tolist() == [2, c] and "beach" not in rebuilt.vocabulary


def test_deleting_a_profile_or_reindexing_removes_snapshots(services):
    p, q = _profile(services, "p"), _profile(services, "q")
    for profile_id, n in ((p, 1), (q, 2)):
        _photo(services, profile_id, n, "a dog on the beach")
        services.searcher.warm()
    folder = services.settings.snapshots_dir
    names = sorted(path.name for path in folder.iterdir())
    assert names == sorted(f"{kind}-{i}.npz" for kind in ("postings", "texts", "vectors") for i in (p, q))
    services.library.delete_profile("p")
    assert sorted(path.name for path in folder.iterdir()) == [f"{kind}-{q}.npz" for kind in ("postings", "texts",
                                                                                             "vectors")]
    from photosearch import cli

    cli.main(["reindex", "--data-dir", str(services.settings.data_dir)])
    assert list(folder.iterdir()) == []  # built again from the database on the next search


def _vector_photo(services: Services, profile_id: int, n: int, dim: int = 8) -> int:
    vector = np.random.default_rng(n).standard_normal(dim).astype(np.float32)
    with services.db.session() as session:
        photo = Photo(profile_id=profile_id, source=f"v:{n}", kind="upload", content_hash=f"{n:064x}",
                      taken_at=datetime(2020, 1, 1 + n % 28, tzinfo=UTC))
        photo.description = Description(caption="a photo", model="t", image_vector=(vector / np.linalg.norm(vector))
                                        .tobytes())
        session.add(photo)
        session.flush()
        return photo.id


@pytest.mark.parametrize("large", [False, True])
def test_vectors_come_from_the_snapshot_and_follow_the_log(services, monkeypatch, large):
    from photosearch.storage import vectors as vectors_module
    from photosearch.storage.vectors import VectorStore

    if large:  # int8 codes and the sign-bit index, as from 50,000 photos
        monkeypatch.setattr(vectors_module, "ANN_THRESHOLD", 4)
    p = _profile(services)
    ids = [_vector_photo(services, p, n) for n in range(1, 9)]
    folder = services.settings.snapshots_dir
    query = np.random.default_rng(0).standard_normal(8).astype(np.float32)

    def view_of(store: VectorStore) -> tuple:
        view = store.get(p)
        rows = view.shortlist(query, 3) if view.quantized else None
        return view.ids.tolist(), view.dated.tolist(), view.scores(query).round(6).tolist(), view.quantized, \
            None if rows is None else rows.tolist()

    built = view_of(VectorStore(services.db, folder))
    assert (folder / f"vectors-{p}.npz").exists() and built[3] == large

    reads: list[int] = []
    restarted = VectorStore(services.db, folder)
    read = restarted._read
    restarted._read = lambda vectors, after_id: (reads.append(after_id), read(vectors, after_id))[1]
    assert view_of(restarted) == built and reads == []  # from the snapshot alone

    added = _vector_photo(services, p, 9)  # added after the snapshot: read on top of it
    grown = VectorStore(services.db, folder)
    read = grown._read
    grown._read = lambda vectors, after_id: (reads.append(after_id), read(vectors, after_id))[1]
    assert view_of(grown) == view_of(VectorStore(services.db)) and reads == [ids[-1]]
    assert grown.get(p).ids.tolist() == [*ids, added]

    with services.db.session() as session:  # a photo it holds is deleted: read again in full
        session.get(Photo, ids[0]).deleted_at = datetime.now(UTC)
    again = VectorStore(services.db, folder)
    assert again.get(p).ids.tolist() == [*ids[1:], added] and view_of(again) == view_of(VectorStore(services.db))


def test_a_snapshot_made_with_another_label_table_is_built_again(services):
    p = _profile(services)
    _photo(services, p, 1, "a dog on the beach")
    before = ProfilePostings(services.db, lambda row: index_doc(row, row), services.settings.snapshots_dir, "table-a")
    before.warm(p)
    same = ProfilePostings(services.db, lambda row: index_doc(row, row), services.settings.snapshots_dir, "table-a")
    other = ProfilePostings(services.db, lambda row: index_doc(row, row), services.settings.snapshots_dir, "table-b")
    built_same, built_other = _counting_loads(same), _counting_loads(other)
    same.warm(p)
    other.warm(p)
    assert built_same == [] and built_other == [p]


def test_postings_far_behind_their_snapshot_are_built_again(services, monkeypatch):
    """More changes since the snapshot than half its photos (plus READ_CHUNK): a full read, in chunks, rather
    than every changed photo's document held at once by the catch-up."""
    from photosearch.storage import postings as postings_module

    monkeypatch.setattr(postings_module, "READ_CHUNK", 2)
    p = _profile(services)
    for n in range(1, 5):
        _photo(services, p, n, "a dog on the beach")
    _postings(services).warm(p)
    _photo(services, p, 5, "a cat")  # 1 change: caught up from the log
    near = _postings(services)
    built = _counting_loads(near)
    near.warm(p)
    assert built == []
    for n in range(6, 10):  # 5 changes since the snapshot of 4 photos: more than 4 // 2 + 2
        _photo(services, p, n, "a cat")
    far = _postings(services)
    built = _counting_loads(far)
    assert far.scores(p, [("caption", "cat", 1.0)])[0].size == 5 and built == [p]


def test_saving_removes_half_written_files_of_a_killed_process(services):
    import os

    p = _profile(services)
    _photo(services, p, 1, "a dog")
    folder = services.settings.snapshots_dir
    folder.mkdir(parents=True, exist_ok=True)
    stale, fresh = folder / f"postings-{p}.999999.partial.npz", folder / f"postings-{p}.999998.partial.npz"
    for path in (stale, fresh):
        path.write_bytes(b"half")
    os.utime(stale, (0, 0))  # long ago; `fresh` may be another process saving right now
    _postings(services).warm(p)
    assert not stale.exists() and fresh.exists() and (folder / f"postings-{p}.npz").exists()
