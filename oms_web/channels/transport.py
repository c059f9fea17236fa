"""HTTP to a marketplace: an OAuth access token kept fresh, and bounded, jittered back-off.

Both marketplaces hand out short-lived access tokens for a long-lived refresh token and throttle with
429. `Transport` does that part once; the clients (amazon, ebay) only say how to fetch a token, which
header carries it, and what the calls look like. The sleep and the clock are injectable so the tests
can exercise the back-off without waiting for it.
"""
from __future__ import annotations

import random
import re
import time
from collections.abc import Callable, Mapping
from email.utils import parsedate_to_datetime
from typing import Any
from urllib.parse import urlsplit

import requests

# Statuses worth another try after a pause: throttled, or the far end is briefly unwell.
RETRY_STATUSES = frozenset({429, 500, 502, 503, 504})
TOKEN_MARGIN_S = 60  # refresh this long before the token's stated expiry
# The longest pause a stated rate limit can ask for: getOrders refills one request a minute.
RATE_PAUSE_CAP_S = 120.0
RATE_LIMIT_HEADER = "x-amzn-RateLimit-Limit"  # Amazon's requests per second for that operation


class ChannelError(Exception):
    """A marketplace call failed; `status` is the HTTP status (None when the network failed)."""

    def __init__(self, message: str, *, status: int | None = None, retryable: bool = False):
        super().__init__(message)
        self.message = message
        self.status = status
        self.retryable = retryable


class Transport:
    """Sends requests to one marketplace with a valid access token, retrying what is worth retrying.

    `fetch_token(session)` returns (access token, seconds it lives); `auth_headers(token)` the headers
    that carry it. A 401 or 403 (an expired or revoked token) is answered with one token refresh and
    one more try. A 429 or 5xx, or a network failure, is retried up to `max_retries` times after an
    exponential, jittered pause that honours a Retry-After header when there is one. A 429 also waits
    at least as long as the operation's bucket takes to refill one request: its rate is the one the
    far end last stated for it (Amazon's x-amzn-RateLimit-Limit), else the documented one in `rates`
    (requests per second by operation, as `operation_of` names them).
    """

    def __init__(self, base_url: str, fetch_token: Callable[[requests.Session], tuple[str, int]],
                 auth_headers: Callable[[str], dict[str, str]], *, session: requests.Session | None = None,
                 sleep: Callable[[float], None] = time.sleep, clock: Callable[[], float] = time.monotonic,
                 max_retries: int = 5, backoff_base_s: float = 1.0, backoff_cap_s: float = 60.0,
                 timeout_s: float = 30.0, rates: Mapping[str, float] | None = None):
        if not base_url:
            raise ChannelError("The channel has no base URL: set it on the channel's page")
        self.base_url = base_url.rstrip("/")
        self.session = session or requests.Session()
        self._fetch_token = fetch_token
        self._auth_headers = auth_headers
        self.sleep = sleep
        self.clock = clock
        self.max_retries = max_retries
        self.backoff_base_s = backoff_base_s
        self.backoff_cap_s = backoff_cap_s
        self.timeout_s = timeout_s
        self.rates: dict[str, float] = dict(rates or {})
        self._token: str | None = None
        self._token_expires_at = 0.0
        self.token_refreshes = 0
        self.retries = 0

    # ------------------------------------------------------------------ token

    def access_token(self) -> str:
        if self._token is None or self.clock() >= self._token_expires_at:
            token, lifetime = self._fetch_token(self.session)
            self._token = token
            self._token_expires_at = self.clock() + max(int(lifetime) - TOKEN_MARGIN_S, 0)
            self.token_refreshes += 1
        return self._token

    def forget_token(self) -> None:
        self._token = None

    # ------------------------------------------------------------------ requests

    def url(self, path_or_url: str) -> str:
        if path_or_url.startswith(("http://", "https://")):
            # A paging link from the far end: follow it only to the host we were configured for,
            # so that the access token is never sent anywhere else.
            if urlsplit(path_or_url).netloc != urlsplit(self.base_url).netloc:
                raise ChannelError(f"The channel sent a link to another host: {path_or_url[:200]}")
            return path_or_url
        return self.base_url + path_or_url

    def request(self, method: str, path_or_url: str, *, params: Mapping[str, Any] | str | None = None,
                json: Any = None) -> requests.Response:
        """The response of a successful (2xx) call; raises ChannelError for anything else."""
        url = self.url(path_or_url)
        if isinstance(params, str):  # a query string already encoded the way the channel wants it
            url = f"{url}{'&' if '?' in url else '?'}{params}" if params else url
            params = None
        refreshed = False
        attempt = 0
        while True:
            try:
                response = self.session.request(method, url, params=params, json=json, timeout=self.timeout_s,
                                                headers=self._auth_headers(self.access_token()))
            except requests.RequestException as error:
                attempt = self._pause_or_give_up(attempt, None, f"{method} {url}: {error.__class__.__name__}")
                continue
            self._note_rate(url, response)
            if response.status_code in (401, 403) and not refreshed:
                self.forget_token()
                refreshed = True
                continue
            if response.status_code in RETRY_STATUSES:
                attempt = self._pause_or_give_up(attempt, response, f"{method} {url}: HTTP {response.status_code}")
                continue
            if response.status_code >= 400:
                raise ChannelError(f"{method} {urlsplit(url).path}: HTTP {response.status_code}: "
                                   f"{error_text(response)}", status=response.status_code,
                                   retryable=response.status_code in (408, 409))
            return response

    def request_json(self, method: str, path_or_url: str, **kwargs: Any) -> Any:
        """`request`, and the body read as JSON; ChannelError when it is not JSON."""
        response = self.request(method, path_or_url, **kwargs)
        try:
            return response.json()
        except ValueError:
            raise ChannelError(f"{method} {urlsplit(response.url or path_or_url).path} answered with something "
                               f"that is not JSON: {(response.text or '')[:100]!r}") from None

    def _pause_or_give_up(self, attempt: int, response: requests.Response | None, what: str) -> int:
        attempt += 1
        if attempt > self.max_retries:
            detail = f": {error_text(response)}" if response is not None else ""
            raise ChannelError(f"{what}, still failing after {self.max_retries} retries{detail}",
                               status=response.status_code if response is not None else None, retryable=True)
        self.retries += 1
        self.sleep(self.backoff_delay(attempt, response))
        return attempt

    def backoff_delay(self, attempt: int, response: requests.Response | None) -> float:
        """Exponential with full jitter over its upper half, never less than the server asked for, and
        after a 429 never less than the operation's bucket takes to refill one request."""
        ceiling = min(self.backoff_cap_s, self.backoff_base_s * 2 ** (attempt - 1))
        delay = ceiling * (0.5 + random.random() / 2)
        asked = retry_after_s(response) if response is not None else None
        if asked is not None:
            delay = max(delay, min(asked, self.backoff_cap_s))
        if response is not None and response.status_code == 429:
            rate = self.rates.get(operation_of(response.request.path_url if response.request else ""))
            if rate:
                delay = max(delay, min(1 / rate, RATE_PAUSE_CAP_S))
        return delay

    def _note_rate(self, url: str, response: requests.Response) -> None:
        stated = response.headers.get(RATE_LIMIT_HEADER)
        try:
            rate = float(stated) if stated else 0.0
        except ValueError:
            return
        if rate > 0:
            self.rates[operation_of(url)] = rate


def operation_of(url: str) -> str:
    """The operation a call is, for its rate limit: its path with the ids in it (a segment with a digit
    that is not a version like v0) left out, e.g. /orders/v0/orders/{id}/orderItems."""
    path = urlsplit(url).path
    return "/".join("{id}" if re.search(r"\d", part) and not re.fullmatch(r"v\d+", part) else part
                    for part in path.split("/"))


def retry_after_s(response: requests.Response) -> float | None:
    """The pause a Retry-After header asks for, in seconds (it may be a number or an HTTP date)."""
    value = (response.headers.get("Retry-After") or "").strip()
    if not value:
        return None
    try:
        return max(float(value), 0.0)
    except ValueError:
        pass
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(when.timestamp() - time.time(), 0.0)


def error_text(response: requests.Response) -> str:
    """The far end's own words for an error: both marketplaces send {errors: [{code, message, ...}]}."""
    try:
        body = response.json()
    except ValueError:
        return (response.text or response.reason or "").strip()[:300]
    errors = body.get("errors") if isinstance(body, dict) else None
    if isinstance(errors, list) and errors:
        parts = []
        for error in errors[:3]:
            if isinstance(error, dict):
                words = [str(error.get(k)) for k in ("code", "errorId", "message", "longMessage", "details")
                         if error.get(k)]
                parts.append(" ".join(words))
        if parts:
            return "; ".join(parts)[:300]
    if isinstance(body, dict) and body.get("error"):  # OAuth token endpoints
        return f"{body.get('error')} {body.get('error_description', '')}".strip()[:300]
    return str(body)[:300]


def token_from(response: requests.Response, what: str) -> tuple[str, int]:
    """(access_token, expires_in) from an OAuth token response, or ChannelError."""
    if response.status_code != 200:
        raise ChannelError(f"{what} refused the credentials: HTTP {response.status_code}: {error_text(response)}",
                           status=response.status_code, retryable=response.status_code in RETRY_STATUSES)
    try:
        body = response.json()
        return str(body["access_token"]), int(body.get("expires_in") or 3600)
    except (ValueError, KeyError, TypeError):
        raise ChannelError(f"{what} answered without an access token") from None


def require_credentials(settings: Mapping[str, Any], names: tuple[str, ...], channel_name: str) -> dict[str, str]:
    credentials = settings.get("credentials") or {}
    missing = [name for name in names if not credentials.get(name)]
    if missing:
        raise ChannelError(f"{channel_name} has no {', '.join(missing)}: set the credentials on the channel's page")
    return {name: str(credentials[name]) for name in names}
