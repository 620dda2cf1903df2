"""Connect with LinkedIn in a real browser: the button, the trip to LinkedIn (played by the test:
the browser's request to linkedin.com is answered with LinkedIn's redirect back), the code
exchange against a mocked LinkedIn API, and the Settings page afterwards."""

from __future__ import annotations

from urllib.parse import parse_qs, urlencode, urlparse

import pytest
import responses
from playwright.sync_api import expect

from webapp.accounts import linkedin

from .conftest import shoot

TOKEN = "AQX-browser-oauth-token-0123456789abcdef"


@pytest.fixture
def oauth(live):
    live.app.config.update(LINKEDIN_CLIENT_ID="browser-client", LINKEDIN_CLIENT_SECRET="browser-secret")
    yield
    live.app.config.update(LINKEDIN_CLIENT_ID=None, LINKEDIN_CLIENT_SECRET=None)


def linkedin_says(page, live, **answer):
    """Play LinkedIn's authorization page: send the browser back to the callback with `answer`
    (code or error) and the state it was given — or `state` when the test overrides it."""
    def authorize(route):
        query = {k: v[0] for k, v in parse_qs(urlparse(route.request.url).query).items()}
        assert query["redirect_uri"] == live.url + "/settings/linkedin/callback"
        back = {"state": query["state"], **answer}
        route.fulfill(status=302, headers={"Location": f"{query['redirect_uri']}?{urlencode(back)}"})

    page.route("https://www.linkedin.com/oauth/v2/authorization*", authorize)


def test_connect_linkedin_through_oauth_and_reconnect(live, person, oauth):
    page = person.go("/settings")
    expect(page.locator("#linkedin")).to_contain_text("LinkedIn is not connected")
    shoot(page, "settings-connect-linkedin")
    linkedin_says(page, live, code="browser-code")
    with responses.RequestsMock() as mock:
        mock.add_passthru("http://127.0.0.1")  # the app itself and the n8n stand-in
        mock.post(linkedin.TOKEN_URL, json={"access_token": TOKEN, "expires_in": 5184000,
                                            "scope": "openid,profile,w_member_social"})
        mock.get(linkedin.USERINFO_URL, json={"sub": "BrowserAda7"})
        page.get_by_role("button", name="Connect LinkedIn").click()
        page.wait_for_url(live.url + "/settings#linkedin")
        expect(page.locator(".flash-success")).to_contain_text("LinkedIn connected as urn:li:person:BrowserAda7")
    section = page.locator("#linkedin")
    expect(section).to_contain_text("urn:li:person:BrowserAda7")
    expect(section).to_contain_text("(in 60 d)")
    expect(page.get_by_role("button", name="Reconnect LinkedIn")).to_be_visible()
    assert TOKEN not in page.content()
    shoot(page, "settings-linkedin-connected")


def test_a_refusal_on_linkedin_comes_back_as_a_sentence(live, person, oauth):
    page = person.go("/settings")
    linkedin_says(page, live, error="user_cancelled_authorize", error_description="The user cancelled")
    page.get_by_role("button", name="Connect LinkedIn").click()
    page.wait_for_url(live.url + "/settings#linkedin")
    expect(page.locator(".flash-error")).to_contain_text("the permission request was cancelled on LinkedIn")
    expect(page.locator("#linkedin")).to_contain_text("LinkedIn is not connected")
