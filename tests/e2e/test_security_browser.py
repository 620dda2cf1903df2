"""Hardening as a browser sees it: a throttled log-in says when to try again, and no other site can
frame Punctual's pages (the Content-Security-Policy's frame-ancestors 'none')."""

from __future__ import annotations

from urllib.parse import urlsplit

from playwright.sync_api import expect

from webapp.dispatch import actions

from ..conftest import core_of
from .conftest import PASSWORD, ZONE, Person, shoot


def test_repeated_wrong_passwords_are_told_when_to_try_again(live, new_context):
    page = new_context(timezone_id=ZONE, viewport={"width": 900, "height": 700}).new_page()
    page.set_default_timeout(10_000)
    person = Person(live, page).sign_in_directly()
    page.context.clear_cookies()
    for _ in range(6):
        person.go("/login")
        page.fill("#email", person.email)
        page.fill("#password", PASSWORD + "-wrong")
        page.get_by_role("button", name="Log in").click()
    expect(page.locator(".flash-error")).to_contain_text("Too many failed log-ins for this account. Try again in")
    expect(page.locator("#email")).to_have_value(person.email)
    shoot(page, "login-throttled")


def test_another_site_cannot_frame_a_page(live, browser):
    context = browser.new_context()
    try:
        page = context.new_page()
        refused = []
        page.on("console", lambda message: refused.append(message.text))
        page.set_content(f'<iframe id="victim" src="{live.url}/login" width="600" height="400"></iframe>')
        page.wait_for_timeout(500)
        frame = page.frame_locator("#victim")
        expect(frame.locator("#email")).to_have_count(0)  # the login form never renders inside the frame
        assert any("frame-ancestors 'none'" in text for text in refused), refused
    finally:
        context.close()


def test_an_open_inline_form_holds_the_lists_without_eval(live, person):
    """The lists skip posts-changed while a row's form is open (app.js, not an hx-trigger filter,
    which would need eval): what is being typed survives a badge's refresh; then it refreshes."""
    held = actions.create_post(core_of(live.app), user_id=person.user_id, fields={"content": "Typing a time"})
    page = person.go("/")
    person.row("Typing a time", "drafts").get_by_role("link", name="Schedule").click()
    expect(page.locator(f"#date-{held}")).to_be_visible()
    page.fill(f"#date-{held}", "2031-01-02")
    refreshes = []
    page.on("request", lambda request: refreshes.append(request.url) if urlsplit(request.url).path == "/" else None)
    page.evaluate("htmx.trigger(document.body, 'posts-changed')")  # as a badge elsewhere would
    page.wait_for_timeout(500)
    assert refreshes == [] and page.input_value(f"#date-{held}") == "2031-01-02"

    person.row("Typing a time", "drafts").get_by_role("link", name="Cancel").click()
    expect(page.locator(f"#date-{held}")).to_have_count(0)
    with page.expect_request(lambda request: urlsplit(request.url).path == "/"):
        page.evaluate("htmx.trigger(document.body, 'posts-changed')")  # nothing is held now: it refreshes
