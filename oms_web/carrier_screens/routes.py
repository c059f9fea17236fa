"""The Carriers screen and the EasyPost tracker webhook."""
from __future__ import annotations

from datetime import timedelta

import sqlalchemy as sa
from flask import current_app, jsonify, render_template, request

from ..carriers import CarrierError
from ..carriers import easypost
from ..channels.keys import masked
from ..database import service
from ..domain import labels, rate_rules, tracking
from ..domain.errors import DomainError, InvalidInput
from ..extensions import db
from ..models import CarrierAccount, PackagePreset, Role, SalesChannel, User, utcnow
from ..web import PUBLIC, allow, csrf, form_int, form_text
from . import bp

csrf.exempt("oms_web.carrier_screens.routes.easypost_webhook")


def _page(errors: dict[str, str] | None = None, status: int = 200, saved: str | None = None):
    account = db.session.scalar(sa.select(CarrierAccount).where(CarrierAccount.service == "easypost"))
    return render_template(
        "carriers/index.html", account=account, masked=masked, errors=errors or {}, saved=saved,
        presets=db.session.scalars(sa.select(PackagePreset).order_by(PackagePreset.name)).all(),
        channels=db.session.scalars(sa.select(SalesChannel).order_by(SalesChannel.name)).all(),
        rules=rate_rules.RULES, form=request.form if errors else {},
        default_url=easypost.DEFAULT_BASE_URL), status


@bp.route("/carriers")
@allow(Role.ADMIN)
def index():
    return _page()


@bp.route("/carriers/account", methods=["POST"])
@allow(Role.ADMIN)
def account():
    try:
        labels.set_account(_user(), api_key=form_text("api_key", CarrierAccount.api_key, label="The API key"),
                           webhook_secret=form_text("webhook_secret", CarrierAccount.webhook_secret,
                                                    label="The webhook secret"),
                           base_url=form_text("base_url", CarrierAccount.base_url, label="The API address",
                                              required=True) or "",
                           label_format=request.form.get("label_format", ""),
                           active=request.form.get("active") == "1")
    except DomainError as error:
        return _page({error.field or "api_key": error.message}, 422)
    return _page(saved="The carrier account is saved")


@bp.route("/carriers/presets", methods=["POST"])
@allow(Role.ADMIN)
def presets():
    try:
        add_preset(_user(), form_text("name", PackagePreset.name, label="The name", required=True),
                   *(form_int(n, label=l, minimum=1, maximum=3000) for n, l in
                     (("length_mm", "The length"), ("width_mm", "The width"), ("height_mm", "The height"))),
                   form_int("tare_grams", label="The box's weight", minimum=0, maximum=50_000))
    except DomainError as error:
        return _page({error.field or "name": error.message}, 422)
    return _page(saved="The box is added")


@bp.route("/carriers/channels/<int:channel_id>", methods=["POST"])
@allow(Role.ADMIN)
def channel_rule(channel_id: int):
    try:
        rule = request.form.get("rate_rule", "")
        days = form_int("rate_days", label="Days", minimum=1, maximum=rate_rules.MAX_RATE_DAYS,
                        required=rule == "cheapest_within")
        rate_rules.set_carrier_settings(_user(), channel_id, rate_rule=rule, rate_days=days,
                                        ship_email=request.form.get("ship_email") == "1",
                                        delivered_email=request.form.get("delivered_email") == "1")
    except DomainError as error:
        return _page({f"{error.field or 'rate_rule'}-{channel_id}": error.message}, 422 if error.field else 404)
    return _page(saved="The channel's carrier settings are saved")


@service
def add_preset(actor: User, name: str | None, length: int, width: int, height: int, tare: int) -> PackagePreset:
    """Add a box. Raises InvalidInput for a name taken."""
    if db.session.scalar(sa.select(PackagePreset.id).where(PackagePreset.name == name)):
        raise InvalidInput(f"A box is called {name} already", field="name")
    preset = PackagePreset(name=name, length_mm=length, width_mm=width, height_mm=height, tare_grams=tare)
    db.session.add(preset)
    return preset


def _user() -> User:
    from flask_login import current_user

    return current_user._get_current_object()


# ---------------------------------------------------------------- the tracker webhook

@bp.route("/webhooks/easypost", methods=["POST"])
@allow(PUBLIC)
def easypost_webhook():
    """EasyPost's events: the signature over the raw body first (missing, wrong or stale: 401, nothing
    written), then a tracker update moves its parcel (domain.tracking). Other events are acknowledged."""
    account = db.session.scalar(sa.select(CarrierAccount).where(CarrierAccount.service == "easypost",
                                                                CarrierAccount.active))
    secret = account.webhook_secret if account else None
    db.session.rollback()
    raw = request.get_data(cache=True)
    if not easypost.signature_ok(secret, raw, request.headers.get(easypost.SIGNATURE_HEADER)):
        return jsonify({"result": "refused", "reason": "signature missing or wrong"}), 401
    created = easypost.event_time(raw)
    max_age = timedelta(seconds=float(current_app.config["OMS_CARRIER_WEBHOOK_MAX_AGE_SECONDS"]))
    if created is None or created < utcnow() - max_age or created > utcnow() + timedelta(minutes=5):
        return jsonify({"result": "refused", "reason": "stale or undated event"}), 401
    try:
        update = easypost.parse_event(raw)
    except CarrierError as error:
        return jsonify({"result": "refused", "reason": error.message}), 400
    if update is None:
        return jsonify({"result": "ignored"}), 200
    moved = tracking.apply_update(update)
    return jsonify({"result": "applied" if moved else "unchanged"}), 200
