"""Reads of posts, always scoped to their owner: another user's post is simply not found."""

from __future__ import annotations

from sqlalchemy import case, select
from sqlalchemy.orm import selectinload

from .dispatch.errors import InvalidInput, NotFound
from .dispatch.states import PostStatus
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
