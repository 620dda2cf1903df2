"""The Inbox page: what the dispatcher delivered to the demo inbox (webapp/inbox/delivery.py)
when no n8n is configured. Each user sees their own deliveries; access tokens are stored masked."""

from __future__ import annotations

from flask import current_app, render_template
from flask_login import current_user, login_required
from sqlalchemy import select

from ..config import demo_inbox_enabled
from ..extensions import db
from ..models import InboxMessage
from . import bp


@bp.get("/inbox")
@login_required
def index():
    messages = db.session.execute(
        select(InboxMessage).where(InboxMessage.user_id == current_user.id)
        .order_by(InboxMessage.received_at.desc()).limit(200)
    ).scalars().all()
    return render_template("inbox/index.html", messages=messages,
                           enabled=demo_inbox_enabled(current_app.config))
