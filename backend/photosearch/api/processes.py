"""Several server processes on one port (`photosearch serve --processes N`).

A search spends most of its time in Python (planning the query, fusing, explaining the page), and the GIL runs
one Python thread at a time, so one process uses about one core however many request threads it has. N
processes answer up to N times the queries (100K photos, 8 clients, 2 cores: docs/performance.md).

    parent: binds host:port once ──> child 0: waitress on the inherited socket, resumes jobs, adds the demo
            (starts, watches, stops) ──> child 1..N-1: waitress on the same socket

Every child waits on the one listening socket; a new connection goes to whichever accepts it first. Left
alone, the child that happens to wake first takes a whole burst (8 connections opened at once all went to
one child in 2 of 3 tries, and SO_REUSEPORT's hash split them 7/1 to 5/3), and keep-alive connections stay
where they landed. So a child waits ACCEPT_DELAY_S per connection it already serves before it accepts: the
least busy child takes the next connection.

Every child is a whole server with its own models, vectors and postings (memory grows N times: keep 1 at a
million photos), reading and writing the same database and data folder; jobs are rows in the database, so any
child answers for any job, and the full-text index follows the database's change log in every process
(services/index_sync.py). The parent only watches: SIGTERM/SIGINT stop every child, and a child that dies
stops the others, so a supervisor (systemd, Docker) restarts the whole server rather than leave it
half-running.
"""

from __future__ import annotations

import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable

import waitress.server

POLL_S = 0.2  # how often the parent looks at its children
STOP_WAIT_S = 20.0  # a child that has not stopped this long after SIGTERM is killed
ACCEPT_DELAY_S = 0.002  # per connection a child already serves, before it accepts another


def listening_socket(host: str, port: int) -> socket.socket:
    """The server's socket, bound and listening, inheritable by the children."""
    sock = socket.create_server((host, port), backlog=1024)
    sock.set_inheritable(True)
    return sock


def serve_child(app: Callable, fd: int, **options: object) -> None:
    """Run waitress on the listening socket inherited as `fd`, accepting a connection the later the more it
    serves already (see the module doc). Waitress's server keeps its open connections in `active_channels`."""
    server = waitress.server.create_server(app, sockets=[socket.socket(fileno=fd)], **options)
    server.handle_accept = accept_least_busy(server)
    server.run()


def accept_least_busy(server: object, sleep: Callable[[float], None] = time.sleep) -> Callable[[], None]:
    """The server's accept, after waiting ACCEPT_DELAY_S for each connection it already serves."""
    accept = server.handle_accept

    def accept_when_least_busy() -> None:
        busy = len(server.active_channels)
        if busy:
            sleep(ACCEPT_DELAY_S * busy)  # a sibling with fewer connections accepts it meanwhile
        accept()  # finds nothing (EAGAIN, ignored) when a sibling took it

    return accept_when_least_busy


def run_children(count: int, argv: list[str], sock: socket.socket) -> int:
    """Start `count` children (`photosearch <argv> --listen-fd FD --process-index I`) on `sock` and wait until
    they stop. Returns the exit status: 0 when stopped by a signal, else 1 or the status of the first child
    that died."""
    fd = sock.fileno()
    children = [
        subprocess.Popen([sys.executable, "-m", "photosearch.cli", *argv, "--listen-fd", str(fd),
                          "--process-index", str(i)], pass_fds=(fd,))
        for i in range(count)
    ]
    sock.close()  # the children hold it now
    stopping = False
    status = 0

    def stop(*_: object) -> None:
        nonlocal stopping
        stopping = True
        for child in children:
            if child.poll() is None:
                child.terminate()

    previous = {sig: signal.signal(sig, stop) for sig in (signal.SIGTERM, signal.SIGINT)}
    try:
        while any(child.poll() is None for child in children):
            dead = next((c for c in children if c.poll() is not None), None)
            if dead is not None and not stopping:
                status = dead.returncode if dead.returncode > 0 else 1
                print(f"a server process exited with status {dead.returncode}; stopping the others",
                      file=sys.stderr, flush=True)
                stop()
            time.sleep(POLL_S)
    finally:
        deadline = time.monotonic() + STOP_WAIT_S
        for child in children:
            try:
                child.wait(timeout=max(0.0, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                child.kill()
                child.wait()
        for sig, handler in previous.items():
            signal.signal(sig, handler)
    return status
