"""LinkedIn: Connect with LinkedIn (OAuth 2.0 against a mocked LinkedIn) and the expiry pre-flight
that refuses a schedule the token cannot reach."""

from __future__ import annotations

import logging
import time
from datetime import datetime, timedelta, timezone
from urllib.parse import parse_qs, urlparse

import pytest
import requests
import responses
from sqlalchemy import select, text

from webapp.accounts import linkedin
from webapp.extensions import db
from webapp.models import LinkedInConnection, Post, utcnow

from .conftest import N8N_URL, configured, connect_linkedin, core_of, csrf_from, post_row
from .factories import make_post, sign_in

CLIENT = {"LINKEDIN_CLIENT_ID": "client-id-123", "LINKEDIN_CLIENT_SECRET": "client-secret-456"}
N8N = {"N8N_WEBHOOK_URL": N8N_URL}
NEW_TOKEN = "AQW-fresh-linkedin-token-abcdefghijklmnop"
oauth = configured({**CLIENT, **N8N}, "oauth")
with_n8n = configured(N8N, "n8n")


@pytest.fixture
def ada(app, client):
    return sign_in(app, client)


def start_connect(client) -> dict:
    """Press Connect LinkedIn; return the query LinkedIn's authorization URL was given."""
    token = csrf_from(client.get("/settings").text)
    response = client.post("/settings/linkedin/connect", data={"csrf_token": token})
    assert response.status_code == 302
    location = urlparse(response.headers["Location"])
    assert f"{location.scheme}://{location.netloc}{location.path}" == linkedin.AUTHORIZATION_URL
    return {key: values[0] for key, values in parse_qs(location.query).items()}


def mock_linkedin(mock, *, token_status=200, token_json=None, userinfo_json=None, userinfo_status=200):
    mock.post(linkedin.TOKEN_URL, status=token_status, json=token_json if token_json is not None else {
        "access_token": NEW_TOKEN, "expires_in": 5184000, "scope": "openid,profile,w_member_social"})
    mock.get(linkedin.USERINFO_URL, status=userinfo_status,
             json=userinfo_json if userinfo_json is not None else {
                 "sub": "Xy12AbCd", "name": "Ada Lovelace", "picture": "https://media.licdn.com/dms/image/ada.jpg"})


def callback(client, **query):
    return client.get("/settings/linkedin/callback", query_string=query)


def flashes(client) -> str:
    return client.get("/settings").text


def connection_of(app, user_id):
    with app.app_context():
        db.session.expire_all()
        return db.session.execute(
            select(LinkedInConnection).where(LinkedInConnection.user_id == user_id)).scalar_one_or_none()


# ---------------------------------------------------------------- Connect with LinkedIn


@oauth
def test_settings_offers_connect_instead_of_the_manual_form(client, ada):
    page = client.get("/settings").text
    assert "Connect LinkedIn" in page and 'name="access_token"' not in page


@with_n8n
def test_without_client_settings_the_manual_form_stays(client, ada):
    page = client.get("/settings").text
    assert 'name="access_token"' in page and "linkedin-connect" not in page
    token = csrf_from(page)
    response = client.post("/settings/linkedin/connect", data={"csrf_token": token})
    assert response.status_code == 302 and "linkedin.com" not in response.headers["Location"]
    assert "Connect LinkedIn is not set up on this server" in flashes(client)


@oauth
def test_connect_stores_the_person_the_token_encrypted_and_its_expiry(app, client, ada):
    query = start_connect(client)
    assert query["response_type"] == "code" and query["client_id"] == "client-id-123"
    assert query["scope"].split() == ["openid", "profile", "w_member_social"]
    assert query["redirect_uri"] == "http://localhost/settings/linkedin/callback"
    assert len(query["state"]) >= 32
    with responses.RequestsMock() as mock:
        mock_linkedin(mock)
        before = utcnow()
        response = callback(client, code="the-code", state=query["state"])
        exchange = parse_qs(mock.calls[0].request.body)
        assert exchange == {"grant_type": ["authorization_code"], "code": ["the-code"],
                            "redirect_uri": ["http://localhost/settings/linkedin/callback"],
                            "client_id": ["client-id-123"], "client_secret": ["client-secret-456"]}
        assert mock.calls[1].request.headers["Authorization"] == f"Bearer {NEW_TOKEN}"
    assert response.status_code == 302 and response.headers["Location"].endswith("/settings#linkedin")
    connection = connection_of(app, ada)
    assert connection.person_urn == "urn:li:person:Xy12AbCd"
    # the preview's author: the name and picture OpenID userinfo gave
    assert connection.display_name == "Ada Lovelace"
    assert connection.picture_url == "https://media.licdn.com/dms/image/ada.jpg"
    assert before + timedelta(days=60) - timedelta(seconds=5) <= connection.expires_at <= utcnow() + timedelta(days=60)
    with app.app_context():
        assert db.session.get(LinkedInConnection, connection.id).access_token == NEW_TOKEN
        raw = db.session.execute(text("SELECT access_token_encrypted FROM linkedin_connections")).scalar_one()
    assert NEW_TOKEN not in raw
    page = flashes(client)
    assert "LinkedIn connected as urn:li:person:Xy12AbCd" in page and NEW_TOKEN not in page
    settings = client.get("/settings").text
    assert "Reconnect LinkedIn" in settings and "<dt>Name</dt><dd>Ada Lovelace</dd>" in settings


@oauth
def test_reconnecting_replaces_the_token_and_keeps_every_post(app, client, ada):
    connect_linkedin(app, ada, token="AQV-old-token-000000000000", expires_at=utcnow() + timedelta(days=2))
    scheduled = make_post(app, ada, "scheduled", at=utcnow() + timedelta(days=1))
    draft = make_post(app, ada, "draft")
    query = start_connect(client)
    with responses.RequestsMock() as mock:
        mock_linkedin(mock)
        callback(client, code="c", state=query["state"])
    with app.app_context():
        rows = db.session.execute(select(LinkedInConnection)).scalars().all()
        assert len(rows) == 1 and rows[0].access_token == NEW_TOKEN
        assert rows[0].expires_at > utcnow() + timedelta(days=59)
        assert {p.id: p.status for p in db.session.execute(select(Post)).scalars()} == {
            scheduled: "scheduled", draft: "draft"}


@oauth
def test_disconnecting_removes_the_token(app, client, ada):
    connect_linkedin(app, ada, expires_at=utcnow() + timedelta(days=20))
    token = csrf_from(client.get("/settings").text)
    client.post("/settings/linkedin/disconnect", data={"csrf_token": token})
    assert connection_of(app, ada) is None
    with app.app_context():
        assert db.session.execute(text("SELECT count(*) FROM linkedin_connections")).scalar_one() == 0


@oauth
@pytest.mark.parametrize("tamper", ["other-state", "", None])
def test_a_tampered_or_missing_state_is_refused_and_linkedin_is_not_called(app, client, ada, tamper):
    query = start_connect(client)
    args = {"code": "the-code"}
    if tamper is not None:
        args["state"] = tamper if tamper else ""
    with responses.RequestsMock() as mock:  # any call to LinkedIn would fail the test
        response = callback(client, **args)
        assert len(mock.calls) == 0
    assert response.status_code == 302
    assert "did not match the sign-in this browser started" in flashes(client)
    assert connection_of(app, ada) is None
    # and the real state is spent: replaying it after a failed attempt does not work either
    with responses.RequestsMock():
        callback(client, code="the-code", state=query["state"])
    assert "was not started from this browser session" in flashes(client)


@oauth
def test_a_state_from_another_session_is_refused(app, client, ada):
    query = start_connect(client)
    other = app.test_client()
    sign_in(app, other, email="mallory@example.com")
    with responses.RequestsMock() as mock:
        callback(other, code="stolen", state=query["state"])
        assert len(mock.calls) == 0
    assert "was not started from this browser session" in flashes(other)


@oauth
def test_a_stale_state_is_refused(app, client, ada, monkeypatch):
    query = start_connect(client)
    later = time.time() + linkedin.STATE_TTL.total_seconds() + 1
    monkeypatch.setattr("webapp.accounts.settings.clock.time", lambda: later)
    with responses.RequestsMock():
        callback(client, code="c", state=query["state"])
    assert "took more than 10 minutes" in flashes(client)


@oauth
@pytest.mark.parametrize("error, sentence", [
    ("user_cancelled_authorize", "the permission request was cancelled on LinkedIn"),
    ("user_cancelled_login", "the permission request was cancelled on LinkedIn"),
    ("unauthorized_scope_error", "LinkedIn refused the connection: unauthorized_scope_error (Scope not allowed)"),
])
def test_linkedin_refusals_come_back_as_sentences(app, client, ada, error, sentence):
    query = start_connect(client)
    with responses.RequestsMock() as mock:
        callback(client, error=error, error_description="Scope not allowed", state=query["state"])
        assert len(mock.calls) == 0
    assert sentence in flashes(client)
    assert connection_of(app, ada) is None


@oauth
@pytest.mark.parametrize("mocks, sentence", [
    ({"token_status": 400, "token_json": {
        "error": "invalid_request",
        "error_description": "Unable to retrieve access token: appid/redirect uri/code verifier does not match "
                             "authorization code"}},
     "LinkedIn answered 400 while exchanging the code for a token: Unable to retrieve access token"),
    ({"token_json": {"expires_in": 5184000}}, "LinkedIn&#39;s token answer had no access token"),
    ({"token_json": {"access_token": NEW_TOKEN, "expires_in": 5184000, "scope": "openid,profile"}},
     "without permission to post (w_member_social)"),
    ({"userinfo_status": 401, "userinfo_json": {"message": "Invalid access token"}},
     "LinkedIn answered 401 while reading your LinkedIn profile: Invalid access token"),
    ({"userinfo_json": {"name": "Ada"}}, "LinkedIn did not say who you are"),
])
def test_linkedin_errors_change_nothing_and_say_what_went_wrong(app, client, ada, mocks, sentence, caplog):
    connect_linkedin(app, ada, token="AQV-old-token-000000000000", expires_at=utcnow() + timedelta(days=2))
    query = start_connect(client)
    caplog.set_level(logging.DEBUG)
    with responses.RequestsMock(assert_all_requests_are_fired=False) as mock:
        mock_linkedin(mock, **mocks)
        callback(client, code="c", state=query["state"])
    page = flashes(client)
    assert sentence in page
    with app.app_context():
        assert db.session.execute(select(LinkedInConnection)).scalar_one().access_token == "AQV-old-token-000000000000"
    for secret in (NEW_TOKEN, "client-secret-456"):
        assert secret not in page and secret not in caplog.text


@oauth
def test_a_network_error_reaching_linkedin_is_a_sentence(app, client, ada):
    query = start_connect(client)
    with responses.RequestsMock() as mock:
        mock.post(linkedin.TOKEN_URL, body=requests.ConnectionError("connection refused"))
        callback(client, code="c", state=query["state"])
    assert "Could not reach LinkedIn while exchanging the code for a token" in flashes(client)
    assert connection_of(app, ada) is None


@oauth
def test_a_callback_without_a_code_is_refused(app, client, ada):
    query = start_connect(client)
    with responses.RequestsMock():
        callback(client, state=query["state"])
    assert "LinkedIn sent no authorization code" in flashes(client)


@oauth
def test_connect_needs_a_login_and_csrf(app, client):
    assert client.get("/settings/linkedin/callback?code=c&state=s").status_code == 302  # to the login page
    sign_in(app, client)
    assert client.post("/settings/linkedin/connect").status_code == 400  # no CSRF token


def test_the_redirect_uri_can_be_configured():
    client = linkedin.OAuthClient.from_config(
        {**CLIENT, "LINKEDIN_REDIRECT_URI": "https://punctual.example/settings/linkedin/callback"}, "unused")
    assert parse_qs(urlparse(linkedin.authorization_url(client, "s")).query)["redirect_uri"] == [
        "https://punctual.example/settings/linkedin/callback"]
    assert linkedin.OAuthClient.from_config({"LINKEDIN_CLIENT_ID": "only-the-id"}, "x") is None
    assert NEW_TOKEN not in repr(linkedin.Grant("urn:li:person:x", NEW_TOKEN, None))


# ---------------------------------------------------------------- expiry pre-flight (the rule: test_readiness.py)

def api_schedule(client, headers, post_id, at):
    return client.post(f"/api/posts/{post_id}/schedule", headers=headers,
                       json={"scheduledAt": at.isoformat().replace("+00:00", "Z")})


@with_n8n
def test_the_api_refuses_a_time_after_the_token_expires_and_changes_nothing(app, client, user):
    user_id, headers = user
    connect_linkedin(app, user_id, expires_at=utcnow() + timedelta(days=3))
    post_id = make_post(app, user_id, "draft")
    response = api_schedule(client, headers, post_id, utcnow() + timedelta(days=4))
    assert response.status_code == 409
    assert "Your LinkedIn token expires on" in response.json["error"]
    assert "Reconnect LinkedIn in Settings" in response.json["error"]
    row = post_row(app, post_id)
    assert (row.status, row.schedule_version, row.scheduled_at) == ("draft", 0, None)
    assert api_schedule(client, headers, post_id, utcnow() + timedelta(days=2)).status_code == 200


@with_n8n
def test_a_reschedule_past_the_expiry_is_refused_and_the_old_time_stands(app, client, user):
    user_id, headers = user
    connect_linkedin(app, user_id, expires_at=utcnow() + timedelta(days=3))
    post_id = make_post(app, user_id, "draft")
    first = utcnow() + timedelta(days=1)
    api_schedule(client, headers, post_id, first)
    version = post_row(app, post_id).schedule_version
    assert api_schedule(client, headers, post_id, utcnow() + timedelta(days=5)).status_code == 409
    row = post_row(app, post_id)
    assert (row.status, row.schedule_version) == ("scheduled", version)
    assert abs((row.scheduled_at - first).total_seconds()) < 1


@with_n8n
def test_publish_now_with_an_expired_token_is_refused(app, client, user):
    user_id, headers = user
    connect_linkedin(app, user_id, expires_at=utcnow() - timedelta(hours=1))
    post_id = make_post(app, user_id, "failed")
    response = client.post(f"/api/posts/{post_id}/publish-now", headers=headers)
    assert response.status_code == 409 and "Your LinkedIn token expired on" in response.json["error"]
    assert post_row(app, post_id).status == "failed"


@with_n8n
def test_without_a_connection_the_api_schedules_with_a_warning(app, client, user):
    user_id, headers = user
    post_id = make_post(app, user_id, "draft")
    response = api_schedule(client, headers, post_id, utcnow() + timedelta(days=1))
    assert response.status_code == 200
    assert response.json["linkedinWarning"].startswith("LinkedIn is not connected")


def test_in_demo_mode_the_token_is_not_checked(app, client, user):
    user_id, headers = user
    connect_linkedin(app, user_id, expires_at=utcnow() - timedelta(days=1))
    post_id = make_post(app, user_id, "draft")
    response = api_schedule(client, headers, post_id, utcnow() + timedelta(days=1))
    assert response.status_code == 200 and "linkedinWarning" not in response.json


@with_n8n
def test_the_ui_refuses_too_and_names_the_expiry_in_the_users_zone(app, client):
    user_id = sign_in(app, client, zone="America/New_York")
    connect_linkedin(app, user_id, expires_at=datetime(2027, 1, 15, 17, 0, tzinfo=timezone.utc))
    post_id = make_post(app, user_id, "draft")
    token = csrf_from(client.get(f"/posts/{post_id}/edit").text)
    response = client.post(f"/posts/{post_id}/edit", data={
        "csrf_token": token, "content": "Hello", "intent": "schedule", "date": "2027-02-01", "time": "09:00"})
    assert response.status_code == 409
    assert "expires on Fri 15 Jan 2027, 12:00 (America/New_York)" in response.text
    assert post_row(app, post_id).status == "draft"


def test_core_preflight_reads_the_connection_once(app):
    """The store answers (connected, expires_at) for the pre-flight."""
    from .conftest import make_user

    user_id = make_user(app, email="pre@example.com")
    store = core_of(app).store
    assert store.connection_expiry(user_id=user_id) == (False, None)
    expiry = datetime(2030, 1, 1, tzinfo=timezone.utc)
    connect_linkedin(app, user_id, expires_at=expiry)
    assert store.connection_expiry(user_id=user_id) == (True, expiry)
