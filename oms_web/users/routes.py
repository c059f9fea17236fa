"""Users (admin only): create, change role, disable or enable. Disabling ends the user's sessions.

The changes are the users service's (domain.users); this screen reads the forms and shows its refusals."""
from __future__ import annotations

import sqlalchemy as sa
from flask import make_response, redirect, render_template, url_for
from flask_login import current_user

from ..domain import users as user_services
from ..domain.errors import InvalidInput, NotFound
from ..extensions import db
from ..formfields import field_errors
from ..models import Role, User
from ..web import allow, error_response, is_htmx
from . import bp
from .forms import AccessForm, NewUserForm, access_form


def _users() -> list[User]:
    return db.session.scalars(sa.select(User).order_by(User.email)).all()


def load_user(user_id: int) -> User:
    user = db.session.get(User, user_id)
    if user is None:
        raise NotFound("That user does not exist")
    return user


@bp.route("/users", methods=["GET", "POST"])
@allow(Role.ADMIN)
def index():
    form = NewUserForm()
    errors: dict[str, str] = {}
    if form.is_submitted():
        if not form.validate():
            errors = field_errors(form)
        else:
            try:
                user_services.create_user(current_user, form.email.data, form.password.data or "",
                                          Role(form.role.data), form.name.value)
            except InvalidInput as error:
                errors[error.field or "_form"] = error.message
            else:
                return redirect(url_for("users.index"))
    return render_template("users/index.html", users=_users(), errors=errors, form=form,
                           access_form=access_form), (422 if errors else 200)


@bp.route("/users/<int:user_id>", methods=["POST"])
@allow(Role.ADMIN)
def update(user_id: int):
    load_user(user_id)
    form = AccessForm()
    if not form.validate():
        return error_response(422, "Choose a role and whether the user may sign in.")
    user = user_services.change_access(current_user, user_id, Role(form.role.data), form.active.data == "1")
    if is_htmx():
        return make_response(render_template("users/_row.html", user=user, saved=True, access_form=access_form))
    return redirect(url_for("users.index"))
