"""The status table: what each status allows, the dispatcher's moves, and that the pages, the JSON
API and the store obey the same table for every status and every action."""

from __future__ import annotations

import itertools
import re
from datetime import datetime, timedelta, timezone

import pytest
import sqlalchemy as sa

from webapp.dispatch.states import (
    ALLOWED,
    FINAL,
    MOVES,
    PENDING,
    UNCONFIRMED_ONLY,
    Action,
    Move,
    PostStatus,
    allows,
    due_at,
    refusal,
    transitions,
)
from webapp.models import Post, utcnow

from .conftest import connect_linkedin, csrf_from, make_token, post_row
from .factories import make_post, sign_in

S, A, M = PostStatus, Action, Move

#: The designed table, written out: what the owner may do in each status (✓).
#: Published posts may be deleted (users tidy their history; LinkedIn keeps its copy); a post
#: being sent may only be copied.
DESIGN = """
              edit  schedule  unschedule  publish_now  retry  duplicate  delete  confirm_published  resend
draft          ✓       ✓          .            ✓         .        ✓         ✓            .             .
scheduled      ✓       ✓          ✓            ✓         .        ✓         ✓            .             .
publishing     .       .          .            .         .        ✓         .            .             .
published      .       .          .            .         .        ✓         ✓            .             .
failed         ✓       ✓          ✓            ✓         ✓        ✓         ✓            ✓*            ✓*
"""
#: ✓*: only when the failure is unconfirmed (n8n may have published it): the two ways out of it.
UNCONFIRMED_ONLY_DESIGN = {A.CONFIRM_PUBLISHED, A.RESEND}


def designed() -> dict[PostStatus, frozenset[Action]]:
    header, *rows = DESIGN.strip().splitlines()
    actions = [A(name) for name in header.split()]
    return {S(status): frozenset(a for a, mark in zip(actions, marks, strict=True) if mark.startswith("✓"))
            for status, *marks in (row.split() for row in rows)}


def test_the_table_is_exactly_the_designed_one():
    assert designed() == ALLOWED
    assert set(ALLOWED) == set(S)
    assert UNCONFIRMED_ONLY == UNCONFIRMED_ONLY_DESIGN


@pytest.mark.parametrize("kind", ["rejected", "missed", "gave_up", "not_connected", None])
def test_the_ways_out_of_unconfirmed_need_an_unconfirmed_failure(kind):
    for action in UNCONFIRMED_ONLY:
        assert allows(S.FAILED, action, "unconfirmed")
        assert not allows(S.FAILED, action, kind)
        assert refusal(S.FAILED, action, kind).startswith("This post failed before anything could reach LinkedIn")
    assert all(allows(S.FAILED, action, kind) for action in ALLOWED[S.FAILED] - UNCONFIRMED_ONLY)


def test_the_moves_are_the_designed_ones():
    assert MOVES == {
        M.CLAIM: (S.SCHEDULED, S.PUBLISHING),
        M.MISS: (S.SCHEDULED, S.FAILED),
        M.FENCE: (S.PUBLISHING, S.PUBLISHING),
        M.CONFIRM: (S.PUBLISHING, S.PUBLISHED),
        M.RETRY_LATER: (S.PUBLISHING, S.SCHEDULED),
        M.FAIL: (S.PUBLISHING, S.FAILED),
        M.RECLAIM: (S.PUBLISHING, S.PUBLISHING),
    }


def test_every_change_of_status_and_what_makes_it():
    assert transitions() == {
        (S.DRAFT, S.SCHEDULED): {"schedule", "publish_now"},
        (S.SCHEDULED, S.SCHEDULED): {"schedule", "publish_now"},  # reschedule: a new version
        (S.SCHEDULED, S.DRAFT): {"unschedule"},
        (S.FAILED, S.SCHEDULED): {"schedule", "publish_now", "retry", "resend"},
        (S.FAILED, S.DRAFT): {"unschedule"},
        (S.FAILED, S.PUBLISHED): {"confirm_published"},  # its owner found it on LinkedIn
        (S.SCHEDULED, S.PUBLISHING): {"claim"},
        (S.SCHEDULED, S.FAILED): {"miss"},
        (S.PUBLISHING, S.PUBLISHING): {"fence", "reclaim"},
        (S.PUBLISHING, S.PUBLISHED): {"confirm"},
        (S.PUBLISHING, S.SCHEDULED): {"retry_later"},
        (S.PUBLISHING, S.FAILED): {"fail"},
    }


def test_nothing_but_a_claim_reaches_publishing_and_a_draft_is_never_sent_directly():
    assert {src for (src, dst) in transitions() if dst == S.PUBLISHING} == {S.SCHEDULED, S.PUBLISHING}
    assert not {(S.DRAFT, S.PUBLISHING), (S.DRAFT, S.PUBLISHED)} & transitions().keys()


def test_published_is_terminal_and_final_statuses_wait_for_the_user():
    assert not [dst for (src, dst) in transitions() if src == S.PUBLISHED]
    assert FINAL == {S.DRAFT, S.PUBLISHED, S.FAILED} and PENDING == {S.SCHEDULED, S.PUBLISHING}


@pytest.mark.parametrize("status, action", list(itertools.product(S, A)))
def test_every_refusal_is_a_sentence_naming_the_status_and_the_action(status, action):
    sentence = refusal(status, action)
    assert sentence.startswith("This post ") and sentence.endswith(".") and "cannot be" in sentence


def test_the_database_knows_the_same_statuses():
    check = next(c for c in Post.__table__.constraints if isinstance(c, sa.CheckConstraint))
    assert sorted(re.findall(r"'(\w+)'", str(check.sqltext))) == sorted(S)
    assert Post.__table__.c.status.default.arg == S.DRAFT


NOW = datetime(2026, 12, 1, 9, 0, tzinfo=timezone.utc)
MIN = timedelta(minutes=1)


@pytest.mark.parametrize("scheduled_at, next_attempt_at, expected", [
    (NOW, None, NOW),
    (NOW, NOW + MIN, NOW + MIN),  # a retry backoff pushes the next claim later
    (NOW + MIN, NOW, NOW + MIN),  # never earlier than the user's time
    (None, None, None),
])
def test_due_at_is_the_later_of_the_time_and_the_backoff(scheduled_at, next_attempt_at, expected):
    assert due_at(scheduled_at=scheduled_at, next_attempt_at=next_attempt_at) == expected


# ---------------------------------------------------------------- every status × every action, UI and API

HX = {"HX-Request": "true"}
#: How each action is asked for: (page route, API route), relative to the post.
ROUTES = {
    A.EDIT: ("edit", ""),
    A.SCHEDULE: ("schedule", "/schedule"),
    A.UNSCHEDULE: ("unschedule", "/unschedule"),
    A.PUBLISH_NOW: ("publish-now", "/publish-now"),
    A.RETRY: ("retry", "/retry"),
    A.DUPLICATE: ("duplicate", "/duplicate"),
    A.DELETE: ("delete", ""),
    A.CONFIRM_PUBLISHED: ("confirm-published", "/confirm-published"),
    A.RESEND: ("resend", "/resend"),
}
#: What the page answers an htmx request when the action is done (delete: the row swaps itself away).
PAGE_DONE = {A.EDIT: 204, A.DELETE: 200}
API_DONE = {A.EDIT: 200, A.DUPLICATE: 201, A.DELETE: 204}
STATE = ("status", "content", "schedule_version", "scheduled_at")


def snapshot(app, post_id):
    row = post_row(app, post_id)
    return None if row is None else tuple(getattr(row, name) for name in STATE)


def page_request(client, post_id, action):
    later = (utcnow() + timedelta(days=1)).astimezone(timezone.utc)
    data = {"csrf_token": csrf_from(client.get("/posts/new").text), "content": "Changed", "intent": "save",
            "date": later.date().isoformat(), "time": later.strftime("%H:%M:%S")}
    return client.post(f"/posts/{post_id}/{ROUTES[action][0]}", data=data, headers=HX)


def api_request(client, headers, post_id, action):
    path = f"/api/posts/{post_id}{ROUTES[action][1]}"
    if action is A.EDIT:
        return client.patch(path, json={"content": "Changed"}, headers=headers)
    if action is A.DELETE:
        return client.delete(path, headers=headers)
    body = {"scheduledAt": (utcnow() + timedelta(days=1)).isoformat()} if action is A.SCHEDULE else None
    return client.post(path, json=body, headers=headers)


@pytest.fixture
def ada(app, client):
    user_id = sign_in(app, client, zone="UTC")
    connect_linkedin(app, user_id, expires_at=utcnow() + timedelta(days=30))
    return user_id


@pytest.mark.parametrize("via", ["page", "api"])
@pytest.mark.parametrize("status, action, kind", [(s, a, "rejected") for s, a in itertools.product(S, A)]
                         + [(S.FAILED, a, "unconfirmed") for a in A])
def test_pages_api_and_store_obey_the_table(app, client, ada, via, status, action, kind):
    """Allowed: done (the post changes as the action says). Refused: 409 with the table's
    sentence, and the post exactly as it was. (`kind`: why a failed post failed.)"""
    post_id = make_post(app, ada, status, kind=kind)
    before = snapshot(app, post_id)
    if via == "page":
        response = page_request(client, post_id, action)
    else:
        response = api_request(client, {"Authorization": f"Bearer {make_token(app, ada)}"}, post_id, action)
    if allows(status, action, kind if status == S.FAILED else None):
        expected = (PAGE_DONE if via == "page" else API_DONE).get(action, 200)
        assert response.status_code == expected, response.text
        after = snapshot(app, post_id)
        if action is A.DELETE:
            assert after is None
        elif action is A.DUPLICATE:
            assert after == before
            assert len(client.get("/api/posts", headers={"Authorization": f"Bearer {make_token(app, ada)}"})
                       .json["posts"]) == 2
        elif action is A.EDIT:
            assert after[1] == "Changed"
        elif action is A.CONFIRM_PUBLISHED:
            assert after[0] == "published" and after[2] == before[2]
        else:
            assert after[0] == {A.UNSCHEDULE: "draft"}.get(action, "scheduled") and after[2] == before[2] + 1
    else:
        assert response.status_code == 409, response.text
        sentence = refusal(status, action, kind if status == S.FAILED else None)
        assert sentence in (response.json["error"] if via == "api" else response.text.replace("&#39;", "'"))
        assert snapshot(app, post_id) == before


@pytest.mark.parametrize("status, kind", [(s, None) for s in S if s != S.FAILED]
                         + [(S.FAILED, "rejected"), (S.FAILED, "unconfirmed")])
def test_a_row_offers_a_button_for_exactly_what_its_status_allows(app, client, ada, status, kind):
    post_id = make_post(app, ada, status, kind=kind or "rejected")
    row = client.get(f"/posts/{post_id}/row", headers=HX).text
    offered = {a for a in A if f"/posts/{post_id}/{ROUTES[a][0]}" in row}
    allowed = {a for a in ALLOWED[status] if allows(status, a, kind)}
    # a failed post's Retry is its publish now: one button for the two; an unconfirmed post's
    # Retry is "It is not there, send it again" (which says to look at LinkedIn first)
    expected = allowed - {A.PUBLISH_NOW} if A.RETRY in allowed else allowed
    assert offered == (expected - {A.RETRY} if A.RESEND in allowed else expected)
