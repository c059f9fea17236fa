"""Test helper: real workers (`flask --app oms_web worker` processes) on a test app's database and queue.

The worker is configured through the environment, as in production, from the test app's settings:
the same database, the same queue (its own SQLite file per test, or a queue of its own on Redis), the
same OMS_HTMX mode.
"""
from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import sqlalchemy as sa
from flask import Flask

from oms_web import PROJECT_ROOT
from oms_web.config import ENVIRONMENT_SETTINGS
from oms_web.extensions import db
from oms_web.models import Job

REDIS_URL = os.environ.get("OMS_TEST_REDIS_URL", "redis://127.0.0.1:6379/15")


def redis_reachable() -> bool:
    import redis

    try:
        return bool(redis.Redis.from_url(REDIS_URL, socket_connect_timeout=0.5).ping())
    except redis.RedisError:
        return False


def worker_environment(app: Flask) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("OMS_")}
    for variable, key in ENVIRONMENT_SETTINGS.items():
        value = app.config.get(key)
        if value not in (None, ""):
            env[variable] = str(value) if key != "SQLALCHEMY_DATABASE_URI" else \
                sa.make_url(value).render_as_string(hide_password=False)
    env["PYTHONPATH"] = os.pathsep.join([str(PROJECT_ROOT), env.get("PYTHONPATH", "")]).rstrip(os.pathsep)
    return env


class Worker:
    """A worker process; `kill()` ends it with SIGKILL, `stop()` with Ctrl-C (SIGINT), as `make run` does."""

    def __init__(self, app: Flask, log: Path, threads: int = 2) -> None:
        self.log = log
        self.process = subprocess.Popen(
            [sys.executable, "-m", "flask", "--app", "oms_web", "worker", "--threads", str(threads)],
            env=worker_environment(app), cwd=str(PROJECT_ROOT), stdout=log.open("ab"), stderr=subprocess.STDOUT)

    def wait_until_started(self, timeout: float = 30) -> None:
        deadline = time.monotonic() + timeout
        while "consumer started" not in self.output():
            if self.process.poll() is not None or time.monotonic() > deadline:
                raise AssertionError(f"the worker did not start:\n{self.output()[-3000:]}")
            time.sleep(0.05)

    def kill(self) -> None:
        self.process.send_signal(signal.SIGKILL)
        self.process.wait(timeout=10)

    def stop(self) -> int:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGINT)
            try:
                return self.process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.kill()
        return self.process.returncode

    def output(self) -> str:
        return self.log.read_text(errors="replace")


def job_state(job_id: int) -> Job:
    db.session.rollback()  # a fresh read: the worker writes from another process
    job = db.session.get(Job, job_id)
    db.session.refresh(job)
    return job


def wait_for(job_id: int, until: Callable[[Job], bool], worker: Worker, timeout: float = 60) -> Job:
    deadline = time.monotonic() + timeout
    while True:
        job = job_state(job_id)
        if until(job):
            return job
        if worker.process.poll() is not None:
            raise AssertionError(f"the worker stopped ({worker.process.returncode}):\n{worker.output()[-3000:]}")
        if time.monotonic() > deadline:
            raise AssertionError(f"job {job_id} is still {job.status} ({job.done}/{job.total}):\n"
                                 f"{worker.output()[-3000:]}")
        time.sleep(0.02)
