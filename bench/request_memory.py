"""A worker's memory while it refuses a 300 MB unauthenticated POST: every request is bounded before it is read.

    .venv/bin/python bench/request_memory.py [--db URL] [--megabytes 300] [--threads 4]

Makes a fresh database (SQLite under /tmp/oms-bench by default) with a Shopify, a WooCommerce and an
API channel; starts gunicorn on a free loopback port with one worker (gthread, as the README runs it);
then sends, to each of the Shopify and WooCommerce webhook URLs (no valid signature) and the order API
(no key), a body of --megabytes once with its Content-Length and once chunked (no length), each on its
own connection, as fast as the server takes it. Before each the worker's peak RSS is reset
(/proc/PID/clear_refs), after it the peak is read (VmHWM): the growth is what that one request cost.

Prints, per request, the status and the growth. Exits 1 when a growth is over 20 MB or a request was
not refused (413 or 401). Before the bound, the Shopify webhook read the whole body before checking
its signature (a worker grew from 200 MB to 787 MB).
"""
from __future__ import annotations

import argparse
import os
import select
import socket
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from flask_migrate import upgrade  # noqa: E402

from bench import gunicorn_server  # noqa: E402
from bench.run import _fresh_database  # noqa: E402
from oms_web import create_app  # noqa: E402
from oms_web.channels.manage import create_channel  # noqa: E402
from oms_web.extensions import db  # noqa: E402
from oms_web.models import ChannelKind  # noqa: E402

LIMIT_MB = 20
CHUNK = 1024 * 1024


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--db", default="sqlite:////tmp/oms-bench/request-memory.sqlite3", help="database URL (made afresh)")
    parser.add_argument("--megabytes", type=int, default=300, help="size of each body")
    parser.add_argument("--threads", type=int, default=4, help="threads of the one gunicorn worker")
    args = parser.parse_args()

    Path("/tmp/oms-bench").mkdir(exist_ok=True)
    _fresh_database(args.db)
    paths = _channels(args.db)
    port = gunicorn_server.free_port()
    env = dict(os.environ, OMS_DATABASE_URL=args.db, OMS_SECRET_KEY="bench-request-memory")
    server = gunicorn_server.start(env, port, workers=1, threads=args.threads)
    results = []
    try:
        worker = _worker_of(server.pid, port)
        for label, path in paths.items():  # warm up: imports, the database connection, the code paths
            _send(port, path, 64 * 1024, chunked=False)
        for label, path in paths.items():
            for chunked in (False, True):
                before = _rss_kb(worker)
                peak_reset = _reset_peak(worker)
                started = time.perf_counter()
                status, sent = _send(port, path, args.megabytes * CHUNK, chunked=chunked)
                seconds = time.perf_counter() - started
                time.sleep(0.2)
                peak = _peak_kb(worker) if peak_reset else _rss_kb(worker)
                results.append((label, "chunked" if chunked else "Content-Length", status, sent, seconds,
                                (peak - before) / 1024, peak_reset))
    finally:
        gunicorn_server.stop(server)

    print(f"\nA {args.megabytes} MB unauthenticated POST, refused by one gunicorn worker (gthread, "
          f"{args.threads} threads); worker RSS growth (peak over the request), limit {LIMIT_MB} MB")
    ok = True
    for label, how, status, sent, seconds, growth, exact in results:
        refused = status in (401, 413)
        ok = ok and refused and growth <= LIMIT_MB
        print(f"  {label:<22} {how:<15} -> {status!s:<4} after {sent / CHUNK:7.1f} MB sent, {seconds:5.2f} s; "
              f"growth {growth:6.1f} MB{'' if exact else ' (sampled, peak not measurable)'}"
              f"{'' if refused and growth <= LIMIT_MB else '   <-- over'}")
    print("  ok" if ok else "  FAILED")
    return 0 if ok else 1


def _channels(url: str) -> dict[str, str]:
    app = create_app({"SQLALCHEMY_DATABASE_URI": url, "SECRET_KEY": "bench", "TESTING": False})
    with app.app_context():
        upgrade()
        shopify = create_channel("Shopify", ChannelKind.SHOPIFY, "bench-secret").channel.id
        woo = create_channel("Woo", ChannelKind.WOOCOMMERCE, "bench-secret").channel.id
        create_channel("Store API", ChannelKind.API)
        db.session.remove()
        db.engine.dispose()
    return {"Shopify webhook": f"/webhooks/shopify/{shopify}", "WooCommerce webhook": f"/webhooks/woocommerce/{woo}",
            "order API (no key)": "/api/v1/orders"}


def _send(port: int, path: str, size: int, *, chunked: bool) -> tuple[int | str, int]:
    """POST `size` bytes of JSON-looking filler; stop sending as soon as the server answers (or stops
    reading). Returns the status and how many body bytes went out."""
    head = (f"POST {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
            f"X-Shopify-Hmac-Sha256: d3Jvbmc=\r\nX-WC-Webhook-Signature: d3Jvbmc=\r\n"
            + ("Transfer-Encoding: chunked\r\n" if chunked else f"Content-Length: {size}\r\n") + "\r\n")
    block = b"[" + b"0," * (CHUNK // 2 - 1) + b"0"
    sent = 0
    with socket.create_connection(("127.0.0.1", port), timeout=30) as connection:
        connection.sendall(head.encode())
        try:
            while sent < size:
                if select.select([connection], [], [], 0)[0]:
                    break  # the answer came: the rest is not wanted
                piece = block[:min(CHUNK, size - sent)]
                writable = select.select([], [connection], [], 5)[1]
                if not writable:
                    break  # the server stopped reading
                connection.sendall(f"{len(piece):x}\r\n".encode() + piece + b"\r\n" if chunked else piece)
                sent += len(piece)
            else:
                if chunked:
                    connection.sendall(b"0\r\n\r\n")
        except OSError:
            pass  # reset once the server closed: its answer may still be readable
        try:
            answer = connection.recv(200)
        except OSError:
            return "reset", sent
    first = answer.split(b"\r\n", 1)[0].split()
    return (int(first[1]) if len(first) > 1 and first[1].isdigit() else "none"), sent


def _worker_of(master: int, port: int) -> int:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        children = Path(f"/proc/{master}/task/{master}/children")
        pids = children.read_text().split() if children.exists() else []
        if pids:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                return int(pids[0])
            except OSError:
                pass
        time.sleep(0.2)
    raise SystemExit("gunicorn did not start a worker within 60 s")


def _status_kb(pid: int, field: str) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1])
    raise SystemExit(f"no {field} for process {pid}")


def _rss_kb(pid: int) -> int:
    return _status_kb(pid, "VmRSS")


def _peak_kb(pid: int) -> int:
    return _status_kb(pid, "VmHWM")


def _reset_peak(pid: int) -> bool:
    """Reset the process's peak RSS to its current RSS (Linux: clear_refs 5)."""
    try:
        Path(f"/proc/{pid}/clear_refs").write_text("5")
        return True
    except OSError:
        return False


if __name__ == "__main__":
    sys.exit(main())
