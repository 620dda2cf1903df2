"""The first run and daily use, as a newcomer meets them: `flask run` on a port that is not 5000
in demo mode, the rows' "More" menu, the zone picker, the countdown, and a 390 px phone."""

from __future__ import annotations

import os
import re
import socket
import subprocess
import sys
import time
import urllib.request
from datetime import timedelta
from pathlib import Path

import pytest
from playwright.sync_api import expect

from webapp.dispatch import actions
from webapp.models import utcnow
from webapp.timeutil import ResolvedTime

from ..conftest import core_of
from .conftest import ZONE, Live, Person, shoot
from .test_dashboard_browser import seed_every_state

ROOT = Path(__file__).resolve().parents[2]


def free_port() -> int:
    while True:
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            port = s.getsockname()[1]
        if port != 5000:
            return port


@pytest.fixture(scope="module")
def first_run(tmp_path_factory):
    """`flask --app webapp run --port <random>`, exactly as the README says, in demo mode (no
    N8N_WEBHOOK_URL) and with no APP_URL: the app has to find its own inbox."""
    tmp = tmp_path_factory.mktemp("first-run")
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("N8N_", "APP_", "QSTASH_", "DATABASE_"))}
    env.update(DATABASE_URL=f"sqlite:///{tmp / 'punctual.db'}", SECRET_KEY="first-run-secret", PYTHONUNBUFFERED="1")
    log = (tmp / "server.log").open("w")
    server = subprocess.Popen([sys.executable, "-m", "flask", "--app", "webapp", "run", "--port", str(port)],
                              cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                with urllib.request.urlopen(url + "/healthz", timeout=2):
                    break
            except OSError:
                if server.poll() is not None or time.monotonic() > deadline:
                    raise AssertionError("flask run did not start: " + (tmp / "server.log").read_text()) from None
                time.sleep(0.2)
        yield Live(url, None, None, "sqlite")
    finally:
        server.terminate()
        server.wait(timeout=10)
        log.close()


def test_demo_mode_publishes_on_a_port_other_than_5000_with_no_setting(first_run, new_context):
    assert not first_run.url.endswith(":5000")
    page = new_context(timezone_id=ZONE, viewport={"width": 1200, "height": 900}).new_page()
    page.set_default_timeout(10_000)
    person = Person(first_run, page)
    person.register()
    expect(page.locator(".banner-demo")).to_contain_text("Demo mode")
    text = "My first post, on port " + first_run.url.rsplit(":", 1)[1]
    person.compose(text, at=utcnow() + timedelta(seconds=3))
    page.wait_for_url(first_run.url + "/")
    expect(person.row(text, "published").locator(".badge")).to_have_text("published", timeout=20_000)
    shoot(page, "first-run-demo-published")

    page = person.go("/inbox")
    inbox = page.locator("table.inbox tbody tr", has_text=text)
    expect(inbox).to_have_count(1)
    expect(inbox).to_contain_text(re.compile(r"\d\d:\d\d:\d\d"))  # received … to the second
    shoot(page, "first-run-demo-inbox")

    page = person.go("/settings")
    expect(page.locator("#linkedin")).to_contain_text("Demo mode needs no LinkedIn")
    expect(page.locator("#linkedin")).not_to_contain_text("cannot be published")


def test_the_more_menu_opens_by_mouse_and_keyboard_and_closes_on_escape_and_outside(live, receiver, person):
    person.connect_linkedin_directly()
    text = "A draft with a menu"
    actions.create_post(core_of(live.app), user_id=person.user_id, fields={"content": text})
    page = person.go("/")
    row = person.row(text, "drafts")
    menu = row.locator("details.menu")
    expect(row.locator(".post-actions > a.button.primary")).to_have_text("Schedule")  # one primary action
    expect(row.locator(".menu-items")).to_be_hidden()

    row.locator("summary", has_text="More").click()
    expect(row.locator(".menu-items")).to_be_visible()
    expect(row.locator(".menu-items [data-control]")).to_have_text(
        ["Publish now…", "Edit", "Duplicate", "Details", "Delete…"])
    shoot(page, "row-more-menu-open")
    page.keyboard.press("Escape")
    expect(menu).not_to_have_attribute("open", "")
    expect(row.locator("summary")).to_be_focused()

    page.keyboard.press("Enter")  # the summary has focus: the keyboard opens it too
    expect(row.locator(".menu-items")).to_be_visible()
    page.keyboard.press("Tab")
    expect(row.locator(".menu-items [data-control]").first).to_be_focused()
    page.locator("h1").click()  # a click elsewhere closes it
    expect(row.locator(".menu-items")).to_be_hidden()

    person.mark()
    person.more(row).get_by_role("button", name="Duplicate").click()
    expect(person.row(text, "drafts")).to_have_count(2)
    assert person.not_reloaded()


def test_the_zone_picker_finds_zones_by_name_or_city_and_maps_old_names(live, person):
    page = person.go("/settings")
    picker = page.locator("#time_zone")
    expect(picker).to_have_value(ZONE)
    options = page.locator("#zone-list option")
    assert options.count() > 300
    berlin = page.locator('#zone-list option[value="Europe/Berlin"]')
    expect(berlin).to_have_text(re.compile(r"^Europe/Berlin — UTC\+0[12]:00$"))
    assert page.locator('#zone-list option[value="US/Eastern"]').count() == 0  # old names are not listed

    picker.click()
    picker.press_sequentially("US/Eastern")
    expect(page.locator("#zone-resolved")).to_contain_text(
        re.compile(r"US/Eastern is an old name: saves America/New_York — UTC-0[45]:00"))
    shoot(page, "settings-zone-picker", full_page=False)
    page.get_by_role("button", name="Save time zone").click()
    expect(page.locator(".flash-success")).to_have_text("Times are now shown and entered in America/New_York.")

    page.locator("#time_zone").fill("berlin")
    expect(page.locator("#zone-resolved")).to_contain_text("Saves Europe/Berlin — UTC+0")
    page.get_by_role("button", name="Save time zone").click()
    expect(page.locator(".flash-success")).to_have_text("Times are now shown and entered in Europe/Berlin.")

    page.locator("#time_zone").fill("Atlantis")
    expect(page.locator("#zone-resolved")).to_contain_text("No zone called “Atlantis”")
    page.get_by_role("button", name="Save time zone").click()
    expect(page.locator("#time_zone-error")).to_contain_text("is not a time zone we know")
    expect(page.locator("#time_zone")).to_have_attribute("aria-invalid", "true")


def test_a_post_due_within_minutes_counts_down_without_asking_the_server(live, receiver, person):
    person.connect_linkedin_directly()
    text = "Counting down to this one"
    post_id = actions.create_post(core_of(live.app), user_id=person.user_id, fields={"content": text})
    actions.schedule_post(core_of(live.app), user_id=person.user_id, post_id=post_id,
                          when=ResolvedTime((utcnow() + timedelta(seconds=40)).replace(microsecond=0)), zone_name=ZONE)
    page = person.go("/")
    relative = person.row(text, "upcoming").locator("time.relative")
    expect(relative).to_have_text(re.compile(r"^in 0:[0-4]\d$"))
    expect(relative).to_have_class(re.compile(r"counting"))
    requests = []
    page.on("request", lambda request: requests.append(request.url))
    def left() -> int:
        minutes, seconds = relative.text_content().removeprefix("in ").split(":")
        return int(minutes) * 60 + int(seconds)

    first = left()
    page.wait_for_timeout(4_200)  # across two of the badge's status polls, which must not reset it
    later = left()
    assert first - 5 <= later <= first - 3, (first, later)  # "in 0:37" → "in 0:33", second by second
    assert any(f"/posts/{post_id}/status" in url for url in requests)
    # no request is made for the countdown (only the badge's own status poll, in its last 2 minutes)
    assert all(f"/posts/{post_id}/status" in url for url in requests), requests
    shoot(page, "row-countdown", full_page=False)

    far = "Not for a while"
    other = actions.create_post(core_of(live.app), user_id=person.user_id, fields={"content": far})
    actions.schedule_post(core_of(live.app), user_id=person.user_id, post_id=other,
                          when=ResolvedTime(utcnow() + timedelta(hours=3)), zone_name=ZONE)
    page = person.go("/")
    expect(person.row(far, "upcoming").locator("time.relative")).to_have_text(re.compile(r"^in (2 h 59 min|3 h)$"))


def test_the_phone_layout_keeps_header_button_and_row_actions_in_place(live, receiver, person):
    person.connect_linkedin_directly()
    seed_every_state(live, receiver, person)
    page = person.page
    page.set_viewport_size({"width": 390, "height": 844})
    page = person.go("/")
    assert page.evaluate("document.documentElement.scrollWidth") <= 390  # nothing wider than the phone

    write = page.locator(".page-head .page-action")
    box = write.bounding_box()
    assert box["x"] >= 0 and box["x"] + box["width"] <= 390 and box["width"] > 300  # full width, inside
    head = page.locator("h1").bounding_box()
    assert box["y"] >= head["y"] + head["height"]  # below the heading, not squeezed beside it

    nav = page.locator(".topbar nav a, .topbar nav button")
    boxes = [nav.nth(i).bounding_box() for i in range(nav.count())]
    assert all(b["x"] >= 0 and b["x"] + b["width"] <= 390 for b in boxes)
    for a, b in zip(boxes, boxes[1:], strict=False):  # no two header links overlap
        assert b["x"] >= a["x"] + a["width"] or b["y"] >= a["y"] + a["height"]

    for row in page.locator("article.post").all():  # each row's actions on one line, inside the card
        controls = row.locator(".post-actions > form button, .post-actions > a.button, .post-actions > .menu > summary")
        tops = [controls.nth(i).bounding_box()["y"] for i in range(controls.count())]
        assert max(tops) - min(tops) < 4, row.text_content()
        card = row.bounding_box()
        for i in range(controls.count()):
            b = controls.nth(i).bounding_box()
            assert card["x"] <= b["x"] and b["x"] + b["width"] <= card["x"] + card["width"] + 0.5
    shoot(page, "phone-dashboard")
    shoot(page, "phone-dashboard-first-screen", full_page=False)

    row = person.row("Due in two hours", "upcoming")
    items = person.more(row)
    expect(items).to_be_visible()
    b = items.bounding_box()
    assert b["x"] >= 0 and b["x"] + b["width"] <= 390  # the open menu stays on the screen
    row.scroll_into_view_if_needed()
    shoot(page, "phone-row-menu-open", full_page=False)


def test_the_first_run_on_a_phone_with_javascript_off(first_run, new_context):
    """The README's command, a phone, scripts off: register, write, schedule, reload, published."""
    page = new_context(java_script_enabled=False, viewport={"width": 390, "height": 844}).new_page()
    page.set_default_timeout(10_000)
    person = Person(first_run, page, zone="UTC")  # no script: the browser cannot tell its zone
    page = person.go("/register")
    expect(page.locator("#email")).to_have_attribute("type", "email")
    expect(page.locator("#password-hint")).to_have_text("At least 8 characters.")
    shoot(page, "first-run-phone-nojs-register", full_page=False)
    person.register()
    text = "Sent from a phone, scripts off"
    person.compose(text, at=utcnow() + timedelta(seconds=2))
    page.wait_for_url(first_run.url + "/")
    expect(page.locator(".flash-success")).to_contain_text("Scheduled for")
    shoot(page, "first-run-phone-nojs-scheduled", full_page=False)
    deadline = time.monotonic() + 20
    while not person.row(text, "published").count() and time.monotonic() < deadline:
        page.wait_for_timeout(500)
        person.go("/")  # without scripts, people reload
    expect(person.row(text, "published").locator(".badge")).to_have_text("published")
    assert page.evaluate("document.documentElement.scrollWidth") <= 390
    row = person.row(text, "published")
    row.locator("summary", has_text="More").click()  # <details> opens without scripts
    expect(row.locator(".menu-items")).to_be_visible()
    shoot(page, "first-run-phone-nojs-published", full_page=False)


def test_a_status_change_seen_first_by_a_refresh_is_announced(live, receiver, person):
    """The badge saw "publishing" and asked for a refresh; the refreshed row is already published
    and its badge no longer polls: the change is announced all the same."""
    from webapp.dispatch.store import AttemptRecord

    core = core_of(live.app)
    text = "Overtaken by the refresh"
    post_id = core.store.create(user_id=person.user_id, content=text, image_url=None, now=utcnow())
    later = utcnow() + timedelta(hours=1)  # claimed "in an hour": no dispatcher here touches it
    change = core.store.schedule(post_id=post_id, user_id=person.user_id, at=later, now=utcnow())
    claim = core.store.claim(post_id=post_id, version=change.version, now=later)
    page = person.go("/")
    expect(person.row(text).locator(".badge")).to_have_text("publishing")
    # Take the badge's polling away, as a refresh that overtakes it would.
    page.evaluate("id => { const b = document.getElementById(id); b.replaceWith(b.cloneNode(true)); }",
                  f"status-{post_id}")
    core.store.confirm(claim, AttemptRecord(trigger="local", started_at=later, finished_at=later,
                                            outcome="published", http_status=200), urn=None)
    page.evaluate("htmx.trigger(document.body, 'posts-changed')")
    expect(person.row(text, "published")).to_have_count(1)
    expect(page.locator("#announcer")).to_have_text(f"Post “{text}” is now published.")
