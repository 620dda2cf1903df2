"""Time input and display: ISO instants, local times, DST gaps and overlaps, relative times."""

from datetime import datetime, timedelta, timezone

import pytest

from webapp.timeutil import (
    TimeInputError,
    canonical_zone,
    ceil_seconds,
    format_local,
    iso_z,
    next_quarter_hour,
    parse_instant,
    relative,
    resolve_local,
    zone_choices,
    zone_names,
)

UTC = timezone.utc

# Spring forward: these wall-clock times do not exist.
GAPS = [
    ("Europe/Berlin", datetime(2026, 3, 29, 2, 30)),
    ("America/New_York", datetime(2026, 3, 8, 2, 15)),
    ("Australia/Sydney", datetime(2026, 10, 4, 2, 45)),
]

# Fall back: these happen twice; the earlier instant is chosen.
OVERLAPS = [
    # zone                 wall time                      earlier instant (UTC)
    ("Europe/Berlin",      datetime(2026, 10, 25, 2, 30), datetime(2026, 10, 25, 0, 30, tzinfo=UTC)),
    ("America/New_York",   datetime(2026, 11, 1, 1, 30),  datetime(2026, 11, 1, 5, 30, tzinfo=UTC)),
    ("Australia/Sydney",   datetime(2026, 4, 5, 2, 30),   datetime(2026, 4, 4, 15, 30, tzinfo=UTC)),
]


@pytest.mark.parametrize("zone, wall", GAPS)
def test_a_time_in_the_spring_forward_gap_is_refused(zone, wall):
    with pytest.raises(TimeInputError, match=f"does not exist in {zone}"):
        resolve_local(wall, zone)


@pytest.mark.parametrize("zone, wall, earlier", OVERLAPS)
def test_a_time_in_the_fall_back_overlap_resolves_to_the_earlier_instant(zone, wall, earlier):
    resolved = resolve_local(wall, zone)
    assert resolved.instant == earlier
    assert "happens twice" in resolved.note and iso_z(earlier) in resolved.note


@pytest.mark.parametrize("zone, wall, expected", [
    ("Europe/Berlin", datetime(2026, 12, 1, 9, 0), datetime(2026, 12, 1, 8, 0, tzinfo=UTC)),
    ("Europe/Berlin", datetime(2026, 7, 1, 9, 0), datetime(2026, 7, 1, 7, 0, tzinfo=UTC)),
    ("America/New_York", datetime(2026, 12, 1, 9, 0), datetime(2026, 12, 1, 14, 0, tzinfo=UTC)),
    ("Australia/Sydney", datetime(2026, 12, 1, 9, 0), datetime(2026, 11, 30, 22, 0, tzinfo=UTC)),
    ("Asia/Kolkata", datetime(2026, 12, 1, 9, 0), datetime(2026, 12, 1, 3, 30, tzinfo=UTC)),
    ("UTC", datetime(2026, 12, 1, 9, 0), datetime(2026, 12, 1, 9, 0, tzinfo=UTC)),
])
def test_ordinary_local_times(zone, wall, expected):
    resolved = resolve_local(wall, zone)
    assert resolved.instant == expected and resolved.note is None


@pytest.mark.parametrize("text, expected", [
    ("2026-12-01T09:00:00Z", datetime(2026, 12, 1, 9, 0, tzinfo=UTC)),
    ("2026-12-01T09:00:00.250z", datetime(2026, 12, 1, 9, 0, 0, 250000, tzinfo=UTC)),
    ("2026-12-01T10:00:00+01:00", datetime(2026, 12, 1, 9, 0, tzinfo=UTC)),
    ("2026-12-01T04:00-05:00", datetime(2026, 12, 1, 9, 0, tzinfo=UTC)),
    # no offset: read in the given zone
    ("2026-12-01T10:00", datetime(2026, 12, 1, 9, 0, tzinfo=UTC)),
])
def test_parse_instant(text, expected):
    assert parse_instant(text, "Europe/Berlin").instant == expected


@pytest.mark.parametrize("value", ["tomorrow", "2026-13-01T00:00:00Z", "", None, 1733040000, "2026-03-29T02:30"])
def test_unusable_input_is_refused_with_a_sentence(value):
    with pytest.raises(TimeInputError) as info:
        parse_instant(value, "Europe/Berlin")
    assert str(info.value).endswith(".")


def test_unknown_zone_is_refused():
    with pytest.raises(TimeInputError, match="not a time zone we know"):
        resolve_local(datetime(2026, 12, 1, 9), "Mars/Olympus")


def test_display_always_names_the_zone():
    instant = datetime(2026, 12, 1, 8, 0, tzinfo=UTC)
    assert format_local(instant, "Europe/Berlin") == "Tue 1 Dec 2026, 09:00 (Europe/Berlin)"
    assert format_local(instant, "America/New_York") == "Tue 1 Dec 2026, 03:00 (America/New_York)"
    assert format_local(instant, "Asia/Tokyo") == "Tue 1 Dec 2026, 17:00 (Asia/Tokyo)"


@pytest.mark.parametrize("delta, text", [
    (timedelta(hours=2, minutes=5), "in 2 h 5 min"),
    (timedelta(minutes=3), "in 3 min"),
    (timedelta(seconds=20), "in a few seconds"),
    (timedelta(0), "now"),
    (timedelta(seconds=-20), "a few seconds ago"),
    (timedelta(minutes=-90), "1 h 30 min ago"),
    (timedelta(days=2, hours=3), "in 2 d 3 h"),
    (timedelta(days=7), "in 7 d"),
])
def test_relative(delta, text):
    now = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)
    assert relative(now + delta, now=now) == text


def test_iso_z_and_ceil_seconds():
    instant = datetime(2026, 12, 1, 9, 0, 0, 1000, tzinfo=UTC)
    assert iso_z(instant) == "2026-12-01T09:00:00.001Z"
    assert ceil_seconds(instant) == int(datetime(2026, 12, 1, 9, 0, 1, tzinfo=UTC).timestamp())
    assert ceil_seconds(instant.replace(microsecond=0)) == int(instant.replace(microsecond=0).timestamp())


def test_next_quarter_hour_in_the_users_zone():
    now = datetime(2026, 12, 1, 8, 7, 30, tzinfo=UTC)
    assert next_quarter_hour(now, "Europe/Berlin").strftime("%H:%M") == "09:15"
    assert next_quarter_hour(now, "Asia/Kolkata").strftime("%H:%M") == "13:45"


@pytest.mark.parametrize("typed, canonical", [
    ("Europe/Berlin", "Europe/Berlin"),
    ("US/Eastern", "America/New_York"),  # IANA's old names: the zone they link to
    ("Asia/Calcutta", "Asia/Kolkata"),
    ("Asia/Saigon", "Asia/Ho_Chi_Minh"),
    ("GB", "Europe/London"),
    ("Etc/UTC", "UTC"),
    ("  europe/BERLIN ", "Europe/Berlin"),  # any case, spaces around
    ("Berlin", "Europe/Berlin"),  # a city alone
    ("new york", "America/New_York"),
    ("Europe/Berlin — UTC+01:00", "Europe/Berlin"),  # the picker's label
    ("Etc/GMT+5", "Etc/GMT+5"),  # valid though not listed: kept
    ("Mars/Olympus", None),
    ("", None),
    (None, None),
])
def test_canonical_zone(typed, canonical):
    assert canonical_zone(typed) == canonical


def test_the_picker_lists_canonical_zones_once_each_with_their_offset_now():
    choices = dict(zone_choices(datetime(2026, 7, 1, tzinfo=UTC)))
    assert choices["Europe/Berlin"] == "Europe/Berlin — UTC+02:00"  # summer time on 1 July
    assert choices["Asia/Kolkata"] == "Asia/Kolkata — UTC+05:30"
    assert choices["America/St_Johns"] == "America/St_Johns — UTC-02:30"
    assert choices["UTC"] == "UTC"
    assert "US/Eastern" not in choices and "Asia/Calcutta" not in choices
    names = zone_names()
    assert not set(names.aliases) & set(names.listed)  # an old name is never offered
    assert set(names.aliases.values()) <= set(names.listed)  # and always leads to one that is
    assert len(names.listed) > 300
