"""The `photosearch` command. It calls services (never the HTTP API) and prints errors as one line.

    photosearch serve [--processes N]                   the web app on http://127.0.0.1:5000 (N processes, one port)
    photosearch profile create NAME | list | delete NAME
    photosearch ingest NAME --urls FILE | --folder DIR | --instagram-export ZIP | --instagram-profile USER
    photosearch search NAME "a dog on the beach" [--json] [--sort newest] [--after 2024-01-01 --before ...]
    photosearch photos NAME [--sort newest|oldest] [--limit N] [--json]   the collection by date
    photosearch delete ID [ID ...] | restore ID [ID ...] | purge       remove photos (purge: deleted ones now)
    photosearch reindex | check [--repair]
    photosearch worker [--threads N]                    run queued jobs (PHOTOSEARCH_BROKER_URL, see docs/deploy.md)
    photosearch caption --imglist url_list.json --dict_path captions.json   (the seed's caption script)
    photosearch train-captioner | eval-captioner | train-retrieval | eval-search --data ../shared/flickr8k

Every command takes --data-dir (or PHOTOSEARCH_DATA_DIR): where the database, index and photos live.
"""

from __future__ import annotations

import argparse
import dataclasses
import errno
import gc
import json
import logging
import os
import signal
import sys
import threading
from collections.abc import Callable
from datetime import datetime
from pathlib import Path

# Before torch loads: torch's OpenMP threads spin 2,000 rounds (not libgomp's 300,000) before they sleep, so
# the ingest helper thread that decodes and resizes the next batch gets a core between model calls. 1600 px
# photos ingest 15.6 instead of 13.0 photos/s, Flickr8k-size ones 30.7 vs 31.9 (docs/performance.md).
os.environ.setdefault("GOMP_SPINCOUNT", "2000")

import waitress  # noqa: E402
from sqlalchemy.engine import make_url  # noqa: E402
from tqdm import tqdm  # noqa: E402

from photosearch import units
from photosearch.api import create_app
from photosearch.api.processes import listening_socket, run_children, serve_child
from photosearch.api.serialize import jsonable
from photosearch.config import Settings
from photosearch.errors import Conflict, InvalidInput, PhotosearchError, database_damage
from photosearch.services import Services
from photosearch.services.backup import backup
from photosearch.services.check import check
from photosearch.services.demo import ensure_demo
from photosearch.services.jobs import JobStatus
from photosearch.services.library import PhotoSummary
from photosearch.services.search import serving_threads
from photosearch.sources.registry import all_sources
from photosearch.storage.db import Database
from photosearch.storage.snapshots import remove_snapshots

# Training and evaluation (torch, datasets, metrics) are imported only inside their commands: serving,
# ingesting and searching never load them.


def _services(args: argparse.Namespace) -> Services:
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
# Requests handled at once; each runs its models on one torch thread (serving_threads). On 2 cores more threads
# only fight over the GIL: 100K photos, 8 clients, 52.0 queries/s with 4 threads, 47.4 with 8.
SERVE_THREADS = 4


def cmd_serve(args: argparse.Namespace) -> None:
    settings = _settings(args)
    if not settings.is_loopback and not settings.token:
        raise InvalidInput("binding beyond 127.0.0.1 needs a token: set PHOTOSEARCH_TOKEN")
    if args.processes < 1:
        raise InvalidInput("--processes is 1 or more")
    if args.processes > 1 and args.process_index is None:
        _serve_processes(args, settings)
        return
    first = not args.process_index  # the only process (or child 0 of several) resumes jobs and adds the demo
    services = Services.create(settings)
    app = create_app(settings, services)
    # Waitress, a production WSGI server: a pool of request threads and keep-alive connections, where
    # werkzeug's development server started a thread per connection (1K photos, 200 queries: p95 29 vs 47 ms,
    # 8 clients 44 vs 38 queries/s; docs/performance.md). Slow clients wait in its event loop, not in a thread.
    options = {"threads": SERVE_THREADS, "ident": "photosearch", "clear_untrusted_proxy_headers": True,
               "max_request_body_size": settings.max_upload_bytes + 1_000_000}
    # The port first (`--processes N`: the parent bound it): a second server on a busy port stops here, before it
    # resumes the jobs that the first one is running.
    server = _bind(app, settings, options) if args.listen_fd is None else None
    if settings.broker_url:  # Redis keeps queued jobs and gives a dead worker's job to another
        if first:
            print(f"jobs go to the queue at {settings.broker_url.split('@')[-1]}: run `photosearch worker` to "
                  "process them")
    elif first:
        resumed = services.jobs.resume_unfinished()
        if resumed:
            print(f"resuming {len(resumed)} unfinished job(s)")
    if settings.demo and first:
        ensure_demo(services)
    serving_threads()  # one BLAS/OpenMP thread per request thread (docs/performance.md)
    # Models, vectors and index searchers load in the background, so the first query does not wait for them.
    threading.Thread(target=warm_and_freeze, args=(services,), name="photosearch-warm", daemon=True).start()
    signal.signal(signal.SIGTERM, _stop_serving)  # systemd, docker stop, `serve --processes`: as Ctrl+C
    try:
        if server is None:  # one of `--processes N`
            serve_child(app, args.listen_fd, **options)
        else:
            print(f"photosearch on http://{settings.host}:{settings.port}  (data in {settings.data_dir})", flush=True)
            server.run()  # returns on Ctrl+C (and on _stop_serving's SystemExit): waitress closes and returns
    finally:  # Ctrl+C or the parent's stop: jobs running here put down their batch, for the next start to resume
        if not settings.broker_url and not services.jobs.stop():
            print("photosearch: a job did not stop in time; the next start resumes it", file=sys.stderr)


def _bind(app: Callable, settings: Settings, options: dict):  # noqa: ANN202 - waitress's server class varies
    """Waitress's server on the settings' host and port; a clear error when the port is taken."""
    try:
        return waitress.server.create_server(app, host=settings.host, port=settings.port, **options)
    except OSError as exc:
        hint = " (is photosearch already running? choose another with --port)" if exc.errno == errno.EADDRINUSE else ""
        raise InvalidInput(f"cannot listen on {settings.host}:{settings.port}: {exc.strerror}{hint}") from None


def _stop_serving(signum: int, frame: object) -> None:
    """SIGTERM: leave the server's loop the way Ctrl+C does, so that its jobs put down their batch (Jobs.stop) and
    its describing workers are shut down, instead of dying mid-write."""
    raise SystemExit(0)


def warm_and_freeze(services: Services) -> None:
    """Load what the first query needs, then take everything loaded so far out of the garbage collector's
    rounds (gc.freeze): each full collection walked those ~170K objects, an 80-87 ms pause for one query in
    about 400 at 100K photos; after the freeze none came in 400 queries (docs/performance.md)."""
    services.searcher.warm()
    gc.collect()
    gc.freeze()


def _serve_processes(args: argparse.Namespace, settings: Settings) -> None:
    """`serve --processes N`: bind the port here, run N servers on it (api/processes.py)."""
    if os.name != "posix":
        raise InvalidInput("--processes needs Linux or macOS; run one process (the default) here")
    settings.ensure_dirs()
    Database(settings.database).dispose()  # migrate the database once, before the children open it
    try:
        sock = listening_socket(settings.host, settings.port)
    except OSError as exc:
        raise InvalidInput(f"cannot listen on {settings.host}:{settings.port}: {exc.strerror}") from None
    print(f"photosearch on http://{settings.host}:{settings.port}  (data in {settings.data_dir}, "
          f"{args.processes} processes)", flush=True)
    argv = ["serve", "--host", settings.host, "--port", str(settings.port)]
    argv += ["--data-dir", str(args.data_dir)] if args.data_dir else []
    argv += ["--no-demo"] if args.no_demo else []
    status = run_children(args.processes, argv, sock)
    if status:
        sys.exit(status)


def cmd_worker(args: argparse.Namespace) -> None:
    """Run jobs from the Redis queue until SIGTERM/SIGINT (see services/queue_redis.py)."""
    settings = _settings(args)
    if not settings.broker_url:
        raise InvalidInput("photosearch worker needs a queue: set PHOTOSEARCH_BROKER_URL=redis://HOST:6379/0 "
                           "(and PHOTOSEARCH_DATABASE_URL to the shared PostgreSQL)")
    services = Services.create(settings)
    services.jobs.queue.work(threads=args.threads)


# -- profiles -------------------------------------------------------------------------------------
def cmd_profile(args: argparse.Namespace) -> None:
    services = _services(args)
    if args.action == "create":
        profile = services.library.create_profile(args.name)
        print(json.dumps(dataclasses.asdict(profile), default=datetime.isoformat))
    elif args.action == "list":
        for p in services.library.profiles():
            shown = f"\t{p.display_name}" if p.display_name != p.name else ""  # what the web app calls it
            older = services.library.outdated(p.name).photos
            # after an upgrade: the descriptions improve only once `redescribe` has run
            stale = f" ({older} described by older models: photosearch redescribe {p.name})" if older else ""
            print(f"{p.name}\t{units.photos(p.photo_count)}{stale}{shown}")
    elif args.action == "delete":
        services.library.delete_profile(args.name)
        print(f"deleted {args.name}")


# -- ingest ---------------------------------------------------------------------------------------
def cmd_ingest(args: argparse.Namespace) -> None:
    services = _services(args)
    # The models load (torch and the weights, ~2-3 s) on a helper thread while the job lists, hashes and decodes
    # the first photos; the first batch to describe waits for them if it gets there first.
    threading.Thread(target=services.ingestor.describer, name="photosearch-load-models", daemon=True).start()
    chosen = [(s, getattr(args, s.cli.dest)) for s in all_sources() if s.cli and getattr(args, s.cli.dest)]
    if len(chosen) != 1:  # argparse's mutually exclusive group already says so; kept for direct callers
        raise InvalidInput("say where the photos are: " + ", ".join(_cli_sources()))
    kind, value = chosen[0]
    spec = kind.from_cli(value, {"limit": args.limit}, services.settings)
    services.library.ensure_profile(args.name)
    job_id = services.jobs.create_job(args.name, kind.kind, spec)
    status = _run_job_with_bar(services, job_id, f"indexing {args.name}", args.quiet)
    for failure in status.failures:
        print(f"  {failure.source}: {failure.error}", file=sys.stderr)
    print(f"{status.outcome}: {units.photos(status.done)} indexed{_already(status)}, {status.failed} failed, "
          f"{status.skipped} skipped" + (f" ({status.error})" if status.error else ""))
    if status.outcome == "failed":
        raise SystemExit(1)


def _already(status: JobStatus) -> str:
    """" (40000 of them already in the collection)": photos found stored, by their content, count as indexed."""
    if not status.already:
        return ""
    if status.already == status.done:
        return " (all already in the collection)"
    return f" ({status.already} of them already in the collection)"


def _run_job_with_bar(services: Services, job_id: int, desc: str, quiet: bool) -> JobStatus:
    """Run a job in this process with a progress bar on stderr (tqdm's default), and return how it ended.
    Ctrl+C cancels the job, keeping what it stored (left "running", a later server start or `check --repair`
    would take it up again unasked), and says how to go on: the same command skips the photos already stored."""
    bar = tqdm(total=0, unit="photo", desc=desc, disable=quiet)
    latest: list[JobStatus] = []

    def progress(status: JobStatus) -> None:
        latest[:] = [status]
        bar.total = status.total
        bar.n = status.processed
        bar.set_postfix(failed=status.failed, skipped=status.skipped)
        bar.refresh()

    try:
        return services.jobs.run_job(job_id, progress)
    except KeyboardInterrupt:
        pass  # below, once the interrupted frames are gone: they may hold a session whose write was cut short
    finally:
        bar.close()
    gc.collect()  # ... and its connection goes back to the pool, rolled back, which frees SQLite's write lock
    try:
        services.jobs.cancel(job_id)
    except Conflict:  # it finished meanwhile
        pass
    except Exception as exc:  # noqa: BLE001 - the job stays "running", which `check --repair` ends
        print(f"photosearch: job {job_id} is left running ({exc}); `photosearch check --repair` ends it",
              file=sys.stderr)
    so_far = f" after {latest[0].processed} of {latest[0].total} photos" if latest else ""
    print(f"stopped{so_far}: run the same command again to go on where it stopped", file=sys.stderr)
    raise KeyboardInterrupt


def cmd_redescribe(args: argparse.Namespace) -> None:
    """Describe the photos of one profile (or every profile) again with today's models, as a job."""
    services = _services(args)
    names = [args.name] if args.name else [p.name for p in services.library.profiles()]
    for name in names:
        services.library.profile_id(name)  # NotFound for an unknown profile
        job_id = services.jobs.create_job(name, "redescribe", {})
        status = _run_job_with_bar(services, job_id, f"redescribing {name}", args.quiet)
        print(f"{name}: {status.status}: {units.photos(status.done)} described again, {status.skipped} already "
              f"current, {status.failed} failed" + (f" ({status.error})" if status.error else ""))
        if status.status == "failed":
            raise SystemExit(1)


def _cli_sources() -> list[str]:
    return [f"{s.cli.flag} {s.cli.metavar}" for s in all_sources() if s.cli]


# -- jobs -----------------------------------------------------------------------------------------
def cmd_jobs(args: argparse.Namespace) -> None:
    services = _services(args)
    if args.action == "cancel":
        if args.id is None:
            raise InvalidInput("say which job to cancel: photosearch jobs cancel ID")
        status = services.jobs.cancel(args.id)
        print(f"job {status.id}: {status.status} ({status.processed} of {status.total} photos were done)")
        return
    profile_id = services.library.profile_id(args.profile) if args.profile else None
    for job_id in services.jobs.job_ids(profile_id, limit=args.limit):
        s = services.jobs.job_status(job_id)
        print(f"{s.id}\t{s.outcome}\t{s.profile}\t{s.processed}/{s.total}\t{s.title}")


# -- search ---------------------------------------------------------------------------------------
def cmd_search(args: argparse.Namespace) -> None:
    services = _services(args)
    if args.queries:
        lines = [q.strip() for q in Path(args.queries).read_text().splitlines() if q.strip()]
        for q in lines:
            try:
                page = services.searcher.search(args.name, q, limit=args.limit, after=args.after,
                                                before=args.before, sort=args.sort)
                print(json.dumps(_page_json(page)))
            except PhotosearchError as exc:
                print(json.dumps({"query": q, "error": exc.message}))
        return
    if not args.query:
        raise InvalidInput("give a query, or --queries FILE")
    page = services.searcher.search(args.name, args.query, limit=args.limit, after=args.after, before=args.before,
                                    sort=args.sort)
    if args.json:
        print(json.dumps(_page_json(page), indent=1))
        return
    for line in _search_lines(page):
        print(line)


def _page_json(page: dict) -> dict:
    """The search answer as the API gives it (matches, cut-off, did-you-mean, notice), results without URLs."""
    head = {k: page.get(k) for k in ("query", "searched_for", "did_you_mean", "notice", "cutoff", "total", "matches")}
    return {**head, "results": [_result_json(r) for r in page["results"]]}


def _search_lines(page: dict) -> list[str]:
    """Matches first; results under the relevance cut-off follow under a 'weaker matches' line, as in the app."""
    lines = []
    if page.get("notice"):
        lines.append(page["notice"])
    if page.get("did_you_mean"):
        lines.append(f"did you mean: {page['did_you_mean']}? (searched for {page.get('searched_for')!r})")
    if not page.get("matches") and not page.get("notice"):
        lines.append(f"no photo matches {page.get('searched_for') or page['query']!r}")
    for rank, r in enumerate(page["results"], 1):
        if not r.get("strong", True) and (rank == 1 or page["results"][rank - 2].get("strong", True)):
            lines.append("weaker matches (below the relevance cut-off):")
        p = r["photo"]
        why = "; ".join(reason["text"] for reason in r.get("reasons") or []) or ", ".join(r["matched"]) or "semantic"
        labels = ", ".join(lab["label"] for lab in p.labels[:3])
        sentence = _shown_sentence(p) or "-"
        lines.append(f"{rank:>3}. {r['score']:.3f}  #{p.id}  {sentence}  [{labels}]  ({why})  {p.source}")
    return lines


def _shown_sentence(photo: PhotoSummary) -> str | None:
    """The sentence the app's card shows: the caption, or the labels' sentence where the caption is unsure."""
    d = photo.description or {}
    return d.get("grounded_caption") if d.get("shown") == "grounded" else photo.caption


def _result_json(r: dict) -> dict:
    p = r["photo"]
    return {"photo_id": p.id, "source": p.source, "score": r["score"], "strong": r.get("strong"),
            "reasons": r.get("reasons"), "scores": r["scores"], "caption": p.caption, "shown": _shown_sentence(p),
            "description": p.description, "labels": p.labels, "matched": r["matched"], "matched_in": r["matched_in"]}


# -- browse and delete ----------------------------------------------------------------------------
def cmd_photos(args: argparse.Namespace) -> None:
    services = _services(args)
    page = services.timeline.photos(args.name, sort=args.sort, limit=args.limit, cursor=args.cursor,
                                    after=args.after, before=args.before)
    if args.json:
        print(json.dumps(jsonable(page), indent=1))  # the API's JSON, photo URLs included
        return
    for p in page["photos"]:
        when = f"{p.taken_at:%Y-%m-%d %H:%M}" if p.taken_at else ""
        print(f"#{p.id}\t{when} ({p.date_source})\t{p.caption or '-'}\t{p.source}")
    print(f"{len(page['photos'])} of {page['total']} photos"
          + (f"; more with --cursor {page['next_cursor']}" if page["next_cursor"] else ""))


def cmd_delete(args: argparse.Namespace) -> None:
    """The command line has no Undo button: photos are deleted and purged at once."""
    services = _services(args)
    services.deletion.delete(list(dict.fromkeys(args.ids)), profile=args.profile)
    services.deletion.purge()
    services.deletion.close()
    print(f"deleted {len(set(args.ids))} photo(s)")


def cmd_restore(args: argparse.Namespace) -> None:
    services = _services(args)
    services.deletion.restore(list(dict.fromkeys(args.ids)), profile=args.profile)
    print(f"restored {len(set(args.ids))} photo(s)")


def cmd_purge(args: argparse.Namespace) -> None:
    result = _services(args).deletion.purge()
    print(f"purged {result['purged']} deleted photo(s)")


# -- maintenance ----------------------------------------------------------------------------------
def cmd_reindex(args: argparse.Namespace) -> None:
    services = _services(args)
    services.index.clear()
    remove_snapshots(services.settings.snapshots_dir)  # search's arrays are built again too
    result = services.ingestor.repair_index()
    print(f"reindexed {result['added']} photos")


def cmd_check(args: argparse.Namespace) -> None:
    report = check(_services(args), repair=args.repair)
    print(json.dumps(report, indent=1))
    if report["problems"] and not args.repair:
        raise SystemExit(1)


def cmd_backup(args: argparse.Namespace) -> None:
    if not args.destination.strip():  # Path("") would be the current folder
        raise InvalidInput("say where to back up to: photosearch backup DEST")
    bars: list[tqdm] = []  # made at the first file, so that a refusal prints no empty bar

    def progress(done: int, total: int) -> None:
        if not bars:
            bars.append(tqdm(total=total, unit="file", desc="backing up", disable=args.json))
        bars[0].n = done
        if done == total or done % 200 == 0:
            bars[0].refresh()

    try:
        report = backup(_settings(args), Path(args.destination), progress)
    finally:
        for bar in bars:
            bar.close()
    if args.json:
        print(json.dumps(dataclasses.asdict(report), indent=1))
        return
    print(f"backed up {units.photos(report.photos)} to {report.destination}: {report.files_copied} files copied "
          f"({report.bytes_copied / 1e6:.1f} MB), {report.files_unchanged} already there, "
          f"{report.files_removed} of purged photos removed")
    for missing in report.files_missing:
        print(f"  {missing}: gone from the library while it was copied", file=sys.stderr)


# -- models ---------------------------------------------------------------------------------------
def cmd_caption(args: argparse.Namespace) -> None:
    from photosearch.services.caption_files import CaptionOptions, caption_list

    options = CaptionOptions(imglist=Path(args.imglist), dict_path=Path(args.dict_path),
                             model=Path(args.model) if args.model else None,
                             word_map=Path(args.word_map) if args.word_map else None, beam_size=args.beam_size)
    caption_list(options, _settings(args))


def _own_parser(command: str, add_arguments) -> argparse.ArgumentParser:  # noqa: ANN001 - a module's add_arguments
    """The parser of a training command, built from its module's own `add_arguments`."""
    parser = argparse.ArgumentParser(prog=f"photosearch {command}")
    add_arguments(parser)
    return parser


def cmd_train_captioner(args: argparse.Namespace) -> None:
    from photosearch.vision.captioner.train import add_arguments, train

    train(_own_parser("train-captioner", add_arguments).parse_args(args.forwarded))


def cmd_eval_captioner(args: argparse.Namespace) -> None:
    from photosearch.vision.captioner.evaluate import evaluate

    args.out = args.out or f"docs/captioner-eval-{args.split}.md"
    evaluate(args)


def cmd_train_retrieval(args: argparse.Namespace) -> None:
    from photosearch.text.train_retrieval import add_arguments, train

    train(_own_parser("train-retrieval", add_arguments).parse_args(args.forwarded))


def cmd_eval_search(args: argparse.Namespace) -> None:
    from photosearch.services.eval_search import EvalSearchOptions, evaluate, evaluate_real

    if args.real_photos:
        evaluate_real(Path(args.real_photos), Path(args.real_queries), Path(args.data_dir) if args.data_dir else None,
                      Path(args.out) if args.out else None)
        return
    if not args.data:
        raise InvalidInput("give --data (the Flickr8k folder) or --real-photos DIR")

    evaluate(EvalSearchOptions(data=Path(args.data), split=args.split,
                               data_dir=Path(args.data_dir) if args.data_dir else None, limit=args.limit,
                               tune=args.tune, out=Path(args.out) if args.out else None,
                               cutoff_out=Path(args.cutoff_out) if args.cutoff_out else None))


def _date(value: str, end: bool = False) -> datetime:
    from photosearch.services.timeline import parse_date

    try:
        return parse_date(value, end=end)
    except InvalidInput:
        raise argparse.ArgumentTypeError(f"{value!r} is not a date like 2024-05-31") from None


def _end_date(value: str) -> datetime:  # a bare date means the end of that day
    return _date(value, end=True)


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
    p.add_argument("--processes", type=int, default=1, help="server processes on the port (default 1; one per "
                   "core answers more queries at once, each holds its own copy of the vectors)")
    p.add_argument("--listen-fd", type=int, default=None, help=argparse.SUPPRESS)  # children of --processes
    p.add_argument("--process-index", type=int, default=None, help=argparse.SUPPRESS)
    p.set_defaults(func=cmd_serve)

    p = sub.add_parser("worker", parents=[common], help="process ingest jobs from the Redis queue "
                       "(PHOTOSEARCH_BROKER_URL)")
    p.add_argument("--threads", type=int, default=1, help="jobs at a time (default 1; the models are shared)")
    p.set_defaults(func=cmd_worker)

    p = sub.add_parser("profile", parents=[common], help="create, list or delete profiles")
    p.add_argument("action", choices=["create", "list", "delete"])
    p.add_argument("name", nargs="?")
    p.set_defaults(func=cmd_profile)

    p = sub.add_parser("ingest", parents=[common], help="add photos to a profile (created if needed)")
    p.add_argument("name")
    group = p.add_mutually_exclusive_group(required=True)
    for source in all_sources():
        if source.cli:
            group.add_argument(source.cli.flag, metavar=source.cli.metavar, help=source.cli.help)
    p.add_argument("--limit", type=int, default=None, help="at most this many posts (Instagram profiles)")
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    p.set_defaults(func=cmd_ingest)

    p = sub.add_parser("jobs", parents=[common], help="list ingest jobs, or cancel one")
    p.add_argument("action", nargs="?", choices=["list", "cancel"], default="list")
    p.add_argument("id", nargs="?", type=int, help="with cancel: the job's id")
    p.add_argument("--profile", default=None, help="only this profile's jobs")
    p.add_argument("--limit", type=int, default=20, help="at most this many jobs (newest first)")
    p.set_defaults(func=cmd_jobs)

    p = sub.add_parser("search", parents=[common], help="search a profile by description")
    p.add_argument("name")
    p.add_argument("query", nargs="?")
    p.add_argument("--queries", help="a file with one query per line; prints one JSON line per query")
    p.add_argument("--json", action="store_true", help="machine-readable results")
    p.add_argument("--limit", type=int, default=10)
    p.add_argument("--after", type=_date, default=None, help="only photos taken on/after this date (YYYY-MM-DD)")
    p.add_argument("--before", type=_end_date, default=None, help="only photos taken on/before this date")
    p.add_argument("--sort", choices=["best", "newest", "oldest"], default="best",
                   help="best match first (default), or by date")
    p.set_defaults(func=cmd_search)

    p = sub.add_parser("photos", parents=[common], help="list a profile's photos by date (newest first)")
    p.add_argument("name")
    p.add_argument("--sort", choices=["newest", "oldest"], default="newest")
    p.add_argument("--limit", type=int, default=50)
    p.add_argument("--cursor", default=None, help="continue where the previous page ended")
    p.add_argument("--after", type=_date, default=None, help="only photos taken on/after this date (YYYY-MM-DD)")
    p.add_argument("--before", type=_end_date, default=None, help="only photos taken on/before this date")
    p.add_argument("--json", action="store_true", help="machine-readable page")
    p.set_defaults(func=cmd_photos)

    p = sub.add_parser("delete", parents=[common], help="delete photos by id (for good: there is no undo here)")
    p.add_argument("ids", nargs="+", type=int, metavar="ID")
    p.add_argument("--profile", default=None, help="refuse ids that are not in this profile")
    p.set_defaults(func=cmd_delete)

    p = sub.add_parser("restore", parents=[common], help="bring back photos deleted in the web app (until purged)")
    p.add_argument("ids", nargs="+", type=int, metavar="ID")
    p.add_argument("--profile", default=None)
    p.set_defaults(func=cmd_restore)

    p = sub.add_parser("purge", parents=[common], help="remove deleted photos for good now (database, index, files)")
    p.set_defaults(func=cmd_purge)

    p = sub.add_parser("redescribe", parents=[common], help="describe stored photos again with today's models")
    p.add_argument("name", nargs="?", help="one profile (default: every profile)")
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    p.set_defaults(func=cmd_redescribe)

    p = sub.add_parser("reindex", parents=[common], help="rebuild the full-text index from the database")
    p.set_defaults(func=cmd_reindex)

    p = sub.add_parser("backup", parents=[common], help="copy the library (database and photos) to a folder",
                       description="Copy the library to DEST consistently, also while photosearch runs; again "
                                   "into the same folder, only what changed is copied. Open the copy with "
                                   "--data-dir DEST (README.md, \"Backups\").")
    p.add_argument("destination", metavar="DEST", help="a new or empty folder, or an earlier backup")
    p.add_argument("--json", action="store_true", help="the report as JSON")
    p.set_defaults(func=cmd_backup)

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

    # Training commands parse their own options (their modules, and torch, load only when they run).
    p = sub.add_parser("train-captioner", add_help=False, help="train the captioner on Flickr8k (--help: options)")
    p.set_defaults(func=cmd_train_captioner, forwards=True)

    p = sub.add_parser("eval-captioner", help="BLEU/METEOR/CIDEr-D of the captioner on Flickr8k")
    p.add_argument("--data", default=None, help="the Flickr8k folder")
    p.add_argument("--split", default="test", choices=["dev", "test"])
    p.add_argument("--beam", default="1,3,5", help="beam sizes, comma separated")
    p.add_argument("--model", default=None)
    p.add_argument("--word_map", default=None)
    p.add_argument("--cache-dir", default=None)
    p.add_argument("--length-penalty", type=float, default=None)
    p.add_argument("--no-constraints", action="store_true", help="plain beam search (no label-noun constraints)")
    p.add_argument("--min-mass", type=float, default=None, help="constraint threshold (default: the product's)")
    p.add_argument("--seen-sure", type=float, default=None,
                   help="probability at which the grounded sentence names the joint space's noun (default: the "
                   "product's; above 1: never)")
    p.add_argument("--float32", action="store_true", help="the decoder in float32 (the app runs it as int8)")
    p.add_argument("--no-people-check", action="store_true", help="let every caption use person words")
    p.add_argument("--people-below", type=float, default=None,
                   help="people score under which person words are banned (default: the product's)")
    p.add_argument("--out", default=None,
                   help="markdown table (default docs/captioner-eval-SPLIT.md; docs/captioner-eval.md is the written "
                        "history of every round)")
    p.set_defaults(func=cmd_eval_captioner)

    p = sub.add_parser("train-retrieval", add_help=False, help="train the image-text retrieval head on Flickr8k")
    p.set_defaults(func=cmd_train_retrieval, forwards=True)

    p = sub.add_parser("eval-search", parents=[common], help="retrieval quality on Flickr8k, through the app")
    p.add_argument("--data", default=None, help="the Flickr8k folder")
    p.add_argument("--split", default="test", choices=["dev", "test"])
    p.add_argument("--out", default=None, help="markdown table (default docs/search-eval-SPLIT.md)")
    p.add_argument("--limit", type=int, default=None, help="only the first N photos (quick runs)")
    p.add_argument("--tune", action="store_true", help="grid-search the fusion on this split (use dev)")
    p.add_argument("--cutoff-out", default=None, help="also write the relevance cut-off table here (use dev)")
    p.add_argument("--real-photos", default=None,
                   help="instead: the real-photo folder (scripts/collect_real_photos.py)")
    p.add_argument("--real-queries", default="docs/real-photo-queries.json", help="queries for --real-photos")
    p.set_defaults(func=cmd_eval_search)
    return parser


def main(argv: list[str] | None = None) -> None:
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    parser = build_parser()
    args, forwarded = parser.parse_known_args(argv)
    if forwarded and not getattr(args, "forwards", False):
        parser.error(f"unrecognized arguments: {' '.join(forwarded)}")
    args.forwarded = forwarded
    try:
        args.func(args)
    except PhotosearchError as exc:
        print(f"photosearch: {exc.message}", file=sys.stderr)
        raise SystemExit(2) from None
    except KeyboardInterrupt:
        raise SystemExit(130) from None
    except BrokenPipeError:  # `photosearch search ... | head`: the reader has what it wanted
        _quiet_stdout()
        raise SystemExit(141) from None  # 128 + SIGPIPE, what a shell tool killed by the closed pipe reports
    except Exception as exc:  # last: the clauses above catch some Exceptions themselves
        damaged = database_damage(exc, _database_file(args))
        if damaged is None:
            raise
        print(f"photosearch: {damaged.message}", file=sys.stderr)
        raise SystemExit(2) from None


def _database_file(args: argparse.Namespace) -> str | None:
    """The SQLite file the command used, to name in an error (None for another database)."""
    url = make_url(Settings.from_env(getattr(args, "data_dir", None)).database)
    return url.database if url.get_backend_name() == "sqlite" else None


def _quiet_stdout() -> None:
    """Point stdout at /dev/null so the interpreter's final flush can't raise (and print) again."""
    import os

    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    except (OSError, ValueError):
        pass


if __name__ == "__main__":
    main()
