"""Hardening as a browser sees it: a throttled log-in says when to try again, and no other site can
frame Punctual's pages (the Content-Security-Policy's frame-ancestors 'none')."""

from __future__ import annotations

from playwright.sync_api import expect

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
