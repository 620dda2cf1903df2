"""Command line: `flask --app webapp users create`, `tokens create`, `worker`, `recover`."""

from __future__ import annotations

import sys

import click
from flask import Flask, current_app
from flask.cli import AppGroup, with_appcontext

from . import crypto, timeutil
from .auth import create_user, find_user
from .extensions import db
from .models import ApiToken

users = AppGroup("users", help="Manage user accounts.")
tokens = AppGroup("tokens", help="Manage personal API tokens.")


@users.command("create")
@click.option("--email", required=True)
@click.option("--password", required=True, help="At least 8 characters.")
@click.option("--time-zone", default="UTC", show_default=True, help="IANA zone, e.g. Europe/Berlin.")
def users_create(email: str, password: str, time_zone: str) -> None:
    """Create a user account."""
    if len(password) < 8:
        raise click.UsageError("The password must have at least 8 characters.")
    if not timeutil.is_valid_zone(time_zone):
        raise click.UsageError(f"{time_zone!r} is not an IANA time zone (e.g. Europe/Berlin).")
    if find_user(email):
        raise click.UsageError(f"There is already a user with the email {email}.")
    user = create_user(email, password, time_zone)
    click.echo(f"Created user {user.email} (id {user.id}, time zone {user.time_zone}).")


@tokens.command("create")
@click.option("--email", required=True)
@click.option("--name", default="cli", show_default=True)
def tokens_create(email: str, name: str) -> None:
    """Create an API token and print it once (only its hash is stored)."""
    user = find_user(email)
    if user is None:
        raise click.UsageError(f"There is no user with the email {email}.")
    token = crypto.new_api_token()
    db.session.add(ApiToken(user_id=user.id, name=name, token_hash=crypto.hash_api_token(token)))
    db.session.commit()
    click.echo(token)


@click.command("worker")
@with_appcontext
def worker() -> None:
    """Run the local dispatcher as its own process until SIGTERM / Ctrl-C."""
    from .runtime import run_worker

    if current_app.config["SCHEDULER_BACKEND"] != "local":
        click.echo("Note: SCHEDULER_BACKEND is qstash; this worker sends due posts too (the claim "
                   "keeps it safe), but QStash is expected to do so.", err=True)
    run_worker(current_app._get_current_object(), echo=lambda text: click.echo(text, err=True))
    sys.exit(0)


@click.command("recover")
@with_appcontext
def recover() -> None:
    """Run one sweep now and print what it did."""
    from .runtime import core

    report = core().dispatcher.sweep(enqueue=core().alarm.enqueue_missing)
    click.echo(f"Sweep: {report.recovered} sent (missed or stuck), {report.failed} failed as too late, "
               f"{report.enqueued} alarms set; {report.total} in all.")
    for outcome in report.outcomes:
        click.echo(f"  {outcome.post_id}: {outcome.result}" + (f" ({outcome.reason})" if outcome.reason else ""))


def init_app(app: Flask) -> None:
    app.cli.add_command(users)
    app.cli.add_command(tokens)
    app.cli.add_command(worker)
    app.cli.add_command(recover)
