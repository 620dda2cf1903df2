"""Command line: `flask --app webapp users create`, `tokens create`, `worker`, `recover`, `check`,
`qstash install-schedule`, `qstash status`."""

from __future__ import annotations

import sys
from datetime import datetime, timezone

import click
from flask import Flask, current_app
from flask.cli import AppGroup, with_appcontext

from . import crypto, timeutil
from .accounts.users import create_user, find_user
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
    if timeutil.canonical_zone(time_zone) is None:
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
    app = current_app._get_current_object()  # type: ignore[attr-defined]  # the proxy's documented way to the app
    run_worker(app, echo=lambda text: click.echo(text, err=True))
    sys.exit(0)


@click.command("check")
@click.option("--email", default=None, help="Whose LinkedIn token to check (default: the only user).")
@with_appcontext
def check_command(email: str | None) -> None:
    """Check the whole pipeline with a dry run through the webhook: exit status 0 when every step passes."""
    from .dispatch import actions
    from .models import User
    from .runtime import core

    if email is not None:
        user = find_user(email)
        if user is None:
            raise click.UsageError(f"There is no user with the email {email}.")
    else:
        found = db.session.execute(db.select(User).limit(2)).scalars().all()
        if len(found) != 1:
            raise click.UsageError("Say whose LinkedIn token to check: --email <address>."
                                   if found else "There are no users yet: create one first (flask users create).")
        user = found[0]
    result = actions.check_pipeline(core(), user_id=user.id)
    where = "the demo inbox" if result.demo else "n8n"
    click.echo(f"Pipeline check of {where} for {user.email}, {timeutil.iso_z(result.checked_at)}:")
    for step in result.steps:
        click.echo(f"  {step.verdict:<11}  {step.title}")
        if step.sentence:
            click.echo(f"{'':15}{step.sentence}")
    click.echo("All steps passed." if result.passed else "The pipeline check failed.")
    sys.exit(0 if result.passed else 1)


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


# ---------------------------------------------------------------- qstash

qstash = AppGroup("qstash", help="The QStash schedule that runs the safety net (the recover endpoint).")

#: The safety net's default rhythm: 288 QStash messages a day (the free plan allows 1,000).
DEFAULT_CRON = "*/5 * * * *"
FREE_PLAN_MESSAGES_PER_DAY = 1000


def _cron_field(field: str, low: int, high: int) -> set[int]:
    """The values one cron field selects (`*`, `a`, `a-b`, `*/n`, `a-b/n`, lists of these)."""
    values: set[int] = set()
    for part in field.split(","):
        spec, _, step = part.partition("/")
        if spec == "*":
            start, stop = low, high
        elif "-" in spec:
            start, stop = (int(x) for x in spec.split("-", 1))
        else:
            start = stop = int(spec)
            if step:
                stop = high
        if not (low <= start <= stop <= high):
            raise ValueError(part)
        values.update(range(start, stop + 1, int(step) if step else 1))
    return values


def cron_runs_per_day(expression: str) -> int | None:
    """How often a cron expression fires per day, when its day fields are all `*`; else None."""
    fields = expression.split()
    if fields and fields[0].startswith("CRON_TZ="):
        fields = fields[1:]
    if len(fields) != 5 or fields[2:] != ["*", "*", "*"]:
        return None
    try:
        return len(_cron_field(fields[0], 0, 59)) * len(_cron_field(fields[1], 0, 23))
    except ValueError:
        return None


def _cost(expression: str) -> str:
    runs = cron_runs_per_day(expression)
    if runs is None:
        return ""
    note = f"{runs} QStash messages a day"
    if runs > FREE_PLAN_MESSAGES_PER_DAY:
        note += f" — more than the free plan's {FREE_PLAN_MESSAGES_PER_DAY:,}"
    return f" ({note})"


def _qstash():
    """(settings, client) from the configuration, or a usage error naming what is missing."""
    from .config import ConfigError
    from .dispatch.alarms.qstash import new_client
    from .runtime import qstash_settings

    try:
        settings = qstash_settings(current_app.config)
    except ConfigError as exc:
        raise click.UsageError(str(exc)) from None
    return settings, new_client(settings)


def _qstash_failed(what: str, exc: Exception, token: str) -> click.ClickException:
    from .dispatch.alarms.qstash import describe_failure

    return click.ClickException(f"{what}: {describe_failure(exc, token)}")


@qstash.command("install-schedule")
@click.option("--cron", default=DEFAULT_CRON, show_default=True,
              help="When QStash calls the recover endpoint (UTC; CRON_TZ=… allowed).")
@with_appcontext
def qstash_install_schedule(cron: str) -> None:
    """Create or update (idempotently) the QStash schedule that calls the recover endpoint."""
    from .dispatch.alarms.qstash import RECOVER_SCHEDULE_ID

    settings, client = _qstash()
    try:
        # retries=0: a failed run is simply followed by the next one; retries would cost messages.
        schedule_id = client.schedule.create(destination=settings.recover_url, cron=cron,
                                             schedule_id=RECOVER_SCHEDULE_ID, retries=0)
    except Exception as exc:
        raise _qstash_failed("QStash did not accept the schedule", exc, settings.token) from None
    click.echo(f"Schedule {schedule_id}: POST {settings.recover_url} at '{cron}' (UTC){_cost(cron)}.")


@qstash.command("status")
@with_appcontext
def qstash_status() -> None:
    """Show the recover schedule and the posts still waiting for a QStash message."""
    from .dispatch.alarms.qstash import RECOVER_SCHEDULE_ID, QStashAlarm, is_not_found
    from .runtime import core

    settings, client = _qstash()
    click.echo(f"Dispatch endpoint: {settings.dispatch_url}")
    try:
        schedule = client.schedule.get(RECOVER_SCHEDULE_ID)
    except Exception as exc:
        if is_not_found(exc):
            raise click.ClickException(f"No recover schedule '{RECOVER_SCHEDULE_ID}' is installed. "
                                       "Run: flask --app webapp qstash install-schedule") from None
        raise _qstash_failed("Could not read the schedule from QStash", exc, settings.token) from None
    state = "paused" if schedule.paused else "active"
    click.echo(f"Recover schedule {schedule.schedule_id} ({state}): POST {schedule.destination} "
               f"at '{schedule.cron}'{_cost(schedule.cron)}.")
    for label, millis in (("last run", schedule.last_schedule_time), ("next run", schedule.next_schedule_time)):
        if millis:
            click.echo(f"  {label}: {timeutil.iso_z(datetime.fromtimestamp(millis / 1000, timezone.utc))}")
    alarm = QStashAlarm(store=core().store, clock=core().clock, settings=settings, client=client)
    waiting = len(alarm.store.missing_alarms(until=alarm.horizon(alarm.clock()), limit=1000))
    click.echo(f"Scheduled posts inside the horizon without a QStash message: "
               f"{'1000 or more' if waiting == 1000 else waiting}"
               + (" (the next sweep publishes them)" if waiting else ""))
    if schedule.destination != settings.recover_url:
        raise click.ClickException(f"The schedule calls {schedule.destination}, but APP_URL says "
                                   f"{settings.recover_url}. Run install-schedule again.")


class _Migrations(click.Group):
    """`flask db …`: Flask-Migrate's commands, loaded when this group is used (see
    webapp.enable_migrations)."""

    def _commands(self, ctx: click.Context) -> click.Group:
        from flask.cli import ScriptInfo
        from flask_migrate.cli import db as commands  # type: ignore[import-not-found]  # no stubs for .cli

        from . import enable_migrations

        enable_migrations(ctx.ensure_object(ScriptInfo).load_app())
        return commands

    def list_commands(self, ctx: click.Context) -> list[str]:
        return self._commands(ctx).list_commands(ctx)

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        return self._commands(ctx).get_command(ctx, cmd_name)


@click.group(cls=_Migrations)
@click.option("-d", "--directory", default=None, help="Migration script directory (default: the app's)")
@click.option("-x", "--x-arg", multiple=True, help="Additional arguments consumed by custom env.py scripts")
@with_appcontext
def migrations(directory: str | None, x_arg: tuple[str, ...]) -> None:
    """Database migrations (Flask-Migrate / Alembic): db upgrade, db current, …"""
    from flask import g

    g.directory, g.x_arg = directory, x_arg  # what Flask-Migrate's own group does


migrations.name = "db"


def init_app(app: Flask) -> None:
    app.cli.add_command(migrations)
    app.cli.add_command(users)
    app.cli.add_command(tokens)
    app.cli.add_command(worker)
    app.cli.add_command(recover)
    app.cli.add_command(check_command)
    app.cli.add_command(qstash)
