"""Users (admin only): create, change role, disable or enable. Disabling ends the user's sessions."""
from __future__ import annotations

import sqlalchemy as sa
from flask import make_response, redirect, render_template, request, url_for
from flask_login import current_user

from ..domain.errors import InvalidInput
from ..extensions import db
from ..models import Role, User
from ..web import allow, column_length, error_response, form_text, is_htmx
from . import bp


def _users() -> list[User]:
    return db.session.scalars(sa.select(User).order_by(User.email)).all()


def load_user(user_id: int) -> User:
    user = db.session.get(User, user_id)
    if user is None:
        from ..domain.errors import NotFound

        raise NotFound("That user does not exist")
    return user


@bp.route("/users", methods=["GET", "POST"])
@allow(Role.ADMIN)
def index():
    errors: dict[str, str] = {}
    form = request.form
    if request.method == "POST":
        email = (form.get("email") or "").strip().lower()
        role = form.get("role", "")
        name = None
        try:
            name = form_text("name", User.name, label="The name")
        except InvalidInput as error:
            errors["name"] = error.message
        if "@" not in email or len(email) > column_length(User.email):
            errors["email"] = f"Enter an email address of up to {column_length(User.email)} characters"
        elif db.session.scalar(sa.select(User.id).where(User.email == email)):
            errors["email"] = "A user with that email exists already"
        if role not in {r.value for r in Role}:
            errors["role"] = "Choose a role"
        if len(form.get("password") or "") < 10:
            errors["password"] = "Use at least 10 characters"
        if not errors:
            user = User(email=email, name=name or email.split("@")[0][:column_length(User.name)],
                        role=Role(role))
            user.set_password(form["password"])
            db.session.add(user)
            db.session.commit()
            return redirect(url_for("users.index"))
    return render_template("users/index.html", users=_users(), errors=errors, form=form), (422 if errors else 200)


@bp.route("/users/<int:user_id>", methods=["POST"])
@allow(Role.ADMIN)
def update(user_id: int):
    user = load_user(user_id)
    role, active = request.form.get("role"), request.form.get("active")
    if user.id == current_user.id and (role != Role.ADMIN.value or active != "1"):
        return error_response(422, "You cannot remove your own admin role or disable yourself; ask another admin.")
    if role not in {r.value for r in Role} or active not in ("0", "1"):
        return error_response(422, "Choose a role and whether the user may sign in.")
    if user.role.value != role or user.active != (active == "1"):
        user.role = Role(role)
        user.active = active == "1"
        user.session_version += 1  # the change takes effect at the user's next request
        db.session.commit()
    if is_htmx():
        return make_response(render_template("users/_row.html", user=user, saved=True))
    return redirect(url_for("users.index"))
