"""The posting queue: weekly time slots in the user's zone, and the next free one. Pure functions
of (slots, taken instants, now, zone); the views (planning/views.py) read the slots and the
pending posts, then schedule through the same action as the form (actions.schedule_post).

A slot is a weekday and a wall-clock time ("Tue 09:00") in the user's zone. Its occurrences are
found day by day in that zone, so a 09:00 slot stays at 09:00 local across a DST change (its UTC
instant moves by the hour). An occurrence that does not exist (the spring-forward gap) is
skipped, with a note; one that happens twice (fall-back) is the first of the two, with a note
naming the instant. An occurrence is free when it is still ahead and no pending post is due in
the same minute.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta

from .. import timeutil

UTC = timeutil.UTC
#: Monday first, as datetime.weekday() counts.
WEEKDAYS = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")
#: How far ahead the queue looks for a free slot (the same year the schedule action allows).
HORIZON_DAYS = 366
#: At most this many slots per user (7 a day, every day).
MAX_SLOTS = 49


@dataclass(frozen=True, order=True)
class Slot:
    """A weekly time slot: weekday (0 = Monday) and wall-clock time, in the user's zone."""

    weekday: int
    at: time

    @property
    def label(self) -> str:
        return f"{WEEKDAYS[self.weekday][:3]} {self.at:%H:%M}"


@dataclass(frozen=True)
class Occurrence:
    """One slot on one day: the instant it stands for (None in a DST gap), and a note when the
    local time was skipped or ambiguous."""

    slot: Slot
    day: date
    instant: datetime | None
    note: str | None = None

    @property
    def local(self) -> datetime:
        return datetime.combine(self.day, self.slot.at)


@dataclass(frozen=True)
class Choice:
    """The slot the queue picked, the instant it stands for, and what was skipped on the way."""

    occurrence: Occurrence
    skipped: list[str] = field(default_factory=list)

    @property
    def instant(self) -> datetime:
        assert self.occurrence.instant is not None
        return self.occurrence.instant

    @property
    def notes(self) -> list[str]:
        """Everything worth saying: the DST gaps skipped, and the fall-back choice."""
        return [*self.skipped, *([self.occurrence.note] if self.occurrence.note else [])]


class NoFreeSlot(Exception):
    """No free slot: none are set, or every slot within the horizon is taken."""


def occurrence(slot: Slot, day: date, zone_name: str) -> Occurrence:
    """The slot on `day` (which must be its weekday), read in the zone, DST included."""
    naive = datetime.combine(day, slot.at)
    try:
        resolved = timeutil.resolve_local(naive, zone_name)
    except timeutil.TimeInputError:
        return Occurrence(slot, day, None,
                          f"Skipped {day:%a} {day.day} {day:%b %Y} {slot.at:%H:%M}: that time does not exist in "
                          f"{zone_name} (the clocks spring forward).")
    note = None
    if resolved.note is not None:
        first = timeutil.local(resolved.instant, zone_name)
        offset, instant = timeutil.format_offset(first), timeutil.iso_z(resolved.instant)
        note = (f"{day:%a} {day.day} {day:%b %Y} {slot.at:%H:%M} happens twice in {zone_name} (the clocks go "
                f"back): the queue chose the first, {offset} = {instant}.")
    return Occurrence(slot, day, resolved.instant, note)


def occurrences(slots: Iterable[Slot], *, start: date, days: int, zone_name: str) -> Iterator[Occurrence]:
    """Every slot's occurrences from `start` for `days` days, in order of local time."""
    weekly = sorted(set(slots))
    for offset in range(days):
        day = start + timedelta(days=offset)
        for slot in weekly:
            if slot.weekday == day.weekday():
                yield occurrence(slot, day, zone_name)


def minute(instant: datetime) -> datetime:
    return instant.astimezone(UTC).replace(second=0, microsecond=0)


def next_free_slot(slots: Iterable[Slot], taken: Iterable[datetime], *, now: datetime, zone_name: str,
                   horizon_days: int = HORIZON_DAYS) -> Choice:
    """The first occurrence of a slot that is after `now` and not taken (no pending post due in
    its minute); DST-gap occurrences on the way are skipped and noted. NoFreeSlot otherwise."""
    slots = list(slots)
    if not slots:
        raise NoFreeSlot("Your queue has no time slots yet: add some in Settings → Posting queue.")
    busy = {minute(at) for at in taken}
    today = timeutil.local(now, zone_name).date()
    skipped: list[str] = []
    for found in occurrences(slots, start=today, days=horizon_days, zone_name=zone_name):
        if found.instant is None:
            if found.local > timeutil.local(now, zone_name).replace(tzinfo=None):
                skipped.append(found.note or "")
            continue
        if found.instant <= now or minute(found.instant) in busy:
            continue
        return Choice(found, skipped)
    raise NoFreeSlot("Every slot of your queue in the next 12 months is taken: add slots in Settings.")


def parse_slot(weekday: str, at: str) -> Slot:
    """A slot from the settings form (weekday 0–6, HH:MM), or ValueError with a sentence."""
    try:
        day = int(weekday)
    except (TypeError, ValueError):
        raise ValueError("Pick a day of the week for the slot.") from None
    if not 0 <= day <= 6:
        raise ValueError("Pick a day of the week for the slot.")
    text = (at or "").strip()
    if not text:
        raise ValueError("Pick a time for the slot.")
    try:
        clock = time.fromisoformat(text)
    except ValueError:
        raise ValueError(f"“{text}” is not a time of day; use HH:MM.") from None
    if clock.tzinfo is not None:
        raise ValueError("Give the time without an offset: it is read in your time zone.")
    return Slot(day, clock.replace(second=0, microsecond=0))
