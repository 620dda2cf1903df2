"""Settings: time zone, the LinkedIn connection, personal API tokens."""

from __future__ import annotations

from datetime import datetime, time, timezone

from flask import Blueprint, flash, redirect, render_template, url_for
from flask_login import current_user, login_required
from sqlalchemy import select

from . import crypto, timeutil
from .dispatch.errors import NotFound
from .extensions import db
from .forms import ApiTokenForm, LinkedInManualForm, TimeZoneForm
from .models import ApiToken, LinkedInConnection, utcnow

bp = Blueprint("settings", __name__, url_prefix="/settings")


def settings_page(status: int = 200, **overrides):
    """The settings page; every form and list it shows is built here, once."""
    zone_form = TimeZoneForm(time_zone=current_user.time_zone)
    zone_form.time_zone.choices = sorted(timeutil.all_zones())
    context = {
        "zone_form": zone_form,
        "linkedin_form": LinkedInManualForm(),
        "token_form": ApiTokenForm(),
        "connection": current_user.linkedin,
        "tokens": db.session.execute(
            select(ApiToken).where(ApiToken.user_id == current_user.id).order_by(ApiToken.created_at.desc())
        ).scalars().all(),
        "new_token": None,
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
    form.time_zone.choices = sorted(timeutil.all_zones())
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
    connection = current_user.linkedin or LinkedInConnection(user_id=current_user.id)
    connection.person_urn = form.person_urn.data.strip()
    connection.access_token = form.access_token.data.strip()
    connection.expires_at = (
        datetime.combine(form.expires_on.data, time(23, 59, 59), tzinfo=timezone.utc)
        if form.expires_on.data else None
    )
    connection.connected_at = utcnow()
    db.session.add(connection)
    db.session.commit()
    flash("LinkedIn connection saved.", "success")
    return redirect(url_for("settings.index"))


@bp.post("/linkedin/disconnect")
@login_required
def linkedin_disconnect_post():
    if current_user.linkedin is not None:
        db.session.delete(current_user.linkedin)
        db.session.commit()
        flash("LinkedIn disconnected: the token is deleted. Scheduled posts will fail until you reconnect.", "success")
    return redirect(url_for("settings.index"))


@bp.post("/tokens")
@login_required
def tokens_post():
    form = ApiTokenForm()
    if not form.validate_on_submit():
        return settings_page(400, token_form=form)
    token = crypto.new_api_token()
    db.session.add(ApiToken(user_id=current_user.id, name=form.name.data.strip(),
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
