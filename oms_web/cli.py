"""Command-line tools: `flask --app oms_web <command>`."""
from __future__ import annotations

import sys

import click
import sqlalchemy as sa
from flask import Flask

from .extensions import db
from .models import Role, User


def register_cli(app: Flask) -> None:
    app.cli.add_command(create_user)
    app.cli.add_command(check_stock)
    app.cli.add_command(seed_demo)


@click.command("create-user")
@click.argument("email")
@click.option("--role", type=click.Choice([r.value for r in Role]), default=Role.STAFF.value, show_default=True)
@click.option("--name", default="", help="Display name.")
@click.option("--password", envvar="OMS_NEW_USER_PASSWORD", help="Prompted for when not given (or read from stdin).")
def create_user(email: str, role: str, name: str, password: str | None) -> None:
    """Create a user who can sign in, or reset an existing user's password and role."""
    email = email.strip().lower()
    if "@" not in email:
        raise click.BadParameter("not an email address", param_hint="EMAIL")
    if password is None:
        if sys.stdin.isatty():
            password = click.prompt("Password", hide_input=True, confirmation_prompt=True)
        else:
            password = sys.stdin.readline().rstrip("\n")
    if len(password) < 8:
        raise click.BadParameter("use at least 8 characters", param_hint="password")
    user = db.session.scalar(sa.select(User).where(User.email == email))
    created = user is None
    if created:
        user = User(email=email)
        db.session.add(user)
    user.name = name or user.name or email.split("@")[0]
    user.role = Role(role)
    user.set_password(password)
    user.active = True
    db.session.commit()
    click.echo(f"{'Created' if created else 'Updated'} {user.email} ({user.role.value})")


@click.command("check-stock")
def check_stock() -> None:
    """Check the stock invariants on the live database; exit 1 on any violation."""
    from .domain.invariants import check_invariants

    violations = check_invariants()
    for violation in violations:
        click.echo(str(violation))
    if violations:
        click.echo(f"{len(violations)} violation(s)", err=True)
        sys.exit(1)
    click.echo("Stock invariants hold: never oversold, committed = open allocations, lines consistent, "
               "ledger balanced, invoice numbers gapless.")


@click.command("seed-demo")
@click.option("--orders", "order_count", type=click.IntRange(0, 5_000_000), default=2_000, show_default=True)
@click.option("--if-empty", is_flag=True, help="Do nothing when the database already holds orders.")
def seed_demo(order_count: int, if_empty: bool) -> None:
    """Fill the database with demo users, products, customers and orders in every state."""
    from .seed import seed_demo_data

    seed_demo_data(order_count, if_empty=if_empty, echo=click.echo)
