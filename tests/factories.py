"""Posts in any status, made through the store's own transitions (as the dispatcher would)."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import select
from werkzeug.security import generate_password_hash

from webapp.dispatch.store import AttemptRecord
from webapp.extensions import db
from webapp.models import User, utcnow

from .conftest import core_of

FAILED_MESSAGE = "n8n rejected the post (HTTP 400: the workflow said no)."
#: A deliberately cheap hash: the real one takes ~0.2 s, and these users never log in by password.
FAST_HASH = generate_password_hash("correct horse", method="pbkdf2:sha256:1")


def quick_user(app, email: str = "ada@example.com", zone: str = "Europe/Berlin") -> int:
    """A user made straight in the database, with a cheap password hash: the user's id."""
    with app.app_context():
        user = User(email=email, time_zone=zone, password_hash=FAST_HASH)
        db.session.add(user)
        db.session.commit()
        return user.id


def sign_in(app, client, *, email: str = "ada@example.com", zone: str = "Europe/Berlin") -> int:
    """A quick user, logged in on `client` (registering and logging in through the pages are
    tested in test_auth.py and the browser tests): the user's id."""
    user_id = quick_user(app, email, zone)
    with client.session_transaction() as session:
        session["_user_id"] = str(user_id)
        session["_fresh"] = True
    return user_id


def user_id_of(app, email: str = "ada@example.com") -> int:
    with app.app_context():
        return db.session.execute(select(User.id).where(User.email == email)).scalar_one()


def make_post(app, user_id: int, status: str = "draft", *, content: str = "Hello LinkedIn",
              at: datetime | None = None, image_url: str | None = None, kind: str = "rejected",
              message: str = FAILED_MESSAGE, urn: str | None = None, http_status: int | None = None) -> str:
    """A post in `status`: draft, scheduled (at `at`, default in an hour), publishing, published or failed."""
    store, now = core_of(app).store, utcnow()
    post_id = store.create(user_id=user_id, content=content, image_url=image_url, now=now)
    if status == "draft":
        return post_id
    if status == "scheduled":
        store.schedule(post_id=post_id, user_id=user_id, at=at or now + timedelta(hours=1), now=now)
        return post_id
    change = store.schedule(post_id=post_id, user_id=user_id, at=now, now=now)
    claim = store.claim(post_id=post_id, version=change.version, now=now)
    if status == "publishing":
        return post_id
    finished = now + timedelta(milliseconds=120)
    if status == "published":
        record = AttemptRecord(trigger="local", started_at=now, finished_at=finished, outcome="published",
                               http_status=http_status or 201)
        store.confirm(claim, record, urn=urn)
    elif status == "failed":
        outcome = "unconfirmed" if kind == "unconfirmed" else "failed"
        error = message.split("(", 1)[-1].rstrip(").") if "(" in message else message
        record = AttemptRecord(trigger="local", started_at=now, finished_at=finished, outcome=outcome,
                               http_status=http_status or 400, error=error)
        store.fail(claim, record, kind=kind, message=message)
    else:
        raise ValueError(f"unknown status {status!r}")
    return post_id
