"""How well does search find the right photo? Measured on Flickr8k through the app's own pipeline.

    photosearch eval-search --data ../shared/flickr8k --split test [--tune]

1. The split's 1,000 photos become one profile, ingested exactly as a person's photos are (describe,
   store, index: the same Ingestor, Describer and PhotoIndex as the app).
2. Each of the 5,000 human captions of those photos is a query; its photo is the one right answer.
3. For each query the Searcher computes the components once (`Searcher.candidates`: BM25F over generated
   text, the joint-space similarity, the MiniLM caption similarity, every photo scored exactly) and the pure
   ranking functions of services/search.py (`fuse`, `rank_of`) rank the 1,000 photos by
   (a) BM25 only, (b) semantic only (joint space), (c) caption-semantic only, (d) the app's hybrid fusion.
   A photo a ranking leaves out (no BM25 hit) counts at the bottom of the list.
4. R@K = share of queries whose photo is in the top K; median rank (1 = first).
`--tune` also grid-searches the fusion weights / RRF on this split (use it on dev, never on test).
"""

from __future__ import annotations

import itertools
import platform
import shlex
import sys
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
from sqlalchemy import select
from tqdm import tqdm

from photosearch.config import Settings
from photosearch.services import Services
from photosearch.services.search import Candidates, FusionConfig, fuse, rank_of
from photosearch.storage.models import Photo, Profile
from photosearch.vision.captioner.dataset import read_split

KS = (1, 5, 10)


@dataclass
class EvalSearchOptions:
    data: Path  # the Flickr8k folder (Images/, Flickr8k.token.txt, the split lists)
    split: str = "test"  # "dev" or "test"
    data_dir: Path | None = None  # where the evaluation profile is stored (default ~/.cache/photosearch/eval)
    limit: int | None = None  # only the first N photos of the split (quick runs)
    tune: bool = False  # also grid-search the fusion on this split (use dev, never test)
    out: Path | None = None  # the markdown report (default docs/search-eval-<split>.md)
    command: str = ""  # how this run was started, written into the report


def raw_captions(data_dir: Path) -> dict[str, list[str]]:
    out: dict[str, list[str]] = {}
    for line in (data_dir / "Flickr8k.token.txt").read_text(encoding="utf-8").splitlines():
        if "\t" in line:
            ident, text = line.split("\t", 1)
            out.setdefault(ident.split("#")[0], []).append(text.strip())
    return out


def ingest_split(services: Services, data_dir: Path, split: str, limit: int | None) -> tuple[int, dict[int, str]]:
    names = read_split(data_dir, split)[:limit]
    profile = f"flickr8k-{split}" + (f"-{limit}" if limit else "")
    with services.db.session() as session:
        profile_id = session.scalar(select(Profile.id).where(Profile.name == profile))
        count = len(list(session.scalars(select(Photo.id).where(Photo.profile_id == profile_id)))) if profile_id else 0
    if profile_id is None or count != len(names):
        if profile_id is not None:
            services.library.delete_profile(profile)
        services.library.create_profile(profile)
        files = [{"path": str(data_dir / "Images" / n), "name": n} for n in names]
        job = services.jobs.create_job(profile, "upload", {"files": files})
        bar = tqdm(total=len(names), desc=f"indexing {profile}", unit="photo")
        services.jobs.run_job(job, lambda s: bar.update(s.done + s.failed - bar.n))
        bar.close()
    with services.db.session() as session:
        profile_id = session.scalar(select(Profile.id).where(Profile.name == profile))
        photos = {pid: src.removeprefix("upload:") for pid, src in
                  session.execute(select(Photo.id, Photo.source).where(Photo.profile_id == profile_id))}
    return profile_id, photos


def metrics(ranks: list[int]) -> dict[str, float]:
    arr = np.array(ranks)
    out = {f"R@{k}": float((arr <= k).mean()) for k in KS}
    out["median rank"] = float(np.median(arr))
    return out


def evaluate(options: EvalSearchOptions) -> dict:
    data_dir = Path(options.data)
    split = options.split
    data = Path(options.data_dir) if options.data_dir else Path.home() / ".cache" / "photosearch" / "eval"
    settings = Settings.from_env(data, demo=False)
    services = Services.create(settings)
    profile_id, photos = ingest_split(services, data_dir, split, options.limit)
    by_name = {name: pid for pid, name in photos.items()}
    captions = raw_captions(data_dir)
    queries = [(q, by_name[name]) for name in sorted(by_name) for q in captions.get(name, [])]
    total = len(photos)
    searcher = services.searcher

    searcher.embed_queries([searcher.check_query(q) for q, _ in queries])  # one batched MiniLM pass
    components: list[tuple[int, Candidates]] = []
    for query, target in tqdm(queries, desc="queries", unit="q"):
        candidates = searcher.candidates(profile_id, searcher.check_query(query), exhaustive=True, caption=True)
        components.append((target, candidates))

    def fused_ranks(fusion: FusionConfig) -> list[int]:
        return [rank_of(target, c.ids, fuse(c, fusion), total) for target, c in components]

    def component_ranks(name: str) -> list[int]:
        return [rank_of(target, c.ids, c.component(name).astype(np.float64), total) for target, c in components]

    table = {
        "BM25F over generated text": metrics(component_ranks("text")),
        "semantic: joint image-text space": metrics(component_ranks("semantic")),
        "semantic: MiniLM query vs caption": metrics(component_ranks("caption_semantic")),
        f"hybrid ({_describe(searcher.fusion)})": metrics(fused_ranks(searcher.fusion)),
    }
    tuning = []
    if options.tune:
        for w_text, w_cap in itertools.product((0.0, 0.1, 0.2, 0.4), (0.0, 0.25, 0.5, 1.0)):
            fusion = FusionConfig("weighted", w_text=w_text, w_semantic=1.0, w_caption=w_cap)
            tuning.append((_describe(fusion), metrics(fused_ranks(fusion))))
        tuning.append(("rrf k=60", metrics(fused_ranks(FusionConfig("rrf")))))
        tuning.sort(key=lambda row: -(row[1]["R@1"] + row[1]["R@5"] + row[1]["R@10"]))
    _print_and_write(options, table, tuning, total, len(queries))
    return {"table": table, "tuning": tuning}


def _describe(f: FusionConfig) -> str:
    if f.method == "rrf":
        return f"rrf k={f.rrf_k}"
    return f"weighted text {f.w_text} + semantic {f.w_semantic} + caption {f.w_caption}"


def _print_and_write(options: EvalSearchOptions, table: dict, tuning: list, photos: int, queries: int) -> None:
    header = "| ranking | R@1 | R@5 | R@10 | median rank |\n|---|---|---|---|---|"
    rows = [f"| {name} | {m['R@1']:.3f} | {m['R@5']:.3f} | {m['R@10']:.3f} | {m['median rank']:.0f} |"
            for name, m in table.items()]
    tune_rows = [f"| {name} | {m['R@1']:.3f} | {m['R@5']:.3f} | {m['R@10']:.3f} | {m['median rank']:.0f} |"
                 for name, m in tuning[:12]]
    text = "\n".join([header, *rows])
    print(text)
    if tune_rows:
        print("\nfusion tuning (best first):\n" + "\n".join([header, *tune_rows]))
    out = Path(options.out or f"docs/search-eval-{options.split}.md")
    command = options.command or "photosearch " + " ".join(shlex.quote(a) for a in sys.argv[1:])
    doc = [
        f"# Search evaluation: Flickr8k {options.split} split",
        "",
        f"{photos} photos indexed as one profile through the app's pipeline; each of their {queries} human "
        "captions is a query whose one right answer is its photo.",
        "",
        text,
        "",
    ]
    if tune_rows:
        doc += ["Fusion tuning on this split (best 12 of the grid):", "", header, *tune_rows, ""]
    doc += [
        f"Command: `{command}`  ",
        f"Machine: {platform.machine()} CPU (2 cores); date {datetime.now(UTC):%Y-%m-%d}.  ",
        "Data: Flickr8k (Hodosh, Young & Hockenmaier 2013, JAIR 47:853-899). For scale: Karpathy & Fei-Fei "
        "2015 report R@1/5/10 = 0.118/0.321/0.447 on Flickr8k.",
        "",
    ]
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text("\n".join(doc))
    print(f"wrote {out}")
