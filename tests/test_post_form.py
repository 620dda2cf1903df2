"""Reading the compose form: a date and a time typed in the user's zone, the button pressed, and the
post's fields. (Whether that time may be used is the core's rule: tests/test_actions.py.)"""

from datetime import datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest

from webapp.dispatch.errors import InvalidInput
from webapp.dispatch.states import Action
from webapp.posts.form import PostForm, default_when, read_when

UTC = timezone.utc
NOW = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)


def transition(zone: str, *, gap: bool, after: datetime = NOW) -> datetime:
    """A wall-clock time inside the next DST gap (gap=True) or overlap of `zone`, after `after`."""
    tz = ZoneInfo(zone)
    t = after.replace(minute=0, second=0, microsecond=0)
    for _ in range(24 * 366):
        o1, o2 = t.astimezone(tz).utcoffset(), (t + timedelta(hours=1)).astimezone(tz).utcoffset()
        if o1 != o2 and (o2 > o1) == gap:
            edge = (t + timedelta(hours=1)).replace(tzinfo=None)
            return edge + (o1 if gap else o2) + timedelta(minutes=30)
        t += timedelta(hours=1)
    raise AssertionError(f"no DST {'gap' if gap else 'overlap'} in {zone} within a year")


@pytest.mark.parametrize("date_text, time_text, zone, expected", [
    # the same wall-clock time is a different instant in each zone
    ("2026-12-02", "09:00", "Europe/Berlin", datetime(2026, 12, 2, 8, 0, tzinfo=UTC)),
    ("2026-12-02", "09:00", "America/New_York", datetime(2026, 12, 2, 14, 0, tzinfo=UTC)),
    ("2026-12-02", "09:00", "Asia/Kolkata", datetime(2026, 12, 2, 3, 30, tzinfo=UTC)),
    ("2026-12-02", "09:00", "Pacific/Chatham", datetime(2026, 12, 1, 19, 15, tzinfo=UTC)),
    ("2026-12-02", "09:00", "UTC", datetime(2026, 12, 2, 9, 0, tzinfo=UTC)),
    # seconds are kept: posts go at the second
    ("2026-12-02", "09:00:07", "UTC", datetime(2026, 12, 2, 9, 0, 7, tzinfo=UTC)),
    (" 2026-12-02 ", " 09:00 ", "UTC", datetime(2026, 12, 2, 9, 0, tzinfo=UTC)),
    # summer time in the summer
    ("2027-07-01", "09:00", "Europe/Berlin", datetime(2027, 7, 1, 7, 0, tzinfo=UTC)),
])
def test_a_typed_time_is_read_in_the_users_zone(date_text, time_text, zone, expected):
    resolved = read_when(date_text, time_text, zone)
    assert resolved.instant == expected and resolved.note is None


@pytest.mark.parametrize("date_text, time_text, message", [
    ("", "09:00", "Pick a date for the post."),
    ("2026-12-02", "", "Pick a time for the post."),
    ("2026-13-02", "09:00", "“2026-13-02” is not a date; use the date picker or YYYY-MM-DD."),
    ("02/12/2026", "09:00", "is not a date"),
    ("2026-12-02", "25:00", "“25:00” is not a time of day; use HH:MM or HH:MM:SS."),
    ("2026-12-02", "9am", "is not a time of day"),
    ("2026-12-02", "09:00+01:00", "Give the time without an offset: it is read in Europe/Berlin."),
])
def test_a_time_that_cannot_be_used_is_refused_with_a_sentence(date_text, time_text, message):
    with pytest.raises(InvalidInput) as refused:
        read_when(date_text, time_text, "Europe/Berlin")
    assert message in refused.value.message


@pytest.mark.parametrize("zone", ["America/New_York", "Europe/Berlin"])
def test_a_time_skipped_by_daylight_saving_is_refused(zone):
    wall = transition(zone, gap=True)
    with pytest.raises(InvalidInput) as refused:
        read_when(wall.date().isoformat(), wall.strftime("%H:%M"), zone)
    assert f"does not exist in {zone}" in refused.value.message
    with pytest.raises(InvalidInput) as refused:
        read_when(wall.date().isoformat(), wall.strftime("%H:%M") + ":19", zone)
    assert f"{wall:%Y-%m-%d %H:%M}:19 does not exist in {zone}" in refused.value.message  # to the second


@pytest.mark.parametrize("zone", ["America/New_York", "Europe/Berlin"])
def test_a_time_that_happens_twice_resolves_to_the_first_and_says_so(zone):
    wall = transition(zone, gap=False)
    resolved = read_when(wall.date().isoformat(), wall.strftime("%H:%M"), zone)
    first = wall.replace(tzinfo=ZoneInfo(zone), fold=0)
    assert resolved.instant == first.astimezone(UTC)
    assert f"happens twice in {zone}" in resolved.note and "the first one" in resolved.note
    resolved = read_when(wall.date().isoformat(), wall.strftime("%H:%M") + ":19", zone)
    assert f"{wall:%Y-%m-%d %H:%M}:19 happens twice in {zone}" in resolved.note


@pytest.mark.parametrize("zone, now, expected", [
    ("UTC", datetime(2026, 12, 1, 9, 0, tzinfo=UTC), ("2026-12-01", "09:15:00")),
    ("UTC", datetime(2026, 12, 1, 9, 14, 59, tzinfo=UTC), ("2026-12-01", "09:15:00")),
    ("Europe/Berlin", datetime(2026, 12, 1, 22, 50, tzinfo=UTC), ("2026-12-02", "00:00:00")),
    ("Asia/Kolkata", datetime(2026, 12, 1, 9, 0, tzinfo=UTC), ("2026-12-01", "14:45:00")),
])
def test_the_default_is_the_next_quarter_hour_in_the_users_zone(zone, now, expected):
    assert default_when(zone, now) == expected


def test_the_default_never_lands_in_a_dst_gap():
    wall = transition("America/New_York", gap=True)  # e.g. 02:30, in a 02:00-03:00 gap
    just_before = (wall - timedelta(minutes=40)).replace(tzinfo=ZoneInfo("America/New_York"))
    day, clock = default_when("America/New_York", just_before.astimezone(UTC))
    read_when(day, clock, "America/New_York")  # no error


@pytest.mark.parametrize("content, image_url, errors", [
    ("Hello", "", {}),
    ("  Hello  ", "https://example.com/a.png", {}),
    ("", "", {"content": "Write the text of the post."}),
    ("   \n ", "", {"content": "Write the text of the post."}),
    ("x" * 3001, "", {"content": "The text is 3,001 characters; LinkedIn allows at most 3,000."}),
    ("x" * 3000, "", {}),
    ("Hello", "ftp://example.com/a.png", {"image_url": "The image URL must be an http:// or https:// address."}),
    ("Hello", "https://example.com/" + "a" * 2100, {"image_url": "The image URL is longer than 2,048 characters."}),
    ("", "javascript:alert(1)", {"content": "Write the text of the post.",
                                  "image_url": "The image URL must be an http:// or https:// address."}),
])
def test_post_fields_are_cleaned_or_refused_per_field(content, image_url, errors):
    form = PostForm(content=content, image_url=image_url)
    fields = form.fields()
    assert form.errors == errors
    assert (fields is None) == bool(errors)
    if fields:
        assert fields == {"content": content.strip(), "image_url": image_url or None}


def test_the_form_keeps_what_was_typed_exactly():
    typed = {"content": "  keep\r\nme  ", "image_url": " not a url ", "date": "tomorrow", "time": "soon"}
    form = PostForm.from_request({**typed, "intent": "schedule"})
    fields, then, when = form.read("UTC")
    assert (form.content, form.image_url, form.date, form.time) == tuple(typed.values())
    assert (fields, then, when) == (None, Action.SCHEDULE, None)
    assert set(form.errors) == {"image_url", "when"}
    assert form.length == len("keep\nme")


@pytest.mark.parametrize("intent, then, errors", [
    ("save", None, {}),
    ("publish", Action.PUBLISH_NOW, {}),  # the date and time are not read: publish now needs none
    ("schedule", Action.SCHEDULE, {"when": "Pick a date for the post."}),
    ("launch", None, {"form": "Choose Save draft, Schedule or Publish now."}),
])
def test_the_button_says_what_to_do_once_the_text_is_saved(intent, then, errors):
    form = PostForm(content="Hello", intent=intent)
    fields, asked, _ = form.read("UTC")
    assert (fields, asked, form.errors) == ({"content": "Hello", "image_url": None}, then, errors)
