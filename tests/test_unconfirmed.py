"""The two ways out of "unconfirmed": "It is on LinkedIn" (published, its URN read from the pasted
address, an attempt row saying who confirmed it and when) and "It is not there, send it again"
(a new schedule version: a new idempotency key, now or at a chosen time); through the API and the
pages, with htmx and without."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest

from webapp.dispatch.actions import BAD_POST_URL, post_urn_from_url
from webapp.dispatch.errors import InvalidInput
from webapp.dispatch.store import idempotency_key
from webapp.models import utcnow

from .conftest import attempts_of, bearer, connect_linkedin, csrf_from, make_token, post_row
from .factories import make_post, sign_in

HX = {"HX-Request": "true"}
UNCONFIRMED = "n8n did not confirm the post (HTTP 502: may have been published — check LinkedIn)."


@pytest.mark.parametrize("text, urn", [
    ("https://www.linkedin.com/feed/update/urn:li:share:7140000000000000001/", "urn:li:share:7140000000000000001"),
    ("https://www.linkedin.com/feed/update/urn:li:activity:7140000000000000002", "urn:li:activity:7140000000000000002"),
    ("https://www.linkedin.com/feed/update/urn%3Ali%3AugcPost%3A7140000000000000003/?utm_source=share",
     "urn:li:ugcPost:7140000000000000003"),
    ("  https://linkedin.com/feed/update/urn:li:share:1/  ", "urn:li:share:1"),
    ("https://www.linkedin.com/posts/ada-lovelace_engines-activity-7140000000000000004-AbCd/",
     "urn:li:activity:7140000000000000004"),
    ("urn:li:share:7140000000000000005", "urn:li:share:7140000000000000005"),
])
def test_a_linkedin_post_address_gives_its_urn(text, urn):
    assert post_urn_from_url(text) == urn


@pytest.mark.parametrize("text", [
    "https://example.com/feed/update/urn:li:share:1/",  # not LinkedIn
    "https://www.linkedin.com.evil.example/feed/update/urn:li:share:1/",
    "https://www.linkedin.com/in/ada-lovelace/",  # a profile, not a post
    "ftp://www.linkedin.com/feed/update/urn:li:share:1/",
    "urn:li:person:AbC123",  # a member, not a post
    "my post from Tuesday",
])
def test_anything_else_is_refused_with_a_sentence(text):
    with pytest.raises(InvalidInput) as refused:
        post_urn_from_url(text)
    assert refused.value.message == BAD_POST_URL


@pytest.fixture
def ada(app, client):
    user_id = sign_in(app, client, zone="UTC")
    connect_linkedin(app, user_id, expires_at=utcnow() + timedelta(days=30))
    return user_id


@pytest.fixture
def api(app, ada):
    return bearer(make_token(app, ada))


def unconfirmed(app, user_id):
    return make_post(app, user_id, "failed", kind="unconfirmed", message=UNCONFIRMED, http_status=502)


# ---------------------------------------------------------------- the API


def test_api_confirm_with_the_address_publishes_with_its_urn_and_records_who(app, client, ada, api):
    post_id = unconfirmed(app, ada)
    before = post_row(app, post_id)
    answer = client.post(f"/api/posts/{post_id}/confirm-published", headers=api,
                         json={"linkedinPostUrl": "https://www.linkedin.com/feed/update/urn:li:share:42/"})
    assert answer.status_code == 200, answer.text
    assert answer.json["status"] == "published" and answer.json["linkedinPostUrn"] == "urn:li:share:42"
    assert answer.json["errorMessage"] is None and answer.json["publishedAt"] is not None
    post = post_row(app, post_id)
    assert post.schedule_version == before.schedule_version and post.error_kind is None
    assert post.published_at == before.claimed_at  # when it was sent, as far as anyone knows
    confirmed = attempts_of(app, post_id)[-1]
    assert (confirmed.trigger, confirmed.outcome) == ("confirmed", "published")
    assert re.fullmatch(r"Confirmed as on LinkedIn by ada@example\.com \(API\) at \S+Z \(urn:li:share:42\)\.",
                        confirmed.error)
    # the dashboard links to it now
    assert "https://www.linkedin.com/feed/update/urn:li:share:42/" in client.get(f"/posts/{post_id}").text


def test_api_confirm_without_an_address_publishes_without_a_urn(app, client, ada, api):
    post_id = unconfirmed(app, ada)
    answer = client.post(f"/api/posts/{post_id}/confirm-published", headers=api)
    assert answer.status_code == 200 and answer.json["status"] == "published"
    assert answer.json["linkedinPostUrn"] is None


@pytest.mark.parametrize("body, words", [
    ({"linkedinPostUrl": "https://example.com/post/1"}, "That is not the address of a LinkedIn post"),
    ({"linkedinPostUrl": 42}, "linkedinPostUrl must be a string"),
    ({"url": "https://www.linkedin.com/feed/update/urn:li:share:1/"}, "Unknown field 'url'"),
    ([], "must be a JSON object"),
])
def test_api_confirm_refuses_a_bad_body_and_changes_nothing(app, client, ada, api, body, words):
    post_id = unconfirmed(app, ada)
    answer = client.post(f"/api/posts/{post_id}/confirm-published", headers=api, json=body)
    assert answer.status_code == 400 and words in answer.json["error"]
    assert post_row(app, post_id).status == "failed" and len(attempts_of(app, post_id)) == 1


def test_api_resend_now_makes_a_new_version_with_a_new_key(app, client, ada, api):
    post_id = unconfirmed(app, ada)
    before = post_row(app, post_id)
    answer = client.post(f"/api/posts/{post_id}/resend", headers=api)
    assert answer.status_code == 200, answer.text
    assert answer.json["status"] == "scheduled"
    post = post_row(app, post_id)
    assert post.status == "scheduled" and post.schedule_version == before.schedule_version + 1
    assert post.scheduled_at <= utcnow()
    assert idempotency_key(post_id, post.schedule_version) != idempotency_key(post_id, before.schedule_version)


def test_api_resend_at_a_chosen_time(app, client, ada, api):
    post_id = unconfirmed(app, ada)
    at = (utcnow() + timedelta(hours=3)).replace(microsecond=0)
    answer = client.post(f"/api/posts/{post_id}/resend", headers=api, json={"scheduledAt": at.isoformat()})
    assert answer.status_code == 200 and post_row(app, post_id).scheduled_at == at
    past = client.post(f"/api/posts/{unconfirmed(app, ada)}/resend", headers=api,
                       json={"scheduledAt": (utcnow() - timedelta(hours=1)).isoformat()})
    assert past.status_code == 400 and "is in the past" in past.json["error"]


@pytest.mark.parametrize("path", ["confirm-published", "resend"])
def test_a_certain_failure_has_no_way_out_of_unconfirmed(app, client, ada, api, path):
    post_id = make_post(app, ada, "failed", kind="rejected")
    answer = client.post(f"/api/posts/{post_id}/{path}", headers=api)
    assert answer.status_code == 409
    assert answer.json["error"].startswith("This post failed before anything could reach LinkedIn")
    assert post_row(app, post_id).status == "failed"


def test_a_published_post_cannot_be_resent(app, client, ada, api):
    post_id = make_post(app, ada, "published")
    answer = client.post(f"/api/posts/{post_id}/resend", headers=api)
    assert answer.status_code == 409 and answer.json["error"] == (
        "This post is already published, so it cannot be sent again after a look at LinkedIn.")


# ---------------------------------------------------------------- the pages


def test_the_unconfirmed_row_offers_both_ways_out_instead_of_retry(app, client, ada):
    post_id = unconfirmed(app, ada)
    row = client.get(f"/posts/{post_id}/row", headers=HX).text
    assert "It is on LinkedIn…" in row and "It is not there, send it again…" in row
    assert f"/posts/{post_id}/retry" not in row
    asking = client.get(f"/posts/{post_id}/resend", headers=HX).text
    assert "You checked LinkedIn and this post is not there." in asking
    assert "it will be posted twice" in asking


@pytest.mark.parametrize("htmx", [True, False], ids=["htmx", "no-js"])
def test_the_page_confirms_with_the_address(app, client, ada, htmx):
    post_id = unconfirmed(app, ada)
    token = csrf_from(client.get(f"/posts/{post_id}/confirm-published").text)
    answer = client.post(f"/posts/{post_id}/confirm-published", headers=HX if htmx else {},
                         data={"csrf_token": token,
                               "linkedin_post_url": "https://www.linkedin.com/feed/update/urn:li:share:7/"})
    if htmx:
        assert answer.status_code == 200 and answer.headers["HX-Trigger"] == "posts-changed"
        assert "View it on LinkedIn" in answer.text and "Marked as published" in answer.text
    else:
        assert answer.status_code == 302 and answer.headers["Location"] == "/"
    post = post_row(app, post_id)
    assert post.status == "published" and post.linkedin_post_urn == "urn:li:share:7"
    assert "by ada@example.com at" in attempts_of(app, post_id)[-1].error


def test_the_page_refuses_a_bad_address_next_to_the_field(app, client, ada):
    post_id = unconfirmed(app, ada)
    token = csrf_from(client.get(f"/posts/{post_id}/confirm-published").text)
    answer = client.post(f"/posts/{post_id}/confirm-published", headers=HX,
                         data={"csrf_token": token, "linkedin_post_url": "https://example.com/x"})
    assert answer.status_code == 400
    assert "That is not the address of a LinkedIn post" in answer.text
    assert 'name="linkedin_post_url"' in answer.text  # still asking, with what was typed
    assert 'value="https://example.com/x"' in answer.text and 'aria-invalid="true"' in answer.text
    assert post_row(app, post_id).status == "failed"


@pytest.mark.parametrize("later", [False, True], ids=["now", "later"])
def test_the_page_resends_now_or_at_a_time(app, client, ada, later):
    post_id = unconfirmed(app, ada)
    version = post_row(app, post_id).schedule_version
    token = csrf_from(client.get(f"/posts/{post_id}/resend").text)
    at = (utcnow() + timedelta(days=1)).replace(microsecond=0, second=0)
    data = {"csrf_token": token, **({"date": at.date().isoformat(), "time": at.strftime("%H:%M")} if later else {})}
    answer = client.post(f"/posts/{post_id}/resend", headers=HX, data=data)
    assert answer.status_code == 200, answer.text
    post = post_row(app, post_id)
    assert post.status == "scheduled" and post.schedule_version == version + 1
    if later:
        assert post.scheduled_at == at and "Scheduled for" in answer.text
    else:
        assert post.scheduled_at <= utcnow() and "Sending it again now" in answer.text


def test_the_page_keeps_a_past_time_with_its_error(app, client, ada):
    post_id = unconfirmed(app, ada)
    token = csrf_from(client.get(f"/posts/{post_id}/resend").text)
    past = utcnow() - timedelta(days=1)
    answer = client.post(f"/posts/{post_id}/resend", headers=HX,
                         data={"csrf_token": token, "date": past.date().isoformat(), "time": "10:00"})
    assert answer.status_code == 400 and "is in the past" in answer.text
    assert past.date().isoformat() in answer.text and post_row(app, post_id).status == "failed"
