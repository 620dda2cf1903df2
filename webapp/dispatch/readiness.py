"""Can the owner's LinkedIn token carry a post at its time? The rule, as a value, and every
sentence Punctual says about it.

LinkedIn gives ordinary apps a 60-day token and no refresh token, so an expired token is the most
common way a scheduled post would be lost. The same rule is asked in four places, each with its
own words:

| where                     | at                 | what it does with the answer                          |
|---------------------------|--------------------|-------------------------------------------------------|
| scheduling (actions.py)   | the post's time    | refuses EXPIRED / EXPIRES_BEFORE (409); warns when NOT_CONNECTED |
| a scheduled post's row    | the post's time    | shows the risk next to the post                        |
| the dashboard             | a week from now    | one warning about the connection, with the posts at risk |
| sending (dispatcher.py)   | now                | fails the post without calling n8n                     |

In demo-inbox mode nothing is sent to LinkedIn, so everything is ready.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from enum import StrEnum

from ..timeutil import format_local, relative


class Readiness(StrEnum):
    #: the token will still be valid then (or its expiry is not known: trusted)
    OK = "ok"
    #: the owner has no LinkedIn connection
    NOT_CONNECTED = "not_connected"
    #: the token is valid now but expires at or before that time
    EXPIRES_BEFORE = "expires_before"
    #: the token has expired already
    EXPIRED = "expired"


R = Readiness

#: The dashboard warns this long before the token expires (tokens last 60 days).
EXPIRY_NOTICE = timedelta(days=7)


def readiness(*, connected: bool, expires_at: datetime | None, at: datetime, now: datetime,
              demo: bool = False) -> Readiness:
    """Whether a post due at `at` can be sent with the owner's token (see the module docstring)."""
    if demo:
        return R.OK
    if not connected:
        return R.NOT_CONNECTED
    if expires_at is None or expires_at > at:
        return R.OK
    return R.EXPIRED if expires_at <= now else R.EXPIRES_BEFORE


#: Where a sentence tells the user how to get a new token.
RECONNECT = "Reconnect LinkedIn in Settings (a new token lasts 60 days)"
#: Scheduling a post with no connection: allowed (drafts can be planned first), with this warning.
NOT_CONNECTED = ("LinkedIn is not connected: this post will fail unless you connect LinkedIn in "
                 "Settings before it is due.")
#: Sending a post whose stored token the current key cannot decrypt (TOKEN_ENCRYPTION_KEY changed).
UNDECRYPTABLE = ("Not sent: the stored LinkedIn token cannot be decrypted (the encryption key changed). "
                 "Reconnect LinkedIn in Settings, then retry this post.")


def scheduling_refusal(state: Readiness, *, expires_at: datetime | None, zone_name: str) -> str | None:
    """Why a post may not be scheduled for that time (409), or None. Refused now, while the user
    can still act, rather than failed at its time."""
    when = format_local(expires_at, zone_name)
    if state is R.EXPIRED:
        return f"Your LinkedIn token expired on {when}. {RECONNECT}, then schedule this post."
    if state is R.EXPIRES_BEFORE:
        return (f"Your LinkedIn token expires on {when}, before this post's time, so the post would fail. "
                f"{RECONNECT}, or pick an earlier time.")
    return None


def scheduling_warning(state: Readiness) -> str | None:
    """What scheduling says when it is allowed but the post would fail as things stand."""
    return NOT_CONNECTED if state is R.NOT_CONNECTED else None


def post_risk(state: Readiness, *, expires_at: datetime | None, zone_name: str) -> str | None:
    """Why a scheduled post (its row, or the compose form's chosen time) would fail, or None."""
    when = format_local(expires_at, zone_name)
    if state is R.NOT_CONNECTED:
        return NOT_CONNECTED
    if state is R.EXPIRED:
        return f"Your LinkedIn token expired on {when}: this post will fail unless you reconnect LinkedIn in Settings."
    if state is R.EXPIRES_BEFORE:
        return (f"Your LinkedIn token expires on {when}, before this post's time: reconnect LinkedIn in "
                "Settings before then, or the post will fail.")
    return None


def dashboard_warning(state: Readiness, *, expires_at: datetime | None, now: datetime, zone_name: str,
                      posts_at_risk: bool) -> str | None:
    """The dashboard's warning about the connection (asked EXPIRY_NOTICE ahead), or None."""
    when = format_local(expires_at, zone_name)
    if state is R.NOT_CONNECTED:
        return "LinkedIn is not connected: scheduled posts cannot be published until you connect it."
    if state is R.EXPIRED:
        return f"Your LinkedIn token expired on {when}: scheduled posts will fail until you reconnect LinkedIn."
    if state is R.EXPIRES_BEFORE:
        assert expires_at is not None  # EXPIRES_BEFORE is only ever found for a known expiry
        return (f"Your LinkedIn token expires on {when} ({relative(expires_at, now=now)}). Reconnect LinkedIn "
                "before then" + (": these scheduled posts are due after it and would fail." if posts_at_risk
                                 else " so that later posts can be published."))
    return None


def not_sent(state: Readiness, *, expires_at: datetime | None) -> str:
    """Why the dispatcher fails a post without calling n8n (stored with the post); `state` is not OK
    (at the time of sending, a token that is not ready has expired)."""
    if state is R.OK:
        raise ValueError("a ready token is no reason not to send")
    if state is R.NOT_CONNECTED:
        return "Not sent: LinkedIn is not connected. Connect it in Settings, then retry this post."
    return (f"Not sent: the LinkedIn token expired on {format_local(expires_at, 'UTC')}. "
            "Reconnect LinkedIn in Settings, then retry this post.")


def at_risk_from(*, connected: bool, expires_at: datetime | None, now: datetime) -> datetime | None:
    """Scheduled posts due at or after this instant would fail (None: none would). The dashboard
    lists them; it is `readiness(at=…) != OK` turned around into a query bound."""
    if not connected:
        return now
    return expires_at
