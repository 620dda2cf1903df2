"""Planning a week in a real browser: the calendar (drag a post to another day, a refusal that
snaps it back, an Undo) and the posting queue (Add to queue across a DST change)."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from playwright.sync_api import expect

from webapp.models import utcnow
from webapp.planning.calendar import bounds
from webapp.timeutil import UTC

from ..conftest import core_of, post_row
from .conftest import ZONE, Person, shoot

NY = ZoneInfo(ZONE)
#: Zones whose clocks skip 02:30 once a year, half a year apart (March, October): the soonest
#: change is never much more than half a year ahead, so what is scheduled across it stays within
#: the year the schedule action allows, whatever day the tests run.
DST_ZONES = ("America/New_York", "Australia/Sydney")


def next_spring_forward(after: datetime, zone: str = ZONE, min_days: int = 2) -> date:
    """The next day (at least `min_days` ahead) whose 02:30 does not exist in `zone`."""
    tz = ZoneInfo(zone)
    day = after.astimezone(tz).date() + timedelta(days=min_days)
    while True:
        naive = datetime.combine(day, time(2, 30))
        if naive.replace(tzinfo=tz).astimezone(UTC).astimezone(tz).replace(tzinfo=None) != naive:
            return day
        day += timedelta(days=1)


def soonest_change(after: datetime) -> tuple[str, date]:
    """The zone (of DST_ZONES) whose clocks next skip 02:30, and that day."""
    return min(((zone, next_spring_forward(after, zone)) for zone in DST_ZONES), key=lambda pair: pair[1])


@pytest.fixture
def dst_person(live, new_context):
    """A signed-in user whose browser and account are in the zone of the soonest clock change."""
    zone, _ = soonest_change(utcnow())
    page = new_context(timezone_id=zone, viewport={"width": 1200, "height": 900}).new_page()
    page.set_default_timeout(10_000)
    return Person(live, page, zone=zone).sign_in_directly()


def schedule(live, user_id: int, content: str, at: datetime) -> str:
    store, now = core_of(live.app).store, utcnow()
    with live.app.app_context():
        post_id = store.create(user_id=user_id, content=content, image_url=None, now=now)
        store.schedule(post_id=post_id, user_id=user_id, at=at, now=now)
    return post_id


def test_drag_a_post_to_another_day_a_refusal_snaps_it_back_and_undo_puts_it_back(live, dst_person):
    person = dst_person
    person.connect_linkedin_directly(expires_at=utcnow() + timedelta(days=400))
    zone, gap = soonest_change(utcnow())
    tz = ZoneInfo(zone)
    before = datetime.combine(gap - timedelta(days=1), time(2, 30), tzinfo=tz)  # Saturday 02:30
    post_id = schedule(live, person.user_id, "Saturday night thoughts", before.astimezone(UTC))
    page = person.go(f"/calendar?view=month&date={gap.isoformat()}")
    post = page.locator(f'[data-post-id="{post_id}"]')
    expect(page.locator(f'[data-date="{(gap - timedelta(days=1)).isoformat()}"]').locator(post)).to_have_count(1)
    expect(post).to_have_class("cal-post status-scheduled")
    shoot(page, "calendar-month")

    # Onto the Sunday the clocks skip 02:00–03:00: refused with the reason; it snaps back.
    post.drag_to(page.locator(f'[data-date="{gap.isoformat()}"]'))
    notice = page.locator("#calendar-notice")
    expect(notice).to_contain_text(f"does not exist in {zone}")
    expect(notice).to_contain_text("Not moved")
    expect(page.locator(f'[data-date="{(gap - timedelta(days=1)).isoformat()}"] [data-post-id="{post_id}"]')
           ).to_have_count(1)
    assert post_row(live.app, post_id).scheduled_at == before.astimezone(UTC)
    shoot(page, "calendar-refused")

    # Onto Monday: moved, same time of day (now on daylight time), and the calendar redraws.
    monday = gap + timedelta(days=1)
    page.locator(f'[data-post-id="{post_id}"]').drag_to(page.locator(f'[data-date="{monday.isoformat()}"]'))
    expect(notice).to_contain_text("Moved to")
    expect(page.locator(f'[data-date="{monday.isoformat()}"] [data-post-id="{post_id}"]')).to_have_count(1)
    moved = post_row(live.app, post_id).scheduled_at
    assert moved == datetime.combine(monday, time(2, 30), tzinfo=tz).astimezone(UTC)
    shoot(page, "calendar-moved")

    # Undo puts it back where it was.
    notice.get_by_role("button", name="Undo").click()
    expect(page.locator(f'[data-date="{(gap - timedelta(days=1)).isoformat()}"] [data-post-id="{post_id}"]')
           ).to_have_count(1)
    assert post_row(live.app, post_id).scheduled_at == before.astimezone(UTC)

    # The week view: drag it to another hour of the same day; it keeps its minutes.
    page = person.go(f"/calendar?view=week&date={(gap - timedelta(days=1)).isoformat()}")
    saturday = (gap - timedelta(days=1)).isoformat()
    page.locator(f'[data-post-id="{post_id}"]').drag_to(page.locator(f'[data-date="{saturday}"][data-hour="10"]'))
    expect(page.locator("#calendar-notice")).to_contain_text("Moved to")
    expect(page.locator(f'[data-date="{saturday}"][data-hour="10"] [data-post-id="{post_id}"]')).to_have_count(1)
    assert post_row(live.app, post_id).scheduled_at == datetime.combine(
        gap - timedelta(days=1), time(10, 30), tzinfo=tz).astimezone(UTC)
    shoot(page, "calendar-week")


def test_add_to_queue_across_a_dst_change_skips_the_gap_and_says_when(live, dst_person):
    person = dst_person
    person.connect_linkedin_directly(expires_at=utcnow() + timedelta(days=400))
    zone, gap = soonest_change(utcnow())
    tz = ZoneInfo(zone)
    page = person.go("/settings")
    page.select_option("#slot-weekday", label="Sunday")
    page.fill("#slot-time", "02:30")
    page.get_by_role("button", name="Add slot").click()
    expect(page.locator("#queue")).to_contain_text("Sunday 02:30")
    shoot(page, "settings-queue")
    page.locator("#queue").screenshot(path=str(shoot(page, "settings-queue").with_name("settings-queue-section.png")))

    # Every Sunday 02:30 before the change is already taken.
    sunday = utcnow().astimezone(tz).date()
    sunday += timedelta(days=(6 - sunday.weekday()) % 7)
    while sunday < gap:
        at = datetime.combine(sunday, time(2, 30), tzinfo=tz).astimezone(UTC)
        if at > utcnow():
            schedule(live, person.user_id, f"Already queued for {sunday}", at)
        sunday += timedelta(days=7)

    page = person.go("/posts/new")
    page.fill("#content", "Queued across the clock change #DST")
    page.get_by_role("button", name="Add to queue").click()
    page.wait_for_url(live.url + "/")
    after = gap + timedelta(days=7)
    instant = datetime.combine(after, time(2, 30), tzinfo=tz).astimezone(UTC)  # on daylight time now
    skipped_offset = datetime.combine(gap - timedelta(days=7), time(2, 30), tzinfo=tz).utcoffset()
    assert tz.utcoffset(datetime.combine(after, time(2, 30))) == skipped_offset + timedelta(hours=1)
    flashes = page.locator(".flashes")
    expect(flashes).to_contain_text(f"Added to your queue: the next free slot, Sun 02:30 ({instant:%Y-%m-%dT%H:%M}")
    expect(flashes).to_contain_text(f"Skipped Sun {gap.day} {gap:%b %Y} 02:30: that time does not exist")
    row = person.row("Queued across the clock change", "upcoming")
    expect(row.locator(".badge")).to_have_text("scheduled")
    shoot(page, "dashboard-queue")
    top = page.locator("#queue-ahead").bounding_box()
    page.screenshot(path=str(shoot(page, "dashboard-queue").with_name("dashboard-queue-top.png")),
                    clip={"x": 0, "y": 0, "width": 1200, "height": top["y"] + top["height"] + 16})


def test_the_calendar_colours_posts_by_status_and_shows_free_queue_slots(live, person):
    from ..factories import make_post

    person.connect_linkedin_directly(expires_at=utcnow() + timedelta(days=400))
    user_id, now = person.user_id, utcnow()
    with live.app.app_context():
        sent = make_post(live.app, user_id, "published", content="Launch recap: what we shipped this week")
        failed = make_post(live.app, user_id, "failed", content="A post n8n refused #oops")
        draft = make_post(live.app, user_id, content="Draft: five lessons from a year of posting")
    today = now.astimezone(NY).date()
    start, days = bounds("month", today)
    tomorrow_shown = today + timedelta(days=1) < start + timedelta(days=days)  # not on a month's last Sunday
    soon = (datetime.combine(today + timedelta(days=1), time(9), tzinfo=NY) if tomorrow_shown
            else now + timedelta(minutes=30))
    planned = schedule(live, user_id, "Tomorrow's hook about planning #LinkedIn", soon.astimezone(UTC))
    page = person.go("/settings")
    for day in ("Tuesday", "Thursday"):
        page.select_option("#slot-weekday", label=day)
        page.fill("#slot-time", "11:30")
        page.get_by_role("button", name="Add slot").click()
    page = person.go("/calendar")
    for post_id, status in ((sent, "published"), (failed, "failed"), (planned, "scheduled"), (draft, "draft")):
        expect(page.locator(f'[data-post-id="{post_id}"]')).to_have_class(f"cal-post status-{status}")
    # only drafts and scheduled posts can be dragged
    assert page.locator(f'[data-post-id="{planned}"]').get_attribute("draggable") == "true"
    assert page.locator(f'[data-post-id="{draft}"]').get_attribute("draggable") == "true"
    assert page.locator(f'[data-post-id="{sent}"]').get_attribute("draggable") is None
    expect(page.locator(".cal-day .cal-free").first).to_contain_text("11:30 free slot")
    shoot(page, "calendar-statuses")

    if tomorrow_shown:  # a draft dragged from the side onto a day goes at 09:00
        target = (today + timedelta(days=1)).isoformat()
        page.locator(f'[data-post-id="{draft}"]').drag_to(page.locator(f'[data-date="{target}"]'))
        expect(page.locator("#calendar-notice")).to_contain_text("Moved to")
        expect(page.locator(f'[data-date="{target}"] [data-post-id="{draft}"]')).to_have_class(
            "cal-post status-scheduled")
        assert post_row(live.app, draft).scheduled_at == soon.astimezone(UTC)
        page.locator("#calendar-notice").get_by_role("button", name="Undo").click()
        expect(page.locator(f'.cal-drafts [data-post-id="{draft}"]')).to_have_count(1)
        assert post_row(live.app, draft).status == "draft"

    # On a phone: nothing wider than the screen, every post still on the calendar.
    page.set_viewport_size({"width": 390, "height": 844})
    page = person.go("/calendar")
    assert page.evaluate("document.documentElement.scrollWidth") <= 390
    expect(page.locator(f'[data-post-id="{planned}"]')).to_be_visible()
    shoot(page, "calendar-phone")
    page = person.go(f"/calendar?view=week&date={soon.date().isoformat()}")
    assert page.evaluate("document.documentElement.scrollWidth") <= 390
    shoot(page, "calendar-week-phone")
