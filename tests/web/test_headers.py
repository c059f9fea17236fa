"""Security headers on every kind of response, and htmx's configuration in the page."""
from __future__ import annotations

import base64
import hashlib
import html
import json
import re
from pathlib import Path

import pytest

from oms_web.web import HTMX_CDN, HTMX_INTEGRITY, HTMX_VERSION


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


def _htmx_script(page: str) -> dict[str, str]:
    script = re.search(r'<script src="([^"]*htmx[^"]*)"([^>]*)>', page)
    assert script, "the page loads no htmx"
    return {"src": script.group(1), **dict(re.findall(r'(\w+)="([^"]*)"', script.group(2)))}


def test_the_pinned_htmx_file_is_committed_and_matches_its_integrity_hash():
    # The file is served as is and the browser refuses it unless it matches: a changed file or hash
    # would leave every htmx button dead.
    algorithm, expected = HTMX_INTEGRITY.split("-", 1)
    file = Path(__file__).resolve().parents[2] / "static" / "vendor" / "htmx.min.js"
    assert file.is_file(), "static/vendor/htmx.min.js ships with the project"
    assert algorithm == "sha384"
    assert base64.b64encode(hashlib.sha384(file.read_bytes()).digest()).decode() == expected
    assert f"version:\"{HTMX_VERSION}\"" in file.read_text()


def test_by_default_the_page_loads_htmx_from_this_site_with_its_integrity_hash(as_staff):
    response = as_staff.get("/orders")
    page = response.get_data(as_text=True)
    script = _htmx_script(page)
    assert script["src"] == "/static/vendor/htmx.min.js"
    assert script["integrity"] == HTMX_INTEGRITY
    assert as_staff.get(script["src"]).status_code == 200
    assert _csp(response)["script-src"] == "script-src 'self'", "no other host is needed"
    assert "<script>" not in page, "an inline script would need 'unsafe-inline'"


def test_with_oms_htmx_cdn_the_page_loads_the_pinned_cdn_file_with_its_integrity_hash(web_app, as_staff):
    web_app.config["OMS_HTMX"] = "cdn"
    response = as_staff.get("/orders")
    page = response.get_data(as_text=True)
    script = _htmx_script(page)
    assert script["src"] == HTMX_CDN
    assert script["integrity"] == HTMX_INTEGRITY and script["crossorigin"] == "anonymous"
    assert _csp(response)["script-src"] == "script-src 'self' https://cdn.jsdelivr.net"
    assert "<script>" not in page, "an inline script would need 'unsafe-inline'"
