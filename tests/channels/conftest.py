"""Fixtures of the channel tests: the fake marketplaces (one server each for the session, reset for
every test) and channels pointed at them."""
from __future__ import annotations

import pytest

from oms_web.extensions import db
from oms_web.models import ChannelKind, SalesChannel

from .fakes import AMAZON_CREDENTIALS, EBAY_CREDENTIALS, MARKETPLACE_ID, FakeAmazon, FakeEbay, FakeServer


@pytest.fixture(scope="session")
def _amazon_server():
    fake = FakeAmazon()
    server = FakeServer(fake.app())
    yield fake, server
    server.stop()


@pytest.fixture(scope="session")
def _ebay_server():
    fake = FakeEbay()
    server = FakeServer(fake.app())
    yield fake, server
    server.stop()


@pytest.fixture
def amazon_fake(_amazon_server) -> FakeAmazon:
    fake, server = _amazon_server
    fake.reset()
    fake.url = server.url
    return fake


@pytest.fixture
def ebay_fake(_ebay_server) -> FakeEbay:
    fake, server = _ebay_server
    fake.reset()
    fake.url = server.url
    return fake


def _channel(name: str, kind: ChannelKind, settings: dict) -> SalesChannel:
    channel = SalesChannel(name=name, kind=kind, settings=settings)
    db.session.add(channel)
    db.session.commit()
    return channel


@pytest.fixture
def amazon(shop, amazon_fake) -> SalesChannel:
    """An Amazon channel whose SP-API and LWA endpoints are the fake."""
    return _channel("Amazon UK", ChannelKind.AMAZON, {
        "base_url": amazon_fake.url, "token_url": f"{amazon_fake.url}/auth/o2/token",
        "marketplace_id": MARKETPLACE_ID, "credentials": dict(AMAZON_CREDENTIALS),
        "sync_cursor": "2026-10-01T00:00:00Z"})


@pytest.fixture
def ebay(shop, ebay_fake) -> SalesChannel:
    """An eBay channel whose API and token endpoint are the fake."""
    return _channel("eBay US", ChannelKind.EBAY, {
        "base_url": ebay_fake.url, "credentials": dict(EBAY_CREDENTIALS),
        "sync_cursor": "2026-10-01T00:00:00.000Z"})
