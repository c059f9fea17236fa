"""Settings: defaults here, then instance/config.py, then OMS_* environment variables.

No secret lives in the code: without OMS_SECRET_KEY, a random key is made on first run and kept in
instance/secret_key (readable by the owner only), so every worker process of a site shares it.
"""
from __future__ import annotations

import os
import secrets
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

ENVIRONMENT_SETTINGS = {
    "OMS_DATABASE_URL": "SQLALCHEMY_DATABASE_URI",
    "OMS_SECRET_KEY": "SECRET_KEY",
    "OMS_REDIS_URL": "OMS_REDIS_URL",
    "OMS_DEFAULT_TAX_RATE_BP": "OMS_DEFAULT_TAX_RATE_BP",
    "OMS_HTMX": "OMS_HTMX",
    "OMS_PROXIES": "OMS_PROXIES",
    "OMS_TIMEZONE": "OMS_TIMEZONE",
    "OMS_QUEUE_PATH": "OMS_QUEUE_PATH",
    "OMS_QUEUE_NAME": "OMS_QUEUE_NAME",
    "OMS_JOB_LEASE_SECONDS": "OMS_JOB_LEASE_SECONDS",
    "OMS_JOB_RETRY_DELAY_SECONDS": "OMS_JOB_RETRY_DELAY_SECONDS",
    "OMS_SYNC_EVERY_MINUTES": "OMS_SYNC_EVERY_MINUTES",
    "OMS_MAX_REQUEST_BYTES": "MAX_CONTENT_LENGTH",
    "OMS_MAX_REPORT_BYTES": "OMS_MAX_REPORT_BYTES",
    "OMS_SMTP_HOST": "OMS_SMTP_HOST",
    "OMS_SMTP_PORT": "OMS_SMTP_PORT",
    "OMS_SMTP_USER": "OMS_SMTP_USER",
    "OMS_SMTP_PASSWORD": "OMS_SMTP_PASSWORD",
    "OMS_SMTP_STARTTLS": "OMS_SMTP_STARTTLS",
    "OMS_MAIL_FROM": "OMS_MAIL_FROM",
    "OMS_PUBLIC_URL": "OMS_PUBLIC_URL",
    "OMS_CARRIER_CALLS_PER_SECOND": "OMS_CARRIER_CALLS_PER_SECOND",
    "OMS_CARRIER_CONCURRENCY": "OMS_CARRIER_CONCURRENCY",
    "OMS_CARRIER_TIMEOUT_SECONDS": "OMS_CARRIER_TIMEOUT_SECONDS",
}

# Settings that are byte counts: taken from the environment as whole numbers (an "MB" is for the README).
BYTE_SETTINGS = ("MAX_CONTENT_LENGTH", "OMS_MAX_REPORT_BYTES", "MAX_FORM_MEMORY_SIZE")


def defaults(instance_path: str) -> dict[str, Any]:
    return {
        "SQLALCHEMY_DATABASE_URI": f"sqlite:///{Path(instance_path) / 'oms.sqlite3'}",
        "SQLALCHEMY_ENGINE_OPTIONS": {"pool_pre_ping": True},
        "OMS_DEFAULT_TAX_RATE_BP": 0,
        # The shop's time zone (an IANA name such as Europe/London): the screens and documents show
        # times in it, with its abbreviation. The database keeps UTC.
        "OMS_TIMEZONE": "UTC",
        "OMS_SELLER": {"name": "Demo Retail Ltd", "address": ["1 Warehouse Way", "Springfield", "US"],
                       "tax_id": "US-000000000", "logo": None},
        "OMS_SHIP_FROM": {"name": "Demo Retail Ltd", "line1": "1 Warehouse Way", "city": "Springfield",
                          "region": "IL", "postal_code": "62701", "country": "US"},
        # htmx from static/vendor/ (it ships with the project), or "cdn": the same pinned file from
        # jsDelivr. Local by default: the UI then works with no internet and the CSP names no other host.
        "OMS_HTMX": "local",
        # The task queue (oms_web/tasks.py): its SQLite file, unless OMS_REDIS_URL puts it on Redis; its
        # name there (workers share a queue by name); how long a running job may go without a heartbeat
        # before it is taken for dead and run again; the first retry's pause (doubled each time).
        "OMS_QUEUE_PATH": str(Path(instance_path) / "queue.sqlite3"),
        "OMS_QUEUE_NAME": "oms_web",
        "OMS_JOB_LEASE_SECONDS": 60,
        "OMS_JOB_RETRY_DELAY_SECONDS": 10,
        # How often a marketplace channel (Amazon, eBay) is pulled, unless its settings say (sync_every_minutes).
        "OMS_SYNC_EVERY_MINUTES": 5,
        # A board left open all day must still be able to post: the token lives as long as the session.
        "WTF_CSRF_TIME_LIMIT": None,
        "SESSION_COOKIE_HTTPONLY": True,
        "SESSION_COOKIE_SAMESITE": "Lax",
        # Every request body is bounded before it is read (web.bound_request): a body declared larger is
        # refused with 413 at once, a chunked one as soon as it passes the limit. Orders, webhooks and
        # forms are far below 4 MB; only the report-file upload takes more, with its own limit.
        "MAX_CONTENT_LENGTH": 4 * 1024 * 1024,
        "OMS_MAX_REPORT_BYTES": 50 * 1024 * 1024,
        # A form's text fields are held in memory: each at most this, and at most this many parts.
        "MAX_FORM_MEMORY_SIZE": 500_000,
        "MAX_FORM_PARTS": 1_000,
        # The log says once per this many seconds that a kind of failure (the database not answering, a
        # bug) happened, and how often since: an outage under load must not write a traceback per request.
        "OMS_FAILURE_LOG_SECONDS": 10,
        # Customer emails (oms_web/mail.py): the SMTP server and the sender.
        "OMS_SMTP_HOST": "127.0.0.1",
        "OMS_SMTP_PORT": 25,
        "OMS_SMTP_USER": None,
        "OMS_SMTP_PASSWORD": None,
        "OMS_SMTP_STARTTLS": False,
        "OMS_SMTP_TIMEOUT_SECONDS": 20,
        "OMS_MAIL_FROM": "Demo Retail <orders@example.com>",
        # The label service (oms_web/carriers/): its calls a second from each process (its rate limit),
        # how many run at once in a bulk purchase, how long one may take, and how old a signed webhook
        # event may be before it is refused as stale (a replay).
        "OMS_CARRIER_CALLS_PER_SECOND": 50,
        "OMS_CARRIER_CONCURRENCY": 16,
        "OMS_CARRIER_TIMEOUT_SECONDS": 15,
        "OMS_CARRIER_WEBHOOK_MAX_AGE_SECONDS": 3 * 24 * 3600,
        # How long a drop-ship supplier's signed link (domain.drop_ship) confirms its shipment.
        "OMS_SUPPLIER_LINK_MAX_AGE_DAYS": 30,
        # The site's address as people outside reach it (https://oms.example.com), for the links in emails and
        # PDFs made by the task queue (a drop-ship supplier's link). Empty: a request's own address, and
        # http://localhost:5000 outside a request.
        "OMS_PUBLIC_URL": "",
    }


def from_environment() -> dict[str, Any]:
    settings: dict[str, Any] = {}
    for variable, key in ENVIRONMENT_SETTINGS.items():
        if os.environ.get(variable):
            settings[key] = os.environ[variable]
    return settings


def normalise_database_url(url: str) -> str:
    """postgres:// and postgresql:// both mean PostgreSQL through psycopg 3."""
    for prefix in ("postgres://", "postgresql://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix):]
    return url


def instance_secret_key(instance_path: str) -> str:
    path = Path(instance_path) / "secret_key"
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as handle:
            handle.write(secrets.token_hex(32))
    return path.read_text().strip()


def time_zone(name: Any) -> ZoneInfo:
    """The shop's time zone from its IANA name; a name that is not one stops the app with a clear message."""
    if isinstance(name, ZoneInfo):
        return name
    try:
        return ZoneInfo(str(name))
    except (ZoneInfoNotFoundError, ValueError):
        raise RuntimeError(f"OMS_TIMEZONE={name!r} is not a time zone name (try Europe/London or America/New_York)") from None


def byte_count(name: str, value: Any) -> int:
    """A size limit in bytes: a whole number above zero, else the app stops with a clear message (a
    typo must not lift the limit)."""
    text = str(value).strip().replace("_", "")
    if not text.isascii() or not text.isdigit() or int(text) <= 0:
        raise RuntimeError(f"{name}={value!r} is not a number of bytes (for 8 MB write 8388608)")
    return int(text)
