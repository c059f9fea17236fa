"""Checking a person's password: the same work whether or not the account exists.

An unknown email used to answer in ~8 ms and a known one in ~200 ms, which told a stranger which
emails have accounts. Now an unknown or disabled account has a password checked too, against a
hash made the way set_password makes one.
"""
from __future__ import annotations

import sqlalchemy as sa
from werkzeug.security import check_password_hash

from ..extensions import db
from ..models import User


# A hash of a password nobody knows (it was thrown away), made with werkzeug's default method, the one
# set_password uses (a test keeps them alike). Written out rather than made at start-up, so that no
# worker's first unknown email costs a second hash, and no process start pays for one.
NO_ONES_HASH = ("scrypt:32768:8:1$Wnt0WTohvD8HQo58$3bd791298285b68a9be811d6a8dcc661384d83c849dca661ed6ee946f51ec4f5d"
                "ba1b331bd3653603fafbb5485208cf93a7bac4c10a94cdf55b4bc85f021bed1")


def authenticate(email: str, password: str) -> User | None:
    """The active user with this email and password, or None. Takes one password check either way."""
    user = db.session.scalar(sa.select(User).where(User.email == email))
    if user is None:
        check_password_hash(NO_ONES_HASH, password)
        return None
    # The password is checked before the account's state, so that a disabled account answers as slowly.
    right = user.check_password(password)
    return user if right and user.active else None
