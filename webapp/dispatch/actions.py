"""What users do to posts. Each action is one store call (a guarded write), then the alarms are
told. Database first: an alarm that fails to be set never undoes a committed change; the sweep
covers it."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Callable

from .. import timeutil
from .errors import InvalidInput
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
    dispatcher: "Dispatcher"
    alarm: "Alarm"


@dataclass(frozen=True)
class Scheduled:
    post_id: str
    version: int
    scheduled_at: datetime
    message_id: str | None
    note: str | None = None  # the instant chosen for an ambiguous (DST overlap) local time
    warning: str | None = None  # the alarm could not be set; the safety net will send it


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


def schedule_post(core: Core, user_id: int, post_id: str, when: timeutil.ResolvedTime,
                  zone_name: str) -> Scheduled:
    """Schedule a draft, reschedule a scheduled post, or retry a failed one at `when`."""
    now = core.clock()
    at = check_time(when.instant, now, zone_name)
    return _schedule(core, user_id, post_id, at, now, note=when.note)


def publish_now(core: Core, user_id: int, post_id: str) -> Scheduled:
    """Schedule for this instant and wake the alarm at once."""
    now = core.clock()
    return _schedule(core, user_id, post_id, now, now, immediate=True)


def _schedule(core: Core, user_id: int, post_id: str, at: datetime, now: datetime, *,
              note: str | None = None, immediate: bool = False) -> Scheduled:
    change = core.store.schedule(post_id=post_id, user_id=user_id, at=at, now=now)
    alarm = core.alarm.scheduled(change, immediate=immediate)
    return Scheduled(post_id, change.version, at, alarm.message_id, note, alarm.warning)


def unschedule_post(core: Core, user_id: int, post_id: str) -> None:
    change = core.store.unschedule(post_id=post_id, user_id=user_id, now=core.clock())
    core.alarm.unscheduled(change)
