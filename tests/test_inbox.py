"""The demo inbox: with no N8N_WEBHOOK_URL the dispatcher records each post in this process (no
address, no port, no setting), through the same claim → fence → send → record as n8n; tokens are
masked, a repeated key is marked, users see their own deliveries."""

from datetime import timedelta

import pytest
from sqlalchemy import create_engine, select

from webapp.extensions import db
from webapp.inbox.delivery import InboxDelivery
from webapp.models import InboxMessage, utcnow

from .conftest import LINKEDIN_TOKEN, attempts_of, connect_linkedin, core_of, make_user, new_post, post_row

SEC = timedelta(seconds=1)


def due_post(app, user_id, content="Hello inbox"):
    return new_post(app, user_id, content, at=utcnow() - SEC / 10, now=utcnow() - SEC)


def inbox(app):
    with app.app_context():
        return db.session.execute(select(InboxMessage).order_by(InboxMessage.id)).scalars().all()


def test_demo_mode_delivers_in_process_whatever_app_url_says(app):
    """The old delivery POSTed to APP_URL/demo/inbox and failed on any port but 5000."""
    app.config["APP_URL"] = "http://127.0.0.1:1"  # nothing listens there
    dispatcher = core_of(app).dispatcher
    assert isinstance(dispatcher.webhook, InboxDelivery) and dispatcher.settings.demo_mode
    user_id = make_user(app)
    post_id, version = due_post(app, user_id)

    assert dispatcher.dispatch_one(post_id, version, "local").result == "published"

    assert post_row(app, post_id).status == "published"
    [attempt] = attempts_of(app, post_id)
    assert (attempt.outcome, attempt.http_status) == ("published", 200)
    [message] = inbox(app)
    assert (message.user_id, message.post_id, message.content) == (user_id, post_id, "Hello inbox")
    assert message.idempotency_key == f"{post_id}:{version}" and not message.repeat
    assert message.access_token_masked == ""  # no LinkedIn needed in demo mode


def test_the_token_is_stored_masked_and_a_repeated_key_is_marked(app):
    user_id = make_user(app)
    connect_linkedin(app, user_id)
    delivery = core_of(app).dispatcher.webhook
    payload = {"postId": "p", "userId": user_id, "accessToken": LINKEDIN_TOKEN, "personUrn": "urn:li:person:x",
               "content": "Hello inbox", "imageUrl": None, "scheduledAt": "2026-12-01T09:00:00.000Z",
               "idempotencyKey": "p:1"}
    assert delivery.send(payload, "p:1").status == 200
    assert delivery.send(payload, "p:1").status == 200
    first, second = inbox(app)
    assert (first.repeat, second.repeat) == (False, True)
    assert all(LINKEDIN_TOKEN not in m.access_token_masked for m in (first, second))
    assert first.scheduled_at == utcnow().replace(2026, 12, 1, 9, 0, 0, 0)


def test_a_delivery_the_database_refuses_was_not_sent(app):
    """A rolled-back insert recorded nothing: the dispatcher may try again (not 'unconfirmed')."""
    delivery = core_of(app).dispatcher.webhook
    broken = InboxDelivery(create_engine("sqlite://"), read_timeout=app.config["N8N_TIMEOUT"])  # no tables
    result = broken.send({"postId": "p", "userId": 1, "content": "x"}, "p:1")
    assert result.kind == "not_sent" and "demo inbox" in result.detail
    assert delivery.deadline == broken.deadline


def test_the_inbox_page_shows_each_users_own_deliveries_with_seconds(app, client, auth):
    other = make_user(app, email="mallory@example.com")
    core_of(app).dispatcher.webhook.send({"postId": "p", "userId": other, "content": "Not yours"}, "p:1")
    auth.register()
    with app.app_context():
        from webapp.models import User
        me = db.session.execute(select(User.id).where(User.email == "ada@example.com")).scalar_one()
    core_of(app).dispatcher.webhook.send(
        {"postId": "q", "userId": me, "content": "Hello inbox", "accessToken": LINKEDIN_TOKEN,
         "scheduledAt": "2026-12-01T09:00:07.000Z"}, "q:1")
    page = client.get("/inbox").text
    assert "Hello inbox" in page and "Not yours" not in page and LINKEDIN_TOKEN not in page
    assert "10:00:07" in page  # Europe/Berlin, to the second


def test_the_old_http_endpoint_is_gone(client):
    assert client.post("/demo/inbox", json={}).status_code in (404, 405)


def test_every_page_says_demo_mode(app, client, auth):
    auth.register()
    for path in ("/", "/settings", "/inbox"):
        assert "Demo mode — posts go to the built-in inbox, not n8n" in client.get(path).text


class TestWithN8nConfigured:
    @pytest.fixture
    def config_overrides(self, n8n_config):
        return n8n_config

    def test_the_dispatcher_sends_to_n8n_and_no_banner_is_shown(self, app, client, auth):
        assert not isinstance(core_of(app).dispatcher.webhook, InboxDelivery)
        auth.register()
        assert "Demo mode" not in client.get("/").text
        assert "The demo inbox is off" in client.get("/inbox").text
