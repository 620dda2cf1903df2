"""The scheduling dashboard in a real browser: what a person sees and does, end to end."""

from __future__ import annotations

import re
from datetime import timedelta

from playwright.sync_api import expect

from webapp.dispatch import actions
from webapp.models import utcnow
from webapp.timeutil import ResolvedTime, next_quarter_hour

from ..conftest import core_of, post_row
from ..receiver import Answer
from .conftest import PASSWORD, ZONE, Person, local_time, shoot, wait_until


def test_register_compose_schedule_and_watch_the_badge_turn_published(live, receiver, new_context):
    page = new_context(timezone_id=ZONE, viewport={"width": 1200, "height": 900}).new_page()
    page.set_default_timeout(10_000)
    person = Person(live, page)

    # Registering takes the time zone from the browser.
    person.go("/register")
    expect(page.locator("#time_zone")).to_have_value(ZONE)
    expect(page.locator("#tz-shown")).to_have_text(ZONE)
    person.register()
    expect(page.locator(".empty-state")).to_contain_text("Connect LinkedIn")
    shoot(page, "dashboard-empty")
    person.connect_linkedin()

    # The compose page: zone named, next quarter hour by default, a live counter.
    page = person.go("/posts/new")
    expect(page.locator("fieldset.when .zone-line")).to_contain_text(ZONE)
    defaults = {local_time(next_quarter_hour(utcnow() - timedelta(seconds=s), ZONE)) for s in (0, 5)}
    assert (page.input_value("#date"), page.input_value("#time")) in defaults
    page.fill("#content", "x" * 3001)
    expect(page.locator("#content-count")).to_contain_text("3,001")
    expect(page.locator("#content-count")).to_contain_text("1 over LinkedIn's limit")
    expect(page.get_by_role("button", name="Schedule", exact=True)).to_be_disabled()
    text = "Punctual goes live in a few seconds"
    page.fill("#content", text)
    expect(page.locator("#content-count")).to_have_text(re.compile(rf"^\s*{len(text)} / 3,000 characters\s*$"))
    expect(page.get_by_role("button", name="Schedule", exact=True)).to_be_enabled()
    shoot(page, "compose")

    # Schedule it a few seconds ahead, in the browser's zone.
    at = (utcnow() + timedelta(seconds=4)).replace(microsecond=0)
    day, clock = local_time(at)
    page.fill("#date", day)
    page.fill("#time", clock)
    page.get_by_role("button", name="Schedule", exact=True).click()
    page.wait_for_url(live.url + "/")
    expect(page.locator(".flash-success")).to_contain_text(f"({ZONE})")
    row = person.row(text, "upcoming")
    expect(row.locator(".badge")).to_have_text("scheduled")
    expect(page.locator(".zone-note")).to_contain_text(ZONE)  # named once, above the rows
    shoot(page, "dashboard-upcoming")

    # ... and watch it turn published, without reloading.
    person.mark()
    expect(person.row(text, "published").locator(".badge")).to_have_text("published", timeout=15_000)
    assert person.not_reloaded()
    expect(page.locator("#announcer")).to_contain_text("published")
    expect(page.locator(".flashes")).to_have_count(0)  # "Scheduled … (in a few seconds)" no longer true
    arrivals = [a for a in receiver.arrivals if a.body.get("content") == text]
    assert len(arrivals) == 1 and arrivals[0].t >= at.timestamp()
    shoot(page, "dashboard-published")

    # The post page shows the attempt that sent it.
    person.more(person.row(text)).get_by_role("link", name="Details").click()
    expect(page.locator("table.attempts tbody tr")).to_have_count(1)
    expect(page.locator("table.attempts")).to_contain_text("published")
    expect(page.locator("table.attempts")).to_contain_text("200")
    shoot(page, "detail-published")


def test_unschedule_reschedule_inline_and_delete_without_reloading(live, receiver, person):
    person.connect_linkedin_directly()
    text = "A post we change our mind about"
    person.compose(text, at=utcnow() + timedelta(hours=1, seconds=7))
    page = person.page
    page.wait_for_url(live.url + "/")
    person.mark()

    # Unschedule: back to Drafts.
    person.more(person.row(text, "upcoming")).get_by_role("button", name="Unschedule").click()
    expect(person.row(text, "drafts").locator(".badge")).to_have_text("draft")
    expect(person.row(text, "upcoming")).to_have_count(0)
    expect(page.locator("#announcer")).to_contain_text("Unscheduled")
    expect(page.locator(".flashes")).to_have_count(0)  # "Scheduled for …" from the page load is gone

    # Schedule it again inline; a past time is refused next to the inputs.
    person.row(text, "drafts").get_by_role("link", name="Schedule").click()
    row = person.row(text, "drafts")
    day, clock = local_time(utcnow() - timedelta(hours=2))
    row.get_by_label("Date").fill(day)
    row.get_by_label("Time").fill(clock)
    # A change elsewhere (a badge answering posts-changed) must not refresh the typing away.
    refreshes = []
    page.on("request", lambda r: refreshes.append(r) if r.url == live.url + "/" else None)
    page.evaluate("htmx.trigger(document.body, 'posts-changed')")
    page.wait_for_timeout(300)
    assert refreshes == []
    expect(row.get_by_label("Time")).to_have_value(clock)
    row.get_by_role("button", name="Schedule").click()
    expect(row.locator(".error")).to_contain_text("is in the past")
    expect(row.get_by_label("Date")).to_have_value(day)
    shoot(page, "row-schedule-inline-error")
    day, clock = local_time(utcnow() + timedelta(hours=3, seconds=11))
    row.get_by_label("Date").fill(day)
    row.get_by_label("Time").fill(clock)
    row.get_by_role("button", name="Schedule").click()
    expect(person.row(text, "upcoming").locator(".badge")).to_have_text("scheduled")
    expect(person.row(text, "upcoming").locator(".post-when")).to_contain_text(clock[:5])

    # Delete asks first, says it cancels the schedule, then removes the row.
    person.more(person.row(text, "upcoming")).get_by_role("link", name="Delete…").click()
    expect(person.row(text).locator(".post-confirm")).to_contain_text("deleting it cancels that, so it is not sent")
    expect(person.row(text).locator(".post-confirm")).to_be_focused()  # the question, not the button
    shoot(page, "row-confirm-delete")
    person.row(text).get_by_role("button", name="Delete").click()
    expect(person.row(text)).to_have_count(0)
    expect(page.locator("#announcer")).to_contain_text("deleted")
    assert person.not_reloaded()
    assert not [a for a in receiver.arrivals if a.body.get("content") == text]


def test_a_post_n8n_rejects_shows_failed_with_the_reason_and_retry_publishes_it(live, receiver, person):
    text = "n8n says no the first time"
    answers = iter([Answer(400, {"message": "LinkedIn answered 422 DUPLICATE_POST"}),
                    Answer(201, {"linkedinPostUrn": "urn:li:share:7001"})])
    receiver.answer = lambda arrival: next(answers)
    person.connect_linkedin_directly()
    person.compose(text, intent="Publish now")
    page = person.page
    page.wait_for_url(live.url + "/")
    person.mark()

    failed = person.row(text, "failed")
    expect(failed.locator(".badge")).to_have_text("failed", timeout=10_000)
    expect(failed.locator(".post-failure")).to_contain_text("Rejected by n8n")
    expect(failed.locator(".post-failure")).to_contain_text("LinkedIn answered 422 DUPLICATE_POST")
    shoot(page, "dashboard-failed")

    failed.get_by_role("button", name="Retry").click()
    published = person.row(text, "published")
    expect(published.locator(".badge")).to_have_text("published", timeout=10_000)
    expect(published.get_by_role("link", name="View it on LinkedIn")).to_have_attribute(
        "href", "https://www.linkedin.com/feed/update/urn:li:share:7001/")
    assert person.not_reloaded()
    assert len([a for a in receiver.arrivals if a.body.get("content") == text]) == 2

    person.more(published).get_by_role("link", name="Details").click()
    attempts = page.locator("table.attempts tbody tr")
    expect(attempts).to_have_count(2)
    expect(attempts.nth(0)).to_contain_text("published")  # newest first
    expect(attempts.nth(1)).to_contain_text("400")
    expect(attempts.nth(1)).to_contain_text("DUPLICATE_POST")


def test_a_past_time_is_refused_inline_and_what_was_typed_is_kept(live, person):
    page = person.go("/posts/new")
    person.mark()
    text = "Words I do not want to type twice.\nSecond line."
    page.fill("#content", text)
    page.fill("#image_url", "ftp://example.com/picture.png")
    day, clock = local_time(utcnow() - timedelta(days=1))
    page.fill("#date", day)
    page.fill("#time", clock)
    page.get_by_role("button", name="Schedule", exact=True).click()

    expect(page.locator("#when-error")).to_contain_text("is in the past")
    expect(page.locator("#when-error")).to_contain_text(ZONE)
    expect(page.locator("#image-error")).to_contain_text("http:// or https://")
    expect(page.locator("#content")).to_have_value(text)
    expect(page.locator("#image_url")).to_have_value("ftp://example.com/picture.png")
    expect(page.locator("#date")).to_have_value(day)
    assert page.url == live.url + "/posts/new" and person.not_reloaded()
    shoot(page, "compose-errors")
    page = person.go("/")
    expect(page.locator(".empty-state")).to_be_visible()  # nothing was saved


def shorten_token(app, user_id: int, expires_at) -> None:
    from sqlalchemy import update

    from webapp.extensions import db
    from webapp.models import LinkedInConnection

    with app.app_context():
        db.session.execute(update(LinkedInConnection).where(LinkedInConnection.user_id == user_id)
                           .values(expires_at=expires_at))
        db.session.commit()


def seed_every_state(live, receiver, person) -> dict[str, str]:
    """Posts in every resting state, made through the same actions the UI uses."""
    core, user_id = core_of(live.app), person.user_id
    receiver.answer = lambda arrival: (Answer(400, {"message": "Bad request from the workflow"})
                                       if arrival.body["content"].startswith("Rejected") else
                                       Answer(200, {"linkedinPostUrn": "urn:li:share:42"}))
    ids = {}
    for name, text in [("draft", "An idle draft, not scheduled yet"), ("later", "Due in two hours"),
                       ("risky", "Due after the LinkedIn token expires"),
                       ("published", "Already on LinkedIn"), ("failed", "Rejected by the workflow")]:
        ids[name] = actions.create_post(core, user_id=user_id, fields={"content": text})
    actions.schedule_post(core, user_id=user_id, post_id=ids["later"], when=ResolvedTime(utcnow() + timedelta(hours=2)),
                          zone_name=ZONE)
    actions.schedule_post(core, user_id=user_id, post_id=ids["risky"], when=ResolvedTime(utcnow() + timedelta(days=5)),
                          zone_name=ZONE)
    actions.publish_now(core, user_id=user_id, post_id=ids["published"], zone_name=ZONE)
    actions.publish_now(core, user_id=user_id, post_id=ids["failed"], zone_name=ZONE)
    assert wait_until(lambda: (post_row(live.app, ids["published"]).status,
                               post_row(live.app, ids["failed"]).status) == ("published", "failed"))
    return ids


def test_an_idle_dashboard_sends_no_requests_and_looks_right_on_a_phone(live, receiver, person):
    person.connect_linkedin_directly()
    ids = seed_every_state(live, receiver, person)
    # Then the token turns out to expire sooner (a shorter one pasted in Settings): the post due
    # after it was scheduled in good faith and is now at risk (new schedules would be refused).
    shorten_token(live.app, person.user_id, utcnow() + timedelta(days=3))
    page = person.go("/")
    expect(person.row("Rejected by the workflow", "failed").locator(".badge")).to_have_text("failed")
    expect(page.locator(".warning-expires_before")).to_contain_text("Due after the LinkedIn token expires")
    expect(person.row("Due after the LinkedIn token expires").locator(".post-warning")).to_contain_text("expires")
    assert page.locator("[hx-trigger*='every']").count() == 0
    requests = []
    page.on("request", lambda request: requests.append(request.url))
    page.wait_for_timeout(4_200)  # two polling periods, and then some
    assert requests == []
    shoot(page, "dashboard-idle")

    page.set_viewport_size({"width": 390, "height": 844})
    shoot(page, "dashboard-phone")
    shoot(page, "dashboard-phone-first-screen", full_page=False)
    person.go(f"/posts/{ids['failed']}")
    expect(page.locator("table.attempts")).to_contain_text("400")
    shoot(page, "detail-failed-phone")
    person.go(f"/posts/{ids['later']}/edit")
    shoot(page, "compose-edit-phone")
    assert page.evaluate("document.documentElement.scrollWidth") <= 390  # nothing wider than the phone


def test_log_in_compose_schedule_and_unschedule_work_without_javascript(live, receiver, new_context):
    page = new_context(java_script_enabled=False, timezone_id=ZONE).new_page()
    page.set_default_timeout(10_000)
    person = Person(live, page, zone="UTC")  # no script, so the browser cannot tell its zone: UTC
    person.register()
    page.get_by_role("button", name="Log out").click()
    page.fill("#email", person.email)
    page.fill("#password", PASSWORD)
    page.get_by_role("button", name="Log in").click()
    page.wait_for_url(live.url + "/")

    text = "Written with scripts switched off"
    person.compose(text, at=utcnow() + timedelta(hours=1, seconds=3))
    page.wait_for_url(live.url + "/")
    expect(page.locator(".flash-success")).to_contain_text("Scheduled for")
    expect(person.row(text, "upcoming").locator(".badge")).to_have_text("scheduled")

    person.more(person.row(text, "upcoming")).get_by_role("button", name="Unschedule").click()
    page.wait_for_url(live.url + "/")
    expect(page.locator(".flash-success")).to_contain_text("Unscheduled")
    expect(person.row(text, "drafts").locator(".badge")).to_have_text("draft")
    assert not [a for a in receiver.arrivals if a.body.get("content") == text]
