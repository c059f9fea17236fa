"""Who may sign in: create a user, change a user's role and access, set a password.

Each service is one all-or-nothing write. `actor` is the admin acting, or None for the server's
operator at the command line (`flask create-user`), who needs no role. The shop always keeps an admin
who may sign in: no change leaves it without one.
"""
from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError

from ..database import service
from ..extensions import db
from ..models import Role, User
from .errors import InvalidInput, NotAllowed, NotFound
from .locking import lock_admins, lock_user

MIN_PASSWORD_LENGTH = 10
EMAIL_MAX_LENGTH = User.__table__.c.email.type.length
NAME_MAX_LENGTH = User.__table__.c.name.type.length


def _require_admin(actor: User | None) -> None:
    if actor is not None and not actor.has_role(Role.ADMIN):
        raise NotAllowed("Only an admin may manage users")


def normal_email(email: str) -> str:
    """An email as it is kept: trimmed and lower-case (sign-in compares it so)."""
    email = (email or "").strip().lower()
    if "@" not in email or len(email) > EMAIL_MAX_LENGTH:
        raise InvalidInput(f"Enter an email address of up to {EMAIL_MAX_LENGTH} characters", field="email")
    return email


def _check_password(password: str) -> None:
    if len(password or "") < MIN_PASSWORD_LENGTH:
        raise InvalidInput(f"Use at least {MIN_PASSWORD_LENGTH} characters", field="password")


def _load(user_id: int) -> User:
    user = lock_user(user_id)
    if user is None:
        raise NotFound("That user does not exist")
    return user


@service
def create_user(actor: User | None, email: str, password: str, role: Role = Role.STAFF,
                name: str | None = None) -> User:
    """Add a user who may sign in with `password`. Raises NotAllowed below admin, InvalidInput for a bad
    or taken email, an over-long name or a short password."""
    _require_admin(actor)
    email = normal_email(email)
    name = _checked_name((name or "").strip() or email.split("@")[0][:NAME_MAX_LENGTH])
    _check_password(password)
    if db.session.scalar(sa.select(User.id).where(User.email == email)):
        raise InvalidInput("A user with that email exists already", field="email")
    user = User(email=email, name=name, role=Role(role))
    user.set_password(password)
    db.session.add(user)
    try:
        db.session.flush()
    except IntegrityError:  # the same email added at the same moment
        raise InvalidInput("A user with that email exists already", field="email") from None
    return user


@service
def change_access(actor: User | None, user_id: int, role: Role, active: bool) -> User:
    """Set a user's role and whether they may sign in; a change ends their sessions at their next request.

    Raises NotAllowed below admin, InvalidInput when an admin would demote or disable themself, or the
    change would leave no admin who may sign in."""
    _require_admin(actor)
    role = Role(role)
    if actor is not None and actor.id == user_id and (role is not Role.ADMIN or not active):
        raise InvalidInput("You cannot remove your own admin role or disable yourself; ask another admin.")
    # Every admin who may sign in, locked in id order: two admins demoting each other at once are
    # taken one after the other, and the second sees the first's change.
    admins = lock_admins()
    if actor is not None and actor.id not in admins:  # demoted or disabled while this waited for the lock
        raise NotAllowed("Only an admin may manage users")
    user = _load(user_id)
    if user.role is role and user.active == active:
        return user
    if set(admins) == {user.id} and (role is not Role.ADMIN or not active):
        raise InvalidInput(f"{user.email} is the last admin who may sign in: make another admin first.")
    user.role, user.active = role, active
    user.session_version += 1
    return user


def _checked_name(name: str) -> str:
    if len(name) > NAME_MAX_LENGTH:
        raise InvalidInput(f"The name has at most {NAME_MAX_LENGTH} characters ({len(name):,} given)", field="name")
    return name


@service
def rename_user(actor: User | None, user_id: int, name: str) -> User:
    """Change the name shown for a user. Raises NotAllowed below admin, InvalidInput for an empty or
    over-long name."""
    _require_admin(actor)
    name = (name or "").strip()
    if not name:
        raise InvalidInput("Give the user a name", field="name")
    user = _load(user_id)
    user.name = _checked_name(name)
    return user


@service
def set_password(actor: User | None, user_id: int, password: str) -> User:
    """Give a user a new password; their other sessions end. Raises NotAllowed below admin (unless it is
    the actor's own), InvalidInput for a short password."""
    if actor is not None and actor.id != user_id:
        _require_admin(actor)
    _check_password(password)
    user = _load(user_id)
    user.set_password(password)
    user.session_version += 1
    return user
