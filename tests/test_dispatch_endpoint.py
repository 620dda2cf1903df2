"""POST /api/posts/dispatch: only a valid QStash signature gets in; what comes back tells QStash
whether to deliver again (503 + Retry-After), never again (489), or that it is done (200)."""

import json
import math
import time
from datetime import timedelta

import pytest
from psycopg import errors
from sqlalchemy.exc import OperationalError, ProgrammingError

from webapp.models import utcnow

from .conftest import attempts_of, core_of, new_post, post_row
from .qstash_fixtures import OTHER_KEY, PUBLIC_APP_URL, qstash_app_config
from .qstash_standin import CURRENT_KEY, NEXT_KEY, sign
from .receiver import Answer

APP_URL = PUBLIC_APP_URL
#: A signature from the future is refused after waiting 1 s, not 5. Also through PgBouncer in
#: transaction mode, as behind a pooled URL (TEST_PGBOUNCER_URL).
pytestmark = [pytest.mark.usefixtures("short_clock_tolerance"), pytest.mark.pooler]
DISPATCH_URL = APP_URL + "/api/posts/dispatch"
SEC = timedelta(seconds=1)


@pytest.fixture
def config_overrides(standin, receiver):
    standin.drop = True  # nothing here should be delivered by the stand-in
    return qstash_app_config(standin, APP_URL, receiver)


@pytest.fixture
def due(app, owner):
    """A post due a moment ago: (post_id, version, body bytes of its message)."""
    post_id, version = new_post(app, owner, at=utcnow() - SEC / 10, now=utcnow() - SEC)
    return post_id, version, message_body(post_id, owner, version)


def message_body(post_id, user_id, version) -> bytes:
    return json.dumps({"postId": post_id, "userId": user_id, "version": version}).encode()


def deliver(client, body: bytes, signature: str | None = "sign", *, retried: int = 0):
    headers = {"Content-Type": "application/json", "Upstash-Retried": str(retried)}
    if signature == "sign":
        signature = sign(body, DISPATCH_URL)
    if signature is not None:
        headers["Upstash-Signature"] = signature
    return client.post("/api/posts/dispatch", data=body, headers=headers)


def now() -> int:
    return int(time.time())


# ---------------------------------------------------------------- the signature matrix

REFUSED = {
    "missing": lambda body: None,
    "not a JWT": lambda body: "not-a-jwt",
    "signed with another key": lambda body: sign(body, DISPATCH_URL, OTHER_KEY),
    "expired": lambda body: sign(body, DISPATCH_URL, iat=now() - 600, nbf=now() - 600, exp=now() - 300),
    "issued in the future": lambda body: sign(body, DISPATCH_URL, iat=now() + 120),
    "for the URL the request arrived at": lambda body: sign(body, "http://localhost/api/posts/dispatch"),
    "for the URL with a trailing slash": lambda body: sign(body, DISPATCH_URL + "/"),
    "for the recover endpoint": lambda body: sign(body, APP_URL + "/api/posts/recover"),
    "from another issuer": lambda body: sign(body, DISPATCH_URL, iss="NotUpstash"),
    "without a body hash": lambda body: sign(body, DISPATCH_URL, body=None),
    "for another body": lambda body: sign(body.replace(b'"version": ', b'"version": 9'), DISPATCH_URL),
}


def tampered(body: bytes) -> bytes:
    """The same message for the next version: a valid signature must not carry it."""
    data = json.loads(body)
    return json.dumps({**data, "version": data["version"] + 1}).encode()


def test_an_invalid_or_missing_signature_is_refused_and_nothing_happens(app, client, receiver, due):
    post_id, _, body = due
    for case, signature in REFUSED.items():
        response = deliver(client, body, signature(body))
        assert response.status_code == 401, case
        assert "QStash" in response.json["error"], case
    assert deliver(client, tampered(body), sign(body, DISPATCH_URL)).status_code == 401  # tampered body
    time.sleep(0.05)
    assert receiver.arrivals == []
    row = post_row(app, post_id)
    assert (row.status, row.attempt_count) == ("scheduled", 0) and attempts_of(app, post_id) == []


@pytest.mark.parametrize("key", [CURRENT_KEY, NEXT_KEY], ids=["current key", "next key (after a key roll)"])
def test_a_valid_signature_with_either_key_dispatches_the_post(app, client, receiver, due, key):
    post_id, version, body = due
    client.get("/login")  # a browser session, and no CSRF token: none is needed, nor a login
    response = deliver(client, body, sign(body, DISPATCH_URL, key))
    assert response.status_code == 200
    assert response.json == {"postId": post_id, "result": "published", "reason": None, "message": None,
                             "httpStatus": 200}
    assert receiver.keys() == [f"{post_id}:{version}"]
    assert [a.trigger for a in attempts_of(app, post_id)] == ["qstash"]


def test_a_signature_a_moment_ahead_of_our_clock_is_accepted(client, receiver, due):
    """QStash's clock may run a little ahead of ours: iat / nbf slightly in the future is fine."""
    post_id, _, body = due
    ahead = int(time.time()) + 1  # 0 to 1 s ahead
    response = deliver(client, body, sign(body, DISPATCH_URL, iat=ahead, nbf=ahead))
    assert response.status_code == 200 and response.json["result"] == "published"


def test_a_replayed_valid_delivery_never_sends_twice(app, client, receiver, due):
    post_id, version, body = due
    signature = sign(body, DISPATCH_URL)
    assert deliver(client, body, signature).json["result"] == "published"
    again = deliver(client, body, signature, retried=1)
    assert again.status_code == 200
    assert (again.json["result"], again.json["reason"]) == ("ignored", "already_sent")
    assert receiver.keys() == [f"{post_id}:{version}"]


# ---------------------------------------------------------------- malformed messages: never retried

MALFORMED = {
    "not JSON": b"not json",
    "an array": b"[1, 2, 3]",
    "no postId": b'{"userId": 1, "version": 1}',
    "an empty postId": b'{"postId": "", "userId": 1, "version": 1}',
    "version as a string": b'{"postId": "p", "userId": 1, "version": "1"}',
    "userId as a boolean": b'{"postId": "p", "userId": true, "version": 1}',
    "version 0": b'{"postId": "p", "userId": 1, "version": 0}',
    "no version": b'{"postId": "p", "userId": 1}',
    # found by Schemathesis: SQLite cannot bind a 64-bit version (an OverflowError, a 500)
    "a version past 32 bits": b'{"postId": "p", "userId": 1, "version": 9223372036854775808}',
    "a userId past 32 bits": b'{"postId": "p", "userId": -9223372036854775809, "version": 1}',
}


def test_a_validly_signed_malformed_message_answers_489_non_retryable(client, receiver):
    for case, body in MALFORMED.items():
        response = deliver(client, body)
        assert response.status_code == 489, case
        assert response.headers["Upstash-NonRetryable-Error"] == "true", case
        assert "postId" in response.json["error"] or "userId" in response.json["error"], case
    assert receiver.arrivals == []


# ---------------------------------------------------------------- what the answers say

def test_a_message_for_a_cancelled_or_rescheduled_version_is_ignored(app, client, receiver, owner, due):
    post_id, version, body = due
    core_of(app).store.unschedule(post_id=post_id, user_id=owner, now=utcnow())
    response = deliver(client, body)
    assert response.status_code == 200
    assert (response.json["result"], response.json["reason"]) == ("ignored", "stale_version")
    assert receiver.arrivals == [] and post_row(app, post_id).status == "draft"


def test_a_message_for_a_deleted_post_is_ignored(client, receiver, owner):
    response = deliver(client, message_body("00000000-0000-0000-0000-000000000000", owner, 1))
    assert (response.status_code, response.json["result"], response.json["reason"]) == (200, "ignored", "not_found")


def test_a_rejection_by_n8n_is_final_and_says_why(app, client, receiver, due):
    receiver.answer = Answer(status=422, body={"message": "DUPLICATE_POST"})
    post_id, _, body = due
    response = deliver(client, body)
    assert response.status_code == 200
    assert (response.json["result"], response.json["reason"], response.json["httpStatus"]) == (
        "failed", "rejected", 422)
    assert "DUPLICATE_POST" in response.json["message"]
    assert post_row(app, post_id).status == "failed"


@pytest.mark.parametrize("status, retry_after, expected", [(503, "7", "7"), (429, None, "1")])
def test_n8n_declining_asks_qstash_to_retry_after_the_backoff(app, client, receiver, due, status, retry_after,
                                                              expected):
    receiver.answer = Answer(status=status, headers={"Retry-After": retry_after} if retry_after else {})
    post_id, _, body = due
    response = deliver(client, body)
    assert response.status_code == 503
    assert response.headers["Retry-After"] == expected  # RETRY_BASE_DELAY 0.5 s rounds up to 1
    assert response.json["result"] == "retrying" and response.json["retryAfter"] == int(expected)
    assert post_row(app, post_id).status == "scheduled"


def test_an_unreachable_n8n_asks_qstash_to_retry(app, client, due, monkeypatch):
    from webapp.dispatch.webhook import WebhookClient

    nowhere = WebhookClient("http://127.0.0.1:9/webhook")  # nothing listens
    monkeypatch.setattr(core_of(app).dispatcher, "webhook", nowhere)
    post_id, _, body = due
    response = deliver(client, body)
    assert response.status_code == 503 and int(response.headers["Retry-After"]) >= 1
    assert "could not reach n8n" in response.json["message"]
    assert post_row(app, post_id).status == "scheduled"


def test_an_early_message_is_not_sent_and_asks_for_the_remaining_seconds(app, client, receiver, owner):
    at = utcnow() + 2.2 * SEC
    post_id, version = new_post(app, owner, at=at)
    before = (at - utcnow()).total_seconds()
    response = deliver(client, message_body(post_id, owner, version))
    after = (at - utcnow()).total_seconds()
    assert response.status_code == 503
    # the remaining seconds, rounded up: a retry after that is never early
    assert math.ceil(after) <= int(response.headers["Retry-After"]) <= math.ceil(before)
    assert (response.json["result"], response.json["reason"]) == ("early", "early")
    assert receiver.arrivals == [] and attempts_of(app, post_id) == []
    assert post_row(app, post_id).status == "scheduled"


def test_an_unreachable_database_asks_qstash_to_retry(app, client, receiver, due, monkeypatch):
    def claim(**kwargs):
        raise OperationalError("UPDATE posts", {}, Exception("connection refused"))

    monkeypatch.setattr(core_of(app).store, "claim", claim)
    response = deliver(client, due[2])
    assert response.status_code == 503 and response.headers["Retry-After"] == "10"
    assert "database" in response.json["error"]
    assert receiver.arrivals == []


@pytest.mark.parametrize("error", [
    errors.InvalidSqlStatementName('prepared statement "_pg3_0" does not exist'),
    errors.DuplicatePreparedStatement('prepared statement "_pg3_0" already exists'),
], ids=["does not exist", "already exists"])
def test_a_poolers_prepared_statement_error_asks_qstash_to_retry_like_a_database_down(
        app, client, receiver, due, monkeypatch, error):
    """A transaction-mode pooler without DATABASE_POOLER=transaction: another connection may work."""
    def claim(**kwargs):
        raise ProgrammingError("UPDATE posts", {}, error)

    monkeypatch.setattr(core_of(app).store, "claim", claim)
    response = deliver(client, due[2])
    assert response.status_code == 503 and response.headers["Retry-After"] == "10"
    assert receiver.arrivals == []


def test_other_programming_errors_are_not_taken_for_a_database_down(app, client, due, monkeypatch):
    def claim(**kwargs):
        raise ProgrammingError("UPDATE posts", {}, errors.UndefinedTable('relation "posts" does not exist'))

    monkeypatch.setattr(core_of(app).store, "claim", claim)
    with pytest.raises(ProgrammingError):  # a bug: a 500 (TESTING propagates it), not "retry later"
        deliver(client, due[2])
