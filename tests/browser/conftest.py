"""Browser tests: the real app served on a local port, driven through Debian's Chromium by Playwright.

`live_server` runs the app (htmx served locally, a migrated SQLite file) in a background thread for
the whole session; `shop` empties its database before each test and makes users, products and orders
through the services; `open_page()` gives a fresh browser context (its own cookies) that fails the
test when the page logged an error to the console: a script error, a CSP violation, a failed request.
"""
from __future__ import annotations

import itertools
import re
import threading
import weakref
from collections.abc import Iterator
from pathlib import Path

import pytest
from flask_migrate import upgrade
from playwright.sync_api import Browser, BrowserContext, Page, expect, sync_playwright
from werkzeug.security import generate_password_hash
from werkzeug.serving import make_server

from oms_web import create_app
from oms_web.domain import orders
from oms_web.domain.orders import CustomerDetails, LineRequest, NewOrder
from oms_web.extensions import db
from oms_web.models import Order, PaymentStatus, Product, Role, User

from ..conftest import empty_database, test_config
from ..shop import Shop

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
                 "--no-first-run"]
PASSWORD = "correct horse battery"  # every Shop user's
SCREENSHOTS = Path(__file__).resolve().parent.parent / "screenshots"
VIEWPORT = {"width": 1280, "height": 800}
PHONE = {"width": 390, "height": 844}  # a phone held upright: open_page(viewport=PHONE)
TIMEOUT_MS = 5_000

expect.set_options(timeout=TIMEOUT_MS)


class LiveServer:
    def __init__(self, app, host: str = "127.0.0.1") -> None:
        self.app = app
        self._server = make_server(host, 0, app, threaded=True)
        self.url = f"http://{host}:{self._server.server_port}"
        self._thread = threading.Thread(target=self._server.serve_forever, name="live-server", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._server.shutdown()
        self._thread.join(timeout=10)


@pytest.fixture(scope="session")
def live_server(tmp_path_factory) -> Iterator[LiveServer]:
    url = f"sqlite:///{tmp_path_factory.mktemp('browser') / 'oms-browser.sqlite3'}"
    app = create_app(test_config(url))  # htmx as a site gets it by default: from static/vendor/
    if not (Path(app.static_folder) / "vendor" / "htmx.min.js").exists():
        pytest.fail("static/vendor/htmx.min.js is missing: it ships with the project")
    with app.app_context():
        upgrade()
    server = LiveServer(app)
    server.start()
    yield server
    server.stop()


PRODUCT_NAMES = {"MUG-BLUE": "Enamel mug, blue", "TEE-M": "Organic T-shirt, M", "LAMP-OAK": "Desk lamp, oak",
                 "CAP-RED": "Baseball cap, red", "SOCKS-WOOL": "Merino socks"}
_web_order_ids = itertools.count(1001)
_user_numbers = itertools.count(1)


class LiveShop(Shop):
    """Shop, for data the server changes: every read starts a new transaction, so it sees what the
    server committed since (SQLite keeps a reader on its first snapshot)."""

    def user(self, role: Role, email: str | None = None) -> User:
        # A cheap hash: the app's default (scrypt) takes a third of a second, for each of three users a test.
        user = User(email=email or f"{role.value}{next(_user_numbers)}@example.com", name=role.value.title(), role=role,
                    password_hash=generate_password_hash(PASSWORD, method="pbkdf2:sha256:1000"))
        db.session.add(user)
        db.session.commit()
        return user

    def product(self, sku: str, in_hand: int = 0, price_cents: int = 1000, tax_rate_bp: int | None = None) -> Product:
        product = super().product(sku, in_hand, price_cents, tax_rate_bp)
        if sku in PRODUCT_NAMES:  # the screenshots read better with a shop's own words
            product.name = PRODUCT_NAMES[sku]
            db.session.commit()
        return product

    def fresh(self) -> None:
        db.session.rollback()

    def order_row(self, order_id: int) -> Order:
        self.fresh()
        return super().order_row(order_id)

    def product_row(self, sku: str):
        self.fresh()
        return super().product_row(sku)

    def user_row(self, user_id: int) -> User:
        self.fresh()
        return db.session.get(User, user_id)

    def snapshot(self) -> dict:
        self.fresh()
        return super().snapshot()

    def order_for(self, name: str, *lines: tuple[str, int], payment: PaymentStatus = PaymentStatus.PAID) -> Order:
        """A web store order from the named customer (so the board shows more than one name)."""
        email = name.lower().replace(" ", ".") + "@example.com"
        return orders.create_order(None, NewOrder(
            channel_id=self.web.id, channel_order_id=f"WEB-{next(_web_order_ids)}",
            customer=CustomerDetails(name=name, email=email, ship_to={
                "name": name, "line1": "1 Main St", "city": "Springfield", "postal_code": "62701", "country": "US"}),
            lines=[LineRequest(sku, qty) for sku, qty in lines], payment_status=payment))


@pytest.fixture
def shop(live_server) -> Iterator[LiveShop]:
    """The live server's database, emptied, with an admin, a manager, a staff user and two channels."""
    with live_server.app.app_context():
        empty_database()
        yield LiveShop()
        db.session.remove()


@pytest.fixture(scope="session")
def browser() -> Iterator[Browser]:
    if not Path(CHROMIUM).exists():
        pytest.fail(f"{CHROMIUM} is missing: `make test` installs Debian's chromium package")
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        yield browser
        browser.close()


class ConsoleWatch:
    """Every error a page logs. A response a test expects to be refused may be allowed by its status."""

    def __init__(self, page: Page) -> None:
        self.errors: list[str] = []
        self.allowed_statuses: set[int] = set()
        page.on("console", lambda message: message.type == "error" and self.errors.append(message.text))
        page.on("pageerror", lambda error: self.errors.append(f"uncaught {error}"))

    def allow(self, *statuses: int) -> None:
        self.allowed_statuses.update(statuses)

    def unexpected(self) -> list[str]:
        def allowed(text: str) -> bool:
            status = re.match(r"Failed to load resource: the server responded with a status of (\d+)", text)
            return bool(status) and int(status[1]) in self.allowed_statuses

        return [text for text in self.errors if not allowed(text)]


_watches: weakref.WeakKeyDictionary[Page, ConsoleWatch] = weakref.WeakKeyDictionary()


def allow_refusals(page: Page, *statuses: int) -> None:
    """The test expects responses with these statuses (a wrong password, a refused edit): not console errors."""
    _watches[page].allow(*statuses)


@pytest.fixture
def open_page(browser, live_server, shop) -> Iterator:
    """open_page() -> a page in a new browser context (its own cookies: another person's browser);
    open_page(beside=page) -> another tab of the same browser; open_page(java_script_enabled=False) and
    other Playwright context options -> a browser set up so. Console errors are checked at the end."""
    contexts: list[BrowserContext] = []

    def open_(beside: Page | None = None, **context_options) -> Page:
        if beside is not None:
            context = beside.context
        else:
            context = browser.new_context(base_url=live_server.url, **{"viewport": VIEWPORT, **context_options})
            context.set_default_timeout(TIMEOUT_MS)
            contexts.append(context)
        page = context.new_page()
        _watches[page] = ConsoleWatch(page)
        return page

    yield open_
    errors = [error for context in contexts for page in context.pages for error in _watches[page].unexpected()]
    for context in contexts:
        context.close()
    assert errors == [], "the browser console logged errors"


@pytest.fixture
def page(open_page) -> Page:
    return open_page()


def sign_in(page: Page, user: User, then: str = "/orders") -> None:
    """Sign in by posting the sign-in form from the page's browser (so the session cookie is its own),
    without drawing the form, then open `then`. test_sign_in drives the form itself."""
    form = page.request.get("/login")
    token = re.search(r'name="csrf_token" value="([^"]+)"', form.text())[1]
    response = page.request.post("/login", form={"csrf_token": token, "email": user.email, "password": PASSWORD},
                                 max_redirects=0)
    assert response.status == 302, f"signing in {user.email} failed: {response.status}"
    page.goto(then)


def screenshot(page: Page, name: str) -> Path:
    """Save the whole page as tests/screenshots/<name>.png (the README's come from here: `make screenshots`)."""
    SCREENSHOTS.mkdir(exist_ok=True)
    path = SCREENSHOTS / f"{name}.png"
    # caret="initial": hiding the caret means injecting a style, which the app's CSP rightly refuses.
    page.screenshot(path=str(path), full_page=True, caret="initial")
    return path


def mark_window(page: Page) -> None:
    """Set a variable on the window: it survives an in-place swap and is gone after a full page load."""
    page.evaluate("window.omsMarker = 'still the same page'")


def same_window(page: Page) -> bool:
    return page.evaluate("window.omsMarker") == "still the same page"
