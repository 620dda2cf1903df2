"""Isolation: every route that names a post answers 404 to another user and changes nothing."""

import re
from datetime import timedelta

import pytest

from webapp.extensions import db
from webapp.models import Post, utcnow

from .conftest import bearer, csrf_from, make_token
from .factories import make_post, quick_user, sign_in

#: A valid time for the forms (read in the asking user's zone), so only ownership can refuse.
FORM_TIME = {"date": (utcnow() + timedelta(days=2)).date().isoformat(), "time": "10:00"}

#: (method, path, body) for every route that takes a post id: a JSON body for /api/, form fields
#: for the pages and htmx endpoints. Add new routes here.
POST_ROUTES = [
    ("GET", "/api/posts/{id}", None),
    ("PATCH", "/api/posts/{id}", {"content": "hijacked"}),
    ("DELETE", "/api/posts/{id}", None),
    ("POST", "/api/posts/{id}/schedule", {"scheduledAt": (utcnow() + timedelta(days=2)).isoformat()}),
    ("POST", "/api/posts/{id}/unschedule", None),
    ("POST", "/api/posts/{id}/publish-now", None),
    ("POST", "/api/posts/{id}/retry", None),
    ("POST", "/api/posts/{id}/duplicate", None),
    ("POST", "/api/posts/{id}/confirm-published",
     {"linkedinPostUrl": "https://www.linkedin.com/feed/update/urn:li:share:1/"}),
    ("POST", "/api/posts/{id}/resend", None),
    # pages and htmx endpoints (webapp/posts/views.py)
    ("GET", "/posts/{id}", None),
    ("GET", "/posts/{id}/edit", None),
    ("POST", "/posts/{id}/edit", {"content": "hijacked", "intent": "schedule", **FORM_TIME}),
    ("GET", "/posts/{id}/status", None),
    ("GET", "/posts/{id}/row", None),
    ("GET", "/posts/{id}/schedule", None),
    ("POST", "/posts/{id}/schedule", FORM_TIME),
    ("POST", "/posts/{id}/unschedule", None),
    ("GET", "/posts/{id}/publish-now", None),
    ("POST", "/posts/{id}/publish-now", None),
    ("GET", "/posts/{id}/retry", None),
    ("POST", "/posts/{id}/retry", None),
    ("POST", "/posts/{id}/duplicate", None),
    ("GET", "/posts/{id}/delete", None),
    ("POST", "/posts/{id}/delete", None),
    # planning (webapp/planning/views.py): Add to queue
    ("POST", "/posts/{id}/queue", None),
    ("GET", "/posts/{id}/confirm-published", None),
    ("POST", "/posts/{id}/confirm-published", {"linkedin_post_url": ""}),
    ("GET", "/posts/{id}/resend", None),
    ("POST", "/posts/{id}/resend", None),
]
PAGE_ROUTES = [route for route in POST_ROUTES if not route[1].startswith("/api/")]
MISSING = "00000000-0000-4000-8000-000000000000"


def send(client, method, path, body, headers):
    if path.startswith("/api/"):
        return client.open(path, method=method, json=body, headers=headers)
    return client.open(path, method=method, data=body, headers=headers)


def refusal(response, path):
    """What the answer says, without the per-request CSRF token an HTML page carries."""
    if path.startswith("/api/"):
        return response.json
    assert "There is no such post." in response.text
    token = re.search(r'"X-CSRFToken": "([^"]+)"', response.text)
    return response.text.replace(token.group(1), "") if token else response.text


@pytest.fixture
def owner(app):
    """The post's owner (a quick user: this matrix is long) and their bearer headers."""
    user_id = quick_user(app)
    return user_id, bearer(make_token(app, user_id))


@pytest.fixture
def intruder(app):
    user_id = quick_user(app, email="mallory@example.com", zone="America/New_York")
    return user_id, bearer(make_token(app, user_id))


def snapshot(app, post_id):
    with app.app_context():
        post = db.session.get(Post, post_id)
        return None if post is None else (post.status, post.content, post.schedule_version, post.scheduled_at)


@pytest.mark.parametrize("method, path, body", POST_ROUTES, ids=[f"{m} {p}" for m, p, _ in POST_ROUTES])
def test_another_users_post_is_not_found_and_unchanged(app, client, owner, intruder, method, path, body):
    _, owner = owner
    _, intruder = intruder
    post_id = client.post("/api/posts", json={"content": "mine"}, headers=owner).json["id"]
    soon = (utcnow() + timedelta(days=1)).isoformat()
    assert client.post(f"/api/posts/{post_id}/schedule", json={"scheduledAt": soon}, headers=owner).status_code == 200
    before = snapshot(app, post_id)

    response = send(client, method, path.format(id=post_id), body, intruder)

    assert response.status_code == 404
    if path.startswith("/api/"):
        assert response.json == {"error": "There is no such post."}
    assert snapshot(app, post_id) == before
    # exactly as if it did not exist
    missing = send(client, method, path.format(id=MISSING), body, intruder)
    assert missing.status_code == 404
    assert refusal(missing, path) == refusal(response, path)
    assert count_posts(app) == 1  # duplicate made nothing either


def count_posts(app):
    with app.app_context():
        return db.session.query(Post).count()


@pytest.mark.parametrize("htmx", [False, True], ids=["page", "htmx"])
def test_another_users_post_is_not_found_in_the_browser_either(app, client, owner, htmx):
    """The same for every page and htmx route, signed in with a session cookie and the CSRF token,
    as a browser (with htmx or without). One test walks the routes: the matrix above has one each."""
    post_id = make_post(app, owner[0], "scheduled", content="mine")
    before = snapshot(app, post_id)
    sign_in(app, client, email="eve@example.com", zone="Asia/Tokyo")
    headers = {"X-CSRFToken": csrf_from(client.get("/posts/new").text)}
    if htmx:
        headers["HX-Request"] = "true"

    for method, path, body in PAGE_ROUTES:
        response = send(client, method, path.format(id=post_id), body, headers)

        assert response.status_code == 404 and "There is no such post." in response.text, (method, path)
        assert ("<html" not in response.text) == htmx, (method, path)  # htmx: a fragment; else a page
        assert snapshot(app, post_id) == before and count_posts(app) == 1, (method, path)


def test_every_route_that_takes_a_post_is_in_the_matrix(app):
    listed = {(method, path.replace("{id}", "<post_id>")) for method, path, _ in POST_ROUTES}
    asking = "/posts/<post_id>/<any(schedule, 'publish-now', retry, delete, 'confirm-published', resend):action>"
    routes = set()
    for rule in app.url_map.iter_rules():
        if "post_id" not in rule.arguments:
            continue
        paths = ([rule.rule] if rule.rule != asking else
                 [f"/posts/<post_id>/{a}" for a in ("schedule", "publish-now", "retry", "delete",
                                                    "confirm-published", "resend")])
        routes |= {(method, path) for method in rule.methods - {"HEAD", "OPTIONS"} for path in paths}
    assert routes == listed
