"""Which full-text ranking finds Flickr8k photos better: Whoosh BM25F (the app's) or PostgreSQL's own?

    PYTHONPATH=backend OMP_NUM_THREADS=1 .venv/bin/python scripts/compare_fulltext.py \\
        --data-dir DIR_WITH_AN_EVAL_PROFILE --profile flickr8k-dev --flickr8k ../shared/flickr8k

Input: a data directory where `photosearch eval-search --split dev` (or any ingest of a Flickr8k split)
stored the split's photos, so both rankings see the same generated text (caption, alternatives, labels).
Each of the split's human captions is a query with one right photo, as in services/eval_search.py; a photo
a ranking doesn't return counts at the bottom. Rankings compared, text only (no semantic part):

- Whoosh BM25F over the app's fields and boosts (storage/index.py), a fresh index of those photos;
- PostgreSQL 15 (a throwaway server, tests/servers.py): one tsvector per photo, caption weight A, labels B,
  alternatives C, 'english' configuration; the query's lexemes OR-ed (like the app's OR of words);
  ranked by ts_rank and by ts_rank_cd (cover density), each with length normalisation 1 (log length).
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))

from sqlalchemy import create_engine, select, text  # noqa: E402
from sqlalchemy.orm import Session, selectinload  # noqa: E402

from photosearch.services.eval_search import raw_captions  # noqa: E402
from photosearch.services.ingest import index_doc  # noqa: E402
from photosearch.storage.index import PhotoIndex  # noqa: E402
from photosearch.storage.models import Photo, Profile  # noqa: E402

KS = (1, 5, 10)


def recall(ranks: list[int]) -> dict[str, float]:
    out = {f"R@{k}": sum(r <= k for r in ranks) / len(ranks) for k in KS}
    out["median rank"] = statistics.median(ranks)
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--data-dir", type=Path, required=True)
    parser.add_argument("--profile", default="flickr8k-dev")
    parser.add_argument("--flickr8k", type=Path, required=True)
    args = parser.parse_args()

    engine = create_engine(f"sqlite:///{args.data_dir / 'photosearch.db'}")
    with Session(engine) as session:
        profile = session.scalar(select(Profile).where(Profile.name == args.profile))
        photos = session.scalars(select(Photo).where(Photo.profile_id == profile.id)
                                 .options(selectinload(Photo.description))).all()
        docs = [index_doc(p, p.description) for p in photos]
        name_of = {p.id: Path(p.source.removeprefix("upload:")).name for p in photos}
    engine.dispose()
    by_name = {name: pid for pid, name in name_of.items()}
    captions = raw_captions(args.flickr8k)
    queries = [(q, by_name[name]) for name in sorted(by_name) for q in captions.get(name, [])]
    n = len(photos)
    print(f"{n} photos, {len(queries)} queries", flush=True)

    results: dict[str, list[int]] = {}
    with tempfile.TemporaryDirectory() as tmp:
        index = PhotoIndex(Path(tmp) / "index")
        index.add(docs)
        started = time.monotonic()
        ranks = []
        for query, right in queries:
            ids = [hit.photo_id for hit in index.search(profile.id, query, limit=n)]
            ranks.append(ids.index(right) + 1 if right in ids else n)
        results["Whoosh BM25F (app fields + boosts)"] = ranks
        print(f"whoosh: {time.monotonic() - started:.1f} s", flush=True)

    from servers import PostgresServer

    with PostgresServer() as server:
        pg = create_engine(server.create_database("fts"))
        with pg.begin() as db:
            db.execute(text("CREATE TABLE docs (id int PRIMARY KEY, tsv tsvector)"))
            db.execute(text(
                "INSERT INTO docs SELECT :id, setweight(to_tsvector('english', :caption), 'A') || "
                "setweight(to_tsvector('english', :labels), 'B') || setweight(to_tsvector('english', :alts), 'C')"),
                [{"id": d.photo_id, "caption": d.caption, "labels": " . ".join(d.labels),
                  "alts": " . ".join(d.alternatives)} for d in docs])
            db.execute(text("CREATE INDEX docs_tsv ON docs USING gin (tsv)"))
        for function in ("ts_rank", "ts_rank_cd"):
            started = time.monotonic()
            ranks = []
            sql = text(
                f"WITH q AS (SELECT to_tsquery('english', coalesce(nullif(array_to_string("
                f"tsvector_to_array(to_tsvector('english', :q)), ' | '), ''), 'xqzv')) AS query) "
                f"SELECT id FROM docs, q WHERE tsv @@ q.query ORDER BY {function}(tsv, q.query, 1) DESC, id")
            with pg.connect() as db:
                for query, right in queries:
                    ids = list(db.scalars(sql, {"q": query}))
                    ranks.append(ids.index(right) + 1 if right in ids else n)
            results[f"PostgreSQL {function} (caption A, labels B, alternatives C)"] = ranks
            print(f"{function}: {time.monotonic() - started:.1f} s", flush=True)
        pg.dispose()

    print("\n| ranking | R@1 | R@5 | R@10 | median rank |\n|---|---|---|---|---|")
    for name, ranks in results.items():
        r = recall(ranks)
        print(f"| {name} | {r['R@1']:.3f} | {r['R@5']:.3f} | {r['R@10']:.3f} | {r['median rank']:g} |")


if __name__ == "__main__":
    main()
