"""The demo inbox: the dispatcher delivers to it over real HTTP, exactly as it would to n8n, so a
first run shows the whole flow. It accepts only the dispatcher (a secret derived from SECRET_KEY)
and stores the access token masked."""

from __future__ import annotations

from datetime import datetime

from flask import abort, current_app, jsonify, render_template, request
from flask_login import current_user, login_required
from sqlalchemy import select

from .. import crypto
from ..config import demo_inbox_enabled
from ..dispatch.check import LINKEDIN_NOT_USED
from ..dispatch.webhook import DRY_RUN_HEADER
from ..extensions import db
from ..models import InboxMessage, utcnow
from ..runtime import DEMO_SECRET_HEADER, demo_inbox_secret
from ..web import csrf_exempt
from . import bp


def _instant(value) -> datetime | None:
    if not isinstance(value, str):
        return None
    try:
        return datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None


def is_dry_run(body: dict, header: str | None) -> bool:
    """The shipped workflow's rule (docs/n8n/README.md): either the body's dryRun (any value but
    false or null) or the header (any value but empty, 0, false or no) makes a dry run."""
    return (body.get("dryRun") not in (None, False)
            or (header is not None and header.strip().lower() not in ("", "0", "false", "no")))


def dry_run_answer(body: dict):
    """The pipeline check, answered as the workflow does, and not recorded as a post: the demo
    inbox sends nothing to LinkedIn, so there is no token to check."""
    extra = sorted(name for name in ("postId", "content", "imageUrl") if body.get(name))
    if extra:
        return jsonify(error=f"A dry run carries no {', '.join(extra)}; nothing was checked or posted."), 400
    return jsonify(dryRun=True, linkedin=LINKEDIN_NOT_USED,
                   message="The demo inbox received the dry run; it sends nothing to LinkedIn.")


@bp.post("/demo/inbox")
@csrf_exempt
def receive():
    if not demo_inbox_enabled(current_app.config):
        abort(404)
    if not crypto.constant_time_equal(request.headers.get(DEMO_SECRET_HEADER),
                                      demo_inbox_secret(current_app.config)):
        return jsonify(error="Only Punctual's own dispatcher may deliver to the demo inbox."), 403
    body = request.get_json(silent=True)
    if not isinstance(body, dict):
        return jsonify(error="The body must be a JSON object."), 400
    if is_dry_run(body, request.headers.get(DRY_RUN_HEADER)):
        return dry_run_answer(body)
    key = request.headers.get("Idempotency-Key")
    repeat = key is not None and db.session.execute(
        select(InboxMessage.id).where(InboxMessage.idempotency_key == key).limit(1)
    ).first() is not None
    user_id = body.get("userId") if isinstance(body.get("userId"), int) else None
    message = InboxMessage(
        user_id=user_id, post_id=str(body.get("postId"))[:36], idempotency_key=key, repeat=repeat,
        received_at=utcnow(), scheduled_at=_instant(body.get("scheduledAt")),
        content=str(body.get("content") or ""), image_url=body.get("imageUrl") or None,
        person_urn=body.get("personUrn") or None,
        access_token_masked=crypto.mask(body.get("accessToken")) if body.get("accessToken") else "",
    )
    db.session.add(message)
    db.session.commit()
    return jsonify(received=True, id=message.id, repeat=repeat)


@bp.get("/inbox")
@login_required
def index():
    messages = db.session.execute(
        select(InboxMessage).where(InboxMessage.user_id == current_user.id)
        .order_by(InboxMessage.received_at.desc()).limit(200)
    ).scalars().all()
    return render_template("inbox/index.html", messages=messages,
                           enabled=demo_inbox_enabled(current_app.config))
