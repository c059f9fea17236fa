"""The sign-in and password forms: every field bounded and refused with its message before anything
else reads it (the throttle's counts, Redis, the database). A NUL byte never gets this far: the
app's request class refuses it in any form or query value (web.TextValues). The email's bound is the users table's column."""
from __future__ import annotations

from flask_wtf import FlaskForm
from wtforms import PasswordField, StringField
from wtforms.validators import InputRequired, Length

from ..formfields import field_errors  # noqa: F401  (its home is formfields; the sign-in views import it from here)
from ..models import User

EMAIL_MAX_LENGTH = User.__table__.c.email.type.length
# Longer than any pass phrase a person types; bounded so that a request cannot make a hash chew megabytes.
PASSWORD_MAX_LENGTH = 1024


def _bounded_password(label: str, *validators) -> PasswordField:
    return PasswordField(label, validators=[*validators, Length(
        max=PASSWORD_MAX_LENGTH, message=f"A password has at most {PASSWORD_MAX_LENGTH:,} characters.")])


def _normalise_email(value: str | None) -> str | None:
    return value.strip().lower() if isinstance(value, str) else value


class SignInForm(FlaskForm):
    class Meta:
        csrf = False  # the app-wide CSRFProtect has checked the token before any view runs

    email = StringField("Email", filters=[_normalise_email], validators=[
        InputRequired("Enter your email."),
        Length(max=EMAIL_MAX_LENGTH, message=f"An email has at most {EMAIL_MAX_LENGTH} characters.")])
    password = _bounded_password("Password", InputRequired("Enter your password."))


class PasswordChangeForm(FlaskForm):
    """The bounds only: whether the current password is right, and the new one long enough and typed
    twice alike, the view decides (in that order)."""

    class Meta:
        csrf = False

    current_password = _bounded_password("Current password")
    new_password = _bounded_password("New password")
    confirm_password = _bounded_password("New password again")
