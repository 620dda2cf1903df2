"""A post's status, and the one table of what each status allows: what its owner may do to it
(`ALLOWED`) and which moves the dispatcher may make (`MOVES`).

Nothing else says what a status allows. The store builds its guards (the WHERE clauses of its
UPDATEs) from these tables, and the UI derives its buttons and its refusals from them, so the
pages, the JSON API and the database cannot disagree (tests/test_states.py and
tests/test_post_actions.py check every status against every action).
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum


class PostStatus(StrEnum):
    #: Written, not scheduled. Nothing will send it.
    DRAFT = "draft"
    #: Has a time (scheduled_at) and a version; an alarm or the sweep will claim it when due.
    SCHEDULED = "scheduled"
    #: Claimed by one dispatcher, which is calling the webhook now.
    PUBLISHING = "publishing"
    #: The webhook answered 2xx. Nothing sends it again.
    PUBLISHED = "published"
    #: Rejected, unconfirmed, missed or not sendable; error_message says why. Retry re-schedules it.
    FAILED = "failed"


class Action(StrEnum):
    """What a user does to a post: webapp/dispatch/actions.py has one function for each."""

    #: change the text or the image (the latest text is what gets sent)
    EDIT = "edit"
    #: give it a time: schedule a draft, reschedule a scheduled post, retry a failed one later
    SCHEDULE = "schedule"
    #: take its time away: back to draft, with a new version so that no alarm can send it
    UNSCHEDULE = "unschedule"
    #: schedule it for this very instant
    PUBLISH_NOW = "publish_now"
    #: send a failed post again, now (its "publish now")
    RETRY = "retry"
    #: copy its text and image into a new draft
    DUPLICATE = "duplicate"
    #: remove it (and its attempts) for good; LinkedIn keeps whatever it published
    DELETE = "delete"
    #: the owner found an unconfirmed post on LinkedIn: it is published (with its URN, if given)
    CONFIRM_PUBLISHED = "confirm_published"
    #: the owner checked LinkedIn and an unconfirmed post is not there: send it again, now or at a
    #: chosen time, as a new version (so a new idempotency key n8n will not drop as a repeat)
    RESEND = "resend"


class Move(StrEnum):
    """What the dispatcher does to a post: each is one guarded UPDATE in webapp/dispatch/store.py."""

    #: an alarm or the sweep wins the claim of a due post
    CLAIM = "claim"
    #: the post is due but more than MAX_LATENESS ago: failed as missed, never sent
    MISS = "miss"
    #: right before the call, the claim is confirmed as the current one and its lease restarts
    FENCE = "fence"
    #: the webhook answered 2xx
    CONFIRM = "confirm"
    #: the webhook provably did not get it (or declined with 429/503): try again after a backoff
    RETRY_LATER = "retry_later"
    #: rejected (4xx), unconfirmed (5xx, no answer), not connected, or out of attempts
    FAIL = "fail"
    #: the sweep takes over a claim older than the lease (crash recovery; same idempotency key)
    RECLAIM = "reclaim"


S, A, M = PostStatus, Action, Move

#: What the owner may do to a post in each status.
ALLOWED: dict[PostStatus, frozenset[Action]] = {
    S.DRAFT: frozenset({A.EDIT, A.SCHEDULE, A.PUBLISH_NOW, A.DUPLICATE, A.DELETE}),
    S.SCHEDULED: frozenset({A.EDIT, A.SCHEDULE, A.UNSCHEDULE, A.PUBLISH_NOW, A.DUPLICATE, A.DELETE}),
    #: being sent: nothing may contradict the send; it can only be copied
    S.PUBLISHING: frozenset({A.DUPLICATE}),
    #: sent: it can be copied, or deleted from the history (LinkedIn keeps its copy)
    S.PUBLISHED: frozenset({A.DUPLICATE, A.DELETE}),
    S.FAILED: frozenset({A.EDIT, A.SCHEDULE, A.UNSCHEDULE, A.PUBLISH_NOW, A.RETRY, A.DUPLICATE, A.DELETE,
                         A.CONFIRM_PUBLISHED, A.RESEND}),
}

#: Why a failed post failed (Post.error_kind) when n8n may nevertheless have published it (5xx, no
#: answer): never resent by itself; only its owner, who can look at LinkedIn, can settle it.
UNCONFIRMED = "unconfirmed"
#: Actions its status allows only when the failure is unconfirmed: the two ways out of it. Every
#: other failure is certain (nothing reached LinkedIn), and Retry is its way out.
UNCONFIRMED_ONLY = frozenset({A.CONFIRM_PUBLISHED, A.RESEND})

#: The status each action leaves the post in; EDIT keeps it, DUPLICATE makes a new draft beside
#: it, DELETE removes it.
LEADS_TO: dict[Action, PostStatus] = {
    A.SCHEDULE: S.SCHEDULED,
    A.UNSCHEDULE: S.DRAFT,
    A.PUBLISH_NOW: S.SCHEDULED,
    A.RETRY: S.SCHEDULED,
    A.CONFIRM_PUBLISHED: S.PUBLISHED,
    A.RESEND: S.SCHEDULED,
}

#: The dispatcher's moves: (from, to).
MOVES: dict[Move, tuple[PostStatus, PostStatus]] = {
    M.CLAIM: (S.SCHEDULED, S.PUBLISHING),
    M.MISS: (S.SCHEDULED, S.FAILED),
    M.FENCE: (S.PUBLISHING, S.PUBLISHING),
    M.CONFIRM: (S.PUBLISHING, S.PUBLISHED),
    M.RETRY_LATER: (S.PUBLISHING, S.SCHEDULED),
    M.FAIL: (S.PUBLISHING, S.FAILED),
    M.RECLAIM: (S.PUBLISHING, S.PUBLISHING),
}

#: Statuses that will not change unless the user acts: no dispatcher move starts from them.
FINAL = frozenset(S) - {src for src, _ in MOVES.values()}
#: The others: the post is on its way (due later, or being sent).
PENDING = frozenset(S) - FINAL


def allows(status: PostStatus | str, action: Action, kind: str | None = None) -> bool:
    """Whether the owner may do `action` to a post in `status` (`kind`: why it failed, which
    decides the actions in UNCONFIRMED_ONLY)."""
    return action in ALLOWED[PostStatus(status)] and (action not in UNCONFIRMED_ONLY or kind == UNCONFIRMED)


def sources_of(action: Action) -> frozenset[PostStatus]:
    """The statuses in which `action` is allowed."""
    return frozenset(status for status, allowed in ALLOWED.items() if action in allowed)


def source(move: Move) -> PostStatus:
    """The status the dispatcher's `move` starts from (the store's guard)."""
    return MOVES[move][0]


def target(move: Move) -> PostStatus:
    """The status the dispatcher's `move` leads to."""
    return MOVES[move][1]


def transitions() -> dict[tuple[PostStatus, PostStatus], frozenset[str]]:
    """Every change of status a post can make, with the actions and moves that make it (for the
    tests and the docs; derived from the tables above)."""
    found: dict[tuple[PostStatus, PostStatus], set[str]] = {}
    for status, allowed in ALLOWED.items():
        for action in allowed & LEADS_TO.keys():
            found.setdefault((status, LEADS_TO[action]), set()).add(action)
    for move, (src, dst) in MOVES.items():
        found.setdefault((src, dst), set()).add(move)
    return {pair: frozenset(names) for pair, names in found.items()}


def due_at(*, scheduled_at: datetime | None, next_attempt_at: datetime | None) -> datetime | None:
    """When a scheduled post can next be claimed: its time, or its retry backoff if that is later.
    The store's SQL says the same (`store._due`); tests/test_store.py checks they agree."""
    if scheduled_at is None or next_attempt_at is None:
        return scheduled_at or next_attempt_at
    return max(scheduled_at, next_attempt_at)


#: How a refusal names each status …
_THIS_POST_IS = {
    S.DRAFT: "This post is a draft",
    S.SCHEDULED: "This post is scheduled",
    S.PUBLISHING: "This post is being sent right now",
    S.PUBLISHED: "This post is already published",
    S.FAILED: "This post failed",
}
#: … and each action.
_DONE = {
    A.EDIT: "edited", A.SCHEDULE: "scheduled", A.UNSCHEDULE: "unscheduled", A.PUBLISH_NOW: "published now",
    A.RETRY: "retried", A.DUPLICATE: "copied", A.DELETE: "deleted",
    A.CONFIRM_PUBLISHED: "marked as published", A.RESEND: "sent again after a look at LinkedIn",
}


def refusal(status: PostStatus | str, action: Action, kind: str | None = None) -> str:
    """The sentence a refused action answers with (409), wherever it was refused."""
    status = PostStatus(status)
    if status is S.FAILED and action in UNCONFIRMED_ONLY and kind != UNCONFIRMED:
        return ("This post failed before anything could reach LinkedIn, so it cannot be "
                f"{_DONE[action]}{'; use Retry' if action is A.RESEND else ''}.")
    return f"{_THIS_POST_IS[status]}, so it cannot be {_DONE[action]}."
