"""The calendar: posts placed in their days and hours in the user's zone, the queue's free slots,
and moves (a drag, or its Undo) made through the form's own action, with the same refusals."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta, timezone

import pytest

from webapp.planning.calendar import bounds, grid
from webapp.planning.queue import Slot

from .conftest import configured, connect_linkedin, core_of, csrf_from, post_row
from .factories import make_post, sign_in

UTC = timezone.utc
NY = "America/New_York"
SCRIPT = {"X-Punctual-Calendar": "1"}
with_n8n = configured({"N8N_WEBHOOK_URL": "https://n8n.test/webhook/linkedin-post"}, "n8n")


def z(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


class FakePost:
    def __init__(self, pid, status, at):
        self.id, self.status, self.scheduled_at, self.content = pid, status, at, pid


@pytest.mark.parametrize(("view", "anchor", "start", "days"), [
    ("month", date(2027, 3, 17), date(2027, 3, 1), 35),   # March 2027 starts on a Monday
    ("month", date(2027, 2, 1), date(2027, 2, 1), 28),    # February 2027: exactly four weeks
    ("month", date(2026, 12, 3), date(2026, 11, 30), 35),
    ("week", date(2027, 3, 17), date(2027, 3, 15), 7),
])
def test_the_grid_covers_whole_weeks(view, anchor, start, days):
    assert bounds(view, anchor) == (start, days)


def test_posts_are_placed_at_their_local_day_and_hour_across_a_dst_change():
    posts = [FakePost("before", "scheduled", z("2027-03-13T14:00Z")),  # Sat 09:00 EST
             FakePost("after", "published", z("2027-03-15T13:00Z")),   # Mon 09:00 EDT
             FakePost("late", "failed", z("2027-03-15T03:30Z"))]       # Sun 23:30 EDT (Monday in UTC)
    now = z("2027-03-01T12:00Z")
    month = grid("month", date(2027, 3, 1), posts=posts, slots=[Slot(0, time(9))], now=now, zone_name=NY)
    by_day = {c.day: [i.post.id for i in c.items] for c in month.cells}
    assert by_day[date(2027, 3, 13)] == ["before"]
    assert by_day[date(2027, 3, 15)] == ["after"]
    assert by_day[date(2027, 3, 14)] == ["late"]
    # the Monday 09:00 slot is free except on the 15th, where "after" is due in its minute
    free = {c.day for c in month.cells if c.free}
    assert date(2027, 3, 8) in free and date(2027, 3, 15) not in free
    week = grid("week", date(2027, 3, 14), posts=posts, slots=[], now=now, zone_name=NY)  # Mon 8 – Sun 14
    placed = {(c.day, c.hour): [i.post.id for i in c.items] for c in week.cells if c.items}
    assert placed == {(date(2027, 3, 13), 9): ["before"], (date(2027, 3, 14), 23): ["late"]}


@pytest.fixture
def ada(app, client):
    return sign_in(app, client, zone=NY)


def token(client) -> str:
    return csrf_from(client.get("/calendar").text)


def move(client, post_id, headers=SCRIPT, **values):
    return client.post("/calendar/move", data={"csrf_token": token(client), "post_id": post_id, **values},
                       headers=headers)


def test_the_calendar_page_shows_posts_with_their_data_and_no_polling(app, client, ada):
    at = core_of(app).clock() + timedelta(days=2)
    with app.app_context():
        scheduled = make_post(app, ada, "scheduled", content="On the calendar", at=at)
        draft = make_post(app, ada, content="A draft to drag")
    page = client.get("/calendar?view=week&date=" + at.astimezone(UTC).date().isoformat()).text
    assert f'data-post-id="{scheduled}"' in page and f'data-post-id="{draft}"' in page
    assert 'data-date="' in page and 'data-hour="' in page
    assert "every " not in page and "load delay" not in page  # nothing polls on the calendar
    assert 'href="/calendar"' in client.get("/").text  # in the navigation
    assert "calendar.js" in page and "<script>" not in page and " onclick" not in page and "style=" not in page
    # the keyboard and no-JavaScript way: each movable post links to the row's Reschedule form
    assert f'href="/posts/{scheduled}/schedule"' in page and f'href="/posts/{draft}/schedule"' in page


def test_a_move_keeps_the_time_of_day_and_undo_puts_it_back(app, client, ada):
    old = (core_of(app).clock() + timedelta(days=3)).replace(microsecond=0)
    with app.app_context():
        post_id = make_post(app, ada, "scheduled", content="Move me", at=old)
    local = old.astimezone(__import__("zoneinfo").ZoneInfo(NY))
    new_day = (local + timedelta(days=2)).date().isoformat()
    response = move(client, post_id, date=new_day, time=f"{local:%H:%M:%S}")
    assert response.status_code == 200 and response.headers["HX-Trigger"] == "posts-changed"
    moved = post_row(app, post_id).scheduled_at
    assert moved.astimezone(local.tzinfo).time() == local.time().replace(tzinfo=None)
    assert "Moved to" in response.text and "Undo" in response.text
    assert f'name="date" value="{local.date().isoformat()}"' in response.text
    undo = move(client, post_id, date=local.date().isoformat(), time=f"{local:%H:%M:%S}")
    assert undo.status_code == 200 and post_row(app, post_id).scheduled_at == old


def test_a_draft_moved_in_and_undone_is_a_draft_again(app, client, ada):
    with app.app_context():
        draft = make_post(app, ada, content="Draft")
    day = (core_of(app).clock() + timedelta(days=4)).date().isoformat()
    response = move(client, draft, date=day, time="09:00:00")
    assert response.status_code == 200 and post_row(app, draft).status == "scheduled"
    assert 'name="to" value="draft"' in response.text
    undo = move(client, draft, to="draft")
    assert undo.status_code == 200 and post_row(app, draft).status == "draft"


@pytest.mark.parametrize(("values", "status", "reason"), [
    ({"date": "2020-01-07", "time": "09:00:00"}, 400, "is in the past"),
    ({"date": "2027-03-14", "time": "02:30:00"}, 400, "does not exist in America/New_York"),
    ({"date": "someday", "time": "09:00:00"}, 400, "is not a date"),
])
def test_a_refused_move_says_why_and_changes_nothing(app, client, ada, values, status, reason):
    at = core_of(app).clock() + timedelta(days=1)
    with app.app_context():
        post_id = make_post(app, ada, "scheduled", at=at)
    before = post_row(app, post_id)
    response = move(client, post_id, **values)
    assert response.status_code == status and reason in response.text and "Not moved" in response.text
    assert "HX-Trigger" not in response.headers and "Undo" not in response.text
    after = post_row(app, post_id)
    assert (after.scheduled_at, after.schedule_version) == (before.scheduled_at, before.schedule_version)


@with_n8n
def test_a_move_past_the_linkedin_token_is_refused(app, client, ada):
    now = core_of(app).clock()
    connect_linkedin(app, ada, expires_at=now + timedelta(days=5))
    with app.app_context():
        post_id = make_post(app, ada, "scheduled", at=now + timedelta(days=1))
    response = move(client, post_id, date=(now + timedelta(days=9)).date().isoformat(), time="09:00:00")
    assert response.status_code == 409 and "LinkedIn" in response.text
    assert post_row(app, post_id).scheduled_at == now + timedelta(days=1)


def test_without_javascript_a_move_answers_the_calendar_with_the_message(app, client, ada):
    with app.app_context():
        post_id = make_post(app, ada, "scheduled", content="No script", at=core_of(app).clock() + timedelta(days=1))
    response = move(client, post_id, headers={}, date="2020-01-07", time="09:00:00", view="week",
                    anchor="2027-01-04")
    assert response.status_code == 302 and "/calendar?view=week&date=2027-01-04" in response.headers["Location"]
    assert "is in the past" in client.get(response.headers["Location"]).text


def test_someone_elses_post_cannot_be_moved(app, client, ada):
    other = sign_in(app, client.application.test_client(), email="mallory@example.com", zone=NY)
    with app.app_context():
        theirs = make_post(app, other, "scheduled", at=core_of(app).clock() + timedelta(days=1))
    response = move(client, theirs, date="2030-01-01", time="09:00:00")
    assert response.status_code == 404
