"""The sign-in form's bounds and its throttle, on SQLite and PostgreSQL: bad fields are refused before
anything counts them; failures are limited per account and address under a higher per-account
ceiling; an unknown email costs what a known one does; Redis down falls back to the database."""
from __future__ import annotations

import html
import logging
import statistics
import time
import uuid

import pytest
import sqlalchemy as sa
from werkzeug.security import generate_password_hash

from oms_web.auth import throttle
from oms_web.auth.forms import EMAIL_MAX_LENGTH, PASSWORD_MAX_LENGTH
from oms_web.extensions import db
from oms_web.models import SignInCount

from .conftest import PASSWORD, Auth, WebClient, state

TOO_MANY = "Too many failed sign-ins"
WRONG = "Wrong email or password."


@pytest.fixture
def web_app(app):
    """These tests run on both databases: PostgreSQL refuses a NUL byte and an over-long value that
    SQLite would take."""
    app.test_client_class = WebClient
    return app


def _from(web_app, address: str) -> Auth:
    """Sign-in attempts from a browser at `address`."""
    client = web_app.test_client()
    client.environ_base["REMOTE_ADDR"] = address
    return Auth(client)


def _counted() -> int:
    db.session.rollback()
    return db.session.scalar(sa.select(sa.func.count()).select_from(SignInCount))


def _says(response, status: int, message: str) -> None:
    body = html.unescape(response.get_data(as_text=True))
    assert response.status_code == status, body[:800]
    assert message in body


# ---------------------------------------------------------------- the form's bounds

def test_a_sign_in_over_the_request_limit_is_refused_before_it_is_read(shop, client, auth):
    before = state(shop)
    response = auth.login("x" * 5_000_000, PASSWORD)
    assert response.status_code == 413
    assert state(shop) == before and _counted() == 0


LONG_EMAIL = f"An email has at most {EMAIL_MAX_LENGTH} characters."
LONG_PASSWORD = f"A password has at most {PASSWORD_MAX_LENGTH:,} characters."


@pytest.mark.parametrize(("email", "password", "field", "message"), [
    ("a" * (EMAIL_MAX_LENGTH - 11) + "@example.com", PASSWORD, "email", LONG_EMAIL),
    ("x" * 400_000, PASSWORD, "email", LONG_EMAIL),  # under the form limit: the field's own bound refuses it
    ("staff@example.com", "p" * (PASSWORD_MAX_LENGTH + 1), "password", LONG_PASSWORD),
    ("", PASSWORD, "email", "Enter your email."),
])
def test_a_bad_field_is_refused_with_its_message_before_anything_counts_it(shop, client, auth, email, password,
                                                                            field, message):
    before = state(shop)
    response = auth.login(email, password)
    _says(response, 422, message)
    assert f'<p class="field-error" id="e-{field}">{html.escape(message)}</p>' in response.get_data(as_text=True), \
        "the message is not next to its field"
    assert len(response.get_data()) < 20_000, "the refused value is not echoed back"
    assert state(shop) == before
    assert _counted() == 0, "a refused field reached the throttle's counts"
    assert client.get("/orders").status_code == 302


@pytest.mark.parametrize(("email", "password", "field"), [
    ("staff\x00@example.com", PASSWORD, "email"),
    ("staff@example.com", "correct horse\x00battery", "password"),
])
def test_a_nul_in_a_sign_in_field_is_refused_before_anything_counts_it(shop, auth, email, password, field):
    before = state(shop)
    _says(auth.login(email, password), 400, f"The field “{field}” holds a NUL character")
    assert state(shop) == before
    assert _counted() == 0, "a refused field reached the throttle's counts"


def test_an_email_of_the_columns_length_is_taken(shop, auth):
    email = "a" * (EMAIL_MAX_LENGTH - 12) + "@example.com"
    _says(auth.login(email), 401, WRONG)  # within the bound: an ordinary wrong sign-in
    assert _counted() == len(throttle.LIMITS)


@pytest.mark.parametrize(("field", "value", "message"), [
    ("confirm_password", "p" * (PASSWORD_MAX_LENGTH + 1), LONG_PASSWORD),
    ("new_password", "p" * 400_000, LONG_PASSWORD),
])
def test_a_password_change_with_a_bad_field_is_refused_with_its_message(shop, sign_in, field, value, message):
    browser = sign_in(shop.staff)
    form = {"current_password": PASSWORD, "new_password": "a new long password",
            "confirm_password": "a new long password"}
    before = state(shop)
    response = browser.post_form("/account/password", {**form, field: value})
    _says(response, 422, message)
    assert f'aria-describedby="e-{field}"' in response.get_data(as_text=True), "the message is not next to its field"
    assert state(shop) == before


# ---------------------------------------------------------------- the throttle

def test_five_failures_from_one_address_lock_that_address_out_of_that_account_only(web_app, shop):
    guesser, owner = _from(web_app, "203.0.113.66"), _from(web_app, "198.51.100.7")
    for _ in range(5):
        _says(guesser.login(shop.staff.email, "a guess"), 401, WRONG)
    _says(guesser.login(shop.staff.email), 401, TOO_MANY)
    for _ in range(20):  # hammering on after the refusal counts nowhere
        _says(guesser.login(shop.staff.email, "a guess"), 401, TOO_MANY)
    assert guesser.client.get("/orders").status_code == 302, "the throttled sign-in must not sign in"
    assert owner.login(shop.staff.email).status_code == 302, "one address locked the account for everyone"
    assert guesser.login(shop.manager.email).status_code == 302, "other accounts stay open from that address"


def test_failures_spread_over_many_addresses_meet_the_accounts_ceiling(web_app, shop):
    per_address, ceiling = throttle.LIMITS["account+address"], throttle.LIMITS["account"]
    for n in range(ceiling // per_address):
        guesser = _from(web_app, f"203.0.113.{n + 1}")
        for _ in range(per_address):
            _says(guesser.login(shop.staff.email, "a guess"), 401, WRONG)
    _says(_from(web_app, "198.51.100.7").login(shop.staff.email), 401, TOO_MANY)


def test_one_address_trying_many_accounts_meets_its_own_limit(web_app, shop):
    sprayer = _from(web_app, "203.0.113.99")
    for n in range(throttle.LIMITS["address"]):
        _says(sprayer.login(f"person{n}@example.com", "Summer2026!"), 401, WRONG)
    _says(sprayer.login(shop.staff.email), 401, TOO_MANY)
    assert _from(web_app, "198.51.100.7").login(shop.staff.email).status_code == 302


def test_signing_in_gives_the_attempts_count_back(web_app, shop):
    person = _from(web_app, "198.51.100.7")
    for _ in range(2):
        for _ in range(4):
            _says(person.login(shop.staff.email, "a typo"), 401, WRONG)
        assert person.login(shop.staff.email).status_code == 302
        person.logout()
    db.session.rollback()
    checks = dict(db.session.execute(sa.select(SignInCount.key, SignInCount.checks)).all())
    keys = throttle._keys(shop.staff.email, "198.51.100.7")
    assert keys["account+address"] not in checks, "a sign-in forgets its address's failures on the account"
    assert checks[keys["account"]] == 8 and checks[keys["address"]] == 8, "only the failures stay counted"


def test_an_ended_window_starts_again(web_app, shop):
    guesser = _from(web_app, "203.0.113.66")
    for _ in range(5):
        guesser.login(shop.staff.email, "a guess")
    _says(guesser.login(shop.staff.email), 401, TOO_MANY)
    db.session.execute(sa.update(SignInCount).values(window_ends=int(time.time()) - 1))
    db.session.commit()
    assert guesser.login(shop.staff.email).status_code == 302


# ---------------------------------------------------------------- the same work for every email

def test_an_unknown_email_takes_as_long_as_a_known_one(shop, auth):
    """The known account's hash is made as set_password makes it in production (the other tests' users
    have cheap ones); an unknown email must cost a password check of the same kind."""
    shop.staff.password_hash = generate_password_hash(PASSWORD)
    shop.manager.password_hash = generate_password_hash(PASSWORD)
    shop.manager.active = False
    db.session.commit()

    def timed(email: str) -> float:
        started = time.perf_counter()
        _says(auth.login(email, "a wrong password"), 401, WRONG)
        return time.perf_counter() - started

    timed("warm.up@example.com")
    known = [timed(shop.staff.email) for _ in range(3)]
    unknown = [timed(f"nobody{n}@example.com") for n in range(3)]
    disabled = [timed(shop.manager.email) for _ in range(2)]
    assert statistics.median(unknown) > 0.6 * statistics.median(known), (known, unknown)
    assert statistics.median(disabled) > 0.6 * statistics.median(known), (known, disabled)
    assert statistics.median(unknown) < 1.7 * statistics.median(known), (known, unknown)


def test_the_unknown_accounts_hash_is_made_the_way_set_password_makes_one():
    """set_password takes werkzeug's default method (the other tests patch in a cheap one)."""
    from oms_web.auth.passwords import NO_ONES_HASH

    assert NO_ONES_HASH.split("$")[0] == generate_password_hash("anything").split("$")[0]


# ---------------------------------------------------------------- Redis

def test_with_redis_down_sign_in_counts_in_the_database_and_says_so_once(web_app, shop, caplog):
    web_app.config["OMS_REDIS_URL"] = "redis://127.0.0.1:1/0"  # nothing listens on port 1
    web_app.extensions.pop("oms_sign_in_redis", None)
    guesser, owner = _from(web_app, "203.0.113.66"), _from(web_app, "198.51.100.7")
    with caplog.at_level(logging.WARNING, logger=web_app.logger.name):
        for _ in range(5):
            _says(guesser.login(shop.staff.email, "a guess"), 401, WRONG)
        _says(guesser.login(shop.staff.email), 401, TOO_MANY)
        assert owner.login(shop.staff.email).status_code == 302
    assert _counted() > 0, "the counts went to the database"
    said = [r.getMessage() for r in caplog.records if "Redis" in r.getMessage()]
    assert len(said) == 1 and "counted in the database" in said[0], said


def test_redis_is_tried_again_after_its_outage(web_app, shop):
    import redis as redis_client

    url = "redis://127.0.0.1:6379/15"
    try:
        redis_client.Redis.from_url(url).ping()
    except redis_client.exceptions.ConnectionError:
        pytest.skip("Redis is not running on 127.0.0.1:6379 (the machine starts it; CI has it)")
    web_app.config["OMS_REDIS_URL"] = url
    web_app.extensions.pop("oms_sign_in_redis", None)
    shared = throttle._redis()
    shared.failed(redis_client.exceptions.ConnectionError("gone for a moment"))
    shop.staff.email = f"{uuid.uuid4().hex}@example.com"  # a fresh account: Redis's counts outlive a test run
    db.session.commit()
    person = _from(web_app, "198.51.100.7")
    _says(person.login(shop.staff.email, "a typo"), 401, WRONG)
    assert _counted() == len(throttle.LIMITS), "while Redis is marked down, the database counts"
    shared._down_until = 0.0  # the retry period is over
    _says(person.login(shop.staff.email, "a typo"), 401, WRONG)
    assert _counted() == len(throttle.LIMITS), "Redis answers again: it counts"
