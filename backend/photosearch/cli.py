"""The `photosearch` command. It calls services (never the HTTP API) and prints errors as one line.

    photosearch serve                                   the web app on http://127.0.0.1:5000
    photosearch profile create NAME | list | delete NAME
    photosearch ingest NAME --urls FILE | --folder DIR | --instagram-export ZIP | --instagram-profile USER
    photosearch search NAME "a dog on the beach" [--json]     |  --queries FILE --json (one JSON line each)
    photosearch reindex | check [--repair]
    photosearch caption --imglist url_list.json --dict_path captions.json   (the seed's caption script)
    photosearch train-captioner | eval-captioner | train-retrieval | eval-search --data ../shared/flickr8k

Every command takes --data-dir (or PHOTOSEARCH_DATA_DIR): where the database, index and photos live.
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
from pathlib import Path

from photosearch.config import Settings
from photosearch.errors import InvalidInput, PhotosearchError


def _services(args: argparse.Namespace):
    from photosearch.services import Services

    return Services.create(_settings(args))


def _settings(args: argparse.Namespace) -> Settings:
    overrides = {}
    if getattr(args, "host", None):
        overrides["host"] = args.host
    if getattr(args, "port", None):
        overrides["port"] = args.port
    if getattr(args, "no_demo", False):
        overrides["demo"] = False
    return Settings.from_env(args.data_dir, **overrides)


# -- serve ----------------------------------------------------------------------------------------
def cmd_serve(args: argparse.Namespace) -> None:
    from photosearch.api import create_app
    from photosearch.services import Services
    from photosearch.services.demo import ensure_demo

    settings = _settings(args)
    if not settings.is_loopback and not settings.token:
        raise InvalidInput("binding beyond 127.0.0.1 needs a token: set PHOTOSEARCH_TOKEN")
    services = Services.create(settings)
    resumed = services.ingestor.resume_unfinished()
    if resumed:
        print(f"resuming {len(resumed)} unfinished job(s)")
    if settings.demo:
        ensure_demo(services)
    app = create_app(settings, services)
    print(f"photosearch on http://{settings.host}:{settings.port}  (data in {settings.data_dir})", flush=True)
    from werkzeug.serving import run_simple

    run_simple(settings.host, settings.port, app, threaded=True, use_reloader=False)


# -- profiles -------------------------------------------------------------------------------------
def cmd_profile(args: argparse.Namespace) -> None:
    services = _services(args)
    if args.action == "create":
        print(json.dumps(services.library.create_profile(args.name)))
    elif args.action == "list":
        for p in services.library.profiles():
            print(f"{p['name']}\t{p['photo_count']} photos")
    elif args.action == "delete":
        services.library.delete_profile(args.name)
        print(f"deleted {args.name}")


# -- ingest ---------------------------------------------------------------------------------------
def cmd_ingest(args: argparse.Namespace) -> None:
    from tqdm import tqdm

    services = _services(args)
    services.library.ensure_profile(args.name)
    if args.urls:
        from photosearch.sources.url_list import parse_url_list

        path = Path(args.urls)
        if not path.is_file():
            raise InvalidInput(f"no such file: {path}")
        urls, rejected = parse_url_list(path.read_bytes(), services.settings.max_url_list_entries)
        for entry, why in rejected[:20]:
            print(f"skipping {entry!r}: {why}", file=sys.stderr)
        kind, spec = "urls", {"urls": urls, "rejected": rejected}
    elif args.folder:
        from photosearch.sources.folder import folder_photos

        folder = Path(args.folder).expanduser().resolve()
        services.settings.folder_roots.append(folder)  # on the command line the person names the folder
        folder_photos(folder, services.settings)
        kind, spec = "folder", {"folder": str(folder), "root": str(folder)}  # root: so a resumed job may read it
    elif args.instagram_export:
        kind, spec = "instagram", {"path": str(Path(args.instagram_export).resolve())}
    elif args.instagram_profile:
        from photosearch.sources.instagram import normalize_username

        if args.limit is not None and args.limit < 1:
            raise InvalidInput("--limit must be 1 or more")
        kind, spec = "instagram_profile", {"username": normalize_username(args.instagram_profile), "limit": args.limit}
    else:
        raise InvalidInput("say where the photos are: --urls FILE, --folder DIR or --instagram-export ZIP")
    job_id = services.ingestor.create_job(args.name, kind, spec)
    bar = tqdm(total=0, unit="photo", desc=f"indexing {args.name}", disable=args.quiet)

    def progress(status: dict) -> None:
        bar.total = status["total"]
        bar.n = status["done"] + status["failed"] + status["skipped"]
        bar.set_postfix(failed=status["failed"], skipped=status["skipped"])
        bar.refresh()

    status = services.ingestor.run_job(job_id, progress)
    bar.close()
    for failure in status["failures"]:
        print(f"  {failure['source']}: {failure['error']}", file=sys.stderr)
    print(f"{status['status']}: {status['done']} photos indexed, {status['failed']} failed, "
          f"{status['skipped']} skipped" + (f" ({status['error']})" if status["error"] else ""))
    if status["status"] == "failed":
        raise SystemExit(1)


# -- search ---------------------------------------------------------------------------------------
def cmd_search(args: argparse.Namespace) -> None:
    services = _services(args)
    if args.queries:
        lines = [q.strip() for q in Path(args.queries).read_text().splitlines() if q.strip()]
        for q in lines:
            try:
                page = services.searcher.search(args.name, q, limit=args.limit, after=args.after,
                                                before=args.before)
                print(json.dumps({"query": q, "results": [_result_json(r) for r in page["results"]]}))
            except PhotosearchError as exc:
                print(json.dumps({"query": q, "error": exc.message}))
        return
    if not args.query:
        raise InvalidInput("give a query, or --queries FILE")
    page = services.searcher.search(args.name, args.query, limit=args.limit, after=args.after, before=args.before)
    if args.json:
        print(json.dumps({"query": page["query"], "total": page["total"],
                          "results": [_result_json(r) for r in page["results"]]}, indent=1))
        return
    if not page["results"]:
        print("no photos match")
    for rank, r in enumerate(page["results"], 1):
        p = r["photo"]
        why = ", ".join(r["matched"]) or "semantic"
        labels = ", ".join(lab["label"] for lab in p["labels"][:3])
        print(f"{rank:>3}. {r['score']:.3f}  #{p['id']}  {p['caption'] or '-'}  [{labels}]  ({why})  {p['source']}")


def _result_json(r: dict) -> dict:
    p = r["photo"]
    return {"photo_id": p["id"], "source": p["source"], "score": r["score"], "scores": r["scores"],
            "caption": p["caption"], "labels": p["labels"], "matched": r["matched"], "matched_in": r["matched_in"]}


# -- maintenance ----------------------------------------------------------------------------------
def cmd_reindex(args: argparse.Namespace) -> None:
    services = _services(args)
    services.index.clear()
    result = services.ingestor.repair_index()
    print(f"reindexed {result['added']} photos")


def cmd_check(args: argparse.Namespace) -> None:
    from photosearch.services.check import check

    report = check(_services(args), repair=args.repair)
    print(json.dumps(report, indent=1))
    if report["problems"] and not args.repair:
        raise SystemExit(1)


# -- models ---------------------------------------------------------------------------------------
def cmd_caption(args: argparse.Namespace) -> None:
    from photosearch.services.caption_files import caption_list

    caption_list(args, _settings(args))


def cmd_train_captioner(args: argparse.Namespace) -> None:
    from photosearch.vision.captioner.train import train

    train(args)


def cmd_eval_captioner(args: argparse.Namespace) -> None:
    from photosearch.vision.captioner.evaluate import evaluate

    evaluate(args)


def cmd_train_retrieval(args: argparse.Namespace) -> None:
    from photosearch.text.train_retrieval import train

    train(args)


def cmd_eval_search(args: argparse.Namespace) -> None:
    from photosearch.services.eval_search import evaluate

    evaluate(args)


def _date(value: str):  # noqa: ANN202 - argparse type
    from datetime import UTC, datetime

    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{value!r} is not a date like 2024-05-31") from None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def build_parser() -> argparse.ArgumentParser:
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--data-dir", default=None, help="where the database, index and photos live "
                        "(default: $PHOTOSEARCH_DATA_DIR or ~/.photosearch)")
    parser = argparse.ArgumentParser(prog="photosearch", description="Search your photos by describing them.")
    sub = parser.add_subparsers(dest="command", required=True)

    p = sub.add_parser("serve", parents=[common], help="run the web app")
    p.add_argument("--host", default=None, help="default 127.0.0.1 (beyond loopback needs PHOTOSEARCH_TOKEN)")
    p.add_argument("--port", type=int, default=None, help="default 5000")
    p.add_argument("--no-demo", action="store_true", help="don't index the demo photos on first start")
    p.set_defaults(func=cmd_serve)

    p = sub.add_parser("profile", parents=[common], help="create, list or delete profiles")
    p.add_argument("action", choices=["create", "list", "delete"])
    p.add_argument("name", nargs="?")
    p.set_defaults(func=cmd_profile)

    p = sub.add_parser("ingest", parents=[common], help="add photos to a profile (created if needed)")
    p.add_argument("name")
    group = p.add_mutually_exclusive_group(required=True)
    group.add_argument("--urls", help="a JSON list of URLs, an object {id: url}, or text with one URL per line")
    group.add_argument("--folder", help="a folder of photos (searched recursively)")
    group.add_argument("--instagram-export", help="the ZIP of an Instagram data export (JSON format)")
    group.add_argument("--instagram-profile", help="a public Instagram profile (needs the instagram extra)")
    p.add_argument("--limit", type=int, default=None, help="with --instagram-profile: at most this many posts")
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    p.set_defaults(func=cmd_ingest)

    p = sub.add_parser("search", parents=[common], help="search a profile by description")
    p.add_argument("name")
    p.add_argument("query", nargs="?")
    p.add_argument("--queries", help="a file with one query per line; prints one JSON line per query")
    p.add_argument("--json", action="store_true", help="machine-readable results")
    p.add_argument("--limit", type=int, default=10)
    p.add_argument("--after", type=_date, default=None, help="only photos taken on/after this date (YYYY-MM-DD)")
    p.add_argument("--before", type=_date, default=None, help="only photos taken on/before this date")
    p.set_defaults(func=cmd_search)

    p = sub.add_parser("reindex", parents=[common], help="rebuild the full-text index from the database")
    p.set_defaults(func=cmd_reindex)

    p = sub.add_parser("check", parents=[common], help="verify that database, index and files agree")
    p.add_argument("--repair", action="store_true", help="fix what is found")
    p.set_defaults(func=cmd_check)

    p = sub.add_parser("caption", parents=[common], help="caption photos from a list (the seed's script)")
    p.add_argument("--model", help="a checkpoint (ours or the seed's); default: the committed weights")
    p.add_argument("--word_map", help="its WORDMAP json")
    p.add_argument("--beam_size", type=int, default=5)
    p.add_argument("--imglist", required=True, help="JSON list of URLs/paths, or an object {id: url}")
    p.add_argument("--dict_path", required=True, help="where to write {url: caption}")
    p.set_defaults(func=cmd_caption)

    from photosearch.vision.captioner.train import add_arguments as train_args

    p = sub.add_parser("train-captioner", help="train the captioner on Flickr8k")
    train_args(p)
    p.set_defaults(func=cmd_train_captioner)

    p = sub.add_parser("eval-captioner", help="BLEU/METEOR/CIDEr-D of the captioner on Flickr8k")
    p.add_argument("--data", required=True)
    p.add_argument("--split", default="test", choices=["dev", "test"])
    p.add_argument("--beam", default="1,3,5", help="beam sizes, comma separated")
    p.add_argument("--model", default=None)
    p.add_argument("--word_map", default=None)
    p.add_argument("--cache-dir", default=None)
    p.add_argument("--length-penalty", type=float, default=None)
    p.add_argument("--out", default="docs/captioner-eval.md")
    p.set_defaults(func=cmd_eval_captioner)

    from photosearch.text.train_retrieval import add_arguments as retrieval_args

    p = sub.add_parser("train-retrieval", help="train the image-text retrieval head on Flickr8k")
    retrieval_args(p)
    p.set_defaults(func=cmd_train_retrieval)

    p = sub.add_parser("eval-search", parents=[common], help="retrieval quality on Flickr8k, through the app")
    p.add_argument("--data", required=True)
    p.add_argument("--split", default="test", choices=["dev", "test"])
    p.add_argument("--out", default=None, help="markdown table (default docs/search-eval.md)")
    p.add_argument("--limit", type=int, default=None, help="only the first N photos (quick runs)")
    p.add_argument("--tune", action="store_true", help="grid-search the fusion on this split (use dev)")
    p.set_defaults(func=cmd_eval_search)
    return parser


def main(argv: list[str] | None = None) -> None:
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    args = build_parser().parse_args(argv)
    try:
        args.func(args)
    except PhotosearchError as exc:
        print(f"photosearch: {exc.message}", file=sys.stderr)
        raise SystemExit(2) from None
    except KeyboardInterrupt:
        raise SystemExit(130) from None


if __name__ == "__main__":
    main()
