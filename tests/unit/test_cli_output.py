"""The command line's stdout carries results only: `--json` is pure JSON (a library's "Loaded pretrained
weights ..." is swallowed), and a reader that stops early (`| head`) ends the command quietly."""

from __future__ import annotations

import json
import os
import shutil
import socket
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

BACKEND = Path(__file__).resolve().parents[2] / "backend"


def _run(args: list[str], **kwargs: object) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if not k.startswith("PHOTOSEARCH_")}
    env["PYTHONPATH"] = os.pathsep.join([str(BACKEND), env.get("PYTHONPATH", "")])
    kwargs.setdefault("timeout", 300)
    return subprocess.run([sys.executable, "-m", "photosearch.cli", *args], env=env, **kwargs)


def test_search_json_is_pure_json_on_stdout(tmp_path: Path, make_photos) -> None:  # noqa: ANN001
    """With the real models (the search loads the encoder for the query side), the library's chatter must not
    lead stdout; dates at the edge of time (0001-01-01 at +14:00 is before year 1 in UTC) are not a crash."""
    data = tmp_path / "data"
    make_photos(tmp_path / "album", 2)
    ingest = _run(["ingest", "p", "--folder", str(tmp_path / "album"), "--quiet", "--data-dir", str(data)],
                  capture_output=True, text=True)
    assert ingest.returncode == 0, ingest.stderr[-2000:]
    assert ingest.stdout.startswith("done: 2 photos indexed"), ingest.stdout

    result = _run(["search", "p", "photo", "--json", "--after", "0001-01-01T00:00:00+14:00",
                   "--before", "9999-12-31T23:59:59-14:00", "--data-dir", str(data)], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr[-2000:]
    parsed = json.loads(result.stdout)  # the whole of stdout, not just its last lines
    assert parsed["query"] == "photo" and isinstance(parsed["results"], list)  # photos without a date may drop
    if shutil.which("jq"):
        jq = subprocess.run(["jq", "-e", ".query"], input=result.stdout, capture_output=True, text=True)
        assert jq.returncode == 0 and jq.stdout.strip() == '"photo"', jq.stderr

    # Each result says the sentence the app's card shows beside the caption (the labels' sentence where unsure).
    plain = _run(["search", "p", "photo", "--json", "--data-dir", str(data)], capture_output=True, text=True)
    results = json.loads(plain.stdout)["results"]
    assert len(results) == 2
    for r in results:
        d = r["description"]
        assert d["shown"] in ("caption", "grounded")
        assert r["shown"] == (d["grounded_caption"] if d["shown"] == "grounded" else r["caption"])


def test_a_closed_pipe_ends_the_command_quietly(tmp_path: Path) -> None:
    """`photosearch profile list | head -1` with the reader already gone: no BrokenPipeError traceback."""
    data = tmp_path / "data"
    for i in range(3):
        assert _run(["profile", "create", f"p{i}", "--data-dir", str(data)], capture_output=True).returncode == 0
    read_end, write_end = os.pipe()
    os.close(read_end)  # like `head` after it has printed its line
    try:
        result = _run(["profile", "list", "--data-dir", str(data)], stdout=write_end, stderr=subprocess.PIPE,
                      text=True)
    finally:
        os.close(write_end)
    assert "Traceback" not in result.stderr and "BrokenPipeError" not in result.stderr, result.stderr
    assert result.returncode == 141


def test_serve_on_a_busy_port_says_so_and_leaves_the_jobs_alone(tmp_path: Path) -> None:
    """A second `photosearch serve` on a port in use: one line saying why (it was a waitress traceback), exit 2,
    and it stops before resuming unfinished jobs, which the first server may be running."""
    data = tmp_path / "data"
    assert _run(["profile", "create", "p", "--data-dir", str(data)], capture_output=True).returncode == 0
    db = data / "photosearch.db"
    with sqlite3.connect(db) as conn:  # an unfinished job, as the server already on the port would be running it
        conn.execute("INSERT INTO jobs (profile_id, kind, status, spec, created_at) "
                     "VALUES (1, 'folder', 'running', '{}', '2026-01-01 00:00:00')")
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        result = _run(["serve", "--no-demo", "--port", str(port), "--data-dir", str(data)], capture_output=True,
                      text=True, timeout=120)
    assert result.returncode == 2, result.stderr[-2000:]
    assert result.stderr.strip().splitlines()[-1] == (
        f"photosearch: cannot listen on 127.0.0.1:{port}: Address already in use "
        "(is photosearch already running? choose another with --port)"), result.stderr[-2000:]
    assert "resuming" not in result.stdout
    with sqlite3.connect(db) as conn:
        assert conn.execute("SELECT status FROM jobs").fetchall() == [("running",)]


def test_a_profile_named_as_a_person_names_it(tmp_path: Path, make_photos) -> None:  # noqa: ANN001
    """`photosearch ingest "Été à Paris"` creates Ete-a-Paris (shown as "Été à Paris") and ingests into it; run
    again, and `search "Été à Paris"`, find the same profile. The ingest used to create it, then fail with "no
    profile named 'Été à Paris'", and again on every later run."""
    data = tmp_path / "data"
    make_photos(tmp_path / "album", 2)
    for again in (False, True):
        ingest = _run(["ingest", "Été à Paris", "--folder", str(tmp_path / "album"), "--quiet", "--data-dir",
                       str(data)], capture_output=True, text=True)
        assert ingest.returncode == 0, ingest.stderr[-2000:]
        assert ingest.stdout.startswith("done: 2 photos indexed"), ingest.stdout
        # the second run stored nothing new, and says so
        assert ("(all already in the collection)" in ingest.stdout) == again, ingest.stdout
    listed = _run(["profile", "list", "--data-dir", str(data)], capture_output=True, text=True)
    assert listed.stdout == "Ete-a-Paris\t2 photos\tÉté à Paris\n", listed.stdout
    found = _run(["search", "Été à Paris", "photo", "--json", "--data-dir", str(data)], capture_output=True, text=True)
    assert found.returncode == 0, found.stderr[-2000:]
    assert json.loads(found.stdout)["total"] == 2


def test_an_ingest_where_every_photo_failed_has_failed(tmp_path: Path, capsys) -> None:  # noqa: ANN001
    """As the web app's job card says "Failed" for such a job, the command says so and exits 1: a script
    checking `$?` learns that nothing was stored."""
    from photosearch import cli

    album = tmp_path / "album"
    album.mkdir()
    for name in ("a.jpg", "b.jpg"):
        (album / name).write_bytes(b"\xff\xd8\xff\xe0 not really a JPEG" * 10)
    with pytest.raises(SystemExit) as exit_:
        cli.main(["ingest", "p", "--folder", str(album), "--data-dir", str(tmp_path / "data"), "--quiet"])
    assert exit_.value.code == 1
    assert capsys.readouterr().out.startswith("failed: 0 photos indexed, 2 failed")
    cli.main(["jobs", "--data-dir", str(tmp_path / "data")])  # and the job list words it the same way
    assert capsys.readouterr().out.split("\t")[1:4] == ["failed", "p", "2/2"]


def test_counts_read_as_words(tmp_path: Path, capsys, make_photos) -> None:  # noqa: ANN001
    """"1 photo indexed", not "1 photos indexed"."""
    from photosearch import cli
    from photosearch.units import photos

    assert (photos(0), photos(1), photos(2)) == ("0 photos", "1 photo", "2 photos")
    album = tmp_path / "album"
    make_photos(album, 1)
    (album / "broken.jpg").write_bytes(b"\xff\xd8\xff\xe0 not really a JPEG" * 10)
    cli.main(["ingest", "p", "--folder", str(album), "--data-dir", str(tmp_path / "data"), "--quiet"])
    assert capsys.readouterr().out.startswith("partial: 1 photo indexed, 1 failed")
