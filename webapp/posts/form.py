"""The compose form and the inline schedule form: what the user typed, kept as typed, read into
post fields, an intent and a time. Reading only parses; whether that time may be used (not past,
within a year) is the core's rule, checked once per request: by the action, or, when other mistakes
mean nothing is saved, by `check` so that every mistake is said at once.
Every mistake is a sentence attached to the field it is about."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, datetime, time
from typing import Any

from .. import timeutil
from ..dispatch.actions import PostFields, check_time
from ..dispatch.errors import InvalidInput
from ..dispatch.states import Action, PostStatus
from ..models import Post
from ..validation import MAX_CONTENT, clean_content, clean_image_url

#: What the compose form's buttons ask for (the `intent` of the submit button): save the text,
#: then perhaps one more action.
#: "queue" schedules it too, at the queue's next free slot instead of the typed time (planning/slots.py).
INTENTS: dict[str, Action | None] = {"save": None, "schedule": Action.SCHEDULE, "queue": Action.SCHEDULE,
                                     "publish": Action.PUBLISH_NOW}


def read_when(date_text: str, time_text: str, zone_name: str) -> timeutil.ResolvedTime:
    """A date and a wall-clock time typed in the user's zone -> the instant, or InvalidInput.

    Refuses a missing or malformed value and a time skipped by daylight saving; a time that
    happens twice resolves to the first, with a note.
    """
    date_text, time_text = (date_text or "").strip(), (time_text or "").strip()
    if not date_text:
        raise InvalidInput("Pick a date for the post.")
    if not time_text:
        raise InvalidInput("Pick a time for the post.")
    try:
        day = date.fromisoformat(date_text)
    except ValueError:
        raise InvalidInput(f"“{date_text}” is not a date; use the date picker or YYYY-MM-DD.") from None
    try:
        clock = time.fromisoformat(time_text)
    except ValueError:
        raise InvalidInput(f"“{time_text}” is not a time of day; use HH:MM or HH:MM:SS.") from None
    if clock.tzinfo is not None:
        raise InvalidInput(f"Give the time without an offset: it is read in {zone_name}.")
    try:
        return timeutil.resolve_local(datetime.combine(day, clock.replace(microsecond=0)), zone_name)
    except timeutil.TimeInputError as exc:
        raise InvalidInput(str(exc)) from None


def default_when(zone_name: str, now: datetime) -> tuple[str, str]:
    """The next quarter hour in the zone, as the date and time inputs' values."""
    at = timeutil.next_quarter_hour(now, zone_name)
    at = at.astimezone(timeutil.UTC).astimezone(at.tzinfo)  # step over a DST gap, never into it
    return at.date().isoformat(), at.strftime("%H:%M:%S")


def _sentence(message: str) -> str:
    """The validation module speaks API field names; the form speaks to a person."""
    if message.startswith("content is required"):
        return "Write the text of the post."
    message = message.replace("imageUrl", "the image URL", 1).replace("content is", "the text is", 1)
    return message[:1].upper() + message[1:]


@dataclass
class PostForm:
    """The compose / edit form's values exactly as typed, and the errors per field."""

    content: str = ""
    image_url: str = ""
    date: str = ""
    time: str = ""
    intent: str = "save"
    errors: dict[str, str] = field(default_factory=dict)

    @classmethod
    def from_request(cls, data: Mapping[str, Any]) -> PostForm:
        return cls(content=data.get("content", ""), image_url=data.get("image_url", ""),
                   date=data.get("date", ""), time=data.get("time", ""), intent=data.get("intent", "save"))

    @classmethod
    def blank(cls, zone_name: str, now: datetime) -> PostForm:
        day, clock = default_when(zone_name, now)
        return cls(date=day, time=clock)

    @classmethod
    def for_post(cls, post: Post, zone_name: str, now: datetime) -> PostForm:
        """A post's values; its own time when it has one still ahead, else the next quarter hour."""
        day, clock = default_when(zone_name, now)
        if post.scheduled_at is not None and post.scheduled_at > now and post.status != PostStatus.PUBLISHED:
            at = timeutil.local(post.scheduled_at, zone_name)
            day, clock = at.date().isoformat(), at.strftime("%H:%M:%S")
        return cls(content=post.content, image_url=post.image_url or "", date=day, time=clock)

    def fields(self) -> PostFields | None:
        """{content, image_url} cleaned, or None with the errors recorded."""
        cleaned: PostFields = {}
        try:
            cleaned["content"] = clean_content(self.content)
        except InvalidInput as exc:
            self.errors["content"] = _sentence(exc.message)
        try:
            cleaned["image_url"] = clean_image_url(self.image_url)
        except InvalidInput as exc:
            self.errors["image_url"] = _sentence(exc.message)
        return cleaned if len(cleaned) == 2 else None

    def when(self, zone_name: str) -> timeutil.ResolvedTime | None:
        """The chosen instant, or None with the error recorded under "when"."""
        try:
            return read_when(self.date, self.time, zone_name)
        except InvalidInput as exc:
            self.errors["when"] = exc.message
            return None

    def check(self, when: timeutil.ResolvedTime, zone_name: str, now: datetime) -> None:
        """Record under "when" why the core would refuse that time (actions.check_time). Only for a
        form that will not be saved for other mistakes, so that every mistake is said at once:
        otherwise the action checks it, once."""
        try:
            check_time(at=when.instant, now=now, zone_name=zone_name)
        except InvalidInput as exc:
            self.errors["when"] = exc.message

    def then(self) -> Action | None:
        """What to do once the text is saved (the button pressed), or None with the error recorded."""
        if self.intent not in INTENTS:
            self.errors["form"] = "Choose Save draft, Schedule, Add to queue or Publish now."
        return INTENTS.get(self.intent)

    def read(self, zone_name: str) -> tuple[PostFields | None, Action | None, timeutil.ResolvedTime | None]:
        """Everything the compose form holds: (fields, then, when), each None when it has a
        mistake, with every mistake recorded at once."""
        then = self.then()
        when = self.when(zone_name) if then is Action.SCHEDULE and not self.queued else None
        return self.fields(), then, when

    @property
    def queued(self) -> bool:
        """Add to queue: the time is the queue's next free slot, not the date and time typed."""
        return self.intent == "queue"

    @property
    def length(self) -> int:
        """Characters as the server counts them (what the live counter shows before JavaScript)."""
        return len(self.content.replace("\r\n", "\n").strip())

    @property
    def limit(self) -> int:
        return MAX_CONTENT
