"""The whole vocabulary of what a user does to a post: one function for each states.Action, and
`save_post` for the compose form (save the text, then perhaps schedule it). The pages and the
JSON API parse their input, call one of these, and render what it returns.

Each action is one store call — a guarded write in one transaction, refused (409, with the
sentence states.refusal makes) unless the post's status allows it — then the alarm is told.
Database first: an alarm that fails to be set never undoes a committed change; the sweep covers it.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, TypedDict
from urllib.parse import unquote, urlsplit

from .. import timeutil
from ..crypto import TokenDecryptError
from . import check
from . import readiness as linkedin
from .errors import Conflict, InvalidInput
from .states import Action
from .store import Store

if TYPE_CHECKING:
    from .alarms import Alarm
    from .dispatcher import Dispatcher

A = Action

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


class PostFields(TypedDict, total=False):
    """A post's own fields, already cleaned (webapp/validation.py)."""

    content: str
    image_url: str | None


@dataclass(frozen=True, kw_only=True)
class Scheduled:
    """What a schedule, reschedule, publish now or retry did."""

    post_id: str
    version: int
    scheduled_at: datetime
    message_id: str | None
    note: str | None = None  # the instant chosen for an ambiguous (DST overlap) local time
    warning: str | None = None  # the alarm could not be set; the safety net will send it
    linkedin_warning: str | None = None  # LinkedIn is not connected: it will fail unless connected in time

    @property
    def notices(self) -> list[str]:
        """Everything worth a second look, in words."""
        return [n for n in (self.note, self.warning, self.linkedin_warning) if n]


@dataclass(frozen=True, kw_only=True)
class Saved:
    """What save_post did: the post it saved, and what became of the schedule asked for."""

    post_id: str
    created: bool
    scheduled: Scheduled | None = None
    #: the schedule asked for was refused after the text was saved (the LinkedIn token, or the
    #: post moved on meanwhile); the post keeps its new text and its old schedule
    refused: Conflict | None = None


# ---------------------------------------------------------------- the actions


def create_post(core: Core, *, user_id: int, fields: PostFields) -> str:
    """A new draft; its id."""
    return core.store.create(user_id=user_id, content=fields["content"], image_url=fields.get("image_url"),
                             now=core.clock())


def edit_post(core: Core, *, user_id: int, post_id: str, fields: PostFields) -> None:
    core.store.edit(post_id=post_id, user_id=user_id, now=core.clock(), **fields)


def schedule_post(core: Core, *, user_id: int, post_id: str, when: timeutil.ResolvedTime,
                  zone_name: str) -> Scheduled:
    """Schedule a draft, reschedule a scheduled post, or retry a failed one at `when` (checked
    here: not past, not more than a year ahead; `zone_name` words the refusals)."""
    now = core.clock()
    at = check_time(at=when.instant, now=now, zone_name=zone_name)
    return _schedule(core, user_id=user_id, post_id=post_id, action=A.SCHEDULE, at=at, now=now,
                     zone_name=zone_name, note=when.note)


def publish_now(core: Core, *, user_id: int, post_id: str, zone_name: str) -> Scheduled:
    """Schedule for this instant and wake the alarm at once."""
    now = core.clock()
    return _schedule(core, user_id=user_id, post_id=post_id, action=A.PUBLISH_NOW, at=now, now=now,
                     zone_name=zone_name)


def retry_post(core: Core, *, user_id: int, post_id: str, zone_name: str) -> Scheduled:
    """A failed post's publish now: send it again, at once, as a new version."""
    now = core.clock()
    return _schedule(core, user_id=user_id, post_id=post_id, action=A.RETRY, at=now, now=now,
                     zone_name=zone_name)


def unschedule_post(core: Core, *, user_id: int, post_id: str) -> None:
    change = core.store.unschedule(post_id=post_id, user_id=user_id, now=core.clock())
    core.alarm.unscheduled(change)


def duplicate_post(core: Core, *, user_id: int, post_id: str) -> str:
    """A new draft with the post's text and image; its id."""
    return core.store.duplicate(post_id=post_id, user_id=user_id, now=core.clock())


def delete_post(core: Core, *, user_id: int, post_id: str) -> None:
    """Delete, in one guarded statement (nothing can claim a scheduled post in between); then
    cancel its alarm, which would find nothing to send anyway."""
    change = core.store.delete(post_id=post_id, user_id=user_id)
    core.alarm.unscheduled(change)


def save_post(core: Core, *, user_id: int, post_id: str | None, fields: PostFields, then: Action | None,
              when: timeutil.ResolvedTime | None, zone_name: str) -> Saved:
    """The compose form: save the text (a new draft when `post_id` is None), then, as asked,
    schedule it at `when` (`then` = SCHEDULE) or publish it now (PUBLISH_NOW).

    The time is checked before anything is written. A schedule refused after the save (the
    LinkedIn token would not reach that time, or the post moved on) keeps the text and comes back
    in `refused`, so that nothing the user typed is lost."""
    if then not in (None, A.SCHEDULE, A.PUBLISH_NOW):
        raise ValueError(f"save_post cannot {then}")
    now = core.clock()
    at = now
    if then is A.SCHEDULE:
        if when is None:
            raise InvalidInput("Pick a date and a time for the post.")
        at = check_time(at=when.instant, now=now, zone_name=zone_name)
    created = post_id is None
    if post_id is None:
        post_id = create_post(core, user_id=user_id, fields=fields)
    else:
        edit_post(core, user_id=user_id, post_id=post_id, fields=fields)
    if then is None:
        return Saved(post_id=post_id, created=created)
    try:
        scheduled = _schedule(core, user_id=user_id, post_id=post_id, action=then, at=at, now=now,
                              zone_name=zone_name, note=when.note if when else None)
    except Conflict as refused:
        return Saved(post_id=post_id, created=created, refused=refused)
    return Saved(post_id=post_id, created=created, scheduled=scheduled)


def confirm_published(core: Core, *, user_id: int, post_id: str, post_url: str | None, who: str) -> str | None:
    """An unconfirmed post its owner found on LinkedIn: published, with the URN read from the
    post's address when one is given (400 if it is not a LinkedIn post's address); an attempt row
    records who confirmed it and when. Returns the URN."""
    urn = post_urn_from_url(post_url) if post_url and post_url.strip() else None
    now = core.clock()
    note = f"Confirmed as on LinkedIn by {who} at {timeutil.iso_z(now)}" + (f" ({urn})." if urn else ".")
    core.store.confirm_published(post_id=post_id, user_id=user_id, urn=urn, now=now, note=note)
    return urn


def resend_post(core: Core, *, user_id: int, post_id: str, when: timeutil.ResolvedTime | None,
                zone_name: str) -> Scheduled:
    """An unconfirmed post its owner did not find on LinkedIn: send it again, now (`when` None)
    or at `when`, as a new version, so n8n gets a new idempotency key and does not drop it."""
    now = core.clock()
    at = now if when is None else check_time(at=when.instant, now=now, zone_name=zone_name)
    return _schedule(core, user_id=user_id, post_id=post_id, action=A.RESEND, at=at, now=now, zone_name=zone_name,
                     note=when.note if when else None, immediate=when is None)


def check_pipeline(core: Core, *, user_id: int) -> check.Result:
    """The pipeline check for this user (dispatch/check.py): a dry run through the configured
    webhook with their LinkedIn identity; its result is kept as their last check."""
    dispatcher = core.dispatcher
    webhook = dispatcher.webhook
    owner = core.store.owner(user_id=user_id)
    person_urn = token = None
    if owner is not None:
        try:
            token = dispatcher.decrypt(owner.access_token_encrypted)
            person_urn = owner.person_urn
        except TokenDecryptError:  # an unreadable token is a missing one: the check says "connect"
            token = None
    target = check.Target(url=webhook.url, demo=dispatcher.settings.demo_mode, has_secret=webhook.has_secret,
                          connected=token is not None, timeout=webhook.read_timeout)
    result = check.run(webhook, target, user_id=user_id, person_urn=person_urn, access_token=token,
                       now=core.clock())
    core.store.save_check(user_id=user_id, checked_at=result.checked_at, passed=result.passed, demo=result.demo,
                          steps=result.steps_json())
    return result


def last_check(core: Core, *, user_id: int | None = None) -> check.Result | None:
    """The user's last pipeline check (or, with no user, the latest anyone ran)."""
    row = core.store.last_check(user_id=user_id)
    return None if row is None else check.Result.from_stored(checked_at=row.checked_at, demo=row.demo,
                                                              steps=row.steps)


# ---------------------------------------------------------------- the rules they share


#: A LinkedIn post's URN as its address carries it (/feed/update/urn:li:share:123/).
_POST_URN = re.compile(r"urn:li:(?:share|activity|ugcPost):\d{1,30}")
#: A post's public address (/posts/<member>_<slug>-activity-<id>-<code>/) carries its activity id.
_ACTIVITY = re.compile(r"-activity-(\d{1,30})(?:-|/|$)")
BAD_POST_URL = ("That is not the address of a LinkedIn post: on LinkedIn, open the post's ⋯ menu, choose "
                "Copy link to post, and paste it here (it looks like "
                "https://www.linkedin.com/feed/update/urn:li:share:7000000000000000000/). Or leave it empty.")


def post_urn_from_url(text: str) -> str:
    """The URN of a LinkedIn post from its address (or the URN itself); 400 otherwise."""
    text = text.strip()
    if len(text) > 2048:
        raise InvalidInput(BAD_POST_URL)
    if _POST_URN.fullmatch(text):
        return text
    try:
        parts = urlsplit(text)
        host = (parts.hostname or "").lower()
    except ValueError:
        raise InvalidInput(BAD_POST_URL) from None
    if parts.scheme not in ("http", "https") or not (host == "linkedin.com" or host.endswith(".linkedin.com")):
        raise InvalidInput(BAD_POST_URL)
    path = unquote(parts.path)
    found = _POST_URN.search(path)
    if found:
        return found.group(0)
    activity = _ACTIVITY.search(path) if path.startswith("/posts/") else None
    if activity:
        return f"urn:li:activity:{activity.group(1)}"
    raise InvalidInput(BAD_POST_URL)



def check_time(*, at: datetime, now: datetime, zone_name: str) -> datetime:
    """The instant to store for a requested time: refused if past or too far ahead."""
    if at < now - NOW_GRACE:
        raise InvalidInput(
            f"{timeutil.format_local(at, zone_name)} is in the past; pick a time from now on."
        )
    if at > now + HORIZON:
        raise InvalidInput("That is more than a year ahead; pick a time within the next 12 months.")
    return max(at, now)


def token_readiness(core: Core, *, user_id: int, at: datetime,
                    now: datetime) -> tuple[linkedin.Readiness, datetime | None]:
    """Whether the owner's LinkedIn token reaches `at`, and when it expires (readiness.py).
    In demo-inbox mode nothing is sent to LinkedIn, so nothing is read or checked."""
    if core.dispatcher.settings.demo_mode:
        return linkedin.Readiness.OK, None
    connected, expires_at = core.store.connection_expiry(user_id=user_id)
    return linkedin.readiness(connected=connected, expires_at=expires_at, at=at, now=now), expires_at


def _schedule(core: Core, *, user_id: int, post_id: str, action: Action, at: datetime, now: datetime,
              zone_name: str, note: str | None = None, immediate: bool | None = None) -> Scheduled:
    """Schedule (SCHEDULE), publish now (PUBLISH_NOW) or retry (RETRY) at `at`: refused (409) when
    the LinkedIn token will not reach that time, warned when LinkedIn is not connected at all."""
    state, expires_at = token_readiness(core, user_id=user_id, at=at, now=now)
    refusal = linkedin.scheduling_refusal(state, expires_at=expires_at, zone_name=zone_name)
    if refusal is not None:
        raise Conflict(refusal)
    change = core.store.schedule(post_id=post_id, user_id=user_id, at=at, now=now, action=action)
    alarm = core.alarm.scheduled(change, immediate=action is not A.SCHEDULE if immediate is None else immediate)
    return Scheduled(post_id=post_id, version=change.version, scheduled_at=at, message_id=alarm.message_id,
                     note=note, warning=alarm.warning, linkedin_warning=linkedin.scheduling_warning(state))
