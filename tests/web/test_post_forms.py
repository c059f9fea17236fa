"""Every form that changes something posts, with its address, even when its script did not load: a form
with no method is a GET, which would put its CSRF token in the URL (history, logs, Referer).

Two views of the same rule: the templates' source, so that a form shown only in a rare state is
checked too, and the pages as served, so that what the post_to macro writes is checked as well."""
from __future__ import annotations

import re
from html.parser import HTMLParser
from pathlib import Path

import pytest

from oms_web.domain import shipping
from oms_web.models import ChannelKind, PaymentStatus

TEMPLATES = Path(__file__).resolve().parents[2] / "templates"
# An opening <form> tag; Jinja's {{ }} and {% %} inside it may hold a ">".
_JINJA_OR_CHAR = r"(?:\{\{[^}]*\}\}|\{%[^%]*%\}|[^>])"
_FORM = re.compile(rf"<form\b({_JINJA_OR_CHAR}*)>(.*?)</form>", re.S)
_STATE_CHANGING = re.compile(r"\bhx-(post|put|patch|delete)=")


def _template_forms() -> list:
    found = []
    for path in sorted(TEMPLATES.rglob("*.html")):
        name = str(path.relative_to(TEMPLATES))
        for n, match in enumerate(_FORM.finditer(path.read_text()), 1):
            found.append(pytest.param(name, match.group(1), match.group(2), id=f"{name} form {n}"))
    return found


def test_the_templates_have_forms_to_check():
    assert len(_template_forms()) > 20


@pytest.mark.parametrize("template, tag, body", _template_forms())
def test_every_form_with_a_csrf_token_in_the_templates_posts_to_its_address(template, tag, body):
    posts = "post_to(" in tag or ('method="post"' in tag and 'action="' in tag)
    if "csrf" in body or _STATE_CHANGING.search(tag):
        assert posts, f"a form in {template} that changes something would fall back to a GET: <form{tag}>"
    if "post_to(" in tag or 'method="post"' in tag:
        assert "csrf" in body, f"a post form in {template} carries no CSRF token: <form{tag}>"
    assert not _STATE_CHANGING.search(tag), f"{template}: a form's hx-post comes from post_to(), with its action"


def test_an_htmx_post_outside_a_form_tag_is_a_button_submitting_its_form_to_the_same_address():
    for path in TEMPLATES.rglob("*.html"):
        for tag in re.findall(rf"<(?!form\b)\w+\b{_JINJA_OR_CHAR}*?\bhx-(?:post|put|patch|delete)={_JINJA_OR_CHAR}*>",
                              path.read_text(), re.S):
            target = re.search(r'hx-post="([^"]+)"', tag)
            assert tag.startswith("<button") and 'type="submit"' in tag and target, f"{path.name}: {tag}"
            assert f'formaction="{target.group(1)}"' in tag, f"{path.name}: no plain fallback for {tag}"


class _Forms(HTMLParser):
    """The forms of a served page: their attributes, their inputs' names, and other htmx-posting elements."""

    def __init__(self) -> None:
        super().__init__()
        self.forms: list[dict] = []
        self.others: list[tuple[str, dict, dict | None]] = []
        self._open: dict | None = None

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "form":
            self._open = {"attrs": attrs, "inputs": set()}
            self.forms.append(self._open)
        elif "hx-post" in attrs:
            self.others.append((tag, attrs, self._open))
        if tag == "input" and self._open is not None:
            self._open["inputs"].add(attrs.get("name"))

    def handle_endtag(self, tag):
        if tag == "form":
            self._open = None


def _check_page(html: str, where: str) -> int:
    parser = _Forms()
    parser.feed(html)
    for form in parser.forms:
        attrs = form["attrs"]
        if "csrf_token" in form["inputs"] or "hx-post" in attrs:
            assert (attrs.get("method") or "").lower() == "post", f"{where}: {attrs}"
            assert attrs.get("action"), f"{where}: a post form without its address: {attrs}"
            assert "csrf_token" in form["inputs"], f"{where}: a post form without its token: {attrs}"
        if "hx-post" in attrs:
            assert attrs["hx-post"] == attrs["action"], f"{where}: htmx and the plain post go apart: {attrs}"
    for tag, attrs, form in parser.others:
        assert tag == "button" and attrs.get("type") == "submit", f"{where}: {tag} {attrs}"
        assert attrs.get("formaction") == attrs["hx-post"], f"{where}: {attrs}"
        assert form is not None and (form["attrs"].get("method") or "").lower() == "post", f"{where}: {attrs}"
    return len(parser.forms)


def test_every_form_with_a_csrf_token_on_the_served_pages_posts_to_its_address(shop, as_admin, client):
    shop.product("A", in_hand=5)
    shop.product("B")
    draft = shop.draft(("A", 1))
    waiting = shop.web_order(("A", 3), ("B", 1))  # allocate now, ship the third A, edit
    line_a = next(line for line in waiting.lines if line.sku == "A")
    packed = shipping.ship_lines(shop.staff, waiting.id, {line_a.id: 1})  # mark shipped, invoice this shipment
    sent = shipping.ship_lines(shop.staff, waiting.id, {line_a.id: 1})
    shipping.mark_shipped(shop.staff, sent.id, "UPS", "1Z999")  # mark delivered
    unpaid = shop.web_order(("A", 1), payment=PaymentStatus.PENDING)  # mark paid
    held = shop.web_order(("NOPE", 1))  # an unknown SKU: release hold
    amazon = shop.channel("Amazon EU", ChannelKind.AMAZON)

    pages = ["/orders", "/orders?segment=draft", f"/orders/{draft.id}", f"/orders/{waiting.id}", f"/orders/{unpaid.id}",
             f"/orders/{held.id}", "/orders/new", "/products", "/products/new", "/users", "/channels",
             f"/channels/{shop.web.id}", f"/channels/{amazon.id}", "/account/password", "/overview"]
    forms = 0
    for path in pages:
        response = as_admin.get(path)
        assert response.status_code == 200, path
        forms += _check_page(response.get_data(as_text=True), path)
    forms += _check_page(client.get("/login?next=/products").get_data(as_text=True), "/login")
    assert forms > 25

    def actions(order_id: int) -> set[str]:
        page = as_admin.get(f"/orders/{order_id}").get_data(as_text=True)
        return set(re.findall(rf'<form [^>]*action="/orders/{order_id}/([^"]+)"', page))

    assert actions(draft.id) >= {"finalize", "lines", "notes", "void"}
    assert actions(waiting.id) >= {"allocate", "ship", "invoice", f"shipments/{packed.id}/shipped",
                                   f"shipments/{sent.id}/delivered"}
    assert "paid" in actions(unpaid.id) and "release" in actions(held.id)


def test_the_sign_in_form_keeps_where_it_goes_next(client):
    page = client.get("/login?next=/products").get_data(as_text=True)
    assert re.search(r'<form method="post" action="/login\?next=(/|%2F)products">', page)


def test_a_plain_post_of_the_boards_allocate_now_returns_to_the_board_with_its_message(shop, as_staff):
    shop.product("A")
    waiting = shop.web_order(("A", 2))
    response = as_staff.post_form("/orders/bulk/allocate", {"order_ids": [str(waiting.id)]})
    assert response.status_code == 302 and response.headers["Location"].endswith("/orders")
    assert "Allocated 0 unit(s) across 1 order(s)." in as_staff.get("/orders").get_data(as_text=True)
