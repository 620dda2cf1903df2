"""Reads of posts, always scoped to their owner: another user's post is simply not found. (The
writes are webapp/dispatch/store.py's.) Used by the pages (webapp/posts/) and the API (webapp/api/)."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import case, func, select
from sqlalchemy.orm import selectinload

from .dispatch.errors import InvalidInput, NotFound
from .dispatch.states import PENDING, PostStatus
from .extensions import db
from .models import Post


def load_post(user_id: int, post_id: str, *, with_attempts: bool = False) -> Post:
    stmt = select(Post).where(Post.id == post_id, Post.user_id == user_id)
    if with_attempts:
        stmt = stmt.options(selectinload(Post.attempts))
    post = db.session.execute(stmt.execution_options(populate_existing=True)).scalar_one_or_none()
    if post is None:
        raise NotFound()
    return post


def parse_status(value: str | None) -> PostStatus | None:
    if value in (None, ""):
        return None
    try:
        return PostStatus(value)
    except ValueError:
        allowed = ", ".join(s.value for s in PostStatus)
        raise InvalidInput(f"status must be one of {allowed}; got {value!r}.") from None


def list_posts(user_id: int, status: PostStatus | None = None) -> list[Post]:
    """Scheduled soonest first, then everything else newest first."""
    stmt = select(Post).where(Post.user_id == user_id)
    if status is not None:
        stmt = stmt.where(Post.status == status)
    soonest = case((Post.status == PostStatus.SCHEDULED, Post.scheduled_at), else_=None)
    stmt = stmt.order_by(soonest.is_(None), soonest, Post.updated_at.desc(), Post.id)
    return list(db.session.execute(stmt.execution_options(populate_existing=True)).scalars())


def count_by_status(user_id: int) -> dict[str, int]:
    """How many posts the user has in each status (an index-only scan of (user_id, status))."""
    rows = db.session.execute(
        select(Post.status, func.count()).where(Post.user_id == user_id).group_by(Post.status)
    ).all()
    return dict(rows)


def first_posts(user_id: int, sections: Iterable[tuple[PostStatus, Sequence[Any], int | None]]) -> list[list[Post]]:
    """For each (status, order, limit): the first `limit` posts in that status, in that order
    (limit None: all of them). The dashboard's sections (webapp/posts/dashboard.py) say which."""
    found = []
    for status, order, limit in sections:
        stmt = select(Post).where(Post.user_id == user_id, Post.status == status).order_by(*order)
        if limit is not None:
            stmt = stmt.limit(limit)
        found.append(list(db.session.execute(stmt.execution_options(populate_existing=True)).scalars()))
    return found


def pending_before(user_id: int, until: datetime, *, limit: int = 500) -> list[Post]:
    """Pending posts (scheduled, publishing) due before `until`, soonest first (the week ahead)."""
    return list(db.session.execute(
        select(Post).where(Post.user_id == user_id, Post.status.in_(sorted(PENDING)), Post.scheduled_at < until)
        .order_by(Post.scheduled_at).limit(limit)
    ).scalars())


def published_since(user_id: int, since: datetime, *, limit: int = 100) -> list[Post]:
    """Posts published at or after `since`, most recent first (what Today keeps once sent)."""
    return list(db.session.execute(
        select(Post).where(Post.user_id == user_id, Post.status == PostStatus.PUBLISHED, Post.published_at >= since)
        .order_by(Post.published_at.desc()).limit(limit)
    ).scalars())


def scheduled_from(user_id: int, start: datetime, *, limit: int) -> tuple[list[Post], int]:
    """Scheduled posts due at or after `start`: the first `limit`, soonest first, and how many in all."""
    where = (Post.user_id == user_id, Post.status == PostStatus.SCHEDULED, Post.scheduled_at >= start)
    posts = list(db.session.execute(select(Post).where(*where).order_by(Post.scheduled_at).limit(limit)).scalars())
    total = db.session.execute(select(func.count()).select_from(Post).where(*where)).scalar_one()
    return posts, total
