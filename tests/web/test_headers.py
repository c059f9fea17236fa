"""Security headers on every kind of response, and htmx's configuration in the page."""
from __future__ import annotations

import html
import json
import re

import pytest


def _csp(response) -> dict[str, str]:
    policy = response.headers["Content-Security-Policy"]
    return {part.split()[0]: part.strip() for part in policy.split(";") if part.strip()}


@pytest.fixture
def responses(shop, client, as_staff):
    """A page, a fragment, a redirect, a refusal, a not-found and a sign-in page."""
    shop.product("A", in_hand=1)
    return {
        "page": as_staff.get("/orders"),
        "fragment": as_staff.htmx_get("/orders?segment=ready_to_ship"),
        "redirect": as_staff.get("/"),
        "forbidden": as_staff.get("/users"),
        "not found": as_staff.get("/orders/999"),
        "sign-in page": client.get("/login"),
        "signed-out htmx": client.htmx_get("/orders"),
    }


def test_every_response_varies_on_hx_request(responses):
    for name, response in responses.items():
        assert "HX-Request" in response.headers.get("Vary", ""), name


def test_the_content_security_policy_allows_no_inline_script_nor_framing(responses):
    for name, response in responses.items():
        policy = response.headers["Content-Security-Policy"]
        assert "'unsafe-inline'" not in policy and "'unsafe-eval'" not in policy, name
        directives = _csp(response)
        assert directives["frame-ancestors"] == "frame-ancestors 'none'", name
        assert directives["default-src"] == "default-src 'self'", name
        assert directives["object-src"] == "object-src 'none'", name


def test_sniffing_and_referrers_are_limited(responses):
    for name, response in responses.items():
        assert response.headers["X-Content-Type-Options"] == "nosniff", name
        assert response.headers.get("Referrer-Policy"), name


def test_signed_in_pages_are_not_cached(responses):
    assert "no-store" in responses["page"].headers["Cache-Control"]
    assert "no-store" in responses["fragment"].headers["Cache-Control"]


def test_htmx_is_configured_to_talk_only_to_this_site_and_never_evaluate(as_staff):
    page = as_staff.get("/orders").get_data(as_text=True)
    found = re.search(r"<meta name=\"htmx-config\" content='([^']+)'>", page)
    assert found, "the page has no htmx-config meta"
    config = json.loads(html.unescape(found.group(1)))
    assert config["selfRequestsOnly"] is True
    assert config["allowEval"] is False
    assert config["historyCacheSize"] == 0
    assert config.get("allowScriptTags") is False


def test_the_page_loads_htmx_with_its_integrity_hash(as_staff):
    page = as_staff.get("/orders").get_data(as_text=True)
    script = re.search(r'<script src="([^"]*htmx[^"]*)"([^>]*)>', page)
    assert script
    if script.group(1).startswith("https://"):
        assert 'integrity="sha384-' in script.group(2)
    assert "<script>" not in page, "an inline script would need 'unsafe-inline'"
