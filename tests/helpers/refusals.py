"""Bad input refused: a 4xx with the message (a fragment for htmx, a page otherwise), and nothing changed."""
from __future__ import annotations

import html

from tests.web.conftest import every_row, state


def assert_refused(response, status: int, message: str, *, htmx: bool) -> None:
    body = html.unescape(response.get_data(as_text=True))
    assert response.status_code == status, body[:800]
    assert message in body
    if htmx:
        assert "<html" not in body, "an htmx refusal must be a fragment"
        assert "HX-Trigger" not in response.headers, "a refusal changed nothing; no widget should refresh"
    else:
        assert "<html" in body, "a plain post's refusal must be a page"


def refuses(shop, client, path: str, data: dict, status: int, message: str, *, ways=("htmx", "page")) -> None:
    """Send the same bad input as htmx and as a plain form post; each is refused and changes nothing."""
    before, rows = state(shop), every_row()
    for way in ways:
        htmx = way == "htmx"
        response = client.htmx_post(path, data) if htmx else client.post_form(path, data)
        assert_refused(response, status, message, htmx=htmx)
        assert state(shop) == before, f"a refused {way} post to {path} changed something"
        assert every_row() == rows, f"a refused {way} post to {path} changed a row"
