"""A post's status and every transition it may make, each with the action that makes it."""

from __future__ import annotations

from enum import StrEnum


class PostStatus(StrEnum):
    #: Written, not scheduled. Nothing will send it.
    DRAFT = "draft"
    #: Has a time (scheduled_at) and a version; an alarm or the sweep will claim it when due.
    SCHEDULED = "scheduled"
    #: Claimed by one dispatcher, which is calling the webhook now.
    PUBLISHING = "publishing"
    #: The webhook answered 2xx. Final.
    PUBLISHED = "published"
    #: Rejected, unconfirmed, missed or not sendable; error_message says why. Retry re-schedules it.
    FAILED = "failed"


S = PostStatus

#: (from, to) -> the action that makes that move. Anything not listed is forbidden.
TRANSITIONS: dict[tuple[PostStatus, PostStatus], str] = {
    #: the user picks a time for a draft
    (S.DRAFT, S.SCHEDULED): "schedule",
    #: the user picks another time (new version; the old alarm becomes stale)
    (S.SCHEDULED, S.SCHEDULED): "reschedule",
    #: the user cancels: back to draft (new version, so no alarm can send it)
    (S.SCHEDULED, S.DRAFT): "unschedule",
    #: an alarm or the sweep wins the guarded claim of a due post
    (S.SCHEDULED, S.PUBLISHING): "claim",
    #: the post is due but more than MAX_LATENESS ago: failed as missed, never sent
    (S.SCHEDULED, S.FAILED): "miss",
    #: the webhook answered 2xx
    (S.PUBLISHING, S.PUBLISHED): "confirm",
    #: the webhook provably did not get it (or declined with 429/503): try again after a backoff
    (S.PUBLISHING, S.SCHEDULED): "retry_later",
    #: rejected (4xx), unconfirmed (5xx, read timeout), not connected, or out of attempts
    (S.PUBLISHING, S.FAILED): "fail",
    #: the sweep recovers a claim older than the lease (crash recovery; same idempotency key)
    (S.PUBLISHING, S.PUBLISHING): "reclaim",
    #: the user retries or reschedules a failed post (new version)
    (S.FAILED, S.SCHEDULED): "retry",
    #: the user gives up on a failed post and keeps it as a draft (new version)
    (S.FAILED, S.DRAFT): "unschedule",
}

#: Statuses in which a post can still be edited, rescheduled or deleted by its owner.
EDITABLE = frozenset({S.DRAFT, S.SCHEDULED, S.FAILED})
#: Statuses from which the user may schedule (or publish now).
SCHEDULABLE = frozenset({S.DRAFT, S.SCHEDULED, S.FAILED})
#: Statuses from which unschedule is allowed.
UNSCHEDULABLE = frozenset({S.SCHEDULED, S.FAILED})
#: Statuses that will not change unless the user acts.
FINAL = frozenset({S.DRAFT, S.PUBLISHED, S.FAILED})


def can_move(src: PostStatus | str, dst: PostStatus | str) -> bool:
    """True when a post may go from src to dst."""
    return (PostStatus(src), PostStatus(dst)) in TRANSITIONS


def sources_of(action: str) -> frozenset[PostStatus]:
    """The statuses a given action may start from (the store puts these in its WHERE clauses)."""
    return frozenset(src for (src, _), name in TRANSITIONS.items() if name == action)
