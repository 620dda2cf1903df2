"""/api/posts/recover: the safety net. GET with the cron secret (Vercel Cron), POST signed by
QStash (the QStash schedule); anything else is refused and sweeps nothing."""

import json
import time
from datetime import timedelta

import pytest
from sqlalchemy.exc import OperationalError

from webapp.models import utcnow

from .conftest import core_of, new_post, post_row
from .qstash_fixtures import (  # noqa: F401 (fixtures)
    CRON_SECRET, OTHER_KEY, PUBLIC_APP_URL, owner, qstash_app_config, receiver, short_clock_tolerance, standin)
from .qstash_standin import NEXT_KEY, sign

APP_URL = PUBLIC_APP_URL
#: A signature from the future is refused after waiting 1 s, not 5.
pytestmark = pytest.mark.usefixtures("short_clock_tolerance")
RECOVER_URL = APP_URL + "/api/posts/recover"
SEC = timedelta(seconds=1)


@pytest.fixture
def extra_config():
    return {}


@pytest.fixture
def config_overrides(standin, receiver, extra_config):
    standin.drop = True  # the app is not served here: nothing can be delivered to it
    return qstash_app_config(standin, APP_URL, receiver, **extra_config)


@pytest.fixture
def missed(app, owner):
    """A post whose alarm never came: due a minute ago, still scheduled."""
    now = utcnow()
    post_id, _ = new_post(app, owner, "missed", at=now - 60 * SEC, now=now - 3600 * SEC)
    return post_id


def cron(client, header: str | None = f"Bearer {CRON_SECRET}"):
    return client.get("/api/posts/recover", headers={"Authorization": header} if header else {})


def signed_post(client, signature: str | None, body: bytes = b""):
    headers = {"Upstash-Signature": signature} if signature else {}
    return client.post("/api/posts/recover", data=body, headers=headers)


def assert_nothing_swept(app, receiver, post_id):
    time.sleep(0.05)
    assert receiver.arrivals == []
    assert post_row(app, post_id).status == "scheduled"


# ---------------------------------------------------------------- who may call it

@pytest.mark.parametrize("header", [None, "Bearer wrong-secret", f"Basic {CRON_SECRET}", "Bearer ", CRON_SECRET],
                         ids=["missing", "wrong secret", "wrong scheme", "empty", "no scheme"])
def test_cron_calls_without_the_secret_are_refused(app, client, receiver, missed, header):
    response = cron(client, header)
    assert response.status_code == 401
    assert response.json == {"error": "Send the cron secret as 'Authorization: Bearer <CRON_SECRET>'."}
    assert_nothing_swept(app, receiver, missed)


@pytest.mark.parametrize("extra_config", [{"CRON_SECRET": None}])
def test_without_a_cron_secret_configured_every_cron_call_is_refused(app, client, receiver, missed, caplog):
    for header in (None, "Bearer ", "Bearer None", f"Bearer {CRON_SECRET}"):
        assert cron(client, header).status_code == 401, header
    assert "CRON_SECRET is not set" in caplog.text
    assert_nothing_swept(app, receiver, missed)


def now() -> int:
    return int(time.time())


REFUSED = {  # case: (method, headers, body)
    "no signature": lambda: ("POST", {}, b""),
    "signed with another key": lambda: ("POST", signature(sign(b"", RECOVER_URL, OTHER_KEY)), b""),
    "expired": lambda: ("POST", signature(sign(b"", RECOVER_URL, iat=now() - 600, nbf=now() - 600,
                                              exp=now() - 300)), b""),
    "issued in the future": lambda: ("POST", signature(sign(b"", RECOVER_URL, iat=now() + 120)), b""),
    "for the dispatch endpoint": lambda: ("POST", signature(sign(b"", APP_URL + "/api/posts/dispatch")), b""),
    "for the URL the request arrived at": lambda: (
        "POST", signature(sign(b"", "http://localhost/api/posts/recover")), b""),
    "for another body": lambda: ("POST", signature(sign(b'{"sweep": "everything"}', RECOVER_URL)), b""),
    "with a tampered body": lambda: ("POST", signature(sign(b"", RECOVER_URL)), b"{}"),
    "the cron secret on POST": lambda: ("POST", {"Authorization": f"Bearer {CRON_SECRET}"}, b""),
    "a signature on GET": lambda: ("GET", signature(sign(b"", RECOVER_URL)), b""),
}


def signature(value: str) -> dict:
    return {"Upstash-Signature": value}


def test_calls_without_a_valid_signature_are_refused(app, client, receiver, missed):
    for case, request in REFUSED.items():
        method, headers, body = request()
        response = client.open("/api/posts/recover", method=method, headers=headers, data=body)
        assert response.status_code == 401, case
    assert_nothing_swept(app, receiver, missed)


@pytest.mark.parametrize("how", ["cron secret", "QStash signature (next key)"])
def test_an_authorised_call_sweeps_and_reports_what_it_did(app, client, receiver, owner, missed, standin, how):
    now_ = utcnow()
    too_late, _ = new_post(app, owner, "a day late", at=now_ - 86400 * SEC, now=now_ - 2 * 86400 * SEC)
    # scheduled while QStash was down: no message yet, due in an hour
    later, version = new_post(app, owner, "in an hour", at=now_ + 3600 * SEC)
    response = cron(client) if how == "cron secret" else signed_post(client, sign(b"", RECOVER_URL, NEXT_KEY))
    assert response.status_code == 200
    assert response.json == {"recovered": 1, "failed": 1, "enqueued": 1, "total": 3}
    assert [a.body["content"] for a in receiver.arrivals] == ["missed"]
    assert (post_row(app, missed).status, post_row(app, too_late).error_kind) == ("published", "missed")
    message = standin.message_for(later, version)
    assert message is not None and post_row(app, later).qstash_message_id == message.id
    # a replayed call finds nothing left to do
    again = cron(client) if how == "cron secret" else signed_post(client, sign(b"", RECOVER_URL))
    assert again.json == {"recovered": 0, "failed": 0, "enqueued": 0, "total": 0}


# ---------------------------------------------------------------- the time budget, and faults

@pytest.mark.parametrize("extra_config", [{"RECOVER_TIME_BUDGET": 0.0}])
def test_no_new_work_starts_once_the_time_budget_is_spent(app, client, receiver, standin, owner):
    now_ = utcnow()
    missed, _ = new_post(app, owner, "missed", at=now_ - 60 * SEC, now=now_ - 3600 * SEC)
    later, _ = new_post(app, owner, "later", at=now_ + 3600 * SEC)
    response = cron(client)
    assert response.json == {"recovered": 0, "failed": 0, "enqueued": 0, "total": 0}
    assert receiver.arrivals == [] and standin.publishes == []


@pytest.mark.parametrize("extra_config, sent", [
    # one call may take its deadline (5 s connect + N8N_TIMEOUT 2 s) plus 5 s to record: 12 s
    ({"RECOVER_TIME_BUDGET": 11.0}, False),
    ({"RECOVER_TIME_BUDGET": 13.0}, True),
], ids=["budget-shorter-than-a-call", "budget-for-one-call"])
def test_a_post_is_claimed_only_if_its_call_can_finish_inside_the_budget(app, client, receiver, missed, sent):
    """On Vercel the function is killed at maxDuration: a claim it could not finish would wait out
    the lease. So no claim is made that the budget cannot see through."""
    assert cron(client).json["recovered"] == (1 if sent else 0)
    assert post_row(app, missed).status == ("published" if sent else "scheduled")
    assert len(receiver.arrivals) == (1 if sent else 0)


def test_an_unreachable_database_asks_the_caller_to_retry(app, client, missed, monkeypatch):
    def claim_due(**kwargs):
        raise OperationalError("UPDATE posts", {}, Exception("connection refused"))

    monkeypatch.setattr(core_of(app).store, "claim_due", claim_due)
    response = signed_post(client, sign(b"", RECOVER_URL))
    assert response.status_code == 503 and response.headers["Retry-After"] == "10"
    assert "database" in json.loads(response.data)["error"]
