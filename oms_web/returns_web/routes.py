"""Returns (RMA) on screen: the order page's Returns section and its "Open a return" form, a return's
page with its actions (authorize, reject, receive with the condition split, close, an admin's reopen,
exchange) and its slip, and the Returns view of open returns by state, with a box to scan a return slip.

Every action is one service of domain.returns; a refusal re-renders its section with the message next
to the field (422 to htmx), a success goes to the return's page.
"""
from __future__ import annotations

from flask import Response, make_response, redirect, render_template, request, url_for
from flask_login import current_user

from ..documents.routes import pdf_response
from ..domain import refunds, returns
from ..domain.errors import DomainError, InvalidInput, NotFound
from ..domain.order_rules import MAX_LINE_QUANTITY, get_order
from ..extensions import db
from ..models import OPEN_RETURNS, OrderLine, Return, ReturnReason, ReturnState, Role
from ..web import allow, as_id, checked_text, form_text, is_htmx, redirect_to, refreshed, whole_number
from . import bp
from .slip import return_slip_pdf

MAX_FORM_LINES = 500  # lines of one return form: more is not a person's post


@bp.app_template_global()
def returns_panel(order) -> dict:
    """What the order page's Returns section shows: the order's returns, and the units each line may return."""
    return {"returns": returns.returns_of(order.id), "returnable": returns.returnable_units(order),
            "stage": returns.return_stage(order), "reasons": list(ReturnReason)}


@bp.app_template_global()
def order_return_stage(order) -> str | None:
    return returns.return_stage(order)


@bp.app_template_global()
def open_returns_count() -> int:
    return sum(returns.open_counts().values())


def _units(raw: str, *, label: str, field: str) -> int:
    return whole_number(raw or "0", label=label, field=field, minimum=0, maximum=MAX_LINE_QUANTITY)


def _rows(*names: str) -> list[tuple[int, list[str]]]:
    """The form's repeated fields: per `line` (an id), its values of `names`, in the form's order."""
    ids = request.form.getlist("line")
    columns = [request.form.getlist(name) for name in names]
    if len(ids) > MAX_FORM_LINES or any(len(column) != len(ids) for column in columns):
        raise InvalidInput("The form's lines do not match: reload the page and try again", field=names[0])
    rows = []
    for n, raw in enumerate(ids):
        line_id = as_id(raw)
        if line_id is None:
            raise InvalidInput("A line of the form is not one of this order's: reload the page", field=names[0])
        rows.append((line_id, [column[n] for column in columns]))
    return rows


def _order_section(order_id: int, error: DomainError) -> Response:
    db.session.rollback()
    order = get_order(order_id)
    html = render_template("orders/_returns.html", order=order, errors={error.field or "_form": error.message},
                           form=request.form)
    return make_response(html, 422)


@bp.route("/orders/<int:order_id>/returns", methods=["POST"])
@allow(Role.STAFF)
def open(order_id: int):  # noqa: A001 (the endpoint's name)
    try:
        note = form_text("note", Return.note, label="The note")
        requests = []
        for line_id, (quantity, reason) in _rows("quantity", "reason"):
            units = _units(quantity, label="Quantity", field="quantity")
            reason = checked_text(reason, field="reason", label="The reason", maximum=40) or ""
            requests.append(returns.ReturnRequest(line_id, units, reason))
        opened = returns.open_return(current_user, order_id, requests, note)
    except DomainError as error:
        if isinstance(error, NotFound) or not is_htmx():
            raise
        return _order_section(order_id, error)
    return refreshed(redirect_to(url_for("returns.detail", return_id=opened.id)))


def _page(found: Return, errors: dict | None = None, status: int = 200, failed: str | None = None) -> Response:
    context = {"ret": found, "errors": errors or {}, "failed": failed, "form": request.form if failed else {},
               "conditions": returns.CONDITIONS, **_refund_panel(found)}
    template = "returns/_return.html" if is_htmx() and status >= 400 else "returns/detail.html"
    return make_response(render_template(template, **context), status)


def _refund_panel(found: Return) -> dict:
    """The return's refunds, and once its units are back what refunding them would give (their invoiced
    amount, tax included: refunds.refund_proposal), for "Refund these units"."""
    received = found.state in (ReturnState.RECEIVED, ReturnState.CLOSED)
    units = refunds.units_received(found) if received else {}
    invoiced = bool(found.order.invoices)
    return {"return_refunds": refunds.refunds_for_return(found.id), "return_units": units,
            "return_invoiced": invoiced,
            "return_proposal": refunds.refund_proposal(found.order, units) if units and invoiced else None}


@bp.route("/returns/<int:return_id>")
@allow(Role.STAFF)
def detail(return_id: int):
    return _page(returns.get_return(return_id))


def _act(return_id: int, action: str, fn) -> Response:
    try:
        fn()
    except DomainError as error:
        if isinstance(error, NotFound) or not is_htmx():
            raise
        db.session.rollback()
        return _page(returns.get_return(return_id), {error.field or "_form": error.message}, 422, action)
    response = redirect_to(url_for("returns.detail", return_id=return_id))
    return refreshed(response) if is_htmx() else response


@bp.route("/returns/<int:return_id>/authorize", methods=["POST"])
@allow(Role.STAFF)
def authorize(return_id: int):
    return _act(return_id, "authorize", lambda: returns.authorize_return(current_user, return_id))


@bp.route("/returns/<int:return_id>/reject", methods=["POST"])
@allow(Role.STAFF)
def reject(return_id: int):
    return _act(return_id, "reject", lambda: returns.reject_return(
        current_user, return_id, form_text("reason", Return.reject_reason, label="The reason")))


@bp.route("/returns/<int:return_id>/receive", methods=["POST"])
@allow(Role.STAFF)
def receive(return_id: int):
    def run():
        receipts = {}
        for line_id, values in _rows(*returns.CONDITIONS):
            if line_id in receipts:
                raise InvalidInput("A line is on the form twice: reload the page", field="restock")
            receipts[line_id] = returns.Receipt(*(
                _units(raw, label=f"{condition.replace('_', ' ').capitalize()} units", field=condition)
                for condition, raw in zip(returns.CONDITIONS, values)))
        returns.receive_return(current_user, return_id, receipts)
    return _act(return_id, "receive", run)


@bp.route("/returns/<int:return_id>/close", methods=["POST"])
@allow(Role.STAFF)
def close(return_id: int):
    return _act(return_id, "close", lambda: returns.close_return(current_user, return_id))


@bp.route("/returns/<int:return_id>/reopen", methods=["POST"])
@allow(Role.ADMIN)
def reopen(return_id: int):
    return _act(return_id, "reopen", lambda: returns.reopen_return(current_user, return_id))


@bp.route("/returns/<int:return_id>/exchange", methods=["POST"])
@allow(Role.STAFF)
def exchange(return_id: int):
    def run():
        sku = form_text("sku", OrderLine.sku, label="The SKU")
        raw = (request.form.get("quantity") or "").strip()
        quantity = whole_number(raw, label="Quantity", field="quantity", minimum=1, maximum=MAX_LINE_QUANTITY) \
            if raw else 1
        returns.exchange(current_user, return_id, [(sku, quantity)] if sku else None)
    return _act(return_id, "exchange", run)


@bp.route("/returns/<int:return_id>/slip.pdf")
@allow(Role.STAFF)
def slip(return_id: int):
    found = returns.get_return(return_id)
    return pdf_response(return_slip_pdf(found), f"return-slip-{found.number}.pdf")


def _state_from(text: str | None) -> ReturnState:
    try:
        state = ReturnState(text or ReturnState.REQUESTED.value)
    except ValueError:
        raise InvalidInput("Choose a state of the list", field="state") from None
    return state


@bp.route("/returns")
@allow(Role.STAFF)
def index():
    """The board's Returns view: open returns by state (with counts), oldest first."""
    state = _state_from(request.args.get("state"))
    return render_template("returns/index.html", state=state, rows=returns.returns_in(state),
                           counts=returns.open_counts(), states=[s for s in ReturnState if s in OPEN_RETURNS],
                           code=request.args.get("code", ""))


@bp.route("/returns/find")
@allow(Role.STAFF)
def find():
    """A scanned return slip (its barcode is the return number): its page, ready to receive."""
    code = checked_text(request.args.get("code"), field="code", label="The return number", maximum=40) or ""
    return redirect(url_for("returns.detail", return_id=returns.find_by_number(code).id, _anchor="receive"))
