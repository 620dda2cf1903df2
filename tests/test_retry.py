"""The retry decision, as a table: what each webhook outcome leads to."""

from datetime import datetime, timedelta, timezone

import pytest

from webapp.dispatch.retry import RetryPolicy, SendResult, decide

DUE = datetime(2026, 12, 1, 9, 0, tzinfo=timezone.utc)
NOW = DUE + timedelta(seconds=1)
POLICY = RetryPolicy(max_attempts=5, base_delay=5, max_delay=600, max_lateness=12 * 3600)
R = SendResult

CASES = [
    # result                                            attempt  action         outcome        kind           retry in (s)
    (R.answered(200, urn="urn:li:share:1"),             1,       "confirm",     "published",   None,          None),
    (R.answered(201),                                   3,       "confirm",     "published",   None,          None),
    (R.answered(204),                                   1,       "confirm",     "published",   None,          None),
    # never reached n8n: back off 5, 10, 20 ... s
    (R.not_sent("connection refused"),                  1,       "retry_later", "retry",       None,          5),
    (R.not_sent("connection refused"),                  2,       "retry_later", "retry",       None,          10),
    (R.not_sent("connect timeout after 5 s"),           4,       "retry_later", "retry",       None,          40),
    # n8n declined: honour Retry-After, else back off
    (R.answered(429, "slow down", retry_after=30),      1,       "retry_later", "retry",       None,          30),
    (R.answered(503, "", retry_after=None),             2,       "retry_later", "retry",       None,          10),
    (R.answered(503, "", retry_after=0),                1,       "retry_later", "retry",       None,          1),
    # out of attempts
    (R.not_sent("connection refused"),                  5,       "fail",        "failed",      "gave_up",     None),
    (R.answered(429, "", retry_after=10),               5,       "fail",        "failed",      "gave_up",     None),
    # Retry-After is honoured up to RETRY_MAX_DELAY (600 s here): a year-long one is not a plan
    (R.answered(503, "", retry_after=13 * 3600),        1,       "retry_later", "retry",       None,          600),
    (R.answered(429, "", retry_after=1e9),              1,       "retry_later", "retry",       None,          600),
    # n8n rejected it: never retried
    (R.answered(400, "bad payload"),                    1,       "fail",        "failed",      "rejected",    None),
    (R.answered(401, "auth"),                           1,       "fail",        "failed",      "rejected",    None),
    (R.answered(404, "no such webhook"),                1,       "fail",        "failed",      "rejected",    None),
    (R.answered(422, "DUPLICATE_POST"),                 1,       "fail",        "failed",      "rejected",    None),
    (R.answered(302, ""),                               1,       "fail",        "failed",      "rejected",    None),
    # n8n may have published: unconfirmed, never resent automatically
    (R.answered(500, "boom"),                           1,       "fail",        "unconfirmed", "unconfirmed", None),
    (R.answered(502, ""),                               1,       "fail",        "unconfirmed", "unconfirmed", None),
    (R.answered(504, ""),                               1,       "fail",        "unconfirmed", "unconfirmed", None),
    (R.answered(501, ""),                               1,       "fail",        "unconfirmed", "unconfirmed", None),
    (R.no_answer("no answer within 30 s"),              1,       "fail",        "unconfirmed", "unconfirmed", None),
    (R.no_answer("the connection was closed before n8n answered"), 1, "fail",  "unconfirmed", "unconfirmed", None),
]


@pytest.mark.parametrize("result, attempt, action, outcome, kind, retry_in", CASES)
def test_decision_table(result, attempt, action, outcome, kind, retry_in):
    verdict = decide(result, attempt=attempt, scheduled_at=DUE, now=NOW, policy=POLICY)
    assert (verdict.action, verdict.outcome, verdict.kind) == (action, outcome, kind)
    if retry_in is None:
        assert verdict.retry_at is None
    else:
        assert verdict.retry_at == NOW + timedelta(seconds=retry_in)
    if action != "confirm":
        assert verdict.message and verdict.message.endswith(".")


def test_backoff_is_capped():
    assert [POLICY.backoff(n) for n in (1, 2, 3, 8, 20, 10_000)] == [5, 10, 20, 600, 600, 600]


def test_a_retry_that_would_land_after_the_lateness_cutoff_gives_up_now():
    almost_too_late = DUE + timedelta(hours=12) - timedelta(seconds=30)
    verdict = decide(R.answered(429, "", retry_after=60), attempt=1, scheduled_at=DUE, now=almost_too_late,
                     policy=POLICY)
    assert (verdict.action, verdict.kind) == ("fail", "gave_up") and "too late" in verdict.message


def test_unconfirmed_tells_the_user_to_check_linkedin():
    verdict = decide(R.answered(502, "Bad gateway"), attempt=1, scheduled_at=DUE, now=NOW, policy=POLICY)
    assert "HTTP 502: Bad gateway" in verdict.message
    assert "check LinkedIn before retrying" in verdict.message


def test_rejected_quotes_n8ns_message():
    verdict = decide(R.answered(400, "content missing"), attempt=1, scheduled_at=DUE, now=NOW, policy=POLICY)
    assert verdict.message == "n8n rejected the post (HTTP 400: content missing)."


def test_the_urn_is_kept():
    verdict = decide(R.answered(201, urn="urn:li:share:9"), attempt=1, scheduled_at=DUE, now=NOW, policy=POLICY)
    assert verdict.urn == "urn:li:share:9"
