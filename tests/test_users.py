"""The users service (domain.users), used by the users screen and `flask create-user`: each change is
all-or-nothing, and no change leaves the shop without an admin who may sign in."""
from __future__ import annotations

import threading

import pytest
import sqlalchemy as sa

from oms_web.domain import users
from oms_web.domain.errors import InvalidInput, NotAllowed
from oms_web.extensions import db
from oms_web.models import Role, User


def fresh(user_id: int) -> User:
    db.session.rollback()
    return db.session.get(User, user_id)


def test_a_created_user_signs_in_with_their_password_and_a_kept_email(shop):
    user = users.create_user(shop.admin, "  Ada@Example.COM ", "a long password", Role.MANAGER)
    user = fresh(user.id)
    assert (user.email, user.name, user.role, user.active) == ("ada@example.com", "ada", Role.MANAGER, True)
    assert user.check_password("a long password")


@pytest.mark.parametrize(("email", "password", "name", "message"), [
    ("not-an-email", "a long password", None, "Enter an email address of up to 254 characters"),
    ("n" * 250 + "@example.com", "a long password", None, "Enter an email address of up to 254 characters"),
    ("ada@example.com", "too short", None, "Use at least 10 characters"),
    ("ada@example.com", "a long password", "n" * 121, "The name has at most 120 characters"),
])
def test_a_bad_new_user_is_refused(shop, email, password, name, message):
    shop.refused(InvalidInput, users.create_user, shop.admin, email, password, Role.STAFF, name, match=message)


def test_a_second_user_with_an_email_in_use_is_refused_in_any_case(shop):
    shop.refused(InvalidInput, users.create_user, shop.admin, shop.staff.email.upper(), "a long password",
                 match="A user with that email exists already")


def test_only_an_admin_manages_users(shop):
    shop.refused(NotAllowed, users.create_user, shop.manager, "ada@example.com", "a long password")
    shop.refused(NotAllowed, users.change_access, shop.manager, shop.staff.id, Role.ADMIN, True)
    shop.refused(NotAllowed, users.set_password, shop.manager, shop.staff.id, "a long password")


def test_a_role_or_access_change_ends_the_users_sessions(shop):
    version = shop.staff.session_version
    users.change_access(shop.admin, shop.staff.id, Role.MANAGER, False)
    staff = fresh(shop.staff.id)
    assert (staff.role, staff.active, staff.session_version) == (Role.MANAGER, False, version + 1)


def test_an_admin_cannot_demote_or_disable_themself(shop):
    shop.refused(InvalidInput, users.change_access, shop.admin, shop.admin.id, Role.STAFF, True,
                 match="You cannot remove your own admin role")
    shop.refused(InvalidInput, users.change_access, shop.admin, shop.admin.id, Role.ADMIN, False,
                 match="You cannot remove your own admin role")


def test_the_last_admin_who_may_sign_in_is_kept(shop):
    # The operator at the command line has no user of their own: only the rule stops them.
    shop.refused(InvalidInput, users.change_access, None, shop.admin.id, Role.MANAGER, True,
                 match="is the last admin who may sign in")
    shop.refused(InvalidInput, users.change_access, None, shop.admin.id, Role.ADMIN, False,
                 match="is the last admin who may sign in")
    second = shop.user(Role.ADMIN)
    users.change_access(shop.admin, second.id, Role.STAFF, True)  # two admins: one may go
    assert fresh(second.id).role is Role.STAFF
    # A disabled admin does not count: the one who may sign in is still the last.
    disabled = shop.user(Role.ADMIN)
    users.change_access(None, disabled.id, Role.ADMIN, False)
    shop.refused(InvalidInput, users.change_access, None, shop.admin.id, Role.STAFF, True,
                 match="is the last admin who may sign in")


def test_a_new_password_ends_the_other_sessions_and_a_short_one_is_refused(shop):
    shop.refused(InvalidInput, users.set_password, shop.admin, shop.staff.id, "short", match="at least 10")
    version = shop.staff.session_version
    users.set_password(shop.admin, shop.staff.id, "another long password")
    staff = fresh(shop.staff.id)
    assert staff.check_password("another long password") and staff.session_version == version + 1


# ---------------------------------------------------------------- the create-user command

def test_create_user_makes_a_user_then_resets_them(app, shop):
    runner = app.test_cli_runner()
    result = runner.invoke(args=["create-user", "Ada@Example.com", "--role", "manager"], input="a long password\n")
    assert result.exit_code == 0, result.output
    assert "Created ada@example.com (manager)" in result.output
    result = runner.invoke(args=["create-user", "ada@example.com", "--role", "staff", "--name", "Ada L"],
                           input="another long password\n")
    assert result.exit_code == 0, result.output
    db.session.rollback()
    ada = db.session.scalar(db.select(User).where(User.email == "ada@example.com"))
    assert (ada.role, ada.name, ada.check_password("another long password")) == (Role.STAFF, "Ada L", True)


def test_create_user_keeps_the_screens_rules_and_changes_nothing_when_refused(app, shop):
    runner = app.test_cli_runner()
    before = shop.snapshot()
    result = runner.invoke(args=["create-user", "ada@example.com"], input="short\n")
    assert result.exit_code != 0 and "Use at least 10 characters" in result.output
    # Resetting the last admin to staff is refused whole: their password stays as it was too.
    result = runner.invoke(args=["create-user", shop.admin.email, "--role", "staff"], input="a new long password\n")
    assert result.exit_code != 0 and "is the last admin who may sign in" in result.output
    assert shop.snapshot() == before


def test_two_admins_demoting_each_other_at_once_leave_one_admin(app, shop):
    """Each checks "is another admin left?" and each would see one: the admins' rows are locked before
    the check, so the second waits for the first and then sees that it is the last."""
    other = shop.user(Role.ADMIN)
    start = threading.Barrier(2)
    outcomes: list[str] = []

    def demote(actor_id: int, target_id: int) -> None:
        with app.app_context():
            try:
                actor = db.session.get(User, actor_id)
                start.wait(10)
                users.change_access(actor, target_id, Role.STAFF, True)
                outcomes.append("demoted")
            except (InvalidInput, NotAllowed) as error:  # which one depends on who waited where
                outcomes.append(type(error).__name__)
            finally:
                db.session.remove()

    threads = [threading.Thread(target=demote, args=pair) for pair in ((shop.admin.id, other.id),
                                                                       (other.id, shop.admin.id))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert len(outcomes) == 2 and outcomes.count("demoted") == 1, outcomes
    db.session.rollback()
    assert db.session.scalar(sa.select(sa.func.count()).select_from(User).where(User.role == Role.ADMIN)) == 1
