"""Command-line tools: `flask --app oms_web <command>`."""
from __future__ import annotations

import sys

import click
import sqlalchemy as sa
from flask import Flask

from .extensions import db
from .models import ChannelKind, Role, User


def register_cli(app: Flask) -> None:
    app.cli.add_command(create_user)
    app.cli.add_command(check_stock)
    app.cli.add_command(seed_demo)
    app.cli.add_command(channels_cli)
    app.cli.add_command(worker)


@click.command("create-user")
@click.argument("email")
@click.option("--role", type=click.Choice([r.value for r in Role]), default=Role.STAFF.value, show_default=True)
@click.option("--name", default="", help="Display name.")
@click.option("--password", envvar="OMS_NEW_USER_PASSWORD", help="Prompted for when not given (or read from stdin).")
def create_user(email: str, role: str, name: str, password: str | None) -> None:
    """Create a user who can sign in, or reset an existing user's password and role (and let them sign in).

    The rules are the users screen's (domain.users): the same email check, password length and last-admin
    guard; the operator at the shell acts with no user of their own."""
    from .database import write_transaction
    from .domain import users as user_services
    from .domain.errors import DomainError

    try:
        email = user_services.normal_email(email)
    except DomainError as error:
        raise click.BadParameter(error.message, param_hint="EMAIL") from None
    if password is None:
        if sys.stdin.isatty():
            password = click.prompt("Password", hide_input=True, confirmation_prompt=True)
        else:
            password = sys.stdin.readline().rstrip("\n")
    existing = db.session.scalar(sa.select(User.id).where(User.email == email))
    db.session.rollback()  # end the read: each service starts its own write
    try:
        if existing is None:
            user = user_services.create_user(None, email, password, Role(role), name or None)
        else:
            with write_transaction():  # the three services as one: a refused role leaves the password be
                user_services.set_password(None, existing, password)
                user = user_services.change_access(None, existing, Role(role), True)
                if name:
                    user = user_services.rename_user(None, existing, name)
    except DomainError as error:
        raise click.ClickException(error.message) from None
    click.echo(f"{'Created' if existing is None else 'Updated'} {user.email} ({user.role.value})")


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
               "ledger balanced, per product and per location; invoice and credit note numbers gapless; "
               "returns, refunds and transfers add up.")


@click.command("seed-demo")
@click.option("--orders", "order_count", type=click.IntRange(0, 5_000_000), default=2_000, show_default=True)
@click.option("--if-empty", is_flag=True, help="Do nothing when the database already holds orders.")
def seed_demo(order_count: int, if_empty: bool) -> None:
    """Fill the database with demo users, products, customers and orders in every state."""
    from .seed import seed_demo_data

    seed_demo_data(order_count, if_empty=if_empty, echo=click.echo)


@click.command("worker")
@click.option("--threads", type=click.IntRange(1, 64), default=2, show_default=True,
              help="Jobs run at once by this worker.")
def worker(threads: int) -> None:
    """Run a worker: take jobs off the task queue (print batches, channel pulls, confirmations) and run
    the schedule. Start as many as you like, here or on other machines (with OMS_REDIS_URL); Ctrl-C
    stops one after the jobs in hand, and a worker killed outright loses nothing (its jobs run again)."""
    import logging

    from flask import current_app

    from .tasks import run_worker

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    run_worker(current_app._get_current_object(), threads)


channels_cli = click.Group("channels", help="Sales channels: create them, pull their orders.")


@channels_cli.command("create")
@click.argument("name")
@click.option("--kind", type=click.Choice([k.value for k in ChannelKind]), required=True)
@click.option("--secret", help="Webhook secret (Shopify, WooCommerce); one is made when not given.")
@click.option("--base-url", default="http://127.0.0.1:5000", show_default=True, help="Where this site is reached.")
@click.option("--client-id", help="Amazon (LWA) or eBay app client id.")
@click.option("--client-secret", help="Amazon (LWA) or eBay app client secret.")
@click.option("--refresh-token", help="The seller's refresh token (Amazon, eBay).")
@click.option("--marketplace-id", help="Amazon marketplace id, e.g. ATVPDKIKX0DER.")
@click.option("--api-url", help="The marketplace API's base URL, e.g. https://sellingpartnerapi-na.amazon.com.")
@click.option("--token-url", help="The marketplace's token URL, when not the usual one.")
def channels_create(name: str, kind: str, secret: str | None, base_url: str, client_id: str | None,
                    client_secret: str | None, refresh_token: str | None, marketplace_id: str | None,
                    api_url: str | None, token_url: str | None) -> None:
    """Create a channel; print where its orders go and, for an API channel, its key (shown once).

    A marketplace channel (Amazon, eBay) takes its credentials and API address here too, so that it
    can be set up from a script and synced straight away.
    """
    from .channels.manage import CREDENTIALS, MARKETPLACES, PLAIN_SETTINGS, create_channel, inbound_path, update_channel
    from .domain.errors import DomainError

    channel_kind = ChannelKind(kind)
    credentials = {"client_id": client_id, "client_secret": client_secret, "refresh_token": refresh_token}
    settings = {"base_url": api_url, "token_url": token_url, "marketplace_id": marketplace_id}
    given_credentials = {k: v for k, v in credentials.items() if v}
    given_settings = {k: v for k, v in settings.items() if v}
    if channel_kind in MARKETPLACES:
        if secret:
            raise click.UsageError("--secret is a webhook secret; a marketplace channel takes --client-secret")
        unknown = set(given_settings) - set(PLAIN_SETTINGS[channel_kind])
        if unknown:
            raise click.UsageError(f"A {kind} channel has no {', '.join(sorted(unknown)).replace('_', '-')}")
    elif given_credentials or given_settings:
        raise click.UsageError("Credentials and API addresses are for amazon and ebay channels")
    try:
        created = create_channel(name, channel_kind, secret)
        if given_credentials or given_settings:
            update_channel(created.channel.id, active=True, secret=None, settings=given_settings,
                           credentials=given_credentials)
    except DomainError as error:
        raise click.ClickException(error.message) from None
    click.echo(f"Created channel {created.channel.name} ({kind}), id {created.channel.id}")
    path = inbound_path(created.channel)
    if path:
        click.echo(f"Inbound URL: {base_url.rstrip('/')}{path}")
    if created.api_key:
        click.echo(f"API key (shown once, only a hash is kept): {created.api_key}")
    if created.secret:
        click.echo(f"Webhook secret: {created.secret}")
    if channel_kind in MARKETPLACES:
        missing = [k.replace("_", "-") for k in CREDENTIALS[channel_kind] if k not in given_credentials]
        if "base_url" not in given_settings:
            missing.append("api-url")
        if channel_kind is ChannelKind.AMAZON and "marketplace_id" not in given_settings:
            missing.append("marketplace-id")
        click.echo("Ready to sync: flask --app oms_web channels sync --channel " + repr(created.channel.name)
                   if not missing else f"Before it can sync, set on the channel's page: {', '.join(missing)}")


@channels_cli.command("sync")
@click.option("--channel", "channel_name", help="Only this channel (by name); otherwise every active marketplace.")
def channels_sync(channel_name: str | None) -> None:
    """Pull new and changed orders from Amazon and eBay and send waiting shipment confirmations.

    Safe from cron every few minutes: a run still going holds its channel, and a repeat is one order.
    """
    from .channels.manage import MARKETPLACES
    from .channels.sync import SyncAlreadyRunning, sync_channel
    from .domain.errors import DomainError
    from .models import SalesChannel

    query = sa.select(SalesChannel).where(SalesChannel.kind.in_(MARKETPLACES), SalesChannel.active)
    if channel_name:
        query = sa.select(SalesChannel).where(SalesChannel.name == channel_name)
    channels = db.session.scalars(query.order_by(SalesChannel.id)).all()
    if not channels:
        raise click.ClickException(f"No channel named {channel_name}" if channel_name else "No active Amazon or eBay channel")
    failed = False
    for channel in channels:
        with click.progressbar(length=0, label=f"{channel.name}: pulling orders", show_pos=True) as bar:
            def progress(done: int, total: int | None, bar=bar) -> None:
                bar.length = max(total or done, done, 1)
                bar.update(done - bar.pos)

            try:
                run = sync_channel(channel.id, progress=progress)
            except SyncAlreadyRunning as running:  # cron overlapping a long run: not a failure
                click.echo(f"\n{running.message}: skipped")
                continue
            except DomainError as refusal:
                raise click.ClickException(refusal.message) from None
        click.echo(f"{channel.name}: {run.status}; {run.imported} new, {run.duplicates} repeats, "
                   f"{run.held} on hold, {run.skipped} skipped")
        for error in run.errors or []:
            click.echo(f"  error: {error}", err=True)
        failed = failed or run.status == "failed"
    if failed:
        sys.exit(1)
