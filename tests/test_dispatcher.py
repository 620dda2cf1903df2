"""Claim → send → record, for every failure class; the sweep; the invariants that involve one post."""

import socket
from datetime import timedelta

import pytest

from webapp.dispatch.webhook import WebhookClient
from webapp.models import utcnow

from .conftest import LINKEDIN_TOKEN, attempts_of, connect_linkedin, core_of, make_user, new_post, post_row
from .receiver import Answer, Receiver

SEC = timedelta(seconds=1)


@pytest.fixture
def n8n():
    """n8n, played by a real HTTP server on loopback: `n8n.answer = Answer(...)`, `n8n.arrivals`."""
    with Receiver() as receiver:
        yield receiver


@pytest.fixture
def config_overrides(n8n):
    return {"N8N_WEBHOOK_URL": n8n.url, "N8N_WEBHOOK_AUTH_HEADER": "X-Punctual-Secret",
            "N8N_WEBHOOK_SECRET": "shared-secret", "N8N_TIMEOUT": 1.0, "MAX_ATTEMPTS": 3}


def refusing_webhook() -> WebhookClient:
    """A webhook URL where nothing listens: the call provably never reaches n8n."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    return WebhookClient(f"http://127.0.0.1:{port}/webhook", read_timeout=1.0)


@pytest.fixture
def owner(app):
    user_id = make_user(app)
    connect_linkedin(app, user_id)
    return user_id


@pytest.fixture
def dispatcher(app):
    return core_of(app).dispatcher


def due_post(app, owner, content="Hello LinkedIn"):
    return new_post(app, owner, content, at=utcnow() - SEC / 10, now=utcnow() - SEC)


def test_a_due_post_is_published_once_with_the_contract_payload(app, owner, dispatcher, n8n):
    n8n.answer = Answer(body={"linkedinPostUrn": "urn:li:share:123"})
    post_id, version = due_post(app, owner)

    outcome = dispatcher.dispatch_one(post_id, version, "qstash")

    assert outcome.result == "published"
    [call] = n8n.arrivals
    body = call.body
    assert body == {
        "postId": post_id, "userId": owner, "accessToken": LINKEDIN_TOKEN,
        "personUrn": "urn:li:person:AbC123", "content": "Hello LinkedIn", "imageUrl": None,
        "scheduledAt": body["scheduledAt"], "idempotencyKey": f"{post_id}:{version}",
    }
    assert call.headers["Idempotency-Key"] == f"{post_id}:{version}"
    assert call.headers["X-Punctual-Secret"] == "shared-secret"
    assert call.headers["Content-Type"] == "application/json"
    row = post_row(app, post_id)
    assert (row.status, row.linkedin_post_urn, row.attempt_count) == ("published", "urn:li:share:123", 1)
    [attempt] = attempts_of(app, post_id)
    assert (attempt.trigger, attempt.outcome, attempt.http_status) == ("qstash", "published", 200)
    assert attempt.duration_ms is not None and attempt.finished_at >= attempt.started_at

    again = dispatcher.dispatch_one(post_id, version, "qstash")  # a duplicate delivery
    assert (again.result, again.reason) == ("ignored", "already_sent")
    assert len(n8n.arrivals) == 1


def test_never_early(app, owner, dispatcher, n8n):
    post_id, version = new_post(app, owner, at=utcnow() + 30 * SEC)
    outcome = dispatcher.dispatch_one(post_id, version, "qstash")
    assert outcome.result == "early" and 29 < outcome.retry_after <= 30
    assert dispatcher.dispatch_due() == []
    assert len(n8n.arrivals) == 0 and post_row(app, post_id).status == "scheduled"


def test_cancel_wins_over_an_alarm_for_the_old_version(app, owner, dispatcher, n8n):
    post_id, version = due_post(app, owner)
    core_of(app).store.unschedule(post_id=post_id, user_id=owner, now=utcnow())
    outcome = dispatcher.dispatch_one(post_id, version, "qstash")
    assert (outcome.result, outcome.reason) == ("ignored", "stale_version")
    assert dispatcher.dispatch_due() == []
    assert len(n8n.arrivals) == 0 and post_row(app, post_id).status == "draft"


def test_latest_wins_after_a_reschedule(app, owner, dispatcher, n8n):
    post_id, old = due_post(app, owner)
    new = core_of(app).store.schedule(post_id=post_id, user_id=owner, at=utcnow() + 0.3 * SEC,
                                      now=utcnow()).version
    assert dispatcher.dispatch_one(post_id, old, "qstash").reason == "stale_version"
    assert dispatcher.dispatch_one(post_id, new, "qstash").result == "early"
    import time
    time.sleep(0.35)
    assert dispatcher.dispatch_one(post_id, new, "qstash").result == "published"
    assert n8n.keys() == [f"{post_id}:{new}"]


def test_the_latest_content_is_what_gets_sent(app, owner, dispatcher, n8n):
    post_id, version = due_post(app, owner, content="first draft")
    core_of(app).store.edit(post_id=post_id, user_id=owner, now=utcnow(), content="final words")
    dispatcher.dispatch_one(post_id, version, "local")
    assert n8n.arrivals[0].body["content"] == "final words"


@pytest.mark.parametrize("answer, status, kind, fragment", [
    # webhook answer                                          post status   error_kind     in the message
    (Answer(status=400, body={"message": "content missing"}), "failed",    "rejected",    "rejected the post (HTTP 400: content missing)"),
    (Answer(status=500, body="boom"),                         "failed",    "unconfirmed", "check LinkedIn before retrying"),
    (Answer(status=502),                                      "failed",    "unconfirmed", "HTTP 502"),
    (Answer(hang=2.5),                                        "failed",    "unconfirmed", "no answer within 1 s"),
    (Answer(drop=True),                                       "failed",    "unconfirmed", "did not confirm"),
    ("refused",                                               "scheduled", "retrying",    "could not reach n8n (connection refused)"),
    (Answer(status=429, headers={"Retry-After": "42"}),       "scheduled", "retrying",    "declined it for now (HTTP 429"),
    (Answer(status=503),                                      "scheduled", "retrying",    "HTTP 503"),
], ids=["400", "500", "502", "read-timeout", "dropped", "refused", "429", "503"])
def test_failure_classes(app, owner, dispatcher, n8n, answer, status, kind, fragment):
    if answer == "refused":
        dispatcher.webhook = refusing_webhook()
    else:
        n8n.answer = answer
    post_id, version = due_post(app, owner)
    dispatcher.dispatch_one(post_id, version, "local")
    row = post_row(app, post_id)
    assert (row.status, row.error_kind) == (status, kind)
    assert fragment in row.error_message
    [attempt] = attempts_of(app, post_id)
    assert attempt.outcome == {"failed": "failed" if kind == "rejected" else "unconfirmed",
                               "scheduled": "retry"}[status]
    assert len(n8n.arrivals) == (0 if answer == "refused" else 1)
    if status == "scheduled":
        # backoff: not claimable again right away, and the key stays the same
        assert row.next_attempt_at > utcnow()
        assert dispatcher.dispatch_due() == []


def test_retry_after_is_honoured(app, owner, dispatcher, n8n):
    n8n.answer = Answer(status=429, headers={"Retry-After": "42"})
    post_id, version = due_post(app, owner)
    before = utcnow()
    outcome = dispatcher.dispatch_one(post_id, version, "local")
    assert outcome.result == "retrying" and 41 <= outcome.retry_after <= 42
    assert 41 <= (post_row(app, post_id).next_attempt_at - before).total_seconds() <= 43


def test_retries_use_the_same_key_and_give_up_after_max_attempts(app, owner, dispatcher, n8n):
    n8n.answer = Answer(status=503)
    post_id, version = due_post(app, owner)
    store = core_of(app).store
    for attempt in (1, 2, 3):
        claim = store.claim(post_id=post_id, version=version, now=utcnow() + timedelta(hours=1) * attempt)
        assert claim.attempt == attempt
        dispatcher.send(claim, "local")
    row = post_row(app, post_id)
    assert (row.status, row.error_kind) == ("failed", "gave_up")
    assert "3 attempts were made" in row.error_message
    assert n8n.keys() == [f"{post_id}:{version}"] * 3
    assert [a.outcome for a in attempts_of(app, post_id)] == ["retry", "retry", "failed"]


def test_no_linkedin_connection_fails_without_calling_the_webhook(app, dispatcher, n8n):
    user_id = make_user(app, email="nolink@example.com")
    post_id, version = due_post(app, user_id)
    outcome = dispatcher.dispatch_one(post_id, version, "local")
    assert (outcome.result, outcome.reason) == ("failed", "not_connected")
    assert len(n8n.arrivals) == 0
    row = post_row(app, post_id)
    assert row.status == "failed" and "LinkedIn is not connected" in row.error_message
    assert [a.outcome for a in attempts_of(app, post_id)] == ["skipped"]


def test_an_expired_token_fails_without_calling_the_webhook(app, dispatcher, n8n):
    user_id = make_user(app, email="expired@example.com")
    connect_linkedin(app, user_id, expires_at=utcnow() - timedelta(days=1))
    post_id, version = due_post(app, user_id)
    outcome = dispatcher.dispatch_one(post_id, version, "local")
    assert outcome.reason == "token_expired" and len(n8n.arrivals) == 0
    assert "token expired on" in post_row(app, post_id).error_message


def test_the_access_token_never_lands_in_an_error_message(app, owner, dispatcher, n8n):
    # an echo workflow that fails and returns the payload it got
    n8n.answer = Answer(status=400, body={"message": f"bad request: accessToken={LINKEDIN_TOKEN}"})
    post_id, version = due_post(app, owner)
    dispatcher.dispatch_one(post_id, version, "local")
    row = post_row(app, post_id)
    assert LINKEDIN_TOKEN not in row.error_message and "[redacted]" in row.error_message
    assert all(LINKEDIN_TOKEN not in (a.error or "") for a in attempts_of(app, post_id))


def test_too_late_posts_fail_as_missed_and_are_never_sent(app, owner, dispatcher, n8n):
    now = utcnow()
    late, version = new_post(app, owner, at=now - timedelta(hours=13), now=now - timedelta(hours=14))
    fine, _ = new_post(app, owner, "fine", at=now - timedelta(hours=11), now=now - timedelta(hours=14))
    # a QStash message arriving 13 h late: claimed, but not sent
    outcome = dispatcher.dispatch_one(late, version, "qstash")
    assert (outcome.result, outcome.reason) == ("failed", "missed")
    report = dispatcher.sweep()
    assert report.recovered == 1  # the 11 h late one is still worth sending
    assert [a.body["postId"] for a in n8n.arrivals] == [fine]
    assert "Missed" in post_row(app, late).error_message


def test_the_sweep_fails_too_late_posts_before_anything_claims_them(app, owner, dispatcher, n8n):
    now = utcnow()
    late, _ = new_post(app, owner, at=now - timedelta(hours=13), now=now - timedelta(hours=14))
    report = dispatcher.sweep()
    assert (report.failed, report.recovered) == (1, 0)
    assert post_row(app, late).error_kind == "missed" and len(n8n.arrivals) == 0


def test_a_stuck_claim_is_resent_once_with_the_same_key(app, owner, dispatcher, n8n):
    n8n.answer = Answer(body={"urn": "urn:li:share:9"})
    now = utcnow()
    post_id, version = new_post(app, owner, at=now - timedelta(minutes=3), now=now - timedelta(minutes=4))
    store = core_of(app).store
    # a dispatcher claimed it 2 minutes ago and died before recording anything
    assert store.claim(post_id=post_id, version=version, now=now - timedelta(minutes=2))
    report = dispatcher.sweep()
    assert report.recovered == 1
    assert n8n.keys() == [f"{post_id}:{version}"]
    row = post_row(app, post_id)
    assert (row.status, row.attempt_count) == ("published", 2)
    assert [a.trigger for a in attempts_of(app, post_id)] == ["recovery"]
    assert dispatcher.sweep().total == 0  # nothing more to do: resent once only
    assert len(n8n.arrivals) == 1


def test_a_claim_inside_its_lease_is_left_alone(app, owner, dispatcher, n8n):
    post_id, version = due_post(app, owner)
    core_of(app).store.claim(post_id=post_id, version=version, now=utcnow())
    assert dispatcher.sweep().total == 0 and len(n8n.arrivals) == 0


def test_a_stuck_claim_past_the_lateness_cutoff_fails_unconfirmed(app, owner, dispatcher, n8n):
    now = utcnow()
    post_id, version = new_post(app, owner, at=now - timedelta(hours=13), now=now - timedelta(hours=14))
    core_of(app).store.claim(post_id=post_id, version=version, now=now - timedelta(hours=12, minutes=59))
    report = dispatcher.sweep()
    assert report.failed == 1 and len(n8n.arrivals) == 0
    row = post_row(app, post_id)
    assert row.error_kind == "unconfirmed" and "check LinkedIn" in row.error_message


def test_a_raising_send_still_records_the_try(app, owner, dispatcher, monkeypatch):
    def explode(payload, key):
        raise RuntimeError("bug")

    monkeypatch.setattr(dispatcher.webhook, "send", explode)
    post_id, version = due_post(app, owner)
    outcome = dispatcher.dispatch_one(post_id, version, "local")
    assert outcome.result == "failed" and outcome.reason == "unconfirmed"
    assert [a.error for a in attempts_of(app, post_id)] == ["internal error: RuntimeError"]


@pytest.mark.parametrize("config_overrides", [{}], indirect=False)
def test_demo_mode_sends_without_a_linkedin_connection(app, dispatcher, n8n):
    """No N8N_WEBHOOK_URL: posts go to the demo inbox, and a missing connection does not block."""
    assert dispatcher.settings.demo_mode
    dispatcher.webhook = WebhookClient(n8n.url)  # the inbox, played by the receiver
    user_id = make_user(app, email="demo@example.com")
    post_id, version = due_post(app, user_id)
    assert dispatcher.dispatch_one(post_id, version, "local").result == "published"
    body = n8n.arrivals[0].body
    assert body["accessToken"] is None and body["postId"] == post_id
