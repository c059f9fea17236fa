"""Separate OS processes hitting one database at the same moment: the pool of spawned children, the
round that releases their jobs together by a barrier, and what a job reports back (Outcome).

Each child makes its own app with `create_app` on the test database's URL and runs every job in its own
app context. A child catches each exception itself and reports it back as text: a refusal (DomainError)
is counted, anything else ("database is locked", a deadlock, a lost race) is an error the test fails on.
"""
from __future__ import annotations

import atexit
import multiprocessing
import os
import traceback
from collections import Counter
from collections.abc import Callable, Iterator
from concurrent.futures import ProcessPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field
from types import SimpleNamespace
from typing import Any

import sqlalchemy as sa

from oms_web import create_app
from oms_web.domain.errors import DomainError
from oms_web.extensions import db
from oms_web.models import OrderLine, User

from .. import conftest

ROUND_TIMEOUT_S = 180


@dataclass
class Outcome:
    """What one child did in one round, sent back to the test."""

    pid: int
    errors: list[str] = field(default_factory=list)  # tracebacks of every exception that is not a refusal
    refusals: Counter = field(default_factory=Counter)  # DomainError class name -> count
    done: Counter = field(default_factory=Counter)  # action -> times it succeeded
    values: list[Any] = field(default_factory=list)


_apps: dict[str, Any] = {}


def run_in_child(url: str, barrier, job: Callable[..., None], args: tuple) -> Outcome:
    """Pool entry point: the job, in this process's own app on `url`, released together with the round's others."""
    outcome = Outcome(pid=os.getpid())
    try:
        app = _apps.get(url)
        if app is None:
            app = _apps[url] = create_app(conftest.test_config(url))
        with app.app_context():
            try:
                barrier.wait()
                job(outcome, *args)
            finally:
                db.session.remove()
    except BaseException:
        outcome.errors.append(traceback.format_exc())
    return outcome


def exit_without_teardown() -> None:
    """A child has nothing to flush when the pool closes (its results went back as they were made), and
    tearing down an interpreter that imported the whole app takes about a second per process."""
    atexit.register(os._exit, 0)


def noop_in_child(barrier) -> int:
    barrier.wait()
    return os.getpid()


class Children:
    """A pool of spawned processes, and rounds of jobs run on it all at once."""

    def __init__(self, executor: ProcessPoolExecutor, manager, size: int) -> None:
        self.executor = executor
        self.manager = manager
        self.size = size

    def run(self, url: str, jobs: list[tuple[Callable[..., None], tuple]]) -> list[Outcome]:
        assert len(jobs) <= self.size
        # The children open their own connections; the parent's must not be shared with (or outlive) them.
        db.session.remove()
        db.engine.dispose()
        barrier = self.manager.Barrier(len(jobs), timeout=ROUND_TIMEOUT_S)
        futures = [self.executor.submit(run_in_child, url, barrier, job, args) for job, args in jobs]
        outcomes = [future.result(timeout=ROUND_TIMEOUT_S) for future in futures]
        # Every job waited at the barrier for all the others: they ran in as many separate processes.
        assert len({o.pid for o in outcomes}) == len(jobs)
        assert os.getpid() not in {o.pid for o in outcomes}
        return outcomes


@contextmanager
def spawned_children(size: int) -> Iterator[Children]:
    """`size` spawned processes, every one started (and its imports done) before the first round, whose
    jobs must then start together. For a module-scoped fixture: spawning costs a couple of seconds of CPU."""
    context = multiprocessing.get_context("spawn")
    with context.Manager() as manager, ProcessPoolExecutor(size, mp_context=context,
                                                           initializer=exit_without_teardown) as executor:
        barrier = manager.Barrier(size, timeout=ROUND_TIMEOUT_S)
        for future in [executor.submit(noop_in_child, barrier) for _ in range(size)]:
            future.result(timeout=ROUND_TIMEOUT_S)
        yield Children(executor, manager, size)


# ---------------------------------------------------------------- inside a child's job

def attempt(outcome: Outcome, action: str, fn: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
    """Call one service: count a refusal, record any other exception. Returns the result or the refusal."""
    try:
        result = fn(*args, **kwargs)
    except DomainError as refusal:
        outcome.refusals[type(refusal).__name__] += 1
        return refusal
    except Exception:
        outcome.errors.append(f"{action}: {traceback.format_exc()}")
        db.session.rollback()
        return None
    outcome.done[action] += 1
    return result


def actors(ids: dict[str, int]) -> SimpleNamespace:
    """The users of `user_ids(shop)`, loaded in this process."""
    return SimpleNamespace(**{role: db.session.get(User, user_id) for role, user_id in ids.items()})


def read(query) -> list:
    """A plain read, ended at once so that the next service starts from a fresh snapshot."""
    rows = db.session.execute(query).all()
    db.session.rollback()
    return rows


def lines_of(order_id: int) -> list:
    return read(sa.select(OrderLine.id, OrderLine.sku, OrderLine.ordered, OrderLine.allocated, OrderLine.shipped)
                .where(OrderLine.order_id == order_id).order_by(OrderLine.id))


# ---------------------------------------------------------------- in the test

def user_ids(shop) -> dict[str, int]:
    """The shop's users by role, as ids a child can load (`actors`)."""
    return {"staff": shop.staff.id, "manager": shop.manager.id, "admin": shop.admin.id}


def errors_of(outcomes: list[Outcome]) -> list[str]:
    return [error for outcome in outcomes for error in outcome.errors]


def total_of(outcomes: list[Outcome], action: str) -> int:
    return sum(outcome.done[action] for outcome in outcomes)
