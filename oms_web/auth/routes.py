"""Sign in, sign out, change password."""
from __future__ import annotations

from urllib.parse import urlsplit

from flask import flash, redirect, render_template, request, session, url_for
from flask_login import current_user, login_user, logout_user

from ..extensions import db, login_manager
from ..models import Role, User
from ..web import PUBLIC, allow, is_htmx
from . import bp, throttle
from .forms import PasswordChangeForm, SignInForm, field_errors
from .passwords import authenticate


@login_manager.user_loader
def load_user(token: str) -> User | None:
    """Session token is "id:version": a bumped session_version ends every older session."""
    user_id, _, version = token.partition(":")
    if not user_id.isdigit() or not version.isdigit():
        return None
    user = db.session.get(User, int(user_id))
    if user is None or not user.active or user.session_version != int(version):
        return None
    return user


@login_manager.unauthorized_handler
def unauthorized():
    target = url_for("auth.login", next=request.full_path if request.method == "GET" and not is_htmx() else None)
    if is_htmx():
        response = redirect(target, code=303)
        response.status_code = 401
        response.headers["HX-Redirect"] = target
        return response
    return redirect(target)


def _safe_next(target: str | None) -> str:
    if target and not urlsplit(target).netloc and target.startswith("/") and not target.startswith("//"):
        return target
    return url_for("board.index")


@bp.route("/login", methods=["GET", "POST"])
@allow(PUBLIC)
def login():
    if current_user.is_authenticated:
        return redirect(_safe_next(request.args.get("next")))
    form = SignInForm()
    error = None
    if request.method == "POST":
        if not form.validate():
            return render_template("auth/login.html", form=form, errors=field_errors(form), error=None), 422
        # Counted before the password is checked: however many attempts arrive at once, no more
        # passwords are checked than the limits allow.
        attempt = throttle.admit(form.email.data, request.remote_addr or "unknown")
        if attempt is None:
            error = "Too many failed sign-ins. Wait 15 minutes and try again."
        else:
            user = authenticate(form.email.data, form.password.data)
            if user is None:
                error = "Wrong email or password."
            else:
                attempt.signed_in()
                session.clear()  # a new session at sign-in: nothing carried over from before
                login_user(user)
                return redirect(_safe_next(request.args.get("next")))
    return render_template("auth/login.html", form=form, errors={}, error=error), (401 if error else 200)


@bp.route("/logout", methods=["POST"])
@allow(Role.STAFF)
def logout():
    # Ending this user's sessions everywhere: every cookie carrying the old version stops working.
    current_user.session_version += 1
    db.session.commit()
    logout_user()
    session.clear()
    flash("Signed out.")
    return redirect(url_for("auth.login"))


@bp.route("/account/password", methods=["GET", "POST"])
@allow(Role.STAFF)
def change_password():
    form = PasswordChangeForm()
    errors: dict[str, str] = {}
    if request.method == "POST":
        user: User = current_user._get_current_object()
        new = form.new_password.data or ""
        if not form.validate():
            errors = field_errors(form)
        elif not user.check_password(form.current_password.data or ""):
            errors["current_password"] = "That is not your current password."
        elif len(new) < 10:
            errors["new_password"] = "Use at least 10 characters."
        elif new != form.confirm_password.data:
            errors["confirm_password"] = "The two new passwords differ."
        else:
            user.set_password(new)
            user.session_version += 1
            db.session.commit()
            login_user(user)  # this browser stays signed in; every other session ends
            flash("Password changed. Other sessions have been signed out.")
            return redirect(url_for("board.index"))
    return render_template("auth/password.html", form=form, errors=errors), (422 if errors else 200)
