"""The demo inbox: only the dispatcher may deliver, tokens are masked, users see their own."""

from sqlalchemy import select

from webapp.extensions import db
from webapp.models import InboxMessage
from webapp.runtime import DEMO_SECRET_HEADER, demo_inbox_secret

from .conftest import LINKEDIN_TOKEN, make_user


def deliver(app, client, user_id, key="p:1", secret=None):
    secret = secret if secret is not None else demo_inbox_secret(app.config)
    return client.post("/demo/inbox", json={
        "postId": "p", "userId": user_id, "accessToken": LINKEDIN_TOKEN, "personUrn": "urn:li:person:x",
        "content": "Hello inbox", "imageUrl": None, "scheduledAt": "2026-12-01T09:00:00.000Z",
        "idempotencyKey": key}, headers={DEMO_SECRET_HEADER: secret, "Idempotency-Key": key})


def test_the_dispatcher_delivers_and_the_token_is_stored_masked(app, client, auth):
    auth.register()
    user_id = 1
    with app.app_context():
        from webapp.models import User
        user_id = db.session.execute(select(User.id)).scalar_one()
    assert deliver(app, client, user_id).json == {"received": True, "id": 1, "repeat": False}
    assert deliver(app, client, user_id).json["repeat"] is True
    with app.app_context():
        stored = db.session.execute(select(InboxMessage)).scalars().all()
    assert all(LINKEDIN_TOKEN not in m.access_token_masked for m in stored)
    page = client.get("/inbox").text
    assert "Hello inbox" in page and LINKEDIN_TOKEN not in page and "repeat" in page


def test_anyone_else_is_refused(app, client):
    assert deliver(app, client, 1, secret="guess").status_code == 403
    assert deliver(app, client, 1, secret="").status_code == 403
    with app.app_context():
        assert db.session.execute(select(InboxMessage)).first() is None


def test_users_see_only_their_own_deliveries(app, client, auth):
    other = make_user(app, email="mallory@example.com")
    deliver(app, client, other)
    auth.register()
    assert "Hello inbox" not in client.get("/inbox").text


def test_every_page_says_demo_mode(app, client, auth):
    auth.register()
    for path in ("/", "/settings", "/inbox"):
        assert "Demo mode — posts go to the built-in inbox, not n8n" in client.get(path).text


class TestWithN8nConfigured:
    import pytest

    @pytest.fixture
    def config_overrides(self, n8n_config):
        return n8n_config

    def test_the_inbox_endpoint_is_off_and_no_banner_is_shown(self, app, client, auth):
        assert deliver(app, client, 1).status_code == 404
        auth.register()
        assert "Demo mode" not in client.get("/").text
