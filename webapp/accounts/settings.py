"""Blueprint `settings`: time zone, the LinkedIn connection, the pipeline check, personal API tokens."""

from __future__ import annotations

import logging
import time as clock
from datetime import datetime, time, timezone
from typing import Any

from flask import Blueprint, current_app, flash, redirect, render_template, request, session, url_for
from flask_login import current_user, login_required
from sqlalchemy import select

from .. import crypto, timeutil
from ..config import demo_inbox_enabled
from ..dispatch import actions, check
from ..dispatch.errors import NotFound
from ..extensions import db
from ..htmx import is_htmx
from ..models import ApiToken, LinkedInConnection, utcnow
from ..planning.queue import WEEKDAYS
from ..planning.slots import slots_of
from ..runtime import core
from . import linkedin
from .forms import ApiTokenForm, LinkedInManualForm, TimeZoneForm

bp = Blueprint("settings", __name__, url_prefix="/settings")
log = logging.getLogger("punctual.linkedin")
#: Where a started "Connect LinkedIn" keeps its state until LinkedIn sends the member back.
OAUTH_SESSION_KEY = "linkedin_oauth"


def settings_page(status: int = 200, **overrides: Any) -> tuple[str, int]:
    """The settings page; every form and list it shows is built here, once."""
    context = {
        "zone_form": TimeZoneForm(time_zone=current_user.time_zone),
        "zone_choices": timeutil.zone_choices(utcnow()),
        "zone_aliases": timeutil.zone_names().aliases,
        "linkedin_form": LinkedInManualForm(),
        "token_form": ApiTokenForm(),
        "connection": current_user.linkedin,
        "oauth": oauth_client() is not None,
        "tokens": db.session.execute(
            select(ApiToken).where(ApiToken.user_id == current_user.id).order_by(ApiToken.created_at.desc())
        ).scalars().all(),
        "new_token": None,
        "queue_slots": slots_of(current_user.id),
        "weekdays": WEEKDAYS,
        "queue_error": None,
        "queue_typed": {},
        **pipeline_widget(),
    }
    context.update(overrides)
    return render_template("settings/index.html", **context), status


@bp.get("")
@login_required
def index():
    return settings_page()


@bp.post("/time-zone")
@login_required
def time_zone_post():
    form = TimeZoneForm()
    if not form.validate_on_submit():
        return settings_page(400, zone_form=form)
    current_user.time_zone = form.time_zone.data
    db.session.commit()
    flash(f"Times are now shown and entered in {form.time_zone.data}.", "success")
    return redirect(url_for("settings.index"))


@bp.post("/linkedin")
@login_required
def linkedin_post():
    form = LinkedInManualForm()
    if not form.validate_on_submit():
        return settings_page(400, linkedin_form=form)
    save_connection(
        (form.person_urn.data or "").strip(), (form.access_token.data or "").strip(),
        datetime.combine(form.expires_on.data, time(23, 59, 59), tzinfo=timezone.utc)
        if form.expires_on.data else None,
    )
    flash("LinkedIn connection saved.", "success")
    return redirect(url_for("settings.index"))


def oauth_client() -> linkedin.OAuthClient | None:
    default = current_app.config["APP_URL"].rstrip("/") + "/settings/linkedin/callback"
    return linkedin.OAuthClient.from_config(current_app.config, default)


@bp.post("/linkedin/connect")
@login_required
def linkedin_connect_post():
    """Start "Connect LinkedIn": remember a fresh state in the session, send the member to LinkedIn."""
    client = oauth_client()
    if client is None:
        flash("Connect LinkedIn is not set up on this server (LINKEDIN_CLIENT_ID and "
              "LINKEDIN_CLIENT_SECRET); paste a token below instead.", "error")
        return redirect(url_for("settings.index", _anchor="linkedin"))
    state = linkedin.new_state()
    session[OAUTH_SESSION_KEY] = {"state": state, "at": clock.time()}
    return redirect(linkedin.authorization_url(client, state))


@bp.get("/linkedin/callback")
@login_required
def linkedin_callback_get():
    """LinkedIn sends the member back here with a code (or an error) and our state."""
    started = session.pop(OAUTH_SESSION_KEY, None) or {}
    client = oauth_client()
    try:
        if client is None:
            raise linkedin.LinkedInError("Connect LinkedIn is not set up on this server.")
        linkedin.check_state(expected=started.get("state"), received=request.args.get("state"),
                             started_at=started.get("at"), now=clock.time())
        if request.args.get("error"):
            raise linkedin.LinkedInError(linkedin.refusal_sentence(
                request.args["error"], request.args.get("error_description")))
        code = request.args.get("code")
        if not code:
            raise linkedin.LinkedInError("LinkedIn sent no authorization code. Choose Connect LinkedIn again.")
        grant = linkedin.connect(client, code, utcnow())
    except linkedin.LinkedInError as exc:
        log.info("LinkedIn connect failed for user %s: %s", current_user.id, exc)
        flash(str(exc), "error")
        return redirect(url_for("settings.index", _anchor="linkedin"))
    save_connection(grant.person_urn, grant.access_token, grant.expires_at, name=grant.name,
                    picture_url=grant.picture)
    until = (f" until {timeutil.format_local(grant.expires_at, current_user.time_zone)}"
             if grant.expires_at else "")
    flash(f"LinkedIn connected as {grant.person_urn}{until}. Your posts are unchanged.", "success")
    return redirect(url_for("settings.index", _anchor="linkedin"))


def save_connection(person_urn: str, access_token: str, expires_at: datetime | None, *,
                    name: str | None = None, picture_url: str | None = None) -> None:
    """Create or replace the user's connection (reconnecting keeps every post); the name and
    picture are what LinkedIn said at connect (a pasted token has neither)."""
    connection = current_user.linkedin or LinkedInConnection(user_id=current_user.id)
    connection.person_urn = person_urn
    connection.access_token = access_token
    connection.expires_at = expires_at
    connection.connected_at = utcnow()
    connection.display_name = name
    connection.picture_url = picture_url
    db.session.add(connection)
    db.session.commit()


@bp.post("/linkedin/disconnect")
@login_required
def linkedin_disconnect_post():
    if current_user.linkedin is not None:
        db.session.delete(current_user.linkedin)
        db.session.commit()
        flash("LinkedIn disconnected: the token is deleted. Scheduled posts will fail until you reconnect.", "success")
    return redirect(url_for("settings.index"))


def pipeline_widget(result: check.Result | None = None) -> dict[str, Any]:
    """The pipeline check widget's context: the given result, or the user's last check."""
    return {"check": result or actions.last_check(core(), user_id=current_user.id),
            "demo": demo_inbox_enabled(current_app.config)}


@bp.post("/pipeline-check")
@login_required
def pipeline_check_post():
    """Check the pipeline now: the widget with its steps (htmx), or this page again."""
    result = actions.check_pipeline(core(), user_id=current_user.id)
    if is_htmx():
        return render_template("settings/_pipeline.html", **pipeline_widget(result))
    flash("Every step of the pipeline check passed." if result.passed
          else "The pipeline check failed: see its steps below.", "success" if result.passed else "error")
    return redirect(url_for("settings.index", _anchor="pipeline"))


@bp.post("/tokens")
@login_required
def tokens_post():
    form = ApiTokenForm()
    if not form.validate_on_submit():
        return settings_page(400, token_form=form)
    token = crypto.new_api_token()
    db.session.add(ApiToken(user_id=current_user.id, name=(form.name.data or "").strip(),
                            token_hash=crypto.hash_api_token(token)))
    db.session.commit()
    # Rendered, not flashed: a flashed token would travel in the session cookie.
    return settings_page(200, new_token=token, token_form=ApiTokenForm(formdata=None))


@bp.post("/tokens/<int:token_id>/revoke")
@login_required
def token_revoke_post(token_id: int):
    token = db.session.execute(
        select(ApiToken).where(ApiToken.id == token_id, ApiToken.user_id == current_user.id)
    ).scalar_one_or_none()
    if token is None:
        raise NotFound("There is no such API token.")
    if token.revoked_at is None:
        token.revoked_at = utcnow()
        db.session.commit()
        flash(f"Token “{token.name}” revoked.", "success")
    return redirect(url_for("settings.index"))
