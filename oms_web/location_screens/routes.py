"""Locations (admin): the list with each location's units in hand and committed, adding one (its kind
is set then, once) and editing one (name, priority, ship-from address, supplier, active). The
changes are domain.locations' services; this screen reads the forms and shows their refusals by the field."""
from __future__ import annotations

from flask import flash, redirect, render_template, url_for
from flask_login import current_user

from ..domain import locations, purchasing
from ..domain.errors import DomainError
from ..formfields import field_errors
from ..models import Role
from ..web import allow
from . import bp
from .forms import LocationForm, NewLocationForm

# A field the service names that the form calls otherwise.
_FIELD_OF = {"supplier_id": "supplier"}


def _errors_of(form, error: DomainError | None = None) -> dict[str, str]:
    if error is None:
        return field_errors(form)
    return {_FIELD_OF.get(error.field or "", error.field or "_form"): error.message}


@bp.route("/locations", methods=["GET", "POST"])
@allow(Role.ADMIN)
def index():
    suppliers = locations.suppliers()
    form = NewLocationForm(suppliers=suppliers)
    errors: dict[str, str] = {}
    if form.is_submitted():
        if not form.validate():
            errors = _errors_of(form)
        else:
            try:
                made = locations.create_location(current_user, form.kind.data, form.details())
            except DomainError as error:
                errors = _errors_of(form, error)
            else:
                flash(f"Location {made.name} added.")
                return redirect(url_for("locations.index"))
    return render_template("locations/index.html", rows=locations.location_rows(), form=form, errors=errors,
                           suppliers=suppliers), (422 if errors else 200)


@bp.route("/locations/<int:location_id>", methods=["GET", "POST"])
@allow(Role.ADMIN)
def edit(location_id: int):
    location = locations.get_location(location_id)
    suppliers = locations.suppliers()
    form = LocationForm(suppliers=suppliers)
    errors: dict[str, str] = {}
    if not form.is_submitted():
        form.fill_from(location)
    elif not form.validate():
        errors = _errors_of(form)
    else:
        try:
            locations.update_location(current_user, location_id, form.details())
        except DomainError as error:
            errors = _errors_of(form, error)
        else:
            flash(f"Location {form.name.data} saved.")
            return redirect(url_for("locations.index"))
    return render_template("locations/edit.html", location=location, held=locations.held_at(location.id),
                           coming=purchasing.purchase_orders_delivering_to(location.id),
                           form=form, errors=errors), (422 if errors else 200)
