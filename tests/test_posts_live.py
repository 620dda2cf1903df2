"""The htmx contract: page vs fragment (with Vary), the live status badge (polls only while a post
can change soon, 286 once final), the posts-changed event, and errors answered as fragments."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest

from webapp.htmx import STOP_POLLING
from webapp.models import utcnow

from .conftest import post_row
from .factories import make_post, sign_in

HX = {"HX-Request": "true"}


@pytest.fixture
def ada(app, client):
    return sign_in(app, client)


def vary(response) -> set[str]:
    return {v.strip() for v in response.headers.get("Vary", "").split(",")}


#: Pages that are also widgets: (path, what the fragment starts with).
PAGES = [
    ("/", '<div id="dashboard"'),
    ("/posts/{id}", '<div id="post-page"'),
    ("/posts/{id}/row", '<article class="post post-scheduled"'),
    ("/posts/{id}/schedule", '<article class="post post-scheduled"'),
]


def test_a_page_for_a_browser_a_fragment_for_htmx_and_caches_told_apart(app, client, ada):
    post_id = make_post(app, ada, "scheduled")
    for path, fragment_root in PAGES:
        path = path.format(id=post_id)
        page = client.get(path)
        fragment = client.get(path, headers=HX)
        restore = client.get(path, headers={**HX, "HX-History-Restore-Request": "true"})
        assert page.status_code == fragment.status_code == restore.status_code == 200, path
        assert page.text.startswith("<!doctype html>") and restore.text.startswith("<!doctype html>"), path
        assert fragment.text.lstrip().startswith(fragment_root) and "<html" not in fragment.text, path
        assert fragment_root in page.text, path  # the page is the fragment plus everything around it
        assert "HX-Request" in vary(page) and "HX-Request" in vary(fragment), path


def test_lists_refresh_themselves_when_posts_change(app, client, ada):
    post_id = make_post(app, ada, "failed")
    dashboard = client.get("/", headers=HX).text
    # data-held-off: not while an inline form is open (app.js; a trigger filter would need eval,
    # which the CSP forbids: tests/e2e/test_security_browser.py)
    assert re.match(r'\s*<div id="dashboard"[^>]*hx-get="/" hx-trigger="posts-changed from:body" data-held-off'
                    r'\s+hx-target="this" hx-swap="outerHTML"', dashboard)
    page = client.get(f"/posts/{post_id}", headers=HX).text
    assert f'hx-get="/posts/{post_id}" hx-trigger="posts-changed from:body" data-held-off' in page
    assert "data-hold" in client.get(f"/posts/{post_id}/schedule", headers=HX).text


def badge(client, post_id, seen=None):
    query = "" if seen is None else f"?seen={seen}"
    return client.get(f"/posts/{post_id}/status{query}", headers=HX)


def stamp_of(app, post_id):
    row = post_row(app, post_id)
    return f"{row.status}.{row.schedule_version}.{row.attempt_count}"


def test_a_final_status_answers_286_and_renders_no_trigger(app, client, ada):
    for status in ("draft", "published", "failed"):
        post_id = make_post(app, ada, status)
        response = badge(client, post_id, stamp_of(app, post_id))
        assert response.status_code == STOP_POLLING == 286, status
        assert f'<span class="badge badge-{status}">{status}</span>' in response.text
        assert "hx-trigger" not in response.text and "hx-get" not in response.text, status
        row = client.get(f"/posts/{post_id}/row", headers=HX).text
        status_span = re.search(r'<span class="status".*?</span>\s*</span>', row, re.S).group(0)
        assert "hx-trigger" not in status_span, status


def test_a_post_that_can_still_change_keeps_asking(app, client, ada):
    for status, at, trigger in [("publishing", None, r"every 2s"),
                                ("scheduled", timedelta(seconds=30), r"load delay:\d+ms, every 2s"),
                                ("scheduled", timedelta(hours=1), r"load delay:\d+ms")]:
        post_id = make_post(app, ada, status, at=utcnow() + at if at else None)
        response = badge(client, post_id, stamp_of(app, post_id))
        assert response.status_code == 200, trigger
        assert re.search(rf'hx-get="/posts/{post_id}/status\?seen={re.escape(stamp_of(app, post_id))}"\s+'
                         rf'hx-trigger="{trigger}" hx-target="this" hx-swap="outerHTML"', response.text), trigger


def test_an_idle_dashboard_renders_no_polling_at_all(app, client, ada):
    for status in ("draft", "published", "failed"):
        make_post(app, ada, status)
    make_post(app, ada, "scheduled", at=utcnow() + timedelta(hours=3))
    page = client.get("/").text
    assert "every " not in page
    triggers = re.findall(r'hx-trigger="([^"]+)"', page)
    assert len(triggers) == 2 and triggers[0].startswith("posts-changed")  # the lists, on a change
    assert re.fullmatch(r"load delay:\d+ms", triggers[1])  # one wake-up, ~2 h 58 min from now
    assert 10_600_000 < int(triggers[1][11:-2]) <= 10_680_000
    make_post(app, ada, "scheduled", at=utcnow() + timedelta(seconds=40))
    assert page.count("every 2s") == 0 and client.get("/").text.count("every 2s") == 1


def test_the_badge_tells_the_page_when_the_post_moved_and_announces_a_new_status(app, client, ada):
    post_id = make_post(app, ada, "published", content="Hello there")
    current = stamp_of(app, post_id)
    unchanged = badge(client, post_id, current)
    assert "HX-Trigger" not in unchanged.headers and "announcer" not in unchanged.text
    moved = badge(client, post_id, "scheduled.1.0")
    assert moved.headers["HX-Trigger"] == "posts-changed"
    assert 'hx-swap-oob="innerHTML">Post “Hello there” is now published.' in moved.text
    retried = badge(client, post_id, "published.1.0")  # same status, the dispatcher tried again
    assert retried.headers["HX-Trigger"] == "posts-changed" and "announcer" not in retried.text


def test_a_failure_is_announced_with_its_reason(app, client, ada):
    post_id = make_post(app, ada, "failed", content="Refused one")
    assert "Post “Refused one” failed: Rejected by n8n." in badge(client, post_id, "publishing.1.1").text


def test_the_badge_address_opened_in_a_browser_goes_to_the_post_page(app, client, ada):
    post_id = make_post(app, ada, "scheduled")
    response = client.get(f"/posts/{post_id}/status")
    assert response.status_code == 302 and response.headers["Location"] == f"/posts/{post_id}"
    assert "HX-Request" in vary(response)


def test_htmx_errors_are_fragments_and_pages_stay_pages(client, ada):
    missing = "/posts/00000000-0000-4000-8000-000000000000/row"
    fragment = client.get(missing, headers=HX)
    assert fragment.status_code == 404 and "<html" not in fragment.text
    assert 'role="alert">There is no such post.' in fragment.text
    page = client.get(missing)
    assert page.status_code == 404 and page.text.startswith("<!doctype html>")


def test_htmx_without_a_session_is_sent_to_the_login_page_not_given_it_in_a_fragment(app, client):
    post_id = make_post(app, sign_in(app, client), "scheduled")
    client.post("/logout", data={"csrf_token": "x"})  # refused: CSRF
    with client.session_transaction() as session:
        session.clear()
    response = client.get(f"/posts/{post_id}/status", headers={**HX, "HX-Current-URL": "http://localhost/?x=1"})
    assert response.status_code == 401 and response.text == ""
    assert response.headers["HX-Redirect"] == "/login?next=/?x%3D1"
    plain = client.get(f"/posts/{post_id}/status")
    assert plain.status_code == 302 and plain.headers["Location"].startswith("/login?next=")
