"""What users do to posts. Each action is one store call (a guarded write), then the alarms are
told. Database first: an alarm that fails to be set never undoes a committed change; the sweep
covers it."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from .. import timeutil
from .errors import Conflict, InvalidInput
from .store import Store

if TYPE_CHECKING:
    from .alarms import Alarm
    from .dispatcher import Dispatcher

#: "Now" is a moment, not an instant: a time this far in the past is read as "send now".
NOW_GRACE = timedelta(seconds=5)
#: The furthest ahead a post may be scheduled.
HORIZON = timedelta(days=366)


@dataclass
class Core:
    """Everything the views need to act on posts; one per app (app.extensions["punctual"])."""

    store: Store
    clock: Callable[[], datetime]
    dispatcher: Dispatcher
    alarm: Alarm


@dataclass(frozen=True)
class Scheduled:
    post_id: str
    version: int
    scheduled_at: datetime
    message_id: str | None
    note: str | None = None  # the instant chosen for an ambiguous (DST overlap) local time
    warning: str | None = None  # the alarm could not be set; the safety net will send it
    linkedin_warning: str | None = None  # LinkedIn is not connected: it will fail unless connected in time


def create_post(core: Core, user_id: int, fields: dict) -> str:
    return core.store.create(user_id=user_id, content=fields["content"],
                             image_url=fields.get("image_url"), now=core.clock())


def edit_post(core: Core, user_id: int, post_id: str, fields: dict) -> None:
    core.store.edit(post_id=post_id, user_id=user_id, now=core.clock(), **fields)


def delete_post(core: Core, user_id: int, post_id: str) -> None:
    change = core.store.delete(post_id=post_id, user_id=user_id)
    core.alarm.unscheduled(change)


def check_time(at: datetime, now: datetime, zone_name: str) -> datetime:
    """The instant to store for a requested time: refused if past or too far ahead."""
    if at < now - NOW_GRACE:
        raise InvalidInput(
            f"{timeutil.format_local(at, zone_name)} is in the past; pick a time from now on."
        )
    if at > now + HORIZON:
        raise InvalidInput("That is more than a year ahead; pick a time within the next 12 months.")
    return max(at, now)


#: Said where a refusal or warning tells the user how to get a new LinkedIn token.
RECONNECT = "Reconnect LinkedIn in Settings (a new token lasts 60 days)"
NOT_CONNECTED = ("LinkedIn is not connected: this post will fail unless you connect LinkedIn in "
                 "Settings before it is due.")


def token_refusal(connected: bool, expires_at: datetime | None, at: datetime, now: datetime,
                  zone_name: str) -> str | None:
    """Why a post may not be scheduled for `at` given the owner's LinkedIn token, or None.

    A token that is expired, or expires before `at`, would make the post fail at its time, and
    LinkedIn gives ordinary apps no refresh token: refuse now, while the user can still act.
    No connection at all is not a refusal (drafts can be planned before connecting); see
    NOT_CONNECTED. An unknown expiry is trusted."""
    if not connected or expires_at is None or expires_at > at:
        return None
    when = timeutil.format_local(expires_at, zone_name)
    if expires_at <= now:
        return f"Your LinkedIn token expired on {when}. {RECONNECT}, then schedule this post."
    return (f"Your LinkedIn token expires on {when}, before this post's time, so the post would fail. "
            f"{RECONNECT}, or pick an earlier time.")


def schedule_post(core: Core, user_id: int, post_id: str, when: timeutil.ResolvedTime,
                  zone_name: str) -> Scheduled:
    """Schedule a draft, reschedule a scheduled post, or retry a failed one at `when`."""
    now = core.clock()
    at = check_time(when.instant, now, zone_name)
    return _schedule(core, user_id, post_id, at, now, zone_name, note=when.note)


def publish_now(core: Core, user_id: int, post_id: str, zone_name: str = "UTC") -> Scheduled:
    """Schedule for this instant and wake the alarm at once."""
    now = core.clock()
    return _schedule(core, user_id, post_id, now, now, zone_name, immediate=True)


def _linkedin_preflight(core: Core, user_id: int, at: datetime, now: datetime, zone_name: str) -> str | None:
    """Refuse (409) a time the LinkedIn token will not reach; a warning when not connected at all.
    In demo-inbox mode nothing is sent to LinkedIn, so nothing is checked."""
    if core.dispatcher.settings.demo_mode:
        return None
    connected, expires_at = core.store.connection_expiry(user_id=user_id)
    refusal = token_refusal(connected, expires_at, at, now, zone_name)
    if refusal is not None:
        raise Conflict(refusal)
    return None if connected else NOT_CONNECTED


def _schedule(core: Core, user_id: int, post_id: str, at: datetime, now: datetime, zone_name: str, *,
              note: str | None = None, immediate: bool = False) -> Scheduled:
    linkedin_warning = _linkedin_preflight(core, user_id, at, now, zone_name)
    change = core.store.schedule(post_id=post_id, user_id=user_id, at=at, now=now)
    alarm = core.alarm.scheduled(change, immediate=immediate)
    return Scheduled(post_id, change.version, at, alarm.message_id, note, alarm.warning, linkedin_warning)


def unschedule_post(core: Core, user_id: int, post_id: str) -> None:
    change = core.store.unschedule(post_id=post_id, user_id=user_id, now=core.clock())
    core.alarm.unscheduled(change)
