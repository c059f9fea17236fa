"""The channels screens (admin only): channels and their secrets, SKU mapping, sync status, report files,
and the shipment confirmations waiting: Amazon's upload file, marking it uploaded, retrying refused ones."""
from __future__ import annotations

import io

import sqlalchemy as sa
from flask import Response, flash, make_response, redirect, render_template, request, url_for
from flask_login import current_user

from ..domain import channel_shipping
from ..domain.errors import DomainError, InvalidInput, InvalidState, NotFound
from ..formfields import validated
from ..extensions import db
from ..models import (ChannelKind, ChannelSync, Job, OrderLine, Product, Role, SalesChannel, ShipmentConfirmation,
                      utcnow)
from ..web import allow, as_id, body_limit, error_response, form_text, is_htmx
from ..channels import amazon, manage, report_jobs, upload_file
from ..channels.confirmations import retry_confirmations
from ..channels.keys import masked
from . import bp
from .forms import ShippingDefaultsForm

# A marketplace's address, id or credential, kept in the channel's JSON settings (no column to bound it):
# their refresh tokens run to a few hundred characters.
MAX_SETTING_LENGTH = 4096


def _load(channel_id: int) -> SalesChannel:
    channel = db.session.get(SalesChannel, channel_id)
    if channel is None:
        raise NotFound("That channel does not exist")
    return channel


def _overview() -> list[dict]:
    channels = db.session.scalars(sa.select(SalesChannel).order_by(SalesChannel.name)).all()
    last = {}
    for run in db.session.scalars(sa.select(ChannelSync).where(ChannelSync.id.in_(
            sa.select(sa.func.max(ChannelSync.id)).group_by(ChannelSync.channel_id)))):
        last[run.channel_id] = run
    waiting = dict(db.session.execute(sa.select(ShipmentConfirmation.channel_id, sa.func.count())
                                      .where(ShipmentConfirmation.status != "sent")
                                      .group_by(ShipmentConfirmation.channel_id)).all())
    return [{"channel": c, "last_sync": last.get(c.id), "waiting": waiting.get(c.id, 0),
             "inbound": manage.inbound_path(c)} for c in channels]


@bp.route("/channels", methods=["GET", "POST"])
@allow(Role.ADMIN)
def index():
    errors: dict[str, str] = {}
    created = None
    if request.method == "POST":
        kind = next((k for k in ChannelKind if k.value == request.form.get("kind")), None)
        try:
            if kind is None:
                raise InvalidInput("Choose what kind of channel this is", field="kind")
            created = manage.create_channel(form_text("name", SalesChannel.name, label="The name") or "", kind,
                                            form_text("secret", SalesChannel.secret, label="The webhook secret"))
        except DomainError as error:
            errors[error.field or "name"] = error.message
    return render_template("channels/index.html", rows=_overview(), kinds=list(ChannelKind), errors=errors,
                           form=request.form if errors else {}, created=created), (422 if errors else 200)


@bp.route("/channels/<int:channel_id>", methods=["GET", "POST"])
@allow(Role.ADMIN)
def detail(channel_id: int):
    channel = _load(channel_id)
    if request.method == "POST":
        confirm_by = request.form.get("confirm_by") if channel.kind is ChannelKind.AMAZON else None
        try:
            if request.form.get("active") not in ("0", "1"):
                raise InvalidInput("Choose whether the channel takes orders", field="active")
            manage.update_channel(
                channel_id, active=request.form["active"] == "1",
                secret=form_text("secret", SalesChannel.secret, label="The webhook secret"),
                settings={k: form_text(k, label=_label(k), maximum=MAX_SETTING_LENGTH) or ""
                          for k in manage.PLAIN_SETTINGS.get(channel.kind, ())},
                credentials={k: form_text(f"cred_{k}", label=_label(k), maximum=MAX_SETTING_LENGTH) or ""
                             for k in manage.CREDENTIALS.get(channel.kind, ())},
                confirm_by=confirm_by)
        except InvalidInput as error:
            return render_template("channels/detail.html", **_detail_context(
                channel, errors={error.field or "form": error.message})), 422
        flash("Channel saved.")
        return redirect(url_for("channels.detail", channel_id=channel_id))
    return render_template("channels/detail.html", **_detail_context(channel))


def _label(setting: str) -> str:
    return setting.replace("_", " ").capitalize()  # as the channel's page labels it


def _detail_context(channel: SalesChannel, **extra) -> dict:
    from ..channels import reports

    if "shipping_form" not in extra:
        extra["shipping_form"] = ShippingDefaultsForm(formdata=None)
        extra["shipping_form"].fill_from(channel)

    syncs = db.session.scalars(sa.select(ChannelSync).where(ChannelSync.channel_id == channel.id)
                               .order_by(ChannelSync.id.desc()).limit(10)).all()
    not_sent = ShipmentConfirmation.status != "sent"
    # The refused ones first: they wait for a person.
    confirmations = db.session.scalars(sa.select(ShipmentConfirmation).where(
        ShipmentConfirmation.channel_id == channel.id, not_sent)
        .order_by(sa.case((ShipmentConfirmation.status == "failed", 0), else_=1), ShipmentConfirmation.id)
        .limit(20)).all()
    waiting = db.session.scalar(sa.select(sa.func.count()).select_from(ShipmentConfirmation).where(
        ShipmentConfirmation.channel_id == channel.id, not_sent))
    settings = channel.settings or {}
    by_file = upload_file.file_confirmations(channel)
    return {"channel": channel, "syncs": syncs, "confirmations": confirmations, "waiting": waiting,
            "file_batch": by_file.in_file, "kept_out": by_file.kept_out,
            "by_file": amazon.confirms_by_file(channel),
            "confirm_methods": amazon.CONFIRM_METHODS,
            "confirm_by": settings.get("confirm_by") or amazon.CONFIRM_BY_API, "masked": masked,
            "inbound": manage.inbound_path(channel), "settings": settings,
            "credentials": {k: masked((settings.get("credentials") or {}).get(k)) for k in manage.CREDENTIALS.get(channel.kind, ())},
            "plain_settings": manage.PLAIN_SETTINGS.get(channel.kind, ()), "sku_map": settings.get("sku_map") or {},
            "report_kinds": reports.KINDS_FOR.get(channel.kind, {}), "errors": {}, **extra}


@bp.route("/channels/<int:channel_id>/shipping", methods=["POST"])
@allow(Role.ADMIN)
def shipping_defaults(channel_id: int):
    """The channel's handling time and default carrier and service; a bad value is said next to its field."""
    channel = _load(channel_id)
    form = ShippingDefaultsForm()
    try:
        validated(form)
        channel_shipping.set_shipping_defaults(current_user, channel_id, handling_days=form.handling_days.data,
                                               carrier=form.default_carrier.value, service_level=form.default_service.value)
    except DomainError as error:
        status = 404 if isinstance(error, NotFound) else 422
        db.session.rollback()
        return render_template("channels/detail.html", **_detail_context(
            _load(channel_id), shipping_form=form, errors={error.field or "handling_days": error.message})), status
    flash(f"Shipping defaults of {channel.name} saved.")
    return redirect(url_for("channels.detail", channel_id=channel_id))


@bp.route("/channels/<int:channel_id>/key", methods=["POST"])
@allow(Role.ADMIN)
def new_key(channel_id: int):
    key = manage.new_key(channel_id)
    return render_template("channels/detail.html", **_detail_context(_load(channel_id), new_api_key=key))


@bp.route("/channels/<int:channel_id>/sku-map", methods=["POST"])
@allow(Role.ADMIN)
def sku_map(channel_id: int):
    errors = {}
    try:
        # The channel's SKU is matched against the SKUs its order lines carry; ours must be a product's.
        channel_sku = form_text("channel_sku", OrderLine.sku, label="The channel's SKU") or ""
        if request.form.get("remove") not in (None, "1"):
            raise InvalidInput("Reload the channel's page to remove a mapping", field="channel_sku")
        product_sku = None if request.form.get("remove") else (
            form_text("product_sku", Product.sku, label="Our SKU") or "")
        manage.set_sku_mapping(channel_id, channel_sku, product_sku)
    except DomainError as error:
        errors[error.field or "channel_sku"] = error.message
    db.session.expire_all()
    context = _detail_context(_load(channel_id), errors=errors, form=request.form)
    if is_htmx():
        return make_response(render_template("channels/_sku_map.html", **context), 422 if errors else 200)
    return render_template("channels/detail.html", **context), (422 if errors else 200)


@bp.route("/channels/<int:channel_id>/sync", methods=["POST"])
@allow(Role.ADMIN)
def sync_now(channel_id: int):
    channel = _load(channel_id)
    if channel.kind not in manage.MARKETPLACES:
        return error_response(422, "Only Amazon and eBay channels are pulled; web stores send their orders.")
    from ..tasks import enqueue

    enqueue("channel_pull", {"channel_id": channel_id}, user_id=current_user.id)
    flash("Sync queued: a worker runs it, and its result appears under Recent syncs in a moment.")
    return redirect(url_for("channels.detail", channel_id=channel_id))


@bp.route("/channels/<int:channel_id>/reports", methods=["POST"])
@allow(Role.ADMIN)
@body_limit("OMS_MAX_REPORT_BYTES")  # a report file is larger than any other request; werkzeug spools it to disk
def report(channel_id: int):
    """Upload a report file: first a preview (nothing written), then, confirmed, the import and its summary."""
    from ..channels import reports

    channel = _load(channel_id)
    kind = request.form.get("kind", "")
    if kind not in reports.KINDS_FOR.get(channel.kind, {}):
        return render_template("channels/detail.html", **_detail_context(
            channel, errors={"report": "Choose what kind of report file this is"})), 422
    if request.form.get("confirmed") == "1":
        upload_id = as_id(request.form.get("upload"))
        try:
            if upload_id is None:
                raise InvalidInput("Upload the file again", field="report")
            upload = reports.claim_upload(channel, upload_id)
        except DomainError as error:
            status = 404 if isinstance(error, NotFound) else 409 if isinstance(error, InvalidState) else 422
            return render_template("channels/detail.html", **_detail_context(
                channel, errors={"report": error.message})), status
        if not report_jobs.inline(upload):  # a long file: a worker imports it, the page follows its progress
            job = report_jobs.start(channel, upload, current_user)
            return redirect(url_for("channels.report_job", channel_id=channel_id, job_id=job.id), 303)
        summary = reports.import_claimed(channel, upload)
        return render_template("channels/report_done.html", channel=channel, summary=summary)
    # The form parser has written the file to a temporary file as it arrived (past 500 KB), within
    # OMS_MAX_REPORT_BYTES (a larger request was refused with 413 before it was read). The preview reads
    # it from there as text, a megabyte at a time; only a file it accepts is read whole, to be kept.
    upload = request.files.get("file")
    stream = upload.stream if upload else None
    if stream is None or not stream.seek(0, io.SEEK_END):
        return render_template("channels/detail.html", **_detail_context(
            channel, errors={"report": "Choose a report file"})), 422
    try:
        preview = reports.preview(channel, kind, stream)
    except reports.ReportError as error:  # nothing kept: the file is refused at the upload
        db.session.rollback()
        return render_template("channels/detail.html", **_detail_context(
            channel, errors={"report": error.message})), 422
    stream.seek(0)
    # The kept upload is a column of bytes (ReportUpload.content), so this one read is whole.
    upload_id = reports.keep_upload(channel, kind, upload.filename or "", stream.read(), current_user.id)
    return render_template("channels/report_preview.html", channel=_load(channel_id), kind=kind, preview=preview,
                           upload_id=upload_id,
                           kind_label=reports.KINDS_FOR[channel.kind][kind])


@bp.route("/channels/<int:channel_id>/reports/jobs/<int:job_id>")
@allow(Role.ADMIN)
def report_job(channel_id: int, job_id: int):
    """A report import running as a job: its progress (htmx polls the fragment), then what it imported
    and the file's row errors."""
    from ..documents.jobs import waiting_for_worker

    channel = _load(channel_id)
    job = db.session.get(Job, job_id)
    if job is None or job.kind != "report_import" or job.params.get("channel_id") != channel_id:
        raise NotFound("There is no such import")
    summary = report_jobs.summary_of(job)
    context = {"channel": channel, "job": job, "summary": summary, "no_worker": waiting_for_worker(job),
               "orders": report_jobs.orders_made(job, summary) if summary else [],
               "shown_orders": report_jobs.SHOWN_ORDERS}
    if is_htmx():
        return render_template("channels/_report_job.html", **context)
    return render_template("channels/report_job.html", **context)


# ---------------------------------------------------------------- shipment confirmations waiting

def _confirmation_ids(values: list[str]) -> list[int]:
    """The confirmation ids a link or form names (`ids`, comma-separated, possibly repeated)."""
    parts = [part for value in values for part in value.split(",")]
    ids = [as_id(part) for part in parts]
    if not ids or None in ids or len(ids) > upload_file.FILE_BATCH:
        raise InvalidInput("The shipments are not named right: reload the channel's page", field="confirmations")
    return ids  # type: ignore[return-value]


def _confirmations_refused(channel: SalesChannel, error: DomainError) -> Response:
    status = 404 if isinstance(error, NotFound) else 409 if isinstance(error, InvalidState) else 422
    if is_htmx():
        return error_response(status, error.message)
    return make_response(render_template("channels/detail.html", **_detail_context(
        channel, errors={"confirmations": error.message})), status)


@bp.route("/channels/<int:channel_id>/confirmations/file")
@allow(Role.ADMIN)
def confirmation_file(channel_id: int):
    """The Amazon upload file of the named confirmations that still wait for it. Changes nothing: they
    are marked sent only by `confirmations_uploaded`, once the seller says the file went up."""
    channel = _load(channel_id)
    try:
        if channel.kind is not ChannelKind.AMAZON:
            raise NotFound("Only an Amazon channel confirms shipments by upload file")
        text, _ = upload_file.upload_file_of(channel, _confirmation_ids(request.args.getlist("ids")))
    except DomainError as error:
        return _confirmations_refused(channel, error)
    finally:
        db.session.rollback()  # a read only
    response = make_response(text.encode("utf-8"))
    response.headers["Content-Type"] = "text/tab-separated-values; charset=utf-8"
    response.headers["Content-Disposition"] = (f'attachment; filename="amazon-shipment-confirmations-{channel_id}-'
                                               f'{utcnow():%Y%m%d-%H%M}.txt"')
    return response


@bp.route("/channels/<int:channel_id>/confirmations/uploaded", methods=["POST"])
@allow(Role.ADMIN)
def confirmations_uploaded(channel_id: int):
    channel = _load(channel_id)
    try:
        done = upload_file.mark_uploaded(current_user, channel_id, _confirmation_ids(request.form.getlist("ids")))
    except DomainError as error:
        return _confirmations_refused(channel, error)
    message = f"Marked confirmed by upload file: {', '.join(done.marked)}."
    if done.already_sent:
        message += f" Already confirmed before: {', '.join(done.already_sent)}."
    flash(message)
    return redirect(url_for("channels.detail", channel_id=channel_id))


@bp.route("/channels/<int:channel_id>/confirmations/retry", methods=["POST"])
@allow(Role.ADMIN)
def confirmations_retry(channel_id: int):
    channel = _load(channel_id)
    try:
        numbers = retry_confirmations(current_user, channel_id, _confirmation_ids(request.form.getlist("ids")))
    except DomainError as error:
        return _confirmations_refused(channel, error)
    when = "by upload file: they are in the next file" if amazon.confirms_by_file(channel) \
        else "by the next sync (Sync now, or the scheduled one)"
    flash(f"Back in the queue, to be sent {when}: {', '.join(numbers)}.")
    return redirect(url_for("channels.detail", channel_id=channel_id))


# ---------------------------------------------------------------- ships from (issue 14: locations)

@bp.app_template_global()
def channel_ships_from(channel_id: int) -> dict:
    """The channel page's "Ships from" section: the active warehouses and 3PLs, and those ticked."""
    from ..domain import locations

    return {"places": locations.serving_locations(), "ticked": locations.channel_location_ids(channel_id)}


@bp.route("/channels/<int:channel_id>/ships-from", methods=["POST"])
@allow(Role.ADMIN)
def ships_from(channel_id: int):
    """Which locations may serve the channel's orders (none ticked: all of them)."""
    from ..domain import locations

    channel = _load(channel_id)
    try:
        ids = [as_id(value) for value in request.form.getlist("location")]
        if None in ids or len(ids) > 1000:
            raise InvalidInput("The locations are not named right: reload the channel's page", field="locations")
        chosen = locations.set_channel_locations(current_user, channel_id, ids)  # type: ignore[arg-type]
    except DomainError as error:
        db.session.rollback()
        return render_template("channels/detail.html", **_detail_context(
            _load(channel_id), errors={"locations": error.message})), (404 if isinstance(error, NotFound) else 422)
    flash(f"{channel.name} ships from {len(chosen)} chosen location(s)." if chosen
          else f"{channel.name} ships from every active warehouse and 3PL.")
    return redirect(url_for("channels.detail", channel_id=channel_id))
