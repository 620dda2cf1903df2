"""Instants and local times: parsing, DST gaps and overlaps, display. Pure functions."""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from functools import lru_cache
from pathlib import Path
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError, available_timezones

UTC = timezone.utc


class TimeInputError(ValueError):
    """That time cannot be used."""


#: Every instant taken from input lies inside these bounds: a day inside datetime's own range
#: (years 1 to 9999), so that showing it in any zone (offsets are under a day) cannot overflow.
EARLIEST = datetime(1, 1, 2, tzinfo=UTC)
LATEST = datetime(9999, 12, 30, tzinfo=UTC)


def out_of_range(shown: object) -> TimeInputError:
    return TimeInputError(
        f"“{shown}” is too far from today to be converted between time zones; "
        "pick a time within the next 12 months."
    )


def bounded(instant: datetime, shown: object) -> datetime:
    """The instant in UTC, or TimeInputError when it cannot be converted to every zone."""
    try:
        instant = instant.astimezone(UTC)
    except OverflowError:
        raise out_of_range(shown) from None
    if not EARLIEST <= instant <= LATEST:
        raise out_of_range(shown)
    return instant


@lru_cache(maxsize=1)
def all_zones() -> frozenset[str]:
    return frozenset(available_timezones()) | {"UTC"}


def is_valid_zone(name: str | None) -> bool:
    return bool(name) and name in all_zones()


@dataclass(frozen=True)
class ZoneNames:
    """The zones a person picks from (canonical IANA names, one per region of a country, and UTC)
    and IANA's old names for them (US/Eastern → America/New_York, Asia/Calcutta → Asia/Kolkata):
    webapp/zones.json, written by scripts/build_zones.py from IANA's zone.tab and tzdata.zi."""

    listed: tuple[str, ...]
    aliases: dict[str, str]
    #: lower-cased name → the name to store, for every listed zone, alias and other known zone
    lookup: dict[str, str]


@lru_cache(maxsize=1)
def zone_names() -> ZoneNames:
    data = json.loads((Path(__file__).with_name("zones.json")).read_text())
    known = all_zones()
    listed = tuple(z for z in data["zones"] if z in known)
    aliases = {old: new for old, new in data["aliases"].items() if new in known}
    lookup = {z.lower(): z for z in known}  # a valid zone not listed (Etc/GMT+5) stays itself
    lookup.update({old.lower(): new for old, new in aliases.items()})
    lookup.update({z.lower(): z for z in listed})
    cities: dict[str, list[str]] = {}
    for z in listed:  # "berlin", "new_york": a place name alone, where it names one zone
        cities.setdefault(z.rsplit("/", 1)[-1].lower(), []).append(z)
    lookup.update({city: zones[0] for city, zones in cities.items() if len(zones) == 1 and city not in lookup})
    return ZoneNames(listed, aliases, lookup)


def canonical_zone(text: str | None) -> str | None:
    """The zone to store for what a person typed or a browser reported: a canonical name as is,
    an old name as the zone it now links to, in any letter case, with or without the picker's
    " — UTC+01:00"; None if it names no zone."""
    name = (text or "").split(" — ", 1)[0].strip().replace(" ", "_")
    return zone_names().lookup.get(name.lower()) if name else None


def zone_choices(now: datetime) -> list[tuple[str, str]]:
    """The picker's list: (name, "Europe/Berlin — UTC+01:00") with each zone's offset at `now`,
    ordered by name."""
    return [(name, name if name == "UTC" else f"{name} — {format_offset(now.astimezone(ZoneInfo(name)))}")
            for name in zone_names().listed]


def zone(name: str) -> ZoneInfo:
    if not is_valid_zone(name):
        raise TimeInputError(f"“{name}” is not a time zone we know (use an IANA name such as Europe/Berlin).")
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise TimeInputError(f"“{name}” is not a time zone we know.") from None


@dataclass(frozen=True)
class ResolvedTime:
    """An instant chosen from user input, and a note when the local time was ambiguous."""

    instant: datetime  # aware, UTC
    note: str | None = None


def resolve_local(naive: datetime, zone_name: str) -> ResolvedTime:
    """Interpret a wall-clock time in a zone.

    A time that does not exist (the spring-forward gap) is refused; one that occurs twice (the
    fall-back overlap) resolves to the earlier instant, and the note says so.
    """
    tz = zone(zone_name)
    if naive.tzinfo is not None:
        raise TimeInputError("A local time must not carry an offset.")
    first = naive.replace(tzinfo=tz, fold=0)
    second = naive.replace(tzinfo=tz, fold=1)
    shown = f"{naive:%Y-%m-%d %H:%M}"
    # Round-tripping through UTC exposes a gap: the wall time comes back different.
    if bounded(first, shown).astimezone(tz).replace(tzinfo=None) != naive:
        raise TimeInputError(
            f"{naive:%Y-%m-%d} {clock_text(naive)} does not exist in {zone_name}: the clocks skip it "
            "when daylight saving time starts. Pick a time outside the gap."
        )
    if first.utcoffset() != second.utcoffset():
        earlier = bounded(first, shown)
        note = (
            f"{naive:%Y-%m-%d} {clock_text(naive)} happens twice in {zone_name} (clocks go back); "
            f"we chose the first one, {format_offset(first)} = {iso_z(earlier)}."
        )
        return ResolvedTime(earlier, note)
    return ResolvedTime(bounded(first, shown))


def format_offset(aware: datetime) -> str:
    offset = aware.utcoffset() or timedelta(0)
    minutes = int(offset.total_seconds() // 60)
    sign = "+" if minutes >= 0 else "-"
    minutes = abs(minutes)
    return f"UTC{sign}{minutes // 60:02d}:{minutes % 60:02d}"


def parse_instant(value: object, zone_name: str) -> ResolvedTime:
    """An ISO 8601 string with an offset (or Z), or a local date-time read in zone_name."""
    if not isinstance(value, str) or not value.strip():
        raise TimeInputError("scheduledAt must be an ISO 8601 date-time string, e.g. 2026-12-01T09:00:00+01:00.")
    text = value.strip()
    if text.endswith(("Z", "z")):
        text = text[:-1] + "+00:00"
    try:
        parsed = datetime.fromisoformat(text)
    except ValueError:
        raise TimeInputError(f"“{value}” is not an ISO 8601 date-time, e.g. 2026-12-01T09:00:00+01:00.") from None
    if parsed.tzinfo is None:
        return resolve_local(parsed, zone_name)
    return ResolvedTime(bounded(parsed, value))


def iso_z(instant: datetime | None) -> str | None:
    """ISO 8601 in UTC with a Z, millisecond precision (the API's format)."""
    if instant is None:
        return None
    instant = instant.astimezone(UTC)
    return instant.strftime("%Y-%m-%dT%H:%M:%S.") + f"{instant.microsecond // 1000:03d}Z"


def ceil_seconds(instant: datetime) -> int:
    """Unix seconds, rounded up: QStash's not_before never delivers before the instant."""
    return math.ceil(instant.timestamp())


def local(instant: datetime, zone_name: str) -> datetime:
    """The instant in the zone; in UTC if it lies too close to datetime's range to convert (only
    a value stored before the input bounds existed can: input is kept within EARLIEST..LATEST)."""
    try:
        return instant.astimezone(zone(zone_name))
    except OverflowError:
        return instant.astimezone(UTC)


def clock_text(at: datetime) -> str:
    """`09:00`, or `10:52:19` when the seconds are not :00: posts go at the second, so a time
    that has seconds is never shown without them."""
    return f"{at:%H:%M:%S}" if at.second else f"{at:%H:%M}"


def format_local(instant: datetime | None, zone_name: str, *, zone_named: bool = True) -> str:
    """`Tue 1 Dec 2026, 09:00 (Europe/Berlin)`, `Tue 1 Dec 2026, 10:52:19 (Europe/Berlin)`: with
    the zone named, unless the page names it once for all its times (`zone_named=False`)."""
    if instant is None:
        return ""
    at = local(instant, zone_name)
    text = f"{at:%a} {at.day} {at:%b %Y}, {clock_text(at)}"
    return f"{text} ({zone_name})" if zone_named else text


def relative(instant: datetime | None, *, now: datetime) -> str:
    """`in 2 h 5 min`, `3 min ago`, `now`."""
    if instant is None:
        return ""
    delta = (instant - now).total_seconds()
    future = delta >= 0
    seconds = abs(delta)
    if seconds < 45:
        return "in a few seconds" if future and seconds >= 1 else "now" if seconds < 1 else "a few seconds ago"
    minutes = round(seconds / 60)
    days, rem = divmod(minutes, 24 * 60)
    hours, mins = divmod(rem, 60)
    if days:
        text = f"{days} d {hours} h" if hours else f"{days} d"
    elif hours:
        text = f"{hours} h {mins} min" if mins else f"{hours} h"
    else:
        text = f"{mins} min"
    return f"in {text}" if future else f"{text} ago"


def next_quarter_hour(now: datetime, zone_name: str) -> datetime:
    """The next :00/:15/:30/:45 after now, as a wall-clock time in the zone (for form defaults)."""
    at = local(now, zone_name).replace(second=0, microsecond=0)
    return at + timedelta(minutes=15 - at.minute % 15)
