"""How well does search find the right photo? Measured on Flickr8k through the app's own pipeline.

    photosearch eval-search --data ../shared/flickr8k --split test [--tune]

1. The split's 1,000 photos become one profile, ingested exactly as a person's photos are (describe,
   store, index: the same Ingestor, Describer and PhotoIndex as the app).
2. Each of the 5,000 human captions of those photos is a query; its photo is the one right answer.
3. For each query the Searcher computes the components once (`Searcher.candidates`: BM25F over generated
   text, the joint-space similarity, the MiniLM caption similarity, label meaning; every photo scored exactly)
   and the pure ranking functions of services/search.py (`fuse`, `rank_of`) rank the 1,000 photos by
   (a) BM25 only, (b) semantic only (joint space), (c) caption-semantic only, (d) label meaning only,
   (e) the app's hybrid fusion, in the app's order (the matches first: `ranking`).
   A photo a ranking leaves out (no BM25 hit) counts at the bottom of the list.
4. R@K = share of queries whose photo is in the top K; median rank (1 = first).
`--tune` also grid-searches the fusion weights / RRF on this split (use it on dev, never on test).
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from sqlalchemy import select
from tqdm import tqdm

from photosearch.config import Settings
from photosearch.research import command_line, report_footer, write_report
from photosearch.services import Services
from photosearch.services.relevance import LABEL_MATCH
from photosearch.services.search import Candidates, FusionConfig, fuse, rank_of, ranking, strong
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
    cutoff_out: Path | None = None  # also write the relevance cut-off table here (docs/search-cutoff.md)
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
        return [rank_of(target, c.ids, app_order(c, fusion, searcher.cutoff), total) for target, c in components]

    def component_ranks(name: str) -> list[int]:
        return [rank_of(target, c.ids, c.component(name).astype(np.float64), total) for target, c in components]

    table = {
        "BM25F over generated text": metrics(component_ranks("text")),
        "semantic: joint image-text space": metrics(component_ranks("semantic")),
        "semantic: MiniLM query vs caption": metrics(component_ranks("caption_semantic")),
        "label meaning: MiniLM query vs label nouns": metrics(component_ranks("label_meaning")),
        f"hybrid ({_describe(searcher.fusion)})": metrics(fused_ranks(searcher.fusion)),
    }
    tuning = []
    if options.tune:
        for w_text, w_cap, w_label in itertools.product((0.0, 0.1, 0.2, 0.4), (0.0, 0.25, 0.5),
                                                        (0.0, 0.05, 0.1, 0.2, 0.3)):
            fusion = FusionConfig("weighted", w_text=w_text, w_semantic=1.0, w_caption=w_cap, w_label=w_label)
            tuning.append((_describe(fusion), metrics(fused_ranks(fusion))))
        tuning.append(("rrf k=60", metrics(fused_ranks(FusionConfig("rrf")))))
        tuning.sort(key=lambda row: -(row[1]["R@1"] + row[1]["R@5"] + row[1]["R@10"]))
    _print_and_write(options, table, tuning, total, len(queries))
    cutoffs = None
    if options.cutoff_out:
        off_topic = [(searcher.candidates(profile_id, q, exhaustive=True), q) for q in OFF_TOPIC]
        off_topic = [(c, searcher.said(profile_id, q, c.ids)) for c, q in off_topic]
        cutoffs = cutoff_table(searcher.fusion, components, off_topic)
        label_rows = label_match_table(components, [(None, c) for c, _ in off_topic])
        _write_cutoffs(options, cutoffs, label_rows, total, len(queries))
    return {"table": table, "tuning": tuning, "cutoffs": cutoffs}


def app_order(c: Candidates, fusion: FusionConfig, cutoff: float) -> np.ndarray:
    """Scores whose order is the app's: fused, with the matches first (services/search.py `ranking`)."""
    fused = fuse(c, fusion)
    return ranking(c, fused, strong(c, fused, cutoff))


def _describe(f: FusionConfig) -> str:
    if f.method == "rrf":
        return f"rrf k={f.rrf_k}"
    return f"weighted text {f.w_text} + semantic {f.w_semantic} + caption {f.w_caption} + labels {f.w_label}"


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
    command = options.command or command_line()
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
    doc += report_footer(command, data="Flickr8k (Hodosh, Young & Hockenmaier 2013, JAIR 47:853-899). For scale: "
                         "Karpathy & Fei-Fei 2015 report R@1/5/10 = 0.118/0.321/0.447 on Flickr8k.")
    write_report(out, doc)


# Queries for things Flickr8k (people, dogs, outdoor scenes) shows rarely or never: with a good cut-off most get
# no match at all. Written before looking at any result.
OFF_TOPIC = ["an astronaut in a space suit", "a cup of espresso", "a plate of sushi", "a laptop on a desk",
             "a giraffe", "an elephant", "a rocket launch", "a tiger", "a violin", "a cathedral",
             "a coin collection", "the moon at night", "a stack of books", "a pizza", "a computer keyboard",
             "a butterfly on a flower", "a sailing ship", "a clock tower", "a zebra", "a microscope"]
CUTOFFS = (0.35, 0.40, 0.45, 0.50, 0.55, 0.60, 0.65, 0.70)


def cutoff_table(fusion: FusionConfig, components: list[tuple[int, Candidates]],
                 off_topic: list[tuple[Candidates, np.ndarray | None]]) -> list[dict]:
    """For each cut-off: share of queries whose photo is a match, mean/median number of matches per query,
    share of queries with no match, and for the off-topic queries the share with no match and the mean.
    (The caption queries are sentences; an off-topic query of one word also matches photos whose texts say it.)"""
    fused = [(target, c, fuse(c, fusion)) for target, c in components]
    off_fused = [(c, fuse(c, fusion), said) for c, said in off_topic]
    table = []
    for cutoff in CUTOFFS:
        found, counts = [], []
        for target, c, scores in fused:
            matched = c.ids[strong(c, scores, cutoff)]
            counts.append(len(matched))
            found.append(bool(np.isin(target, matched)))
        off = [int(strong(c, scores, cutoff, said).sum()) for c, scores, said in off_fused]
        counts_arr = np.array(counts)
        table.append({"cutoff": cutoff, "recall": float(np.mean(found)), "mean_matches": float(counts_arr.mean()),
                      "median_matches": float(np.median(counts_arr)), "no_match": float((counts_arr == 0).mean()),
                      "precision_lower_bound": float(np.sum(found) / max(1, counts_arr.sum())),
                      "off_topic_no_match": float(np.mean([n == 0 for n in off])),
                      "off_topic_mean": float(np.mean(off))})
    return table


LABEL_MATCHES = (0.4, 0.5, 0.6, 0.7)


def label_match_table(found: list[tuple], off_topic: list[tuple]) -> list[dict]:
    """For each threshold t: how many photos are matches on label meaning alone (>= t) per query, the share of
    queries whose right photo(s) (`found`: (target id or ids, Candidates)) are among them, and the number per
    off-topic query (`off_topic`: (None, Candidates))."""
    rows = []
    for t in LABEL_MATCHES:
        counts, right = [], []
        for target, c in found:
            passing = c.ids[np.nan_to_num(c.label_meaning, nan=0.0) >= t]
            counts.append(len(passing))
            right.append(bool(np.isin(passing, target).any()))
        off = [int((np.nan_to_num(c.label_meaning, nan=0.0) >= t).sum()) for _, c in off_topic]
        rows.append({"t": t, "passing": float(np.mean(counts)), "right": float(np.mean(right)),
                     "off_topic": float(np.mean(off)) if off else None})
    return rows


def _label_lines(rows: list[dict]) -> list[str]:
    def off(r: dict) -> str:
        return "-" if r["off_topic"] is None else f"{r['off_topic']:.1f}"

    return ["| label meaning >= | photos passing per query | queries whose right photo passes | "
            "off-topic: photos passing per query |", "|---|---|---|---|",
            *[f"| {r['t']:.2f} | {r['passing']:.1f} | {r['right']:.2f} | {off(r)} |" for r in rows]]


def _write_cutoffs(options: EvalSearchOptions, rows: list[dict], label_rows: list[dict], photos: int,
                   queries: int) -> None:
    header = ("| cut-off | own photo is a match (recall) | matches per query: mean | median | queries with no "
              "match | precision, lower bound | off-topic queries with no match | off-topic matches: mean |\n"
              "|---|---|---|---|---|---|---|---|")
    lines = [f"| {r['cutoff']:.2f} | {r['recall']:.3f} | {r['mean_matches']:.1f} | {r['median_matches']:.0f} | "
             f"{r['no_match']:.3f} | {r['precision_lower_bound']:.3f} | {r['off_topic_no_match']:.2f} | "
             f"{r['off_topic_mean']:.1f} |" for r in rows]
    text = "\n".join([header, *lines])
    print(text)
    write_report(options.cutoff_out, [
        f"# Relevance cut-off: Flickr8k {options.split} split", "",
        f"{photos} photos, {queries} caption queries (each has one right photo) and {len(OFF_TOPIC)} off-topic "
        "queries (things these photos rarely or never show). A result is a *match* when its fused score reaches "
        "the cut-off. 'Precision, lower bound' counts only the caption's own photo as right: many other photos "
        "fit a caption such as 'a dog runs on the grass', so true precision is higher.", "",
        text, "",
        f"A photo is also a match when its label meaning alone reaches {LABEL_MATCH} (services/relevance.py). "
        "Photos that would pass on label meaning alone, per threshold:", "",
        *_label_lines(label_rows), "",
        *report_footer(options.command or command_line()),
    ])


# -- real photos ------------------------------------------------------------------------------------------
def evaluate_real(photos_dir: Path, queries_file: Path, data_dir: Path | None, out: Path | None) -> dict:
    """R@1/R@5 on real photos (docs/real-photos.json, collected by scripts/collect_real_photos.py) for the
    queries of `queries_file` ({"queries": [{"q", "photos": [names]}]}): a query is found at K when one of its
    photos is in the top K. Measured with and without label meaning, and how many results pass the cut-off."""
    import json

    data = Path(data_dir) if data_dir else Path.home() / ".cache" / "photosearch" / "eval-real"
    services = Services.create(Settings.from_env(data, demo=False))
    names = sorted(p.name for p in Path(photos_dir).iterdir() if p.suffix.lower() in (".jpg", ".jpeg", ".png"))
    profile = "real-photos"
    with services.db.session() as session:
        profile_id = session.scalar(select(Profile.id).where(Profile.name == profile))
    if profile_id is None:
        services.library.create_profile(profile)
        files = [{"path": str(Path(photos_dir) / n), "name": n} for n in names]
        services.jobs.run_job(services.jobs.create_job(profile, "upload", {"files": files}))
    with services.db.session() as session:
        profile_id = session.scalar(select(Profile.id).where(Profile.name == profile))
        by_name = {src.removeprefix("upload:"): pid for pid, src in
                   session.execute(select(Photo.id, Photo.source).where(Photo.profile_id == profile_id))}
    # A query none of whose photos is in the folder is left out: a held-out group's queries, while choosing.
    queries = [item for item in json.loads(Path(queries_file).read_text())["queries"]
               if any(n in by_name for n in item["photos"])]
    searcher = services.searcher
    app = searcher.fusion
    variants = {f"app fusion ({_describe(app)})": app,
                "without label meaning": FusionConfig(app.method, app.w_text, app.w_semantic, app.w_caption, 0.0),
                "semantic only": FusionConfig("weighted", 0.0, 1.0, 0.0, 0.0)}
    rows = {}
    per_query = []
    app_scores: list[tuple[np.ndarray, np.ndarray, list[int]]] = []
    candidates = {item["q"]: searcher.candidates(profile_id, searcher.check_query(item["q"]), exhaustive=True)
                  for item in queries}
    for name, fusion in variants.items():
        ranks, relevant_matched, match_counts = [], [], []
        for item in queries:
            c = candidates[item["q"]]
            scores, ids = fuse(c, fusion), c.ids
            is_match = strong(c, scores, searcher.cutoff, searcher.said(profile_id, item["q"], c.ids))
            targets = [by_name[n] for n in item["photos"] if n in by_name]
            order = ranking(c, scores, is_match)
            best_rank = min(rank_of(t, ids, order, len(by_name)) for t in targets)
            ranks.append(best_rank)
            match_counts.append(int(is_match.sum()))
            relevant_matched.append(bool(np.isin(ids[is_match], targets).any()))
            if fusion is app:
                per_query.append((item["q"], best_rank, int(is_match.sum())))
                app_scores.append((scores, ids, targets))
        arr = np.array(ranks)
        rows[name] = {"R@1": float((arr <= 1).mean()), "R@5": float((arr <= 5).mean()),
                      "median rank": float(np.median(arr)), "relevant is a match": float(np.mean(relevant_matched)),
                      "matches per query": float(np.mean(match_counts))}
    header = ("| ranking | R@1 | R@5 | median rank | a right photo passes the cut-off | matches per query |\n"
              "|---|---|---|---|---|---|")
    lines = [f"| {n} | {m['R@1']:.3f} | {m['R@5']:.3f} | {m['median rank']:.0f} | {m['relevant is a match']:.2f} | "
             f"{m['matches per query']:.1f} |" for n, m in rows.items()]
    cut_lines = ["| cut-off | a right photo is a match | matches per query: mean | queries with no match |",
                 "|---|---|---|---|"]
    for cutoff in CUTOFFS:
        passed = [bool(np.isin(ids[sc >= cutoff], t).any()) for sc, ids, t in app_scores]
        counts = [int((sc >= cutoff).sum()) for sc, _, _ in app_scores]
        cut_lines.append(f"| {cutoff:.2f} | {np.mean(passed):.2f} | {np.mean(counts):.1f} | "
                         f"{np.mean([n == 0 for n in counts]):.2f} |")
    print("\n".join(cut_lines))
    label_lines = _label_lines(label_match_table(
        [([by_name[n] for n in item["photos"] if n in by_name], candidates[item["q"]]) for item in queries], []))
    print("\n".join(label_lines))
    detail = ["| query | rank of the first right photo | matches |", "|---|---|---|",
              *[f"| {q} | {r} | {m} |" for q, r, m in per_query]]
    text = "\n".join([header, *lines])
    print(text)
    doc = ["# Search evaluation: real photos", "",
           f"{len(by_name)} real photos (docs/real-photos.json) as one profile through the app's pipeline; "
           f"{len(queries)} queries (docs/real-photo-queries.json), each with the photos that answer it. "
           f"Cut-off {searcher.cutoff}.", "", text, "", "The cut-off on these photos (app fusion):", "", *cut_lines, "",
           f"Photos that would be matches on label meaning alone (the app uses {LABEL_MATCH}):", "", *label_lines, "",
           "Per query, as the app ranks:", "", *detail, "", *report_footer(command_line())]
    write_report(out or "docs/search-eval-real.md", doc)
    return rows
