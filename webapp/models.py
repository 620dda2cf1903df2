"""The data model. The post row is the job: its status, scheduled_at and schedule_version say
whether and when it must be sent. Only webapp.dispatch.store changes a post's state.

This module is below the dispatch core (the store writes these tables) and imports nothing from
it; the statuses the CHECK constraint lists are webapp.dispatch.states.PostStatus's values
(tests/test_states.py checks that they agree)."""

from __future__ import annotations

import uuid
from datetime import datetime, time, timezone
from typing import cast

from flask import current_app
from flask_login import UserMixin
from sqlalchemy import (
    CheckConstraint,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    String,
    Table,
    Text,
    Time,
    TypeDecorator,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship
from werkzeug.security import check_password_hash, generate_password_hash

from . import crypto
from .extensions import Model


def utcnow() -> datetime:
    return datetime.now(timezone.utc)


class UTCDateTime(TypeDecorator):
    """An instant: timestamptz on Postgres; naive UTC text on SQLite; always aware UTC in Python.

    SQLite has no time zones, so values are normalised to UTC before storage: comparisons in SQL
    (`scheduled_at <= :now`) stay correct because every stored value uses the same offset.
    """

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value, dialect):
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given for a UTC column")
        value = value.astimezone(timezone.utc)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value, dialect):
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=timezone.utc)
        return value.astimezone(timezone.utc)


class User(UserMixin, Model):
    __tablename__ = "users"

    id: Mapped[int] = mapped_column(primary_key=True)
    #: Stored lower-cased, so uniqueness is case-insensitive on every database.
    email: Mapped[str] = mapped_column(String(254), unique=True)
    password_hash: Mapped[str] = mapped_column(String(255))
    time_zone: Mapped[str] = mapped_column(String(64), default="UTC")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    linkedin: Mapped[LinkedInConnection | None] = relationship(
        back_populates="user", uselist=False, cascade="all, delete-orphan"
    )

    @staticmethod
    def normalise_email(email: str) -> str:
        return email.strip().lower()

    def set_password(self, password: str) -> None:
        self.password_hash = generate_password_hash(password)

    def check_password(self, password: str) -> bool:
        return check_password_hash(self.password_hash, password)


class LinkedInConnection(Model):
    """The member's LinkedIn identity and access token (encrypted at rest, never rendered back)."""

    __tablename__ = "linkedin_connections"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), unique=True)
    person_urn: Mapped[str] = mapped_column(String(255))
    access_token_encrypted: Mapped[str] = mapped_column(Text)
    #: Last characters of the token, for the masked display; the rest is never shown.
    token_hint: Mapped[str] = mapped_column(String(16), default="")
    expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    connected_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    #: The member's name and picture as OpenID `userinfo` gave them at connect (the preview's
    #: author); unknown for a pasted token.
    display_name: Mapped[str | None] = mapped_column(String(255))
    picture_url: Mapped[str | None] = mapped_column(String(2048))

    user: Mapped[User] = relationship(back_populates="linkedin")

    @property
    def access_token(self) -> str:
        return crypto.decrypt(current_app.config, self.access_token_encrypted)

    @access_token.setter
    def access_token(self, plaintext: str) -> None:
        self.access_token_encrypted = crypto.encrypt(current_app.config, plaintext)
        self.token_hint = plaintext[-4:] if len(plaintext) >= 12 else ""

    @property
    def masked_token(self) -> str:
        return f"••••••••{self.token_hint}" if self.token_hint else "••••••••"

    def is_expired(self, at: datetime) -> bool:
        return self.expires_at is not None and self.expires_at <= at

    def __repr__(self) -> str:  # never include the token
        return f"<LinkedInConnection user={self.user_id} urn={self.person_urn}>"


def new_post_id() -> str:
    return str(uuid.uuid4())


class Post(Model):
    __tablename__ = "posts"
    __table_args__ = (
        Index("ix_posts_status_scheduled_at", "status", "scheduled_at"),
        Index("ix_posts_status_next_attempt_at", "status", "next_attempt_at"),
        Index("ix_posts_user_id_status", "user_id", "status"),
        CheckConstraint(
            "status IN ('draft', 'scheduled', 'publishing', 'published', 'failed')",
            name="status_known",
        ),
    )

    #: A UUID: ids in URLs and webhooks reveal nothing about how many posts exist.
    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_post_id)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    content: Mapped[str] = mapped_column(Text)
    image_url: Mapped[str | None] = mapped_column(String(2048))
    status: Mapped[str] = mapped_column(String(16), default="draft")
    #: The instant the user chose; never moved behind their back (lateness is measured from it).
    scheduled_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    #: Bumped by every schedule, reschedule and unschedule; alarms carry the version they were made for.
    schedule_version: Mapped[int] = mapped_column(Integer, default=0)
    #: Backoff after a retryable failure; claims also require next_attempt_at <= now.
    next_attempt_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    qstash_message_id: Mapped[str | None] = mapped_column(String(128))
    #: Tries for the current schedule version (each try is also an Attempt row).
    attempt_count: Mapped[int] = mapped_column(Integer, default=0)
    claimed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    published_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    error_message: Mapped[str | None] = mapped_column(Text)
    #: Why a failed post failed: rejected, unconfirmed, missed, not_connected, gave_up.
    error_kind: Mapped[str | None] = mapped_column(String(32))
    linkedin_post_urn: Mapped[str | None] = mapped_column(String(255))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    attempts: Mapped[list[Attempt]] = relationship(
        back_populates="post", order_by="Attempt.id", cascade="all, delete-orphan",
        passive_deletes=True,
    )


class Attempt(Model):
    """One try to send a post to the webhook, whatever its outcome."""

    __tablename__ = "attempts"

    id: Mapped[int] = mapped_column(primary_key=True)
    post_id: Mapped[str] = mapped_column(ForeignKey("posts.id", ondelete="CASCADE"), index=True)
    schedule_version: Mapped[int] = mapped_column(Integer)
    #: What woke the send: qstash, local, sweep, manual, or recovery (a claim taken over from a
    #: sender that died: the one resend there is).
    trigger: Mapped[str] = mapped_column(String(16))
    started_at: Mapped[datetime] = mapped_column(UTCDateTime)
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    #: published, retry, failed, unconfirmed or skipped (not sent: no connection, expired token).
    outcome: Mapped[str] = mapped_column(String(16))
    http_status: Mapped[int | None] = mapped_column(Integer)
    error: Mapped[str | None] = mapped_column(Text)
    duration_ms: Mapped[int | None] = mapped_column(Integer)

    post: Mapped[Post] = relationship(back_populates="attempts")


class ApiToken(Model):
    """A personal API token; only its SHA-256 is stored, the token itself is shown once."""

    __tablename__ = "api_tokens"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(String(100))
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    last_used_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    @property
    def active(self) -> bool:
        return self.revoked_at is None


class DispatcherHeartbeat(Model):
    """Each running local dispatcher's latest sign of life (/healthz reports the freshest)."""

    __tablename__ = "dispatcher_heartbeats"

    name: Mapped[str] = mapped_column(String(128), primary_key=True)  # host:pid:thread
    started_at: Mapped[datetime] = mapped_column(UTCDateTime)
    beat_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)


class InboxMessage(Model):
    """A delivery to the built-in demo inbox (used when no N8N_WEBHOOK_URL is configured)."""

    __tablename__ = "inbox_messages"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    post_id: Mapped[str | None] = mapped_column(String(36))
    idempotency_key: Mapped[str | None] = mapped_column(String(80), index=True)
    received_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    scheduled_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    content: Mapped[str] = mapped_column(Text, default="")
    image_url: Mapped[str | None] = mapped_column(String(2048))
    person_urn: Mapped[str | None] = mapped_column(String(255))
    #: The access token as it arrived, masked: the inbox never stores or shows a token.
    access_token_masked: Mapped[str] = mapped_column(String(32), default="")
    #: True when an earlier delivery carried the same idempotency key (n8n would drop it).
    repeat: Mapped[bool] = mapped_column(default=False)


class PipelineCheck(Model):
    """A user's last pipeline check (webapp/dispatch/check.py): when, whether it passed, and its
    steps with their sentences (JSON; nothing secret is in them). One row per user, replaced by
    each check."""

    __tablename__ = "pipeline_checks"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), unique=True)
    checked_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
    passed: Mapped[bool] = mapped_column(default=False)
    #: checked the demo inbox (no N8N_WEBHOOK_URL) rather than n8n
    demo: Mapped[bool] = mapped_column(default=False)
    steps: Mapped[str] = mapped_column(Text, default="[]")


class AuthFailure(Model):
    """A failed log-in (scope "account" and "address") or a registration (scope "register"),
    kept an hour for the throttle (webapp/accounts/throttle.py). `key` is a SHA-256 of the email
    or client address: the table never holds who tried what."""

    __tablename__ = "auth_failures"
    __table_args__ = (Index("ix_auth_failures_scope_key_at", "scope", "key", "at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    scope: Mapped[str] = mapped_column(String(16))
    key: Mapped[str] = mapped_column(String(64))
    at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)


class QueueSlot(Model):
    """One weekly time slot of the user's posting queue: a weekday (0 = Monday) and a wall-clock
    time in the user's zone (webapp/planning/queue.py finds its occurrences, DST included)."""

    __tablename__ = "queue_slots"
    __table_args__ = (
        UniqueConstraint("user_id", "weekday", "at"),
        CheckConstraint("weekday BETWEEN 0 AND 6", name="weekday_known"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    weekday: Mapped[int] = mapped_column(Integer)
    at: Mapped[time] = mapped_column(Time)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


# Used by the store's Core statements. (A declarative class's __table__ is typed as any FromClause;
# these are Tables.)
posts = cast(Table, Post.__table__)
attempts = cast(Table, Attempt.__table__)
heartbeats = cast(Table, DispatcherHeartbeat.__table__)
linkedin_connections = cast(Table, LinkedInConnection.__table__)
pipeline_checks = cast(Table, PipelineCheck.__table__)
inbox_messages = cast(Table, InboxMessage.__table__)
auth_failures = cast(Table, AuthFailure.__table__)
