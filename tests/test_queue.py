"""The posting queue: the next free slot (a pure rule, table-tested across DST changes), the slots
in Settings, and Add to queue on a draft's row and in the composer — scheduled through the same
action as the form, with the same refusals."""

from __future__ import annotations

from datetime import datetime, time, timezone

import pytest
from sqlalchemy import select

from webapp.extensions import db
from webapp.models import QueueSlot
from webapp.planning.queue import NoFreeSlot, Slot, next_free_slot, parse_slot

from .conftest import core_of, csrf_from, post_row
from .factories import make_post, sign_in

UTC = timezone.utc
MON, TUE, WED, THU, FRI, SAT, SUN = range(7)
NY, BERLIN = "America/New_York", "Europe/Berlin"


def z(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


@pytest.mark.parametrize(("slots", "taken", "now", "zone", "chosen", "notes"), [
    # the next slot after now, in the user's zone (Berlin is UTC+1 in winter)
    ([Slot(TUE, time(9)), Slot(THU, time(9))], [], "2027-01-04T12:00Z", BERLIN, "2027-01-05T08:00Z", []),
    # a slot earlier today has passed: the next one
    ([Slot(MON, time(9)), Slot(THU, time(9))], [], "2027-01-04T12:00Z", BERLIN, "2027-01-07T08:00Z", []),
    # a taken slot (a post due in that minute) is passed over; a post in another minute takes nothing
    ([Slot(TUE, time(9)), Slot(THU, time(9))], ["2027-01-05T08:00:30Z", "2027-01-07T08:01Z"],
     "2027-01-04T12:00Z", BERLIN, "2027-01-07T08:00Z", []),
    # one slot a week, this week's taken: next week
    ([Slot(TUE, time(9))], ["2027-01-05T08:00Z"], "2027-01-04T12:00Z", BERLIN, "2027-01-12T08:00Z", []),
    # across spring forward: 09:00 stays 09:00 local, so the UTC instant moves an hour earlier
    ([Slot(SUN, time(9))], ["2027-03-07T14:00Z"], "2027-03-06T12:00Z", NY, "2027-03-14T13:00Z", []),
    # a slot in the gap (02:30 does not exist on 14 March 2027 in New York): skipped, with a note
    ([Slot(SUN, time(2, 30))], [], "2027-03-13T12:00Z", NY, "2027-03-21T06:30Z",
     ["Skipped Sun 14 Mar 2027 02:30: that time does not exist in America/New_York (the clocks spring forward)."]),
    # the gap skipped, and a later slot that same day is taken instead
    ([Slot(SUN, time(2, 30)), Slot(SUN, time(10))], [], "2027-03-13T12:00Z", NY, "2027-03-14T14:00Z",
     ["Skipped Sun 14 Mar 2027 02:30: that time does not exist in America/New_York (the clocks spring forward)."]),
    # fall back: 01:30 happens twice on 7 November 2027; the first (EDT, UTC-4) is chosen and said
    ([Slot(SUN, time(1, 30))], [], "2027-11-06T12:00Z", NY, "2027-11-07T05:30Z",
     ["Sun 7 Nov 2027 01:30 happens twice in America/New_York (the clocks go back): the queue chose the first, "
      "UTC-04:00 = 2027-11-07T05:30:00.000Z."]),
    # ... and when the first 01:30 is taken, the queue does not use the second: the slot is taken
    ([Slot(SUN, time(1, 30))], ["2027-11-07T05:30Z"], "2027-11-06T12:00Z", NY, "2027-11-14T06:30Z", []),
    # between the two 01:30s (the first has passed): not the second one either, next week's
    ([Slot(SUN, time(1, 30))], [], "2027-11-07T06:10Z", NY, "2027-11-14T06:30Z", []),
    # after fall back, 09:00 local is an hour later in UTC
    ([Slot(SUN, time(9))], [], "2027-11-06T12:00Z", NY, "2027-11-07T14:00Z", []),
    # a slot exactly now is not "ahead": the next one
    ([Slot(TUE, time(9))], [], "2027-01-05T08:00Z", BERLIN, "2027-01-12T08:00Z", []),
])
def test_the_next_free_slot(slots, taken, now, zone, chosen, notes):
    choice = next_free_slot(slots, [z(t) for t in taken], now=z(now), zone_name=zone)
    assert choice.instant == z(chosen)
    assert choice.notes == notes


def test_no_slots_or_no_free_slot_is_said():
    with pytest.raises(NoFreeSlot, match="no time slots yet"):
        next_free_slot([], [], now=z("2027-01-04T12:00Z"), zone_name=BERLIN)
    slot, now = Slot(TUE, time(9)), z("2027-01-04T12:00Z")
    two_tuesdays = [z("2027-01-05T08:00Z"), z("2027-01-12T08:00Z")]
    with pytest.raises(NoFreeSlot, match="taken"):
        next_free_slot([slot], two_tuesdays, now=now, zone_name=BERLIN, horizon_days=14)
    assert next_free_slot([slot], two_tuesdays, now=now, zone_name=BERLIN, horizon_days=16).instant == (
        z("2027-01-19T08:00Z"))


@pytest.mark.parametrize(("weekday", "at", "error"), [
    ("7", "09:00", "Pick a day of the week"),
    ("tue", "09:00", "Pick a day of the week"),
    ("1", "", "Pick a time"),
    ("1", "9 o'clock", "is not a time of day"),
    ("1", "09:00+02:00", "without an offset"),
])
def test_a_slot_typed_wrong_is_refused_with_a_sentence(weekday, at, error):
    with pytest.raises(ValueError, match=error):
        parse_slot(weekday, at)


def test_a_slot_is_a_weekday_and_a_minute():
    assert parse_slot("1", "09:00:59") == Slot(TUE, time(9))


# ---------------------------------------------------------------- through the pages


@pytest.fixture
def ada(app, client):
    return sign_in(app, client, zone=NY)


def token(client) -> str:
    return csrf_from(client.get("/settings").text)


def slots_in_db(app, user_id):
    with app.app_context():
        return [(s.weekday, s.at) for s in db.session.execute(
            select(QueueSlot).where(QueueSlot.user_id == user_id).order_by(QueueSlot.weekday)).scalars()]


def add_slot(client, weekday, at):
    return client.post("/settings/queue", data={"csrf_token": token(client), "weekday": weekday, "time": at})


def test_slots_are_added_and_removed_in_settings(app, client, ada):
    assert add_slot(client, "3", "09:00").status_code == 302
    assert add_slot(client, "1", "09:00").status_code == 302
    page = client.get("/settings").text
    assert "Tuesday 09:00" in page and "Thursday 09:00" in page and "Tue 09:00 added to your queue." in page
    again = add_slot(client, "1", "09:00")  # the same slot twice: said, nothing added
    assert again.status_code == 302 and "already in your queue" in client.get("/settings").text
    assert slots_in_db(app, ada) == [(TUE, time(9)), (THU, time(9))]
    bad = add_slot(client, "9", "09:00")
    assert bad.status_code == 400 and "Pick a day of the week" in bad.text
    assert slots_in_db(app, ada) == [(TUE, time(9)), (THU, time(9))]
    with app.app_context():
        slot_id = db.session.execute(select(QueueSlot.id).where(QueueSlot.weekday == TUE)).scalar_one()
    removed = client.post(f"/settings/queue/{slot_id}/delete", data={"csrf_token": token(client)})
    assert removed.status_code == 302 and slots_in_db(app, ada) == [(THU, time(9))]


def test_someone_elses_slot_cannot_be_removed(app, client, ada):
    add_slot(client, "1", "09:00")
    with app.app_context():
        slot_id = db.session.execute(select(QueueSlot.id)).scalar_one()
    client.post("/logout", data={"csrf_token": token(client)})
    sign_in(app, client, email="mallory@example.com", zone=NY)
    response = client.post(f"/settings/queue/{slot_id}/delete", data={"csrf_token": token(client)})
    assert response.status_code == 404 and slots_in_db(app, ada) == [(TUE, time(9))]


def fix_clock(app, at: datetime):
    core_of(app).clock = lambda: at


def test_add_to_queue_on_a_draft_schedules_the_next_free_slot(app, client, ada):
    fix_clock(app, z("2027-03-13T12:00Z"))
    add_slot(client, "6", "02:30")
    add_slot(client, "6", "10:00")
    with app.app_context():
        taken = make_post(app, ada, "scheduled", at=z("2027-03-14T14:00Z"))  # Sunday 10:00 EDT is taken
        draft = make_post(app, ada, content="Queue me")
    response = client.post(f"/posts/{draft}/queue", data={"csrf_token": token(client)},
                           headers={"HX-Request": "true"})
    assert response.status_code == 200 and response.headers["HX-Trigger"] == "posts-changed"
    row = post_row(app, draft)
    assert row.status == "scheduled" and row.scheduled_at == z("2027-03-21T06:30Z")  # 02:30 EDT a week later
    assert "Added to your queue: the next free slot, Sun 02:30 (2027-03-21T06:30:00.000Z)." in response.text
    assert "Skipped Sun 14 Mar 2027 02:30" in response.text
    assert post_row(app, taken).scheduled_at == z("2027-03-14T14:00Z")


def test_a_drafts_menu_offers_add_to_queue_and_a_scheduled_posts_does_not(app, client, ada):
    with app.app_context():
        draft = make_post(app, ada, content="A draft")
        scheduled = make_post(app, ada, "scheduled", content="A scheduled post")
    page = client.get("/").text
    rows = {pid: page[page.index(f'id="post-{pid}"'):] for pid in (draft, scheduled)}
    assert f'action="/posts/{draft}/queue"' in rows[draft].split("</article>")[0]
    assert "/queue" not in rows[scheduled].split("</article>")[0]


def test_add_to_queue_without_slots_is_refused_and_changes_nothing(app, client, ada):
    with app.app_context():
        draft = make_post(app, ada, content="Nowhere to go")
    response = client.post(f"/posts/{draft}/queue", data={"csrf_token": token(client)},
                           headers={"HX-Request": "true"})
    assert response.status_code == 409 and "no time slots yet" in response.text
    assert post_row(app, draft).status == "draft"


def test_add_to_queue_meets_the_same_refusals_as_the_form(app, client, ada):
    add_slot(client, "1", "09:00")
    with app.app_context():
        sent = make_post(app, ada, "published")
    response = client.post(f"/posts/{sent}/queue", data={"csrf_token": token(client)},
                           headers={"HX-Request": "true"})
    assert response.status_code == 409 and "published" in response.text
    assert post_row(app, sent).status == "published"


def test_add_to_queue_in_the_composer_saves_and_schedules_at_the_slot(app, client, ada):
    fix_clock(app, z("2027-01-04T12:00Z"))
    add_slot(client, "1", "09:00")
    response = client.post("/posts/new", data={"csrf_token": token(client), "content": "From the composer",
                                               "intent": "queue", "date": "", "time": ""})
    assert response.status_code == 302
    page = client.get("/").text
    assert "Added to your queue: the next free slot, Tue 09:00 (2027-01-05T14:00:00.000Z)." in page
    assert "Your queue" in page and "From the composer" in page


def test_add_to_queue_in_the_composer_without_slots_keeps_what_was_typed(app, client, ada):
    response = client.post("/posts/new", data={"csrf_token": token(client), "content": "Keep me",
                                               "intent": "queue"})
    assert response.status_code == 409 and "no time slots yet" in response.text and "Keep me" in response.text
    with app.app_context():
        assert db.session.execute(select(QueueSlot)).first() is None


def test_without_slots_the_dashboard_points_to_the_queue_settings(app, client, ada):
    with app.app_context():
        make_post(app, ada, content="A draft")
    page = client.get("/").text
    assert 'href="/settings#queue">posting queue</a>' in page and "Your queue" not in page


def test_the_dashboard_shows_the_queue_free_and_taken(app, client, ada):
    fix_clock(app, z("2027-01-04T12:00Z"))
    add_slot(client, "1", "09:00")
    add_slot(client, "3", "09:00")
    with app.app_context():
        make_post(app, ada, "scheduled", content="Tuesday's post", at=z("2027-01-05T14:00Z"))
    page = client.get("/").text
    assert "Your queue" in page
    assert "Tue 5 Jan 09:00" in page and "Tuesday&#39;s post" in page
    assert "Thu 7 Jan 09:00" in page and ">free<" in page
