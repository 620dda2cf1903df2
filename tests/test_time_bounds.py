"""Times that parse but cannot be converted (years 1 and 9999 with an offset or a zone) are a 400
with a sentence, never a 500: in the API, the compose form and the inline schedule form; and a
property test: the time parser and the post validators answer a value or InvalidInput, nothing else."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from webapp import timeutil
from webapp.dispatch.actions import check_time
from webapp.dispatch.errors import InvalidInput
from webapp.posts.form import read_when
from webapp.validation import clean_content, clean_image_url, post_fields

from .conftest import csrf_from, post_row
from .factories import make_post, sign_in
from .test_posts import post_form

UTC = timezone.utc
NOW = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)
TOO_FAR = "too far from today to be converted between time zones"

#: (scheduledAt, timeZone) pairs that parse but overflow datetime's range once converted.
EDGES = [
    ("9999-12-31T23:59:59-05:00", None),
    ("0001-01-01T00:00:00+01:00", None),
    ("9999-12-31T23:00:00", "America/New_York"),
    ("0001-01-01T00:00:00Z", "America/New_York"),
    ("0001-01-01T02:00:00", "Asia/Tokyo"),
    ("9999-12-31T23:59:59.999999+00:00", "Pacific/Kiritimati"),
]


@pytest.mark.parametrize("value, zone", EDGES)
def test_an_instant_that_cannot_be_converted_is_refused_with_a_sentence(value, zone):
    with pytest.raises(timeutil.TimeInputError, match=TOO_FAR):
        timeutil.parse_instant(value, zone or "UTC")


@pytest.mark.parametrize("value, zone", EDGES)
def test_the_api_answers_400_for_years_it_cannot_convert(app, client, user, value, zone):
    _, headers = user
    post_id = client.post("/api/posts", json={"content": "Hello"}, headers=headers).json["id"]
    body = {"scheduledAt": value, **({"timeZone": zone} if zone else {})}
    response = client.post(f"/api/posts/{post_id}/schedule", json=body, headers=headers)
    assert response.status_code == 400 and TOO_FAR in response.json["error"]
    assert post_row(app, post_id).status == "draft"


@pytest.mark.parametrize("day", ["9999-12-31", "0001-01-01"])
@pytest.mark.parametrize("htmx", [True, False])
def test_the_compose_form_answers_400_for_years_it_cannot_convert(app, client, day, htmx):
    sign_in(app, client, zone="America/New_York")
    response = post_form(client, "/posts/new", {"content": "Far away", "intent": "schedule", "date": day,
                                                "time": "23:30:00" if day.startswith("9") else "00:00:00"},
                         htmx=htmx)
    assert response.status_code == 400 and TOO_FAR in response.text
    assert client.get("/api/posts").json["posts"] == []


@pytest.mark.parametrize("day", ["9999-12-31", "0001-01-01"])
def test_the_inline_schedule_form_answers_400_for_years_it_cannot_convert(app, client, day):
    ada = sign_in(app, client, zone="Pacific/Kiritimati" if day.startswith("0") else "America/New_York")
    post_id = make_post(app, ada, "draft")
    response = post_form(client, f"/posts/{post_id}/schedule", {"date": day, "time": "12:00:00"}, htmx=True)
    assert response.status_code == 400 and TOO_FAR in response.text
    assert post_row(app, post_id).status == "draft"


# ---------------------------------------------------------------- properties

ZONES = st.sampled_from(["UTC", "Europe/Berlin", "America/New_York", "Pacific/Kiritimati", "Pacific/Chatham",
                         "Asia/Kolkata", "Etc/GMT+12", "America/St_Johns", "Nope/Nowhere", ""])
OFFSETS = st.integers(min_value=-(24 * 60 - 1), max_value=24 * 60 - 1).map(
    lambda m: f"{'+' if m >= 0 else '-'}{abs(m) // 60:02d}:{abs(m) % 60:02d}")
EDGE_YEARS = st.sampled_from([1, 2, 1970, 2026, 9998, 9999])
DATETIMES = st.builds(
    lambda d, t, offset: f"{d.isoformat()}T{t.isoformat()}{offset}",
    st.one_of(st.dates(), st.dates(min_value=datetime(9999, 12, 1).date()),
              st.dates(max_value=datetime(1, 1, 31).date()),
              st.builds(lambda y: datetime(y, 1, 1).date(), EDGE_YEARS)),
    st.times(),
    st.one_of(st.just(""), st.just("Z"), OFFSETS),
)
TEXT = st.one_of(st.text(), DATETIMES, st.text(alphabet="0123456789-:T+Z. ", max_size=40))
ANYTHING = st.one_of(TEXT, st.none(), st.integers(), st.floats(), st.booleans(), st.lists(st.integers(), max_size=2),
                     st.dictionaries(st.text(max_size=5), st.integers(), max_size=2))
PROPERTY = settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@PROPERTY
@given(value=st.one_of(ANYTHING, DATETIMES), zone=ZONES)
def test_parse_instant_answers_an_instant_or_a_sentence(value, zone):
    try:
        resolved = timeutil.parse_instant(value, zone)
    except timeutil.TimeInputError as refused:
        assert str(refused)
        return
    assert timeutil.EARLIEST <= resolved.instant <= timeutil.LATEST
    assert resolved.instant.utcoffset() == timedelta(0)
    # whatever was accepted can be checked, shown and formatted in any zone
    for shown_in in ("Pacific/Kiritimati", "Etc/GMT+12"):
        timeutil.format_local(resolved.instant, shown_in)
    try:
        check_time(at=resolved.instant, now=NOW, zone_name="Etc/GMT+12")
    except InvalidInput as refused:
        assert refused.message


@PROPERTY
@given(day=st.one_of(TEXT, st.dates().map(str)), clock=st.one_of(TEXT, st.times().map(str)), zone=ZONES.filter(bool))
def test_read_when_answers_an_instant_or_invalid_input(day, clock, zone):
    try:
        resolved = read_when(day, clock, zone)
    except InvalidInput as refused:
        assert refused.message
        return
    assert timeutil.EARLIEST <= resolved.instant <= timeutil.LATEST


@PROPERTY
@given(content=ANYTHING, image_url=st.one_of(ANYTHING, st.builds("https://{}/{}".format, st.text(), st.text())))
def test_the_post_validators_answer_a_value_or_invalid_input(content, image_url):
    for clean, value in ((clean_content, content), (clean_image_url, image_url)):
        try:
            cleaned = clean(value)
        except InvalidInput as refused:
            assert refused.message
        else:
            assert cleaned is None or isinstance(cleaned, str)
    for body in ({"content": content, "imageUrl": image_url}, {"imageUrl": image_url}, content):
        for partial in (True, False):
            try:
                post_fields(body, partial=partial)
            except InvalidInput as refused:
                assert refused.message


@pytest.mark.parametrize("day", ["9999-12-31", "0001-01-01", "2000-01-01"])
def test_a_linkedin_expiry_date_far_from_today_is_refused_with_a_sentence(app, client, day):
    sign_in(app, client, zone="Pacific/Kiritimati")
    token = csrf_from(client.get("/settings").text)
    response = client.post("/settings/linkedin", data={"csrf_token": token, "person_urn": "urn:li:person:Ab1",
                                                       "access_token": "AQV-0123456789abcdef", "expires_on": day})
    assert response.status_code == 400 and "within a year of today" in response.text
    assert client.get("/settings").status_code == 200 and client.get("/").status_code == 200


@pytest.mark.parametrize("stored", [datetime(9999, 12, 31, 23, 59, 59, tzinfo=UTC), datetime(1, 1, 1, tzinfo=UTC)])
def test_an_instant_at_the_edge_of_the_range_is_shown_in_utc_rather_than_failing(stored):
    for zone in ("Pacific/Kiritimati", "Etc/GMT+12"):
        assert timeutil.local(stored, zone) == stored
        assert timeutil.format_local(stored, zone)
