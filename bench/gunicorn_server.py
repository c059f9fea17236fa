"""gunicorn serving the app from a benchmark: one place for how it is started, waited for and stopped
(bench/api.py, bench/sign_in.py, bench/request_memory.py and the cluster of bench/cluster.py use it).

    with Gunicorn(env, workers=2, threads=32) as server:   # a free loopback port, up and answering
        ... server.port ...
"""
from __future__ import annotations

import http.client
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import IO

ROOT = Path(__file__).resolve().parent.parent


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def command(port: int, *, workers: int, threads: int, config: str | None = None, log_level: str = "warning",
            extra: Sequence[str] = ()) -> list[str]:
    """The gunicorn command line: `workers` processes of `threads` threads (gthread; 1: the sync worker)."""
    line = [sys.executable, "-m", "gunicorn", "--workers", str(workers), "--bind", f"127.0.0.1:{port}",
            "--log-level", log_level]
    if threads > 1:
        line += ["--worker-class", "gthread", "--threads", str(threads)]
    if config:
        line += ["--config", config]
    return line + list(extra) + ["oms_web:create_app()"]


def start(env: dict[str, str], port: int, *, workers: int, threads: int, config: str | None = None,
          log_level: str = "warning", extra: Sequence[str] = (), output: IO | None = None) -> subprocess.Popen:
    """gunicorn in a session of its own (stop() ends it and its workers), the project on its path."""
    env = dict(env, PYTHONPATH=os.pathsep.join(filter(None, [str(ROOT), env.get("PYTHONPATH")])))
    return subprocess.Popen(command(port, workers=workers, threads=threads, config=config, log_level=log_level,
                                    extra=extra),
                            cwd=ROOT, env=env, start_new_session=True, stdout=output, stderr=output)


def wait_until_up(port: int, path: str = "/healthz", timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            connection = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
            connection.request("GET", path)
            if connection.getresponse().status == 200:
                return
        except OSError:
            pass
        time.sleep(0.2)
    raise SystemExit(f"gunicorn on port {port} did not answer {path} within {timeout:g} s")


def stop(process: subprocess.Popen, timeout: float = 30) -> None:
    """SIGTERM to gunicorn's session (master and workers), then wait for it."""
    try:
        os.killpg(process.pid, signal.SIGTERM)
    except ProcessLookupError:
        pass
    process.wait(timeout=timeout)


class Gunicorn:
    """start() on a free port, wait_until_up(), and stop() on leaving."""

    def __init__(self, env: dict[str, str], **options) -> None:
        self.env, self.options = env, options
        self.port = free_port()

    def __enter__(self) -> "Gunicorn":
        self.process = start(self.env, self.port, **self.options)
        try:
            wait_until_up(self.port)
        except BaseException:
            stop(self.process)
            raise
        return self

    def __exit__(self, *exc) -> None:
        stop(self.process)
