"""The store's guarded writes: each move happens only when its conditions hold in the row."""

from datetime import datetime, timedelta, timezone

import pytest
import sqlalchemy as sa

from webapp.dispatch.errors import Conflict, NotFound
from webapp.dispatch.states import Action, due_at
from webapp.dispatch.store import AttemptRecord, _due
from webapp.models import posts

from .conftest import attempts_of, core_of, make_user, new_post, post_row

#: Also through PgBouncer in transaction mode, as behind a pooled URL (TEST_PGBOUNCER_URL).
pytestmark = pytest.mark.pooler

T0 = datetime(2026, 12, 1, 9, 0, tzinfo=timezone.utc)
SEC = timedelta(seconds=1)


@pytest.fixture
def store(app):
    return core_of(app).store


@pytest.fixture
def owner(app):
    return make_user(app)


def record(outcome="published", at=T0):
    return AttemptRecord(trigger="local", started_at=at, finished_at=at + SEC / 10, outcome=outcome)


def test_schedule_bumps_the_version_every_time(app, store, owner):
    post_id, version = new_post(app, owner, at=T0 + 60 * SEC, now=T0)
    assert version == 1
    assert store.schedule(post_id=post_id, user_id=owner, at=T0 + 120 * SEC, now=T0).version == 2
    assert store.unschedule(post_id=post_id, user_id=owner, now=T0).version == 3
    assert store.schedule(post_id=post_id, user_id=owner, at=T0 + 60 * SEC, now=T0).version == 4
    assert post_row(app, post_id).scheduled_at == T0 + 60 * SEC


def test_claim_needs_due_time_matching_version_and_scheduled_status(app, store, owner):
    post_id, version = new_post(app, owner, at=T0, now=T0 - 60 * SEC)
    assert store.claim(post_id=post_id, version=version, now=T0 - SEC / 1000) is None  # early
    assert store.claim(post_id=post_id, version=version + 1, now=T0) is None  # unknown version
    assert store.claim(post_id=post_id, version=version - 1, now=T0) is None  # stale version
    claim = store.claim(post_id=post_id, version=version, now=T0)
    assert claim is not None and claim.attempt == 1 and claim.idempotency_key == f"{post_id}:{version}"
    assert store.claim(post_id=post_id, version=version, now=T0) is None  # already claimed
    row = post_row(app, post_id)
    assert (row.status, row.claimed_at, row.attempt_count) == ("publishing", T0, 1)


def test_claim_respects_the_backoff(app, store, owner):
    post_id, version = new_post(app, owner, at=T0, now=T0 - SEC)
    claim = store.claim(post_id=post_id, version=version, now=T0)
    store.retry_later(claim, record("retry"), at=T0 + 10 * SEC, message="Trying again.")
    assert store.claim(post_id=post_id, version=version, now=T0 + 9 * SEC) is None
    assert store.explain(post_id=post_id, version=version, now=T0 + 9 * SEC) == ("backoff", T0 + 10 * SEC)
    again = store.claim(post_id=post_id, version=version, now=T0 + 10 * SEC)
    assert again.attempt == 2 and again.idempotency_key == claim.idempotency_key


@pytest.mark.parametrize("backoff, now", [(None, -1), (None, 0), (None, 1), (5, 4), (5, 5), (5, 6)])
def test_the_sql_says_due_exactly_when_due_at_does(app, store, owner, backoff, now):
    """store._due (SQL, for claims and /healthz) and states.due_at (Python, for the pages and
    explain) are one rule said twice; they agree at every boundary."""
    post_id, version = new_post(app, owner, at=T0, now=T0 - SEC)
    if backoff is not None:
        claim = store.claim(post_id=post_id, version=version, now=T0)
        store.retry_later(claim, record("retry"), at=T0 + backoff * SEC, message="Trying again.")
    row = post_row(app, post_id)
    at = T0 + now * SEC
    with store.engine.connect() as conn:
        in_sql = conn.execute(sa.select(posts.c.id).where(_due(at))).first() is not None
    assert in_sql == (due_at(scheduled_at=row.scheduled_at, next_attempt_at=row.next_attempt_at) <= at)


def test_claim_due_takes_due_posts_soonest_first_up_to_the_limit(app, store, owner):
    ids = [new_post(app, owner, f"p{i}", at=T0 + i * SEC, now=T0 - SEC)[0] for i in range(5)]
    later, _ = new_post(app, owner, "later", at=T0 + 60 * SEC, now=T0 - SEC)
    claims = store.claim_due(now=T0 + 3 * SEC, limit=3)
    assert [c.post_id for c in claims] == ids[:3]
    assert [c.post_id for c in store.claim_due(now=T0 + 3 * SEC, limit=10)] == [ids[3]]
    assert post_row(app, later).status == "scheduled"


def test_claim_due_leaves_too_late_posts_for_the_sweep(app, store, owner):
    old, _ = new_post(app, owner, at=T0 - timedelta(hours=13), now=T0 - timedelta(hours=14))
    assert store.claim_due(now=T0, limit=10, not_before=T0 - timedelta(hours=12)) == []
    assert store.next_due_at(not_before=T0 - timedelta(hours=12)) is None
    assert store.miss_overdue(now=T0, cutoff=T0 - timedelta(hours=12), message="Missed: not sent.") == [old]
    row = post_row(app, old)
    assert (row.status, row.error_kind) == ("failed", "missed") and "not sent" in row.error_message


def test_next_due_at_is_the_earliest_claimable_instant(app, store, owner):
    assert store.next_due_at() is None
    new_post(app, owner, at=T0 + 5 * SEC, now=T0)
    second, version = new_post(app, owner, at=T0 + 2 * SEC, now=T0)
    assert store.next_due_at() == T0 + 2 * SEC
    claim = store.claim(post_id=second, version=version, now=T0 + 2 * SEC)
    store.retry_later(claim, record("retry"), at=T0 + 9 * SEC, message="x")
    assert store.next_due_at() == T0 + 5 * SEC


def test_fail_and_retry_later_only_apply_for_the_current_claim(app, store, owner):
    post_id, version = new_post(app, owner, at=T0, now=T0 - SEC)
    first = store.claim(post_id=post_id, version=version, now=T0)
    [second] = store.reclaim_stale(now=T0 + 100 * SEC, lease=90, limit=10)
    assert second.attempt == 2
    assert store.fail(first, record("unconfirmed"), kind="unconfirmed", message="late answer") is False
    assert post_row(app, post_id).status == "publishing"
    assert store.confirm(second, record(), urn="urn:li:share:1") is True
    row = post_row(app, post_id)
    assert (row.status, row.linkedin_post_urn) == ("published", "urn:li:share:1")
    outcomes = [(a.outcome, a.error) for a in attempts_of(app, post_id)]
    assert outcomes[0][0] == "unconfirmed" and "another dispatcher had taken it over" in outcomes[0][1]
    assert outcomes[1] == ("published", None)


def test_a_2xx_from_an_older_claim_of_the_same_version_still_confirms(app, store, owner):
    post_id, version = new_post(app, owner, at=T0, now=T0 - SEC)
    first = store.claim(post_id=post_id, version=version, now=T0)
    store.reclaim_stale(now=T0 + 100 * SEC, lease=90, limit=10)
    assert store.confirm(first, record(), urn=None) is True
    assert post_row(app, post_id).status == "published"


def test_reclaim_only_takes_claims_older_than_the_lease(app, store, owner):
    post_id, version = new_post(app, owner, at=T0, now=T0 - SEC)
    store.claim(post_id=post_id, version=version, now=T0)
    assert store.reclaim_stale(now=T0 + 89 * SEC, lease=90, limit=10) == []
    assert [c.post_id for c in store.reclaim_stale(now=T0 + 91 * SEC, lease=90, limit=10)] == [post_id]


def test_outcomes_do_not_apply_to_a_rescheduled_version(app, store, owner):
    post_id, version = new_post(app, owner, at=T0, now=T0 - SEC)
    claim = store.claim(post_id=post_id, version=version, now=T0)
    with pytest.raises(Conflict, match="being sent right now, so it cannot be scheduled"):
        store.schedule(post_id=post_id, user_id=owner, at=T0 + 60 * SEC, now=T0)
    with pytest.raises(Conflict, match="being sent right now, so it cannot be unscheduled"):
        store.unschedule(post_id=post_id, user_id=owner, now=T0)
    with pytest.raises(Conflict, match="being sent right now, so it cannot be edited"):
        store.edit(post_id=post_id, user_id=owner, now=T0, content="changed")
    with pytest.raises(Conflict, match="being sent right now, so it cannot be deleted"):
        store.delete(post_id=post_id, user_id=owner)
    assert store.confirm(claim, record(), urn=None)


@pytest.mark.parametrize("action, kwargs, message", [
    ("schedule", {"at": T0, "now": T0}, "already published, so it cannot be scheduled"),
    ("unschedule", {"now": T0}, "already published, so it cannot be unscheduled"),
    ("edit", {"content": "x", "now": T0}, "already published, so it cannot be edited"),
])
def test_a_published_post_cannot_be_changed(app, store, owner, action, kwargs, message):
    post_id, version = new_post(app, owner, at=T0, now=T0 - SEC)
    store.confirm(store.claim(post_id=post_id, version=version, now=T0), record(), urn=None)
    with pytest.raises(Conflict, match=message):
        getattr(store, action)(post_id=post_id, user_id=owner, **kwargs)
    assert post_row(app, post_id).status == "published"


def test_a_published_post_can_be_deleted_with_its_attempts(app, store, owner):
    post_id, version = new_post(app, owner, at=T0, now=T0 - SEC)
    store.confirm(store.claim(post_id=post_id, version=version, now=T0), record(), urn="urn:li:share:1")
    change = store.delete(post_id=post_id, user_id=owner)
    assert (change.post_id, change.version) == (post_id, version)
    assert post_row(app, post_id) is None and attempts_of(app, post_id) == []


def test_unschedule_a_draft_is_a_conflict_with_a_sentence(app, store, owner):
    post_id, _ = new_post(app, owner)
    with pytest.raises(Conflict, match="This post is a draft, so it cannot be unscheduled."):
        store.unschedule(post_id=post_id, user_id=owner, now=T0)


def test_retry_is_only_for_a_failed_post_and_publish_now_never_for_a_published_one(app, store, owner):
    draft, _ = new_post(app, owner)
    with pytest.raises(Conflict, match="This post is a draft, so it cannot be retried."):
        store.schedule(post_id=draft, user_id=owner, at=T0, now=T0, action=Action.RETRY)
    sent, version = new_post(app, owner, at=T0, now=T0 - SEC)
    store.confirm(store.claim(post_id=sent, version=version, now=T0), record(), urn=None)
    with pytest.raises(Conflict, match="already published, so it cannot be published now"):
        store.schedule(post_id=sent, user_id=owner, at=T0, now=T0, action=Action.PUBLISH_NOW)
    failed, version = new_post(app, owner, at=T0, now=T0 - SEC)
    store.fail(store.claim(post_id=failed, version=version, now=T0), record("failed"), kind="rejected", message="no")
    assert store.schedule(post_id=failed, user_id=owner, at=T0, now=T0, action=Action.RETRY).version == version + 1
    assert post_row(app, failed).status == "scheduled"


def test_duplicate_copies_the_text_into_a_new_draft_and_leaves_the_post(app, store, owner):
    post_id, version = new_post(app, owner, "Once more", at=T0, now=T0 - SEC)
    copy = store.duplicate(post_id=post_id, user_id=owner, now=T0)
    row = post_row(app, copy)
    assert (row.status, row.content, row.schedule_version, row.scheduled_at) == ("draft", "Once more", 0, None)
    assert (post_row(app, post_id).status, post_row(app, post_id).schedule_version) == ("scheduled", version)


def test_another_users_post_is_not_found(app, store, owner):
    intruder = make_user(app, email="mallory@example.com")
    post_id, _ = new_post(app, owner, at=T0, now=T0 - SEC)
    for call in (lambda: store.schedule(post_id=post_id, user_id=intruder, at=T0, now=T0),
                 lambda: store.unschedule(post_id=post_id, user_id=intruder, now=T0),
                 lambda: store.edit(post_id=post_id, user_id=intruder, now=T0, content="x"),
                 lambda: store.delete(post_id=post_id, user_id=intruder),
                 lambda: store.duplicate(post_id=post_id, user_id=intruder, now=T0)):
        with pytest.raises(NotFound):
            call()
    assert post_row(app, post_id).status == "scheduled"


def test_explain_says_why_a_claim_lost(app, store, owner):
    post_id, version = new_post(app, owner, at=T0 + 10 * SEC, now=T0)
    assert store.explain(post_id=post_id, version=version, now=T0) == ("early", T0 + 10 * SEC)
    store.unschedule(post_id=post_id, user_id=owner, now=T0)
    assert store.explain(post_id=post_id, version=version, now=T0)[0] == "stale_version"
    assert store.explain(post_id=post_id, version=version + 1, now=T0)[0] == "cancelled"
    assert store.explain(post_id="nope", version=1, now=T0)[0] == "not_found"


def test_set_message_id_only_for_the_version_it_was_made_for(app, store, owner):
    post_id, version = new_post(app, owner, at=T0 + 10 * SEC, now=T0)
    assert store.set_message_id(post_id=post_id, version=version, message_id="msg_1")
    store.schedule(post_id=post_id, user_id=owner, at=T0 + 20 * SEC, now=T0)
    assert not store.set_message_id(post_id=post_id, version=version, message_id="msg_old")
    assert post_row(app, post_id).qstash_message_id is None
