"""Sign-in throttling: an attempt is counted before its password is checked, never after.

Counting after the check let every attempt that arrived during the ~200 ms of one password check
through: 64 wrong passwords at once got 24 checks against a limit of 5. Here one atomic step counts
the attempt against each of its limits, or refuses it outright; only an admitted attempt has its
password checked, so however many arrive at once, at most LIMITS' worth are checked.

The limits are per account from one address (what one guesser gets), per account from anywhere (a
higher ceiling: one address cannot lock an account for everyone, yet guessers spread over many
addresses still meet a bound) and per address across accounts (one password tried on every account).
A refused attempt counts nowhere, so hammering from one address never raises the account's count;
an attempt that signs in gives its counts back and clears its address's count on that account.

The counts live in Redis when OMS_REDIS_URL is set and Redis answers, else in the database table
sign_in_counts (an atomic upsert-increment, correct on SQLite and PostgreSQL): either way every
worker process shares them, and nothing is kept in a process's memory but whether Redis is down.
"""
from __future__ import annotations

import hashlib
import logging
import threading
import time
from dataclasses import dataclass

import sqlalchemy as sa
from flask import current_app

from ..database import write_transaction
from ..extensions import db
from ..models import SignInCount

WINDOW_SECONDS = 15 * 60
# In this order every store takes its counts, so that two attempts never wait on each other in a cycle.
LIMITS = {"account+address": 5, "account": 50, "address": 30}
# After Redis failed, this process counts in the database for this long before trying Redis again:
# an outage costs one failed connection (and one log line) per process per period, not one per request.
REDIS_RETRY_SECONDS = 5.0
REDIS_TIMEOUT_SECONDS = 0.5


def _keys(email: str, address: str) -> dict[str, str]:
    """The key of each limit. Hashed: a key's size never depends on what a client sends, and the table
    holds no email addresses."""
    parts = {"account+address": f"{email}\n{address}", "account": email, "address": address}
    return {kind: f"sign-in:{kind}:{hashlib.sha256(parts[kind].encode()).hexdigest()[:40]}" for kind in LIMITS}


# ---------------------------------------------------------------- where the counts live

class DatabaseCounts:
    """The counts as rows of sign_in_counts, each taken with one guarded upsert."""

    def admit(self, keys: dict[str, str]) -> bool:
        now = int(time.time())
        try:
            with write_transaction():  # all limits or none: a refusal by the last undoes the others
                for kind, key in keys.items():
                    if not _count_one(key, LIMITS[kind], now):
                        raise _Refused
        except _Refused:
            return False
        return True

    def give_back(self, keys: dict[str, str]) -> None:
        now = int(time.time())
        with write_transaction():
            db.session.execute(sa.delete(SignInCount).where(SignInCount.key == keys["account+address"]))
            for kind in ("account", "address"):  # one at a time, in LIMITS' order (the lock order)
                db.session.execute(sa.update(SignInCount).where(SignInCount.key == keys[kind], SignInCount.checks > 0)
                                   .values(checks=SignInCount.checks - 1))
        with write_transaction():
            # Windows that have ended, left by attempts that never signed in. Rows another attempt holds
            # are skipped (PostgreSQL), not waited for: this sweep never blocks a sign-in.
            ended = (sa.select(SignInCount.key).where(SignInCount.window_ends <= now)
                     .with_for_update(skip_locked=True))
            db.session.execute(sa.delete(SignInCount).where(SignInCount.key.in_(ended)))


class _Refused(Exception):
    pass


def _count_one(key: str, limit: int, now: int) -> bool:
    """Add one check to `key`'s count unless it has reached `limit` in its window (an ended window
    starts again at one); whether it was added. One statement: the database makes it atomic (SQLite
    by its write lock, PostgreSQL by the row lock of ON CONFLICT DO UPDATE)."""
    if db.session.get_bind().dialect.name == "postgresql":
        from sqlalchemy.dialects.postgresql import insert
    else:
        from sqlalchemy.dialects.sqlite import insert
    row = SignInCount.__table__.c
    ended = row.window_ends <= now
    statement = insert(SignInCount).values(key=key, checks=1, window_ends=now + WINDOW_SECONDS)
    statement = statement.on_conflict_do_update(
        index_elements=[row.key],
        set_={"checks": sa.case((ended, 1), else_=row.checks + 1),
              "window_ends": sa.case((ended, statement.excluded.window_ends), else_=row.window_ends)},
        where=sa.or_(ended, row.checks < limit),
    ).returning(row.checks)
    return db.session.execute(statement).first() is not None


# Each script runs atomically inside Redis: no other client's command comes between its reads and writes.
_ADMIT = """
for i, key in ipairs(KEYS) do
  if tonumber(redis.call('GET', key) or '0') >= tonumber(ARGV[i + 1]) then return 0 end
end
for _, key in ipairs(KEYS) do
  if redis.call('INCR', key) == 1 then redis.call('EXPIRE', key, ARGV[1]) end
end
return 1
"""
_GIVE_BACK = """
redis.call('DEL', KEYS[1])
for i = 2, #KEYS do
  if tonumber(redis.call('GET', KEYS[i]) or '0') > 0 then redis.call('DECR', KEYS[i]) end
end
"""


class RedisCounts:
    """The counts as Redis keys that expire with their window, each step one Lua script."""

    def __init__(self, url: str, log: logging.Logger) -> None:
        import redis

        self.url, self.log = url, log
        self.errors = (redis.RedisError,)
        client = redis.Redis.from_url(url, socket_connect_timeout=REDIS_TIMEOUT_SECONDS,
                                      socket_timeout=REDIS_TIMEOUT_SECONDS)
        self._admit = client.register_script(_ADMIT)
        self._give_back = client.register_script(_GIVE_BACK)
        self._down_until = 0.0
        self._lock = threading.Lock()

    def admit(self, keys: dict[str, str]) -> bool:
        return bool(self._admit(keys=[f"oms:{key}" for key in keys.values()],
                                args=[WINDOW_SECONDS, *(LIMITS[kind] for kind in keys)]))

    def give_back(self, keys: dict[str, str]) -> None:
        try:
            self._give_back(keys=[f"oms:{keys[kind]}" for kind in ("account+address", "account", "address")])
        except self.errors as error:  # the person is signed in all the same; the counts run out with their window
            self.failed(error)

    def answering(self) -> bool:
        return time.monotonic() >= self._down_until

    def failed(self, error: Exception) -> None:
        with self._lock:
            if not self.answering():
                return  # another thread of this process has just said so
            self._down_until = time.monotonic() + REDIS_RETRY_SECONDS
        self.log.warning("Redis at %s did not answer (%s: %s): sign-in attempts are counted in the database; "
                    "trying Redis again in %g s", self.url.rpartition("@")[2], type(error).__name__, error,
                    REDIS_RETRY_SECONDS)


def _redis() -> RedisCounts | None:
    ext = current_app.extensions
    if "oms_sign_in_redis" not in ext:
        url = current_app.config.get("OMS_REDIS_URL")
        ext["oms_sign_in_redis"] = RedisCounts(url, current_app.logger) if url else None
    return ext["oms_sign_in_redis"]


# ---------------------------------------------------------------- what the sign-in page calls

@dataclass(frozen=True)
class Admitted:
    """An attempt that was counted and may have its password checked."""

    keys: dict[str, str]
    counted_in: DatabaseCounts | RedisCounts

    def signed_in(self) -> None:
        """The password was right: give back this attempt's counts and forget this address's failures
        on the account."""
        self.counted_in.give_back(self.keys)


def admit(email: str, address: str) -> Admitted | None:
    """Count an attempt to sign in to `email` from `address` against every limit, atomically, before
    any password is checked. Returns the admitted attempt, or None when a limit is reached (then
    nothing was counted). Falls back from Redis to the database when Redis does not answer."""
    keys = _keys(email, address)
    shared = _redis()
    if shared is not None and shared.answering():
        try:
            return Admitted(keys, shared) if shared.admit(keys) else None
        except shared.errors as error:
            shared.failed(error)
    database = DatabaseCounts()
    return Admitted(keys, database) if database.admit(keys) else None
