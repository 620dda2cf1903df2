"""Command line: `flask --app webapp users create`, `tokens create`."""

from __future__ import annotations

import click
from flask import Flask
from flask.cli import AppGroup

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


def init_app(app: Flask) -> None:
    app.cli.add_command(users)
    app.cli.add_command(tokens)
