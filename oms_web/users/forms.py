"""The users screen's forms: adding a user, and one user's role and access (each row's form)."""
from __future__ import annotations

from wtforms import PasswordField, SelectField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import AnyOf, Length

from ..auth.forms import PASSWORD_MAX_LENGTH
from ..formfields import Form, TextField
from ..models import Role, User

ROLES = [SelectChoice(r.value, r.value.capitalize()) for r in Role]


def _role_field() -> SelectField:
    return SelectField("Role", choices=ROLES, default=Role.STAFF.value, validate_choice=False,
                       validators=[AnyOf([r.value for r in Role], message="Choose a role")])


class NewUserForm(Form):
    email = TextField("Email", User.email, called="The email", required=True)
    name = TextField("Name", User.name, called="The name")
    role = _role_field()
    # How long a password must be is the users service's rule (the command line's too).
    password = PasswordField("First password (10+ characters)", validators=[Length(
        max=PASSWORD_MAX_LENGTH, message=f"A password has at most {PASSWORD_MAX_LENGTH:,} characters.")])


class AccessForm(Form):
    role = _role_field()
    active = SelectField("Access", choices=[SelectChoice("1", "May sign in"), SelectChoice("0", "Disabled")], validate_choice=False,
                         validators=[AnyOf(["1", "0"], message="Choose whether the user may sign in")])


def access_form(user: User) -> AccessForm:
    """A user's row form, showing their role and access as they are."""
    return AccessForm(formdata=None, role=user.role.value, active="1" if user.active else "0")
